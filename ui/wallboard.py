"""`WallBoard`: the floor tiles for a display on the floor — large type, no controls.

It shows what the Supervisor panel works out (`ui.panels.supervisor.SupervisorPanel`, the same
tiles: one home for the figures), in a frameless window of its own that fills the screen it is
put on; the clock and the position's connection state are in its corner, so a stale board says
so. View → Wall-board (F11) opens and closes it; ``dispatch-desktop --wallboard`` opens it at
start. Esc or F11 on it closes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QKeyEvent
from PySide6.QtWidgets import QApplication, QGridLayout, QLabel, QVBoxLayout, QWidget

from desktop.floor_tiles import Tile
from ui.panels.supervisor import SupervisorPanel, TileBox

__all__ = ["WALLBOARD_KEYS", "WALLBOARD_SCALE", "WallBoard"]

#: Opens and closes the wall-board, from anywhere.
WALLBOARD_KEYS = "F11"
#: The wall-board's type, against the workstation's.
WALLBOARD_SCALE = 2.2
_COLUMNS = 3


class WallBoard(QWidget):
    """The wall-board of ``panel``'s tiles; ``closed`` is emitted when it closes."""

    closed = Signal()

    def __init__(self, panel: SupervisorPanel, status: Callable[[], str]) -> None:
        super().__init__(None, Qt.WindowType.FramelessWindowHint)
        self.setObjectName("wallboard")
        self.setWindowTitle("dispatch-desktop — wall-board")
        self.panel = panel
        self._status = status
        self.setStyleSheet("QWidget#wallboard { background:#0d1117; }")
        self.boxes: dict[str, TileBox] = {}
        self.corner = QLabel()
        self.corner.setObjectName("wallboard_corner")
        self.corner.setAlignment(Qt.AlignmentFlag.AlignRight)
        size = QApplication.font().pointSizeF() * WALLBOARD_SCALE * 0.6
        self.corner.setStyleSheet(f"color:#8b949e; font-size:{size:.1f}pt;")
        self._grid = QGridLayout()
        self._grid.setSpacing(16)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 24)
        layout.addWidget(self.corner)
        layout.addLayout(self._grid, 1)
        panel.tiles_changed.connect(self.show_tiles)
        self.show_tiles(panel.tiles)

    def show_tiles(self, tiles: list[Tile]) -> None:
        for index, tile in enumerate(tiles):
            box = self.boxes.get(tile.key)
            if box is None:
                box = self.boxes[tile.key] = TileBox(self, scale=WALLBOARD_SCALE)
                self._grid.addWidget(box, index // _COLUMNS, index % _COLUMNS)
            box.show_tile(tile)
        now = time.strftime("%H:%M:%S", time.localtime())
        self.corner.setText(f"{now} · {self._status()} · {self.panel.heading.text()}")

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Escape, Qt.Key.Key_F11):
            self.close()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.panel.tiles_changed.disconnect(self.show_tiles)
        self.closed.emit()
        super().closeEvent(event)
