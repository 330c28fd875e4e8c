"""dispatch-desktop client core: protocol, domain, outbox, state, link and service (no Qt)."""

__version__ = "0.1.0"
