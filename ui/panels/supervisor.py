"""`SupervisorPanel`: the live floor tiles (`desktop.floor_tiles`) — calls ringing, the shares
answered within 15 s and 20 s and processed within 60 s, turnout and travel p90, active
incidents by priority, units available by type, what is unacknowledged — each coloured
against its target, refreshed once a second.

The figures are those of the last 24 hours as this workstation has seen them: every event it
receives feeds a `desktop.domain.floor_figures.FloorLog` (the shift report's definitions).
A workstation that resynced from a snapshot holds no history before it: the panel says since
when its figures run.

Below the tiles, two pyqtgraph charts of the last 24 hours, hour by hour (`desktop.floor_tiles.
hours`): the calls received, and the 90th percentile of their processing against its 60 s
line. They are built by `load_charts` once pyqtgraph is loaded (behind the board, with the map:
start-up does not wait for it) and redrawn every `CHART_EVERY_S` while the panel shows.

Below them, the floor's positions and the shadow of one (ui/widgets/floor_positions.py), live
from the presence the server sends; and the shift report (Ctrl+R or the button:
ui/dialogs/shift_report.py), made by the server from its log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.catalog import EVENTS
from desktop.domain.floor_figures import PROCESSING_TARGET_S, READ_KINDS, FloorLog
from desktop.floor_tiles import DAY_S, Standing, Tile, floor_tiles, hours
from desktop.service import DispatchService
from desktop.state import Change
from ui.dialogs.shift_report import ShiftReportDialog
from ui.widgets.floor_positions import FloorPositions

__all__ = ["CHART_EVERY_S", "REPORT_KEY", "STANDING_STYLE", "SupervisorPanel", "TileBox"]

#: The key that opens the shift report from the panel.
REPORT_KEY = "Ctrl+R"

#: Seconds between two redraws of the charts (an hour's bar moves slowly).
CHART_EVERY_S = 10.0

#: The charts' height (px): fixed, so the panel does not reflow as the floor changes.
CHART_HEIGHT_PX = 170

#: Each standing's colours: text on background (the dark theme's palette).
STANDING_STYLE: dict[Standing, str] = {
    "ok": "background:#12261a; color:#7ee2a8; border:1px solid #238636;",
    "warn": "background:#3b2e00; color:#e3b341; border:1px solid #9e6a03;",
    "bad": "background:#8e1519; color:#ffdcd7; border:1px solid #ff7b72;",
    "none": "background:#161b22; color:#c9d1d9; border:1px solid #30363d;",
}
_COLUMNS = 3


class TileBox(QFrame):
    """One tile: title, big value, detail line; ``scale`` times the application's type (the
    wall-board's is large)."""

    def __init__(self, parent: QWidget | None = None, *, scale: float = 1.0) -> None:
        super().__init__(parent)
        self.title = QLabel()
        self.value = QLabel()
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        base = QApplication.font().pointSizeF() * scale
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        for label, size, weight in (
            (self.title, base, 600),
            (self.value, base * 2.0, 700),
            (self.detail, base, 400),
        ):
            label.setStyleSheet(
                f"border:none; background:transparent; font-size:{size:.1f}pt; "
                f"font-weight:{weight};"
            )
            layout.addWidget(label)

    def show_tile(self, tile: Tile) -> None:
        self.setObjectName(f"tile_{tile.key}")
        self.title.setText(tile.title)
        self.value.setText(tile.value)
        self.detail.setText(tile.detail)
        self.setStyleSheet(f"QFrame#{self.objectName()} {{{STANDING_STYLE[tile.standing]}}}")
        self.setAccessibleName(f"{tile.title}: {tile.value}, {tile.detail}")
        self.standing = tile.standing


