"""The Qt workstation shell: the only package that imports PySide6, qasync or pyqtgraph."""
