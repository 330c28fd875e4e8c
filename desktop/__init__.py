"""dispatch-desktop client core: protocol, domain, outbox, state, link and service (no Qt)."""

#: The release (hatchling reads this line for the wheel; packaging/metadata.py for installers).
__version__ = "0.1.0"
#: The application id (reverse DNS): the desktop entry's and AppStream's name, the macOS bundle
#: id, and what the workstation tells the window system (Wayland icons). Never changes.
APP_ID = "org.dispatchdesktop.DispatchDesktop"
