"""The dispatcher's workstation: PySide6 widgets over the Qt-free core in `desktop`."""