class SupervisorPanel(QWidget):
    """The tiles (module docstring). ``unacknowledged`` gives (radio alarms, timer alerts).
    ``tiles_changed`` is emitted with the tiles after each `tick` (the wall-board shows them)."""

    tiles_changed = Signal(list)

    def __init__(
        self,
        service: DispatchService,
        unacknowledged: Callable[[], tuple[int, int]],
        *,
        clock: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("supervisor_panel")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Ctrl+8 puts the keyboard here
        self.service = service
        self.floor = FloorLog()
        self.since: float | None = None
        self._unacknowledged = unacknowledged
        self._clock = clock
        self.boxes: dict[str, TileBox] = {}
        self.tiles: list[Tile] = []
        self.heading = QLabel()
        self.heading.setObjectName("supervisor_since")
        self._grid = QGridLayout()
        self._layout = layout = QVBoxLayout(self)
        self.report_button = QPushButton(f"Shift report… ({REPORT_KEY})")
        self.report_button.setObjectName("shift_report")
        self.report_button.clicked.connect(self.open_report)
        shortcut = QShortcut(QKeySequence(REPORT_KEY), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.open_report)
        top = QHBoxLayout()
        top.addWidget(self.heading, 1)
        top.addWidget(self.report_button)
        self.positions = FloorPositions(service, self)
        self.report_dialog: ShiftReportDialog | None = None
        layout.addLayout(top)
        layout.addLayout(self._grid)
        layout.addWidget(self.positions)
        layout.addStretch(1)
        self.charts: Any = None  # (volume plot, bars, processing plot, curve) once loaded
        self._charted_at = -CHART_EVERY_S
        service.state.add_event_listener(self._on_event)
        self.tick()

    def _on_event(self, seq: int, kind: str, data: bytes, at: float, key: str | None) -> None:
        """Every event this workstation receives, in log order, before it is applied."""
        if self.since is None:
            self.since = at
        if kind not in READ_KINDS:
            self.floor.read(None, at)
            return
        try:
            self.floor.read(msgspec.json.decode(data, type=EVENTS[kind].data), at)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.floor.read(None, at)

    def on_change(self, change: Change) -> None:
        """Follow the floor: the positions when their presence changed, and the shadow when
        what it shows may have."""
        shadowing = self.positions.shadowed is not None
        if change.presence or change.reset or (shadowing and (change.incidents or change.calls)):
            self.positions.refresh(self.service.server_now())

    def open_report(self) -> ShiftReportDialog:
        """Open the shift report dialog (the same one again while it is open)."""
        dialog = self.report_dialog
        if dialog is None:
            dialog = self.report_dialog = ShiftReportDialog(self.service, self)
        dialog.open()
        dialog.raise_()
        return dialog

    def tick(self) -> None:
        """Work the tiles out again (once a second, and when shown)."""
        now = self._clock()
        self.positions.refresh(self.service.server_now())  # idle times move
        figures = self.floor.figures(now - DAY_S, now + 1.0)
        alarms, alerts = self._unacknowledged()
        tiles = floor_tiles(self.service.state.view, figures, now, alarms=alarms, alerts=alerts)
        self.tiles = tiles
        for index, tile in enumerate(tiles):
            box = self.boxes.get(tile.key)
            if box is None:
                box = self.boxes[tile.key] = TileBox(self)
                self._grid.addWidget(box, index // _COLUMNS, index % _COLUMNS)
            box.show_tile(tile)
        if self.since is None or self.since <= now - DAY_S:
            self.heading.setText("The last 24 hours")
        else:
            began = time.strftime("%H:%M", time.localtime(self.since))
            self.heading.setText(f"Since {began} (what this workstation has received)")
        self.heading.setAlignment(Qt.AlignmentFlag.AlignLeft)
        if self.charts is not None and now - self._charted_at >= CHART_EVERY_S:
            self.draw_charts(now)
        self.tiles_changed.emit(tiles)

    def load_charts(self) -> None:
        """Build the two charts (pyqtgraph is loaded by now: the map loaded it)."""
        if self.charts is not None:
            return
        import pyqtgraph as pg

        def chart(name: str, title: str) -> Any:
            plot = pg.PlotWidget(title=title)
            plot.setObjectName(name)
            plot.setFixedHeight(CHART_HEIGHT_PX)
            plot.showGrid(y=True, alpha=0.2)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setXRange(-23.5, 0.5, padding=0)
            plot.setLabel("bottom", "hours ago")
            return plot

        volume = chart("supervisor_volume", "Calls per hour, last 24 h")
        bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush="#388bfd")
        volume.addItem(bars)
        processing = chart("supervisor_processing", "Processing p90 per hour (s)")
        processing.addItem(pg.InfiniteLine(PROCESSING_TARGET_S, angle=0, pen=pg.mkPen("#e3b341")))
        curve = processing.plot([], [], pen=pg.mkPen("#7ee2a8", width=2), symbol="o")
        processing.setYRange(0, PROCESSING_TARGET_S * 2)
        row = QHBoxLayout()
        row.addWidget(volume)
        row.addWidget(processing)
        self._layout.insertLayout(2, row)
        self.charts = (volume, bars, processing, curve)
        self.draw_charts(self._clock())

    def draw_charts(self, now: float) -> None:
        """Redraw the charts from the figures as of ``now``."""
        if self.charts is None:
            return
        self._charted_at = now
        _volume, bars, _processing, curve = self.charts
        last = hours(self.floor, now)
        ago = [-(len(last) - 1 - i) for i in range(len(last))]  # hours ago: -23 .. 0
        bars.setOpts(x=ago, height=[h.calls for h in last])
        points = [(x, h.processing_p90) for x, h in zip(ago, last, strict=True)]
        shown = [(x, p) for x, p in points if p is not None]
        curve.setData([x for x, _ in shown], [p for _, p in shown])
        top = max([PROCESSING_TARGET_S * 2.0, *(p * 1.1 for _, p in shown)])
        self.charts[2].setYRange(0, top)
        self.chart_points = (ago, [h.calls for h in last], shown)
