"""Wire protocol v1, shared by the client core and the reference server (no I/O here)."""
