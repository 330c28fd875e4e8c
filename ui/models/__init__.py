"""Qt table models over the core's view."""
