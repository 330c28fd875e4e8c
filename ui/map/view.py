"""`MapView`: the pyqtgraph view of one map, in metres, with the mouse and the keyboard.

A ``GraphicsView`` holding one ``ViewBox`` (no plot, no axes), x east and y north in metres of
the map's projection, with the aspect locked at 1 (a metre is as long east as north). The mouse:
drag pans, the wheel zooms, a click picks (`MapViewBox.clicked`), a double click centres
(the same signal, ``double`` set) and the right button opens the map's own menu
(`MapViewBox.menu_requested`; pyqtgraph's is off). The keyboard, once the map has focus (a click
gives it): arrows pan by `PAN_FRACTION` of the view, + and - zoom by `ZOOM_STEP`, Home fits the
city, and the Menu key or Shift+F10 asks for the map's menu (``key_menu_requested``: the panel
opens it at the selected incident, else the middle of the view).
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QWidget

__all__ = ["MAX_SPAN_M", "MIN_SPAN_M", "PAN_FRACTION", "ZOOM_STEP", "MapView", "MapViewBox"]

#: Arrow keys move the view by this fraction of its width or height.
PAN_FRACTION = 0.2
#: + and - zoom in or out by this factor.
ZOOM_STEP = 1.5
#: Narrowest and widest view (metres across).
MIN_SPAN_M = 80.0
MAX_SPAN_M = 80_000.0


class MapViewBox(pg.ViewBox):  # type: ignore[misc]
    """The map's view box: metres, aspect 1, pan with the left button (module docstring)."""

    clicked = Signal(object, bool)  # QPointF in metres, whether it was a double click
    menu_requested = Signal(object, object)  # QPointF in metres, QPoint on the screen

    def __init__(self) -> None:
        super().__init__(lockAspect=1.0, enableMenu=False, invertY=False, defaultPadding=0.0)
        self.setMouseMode(pg.ViewBox.PanMode)
        self.disableAutoRange()

    def mouseClickEvent(self, ev: object) -> None:
        button = ev.button()  # type: ignore[attr-defined]
        where = self.mapSceneToView(ev.scenePos())  # type: ignore[attr-defined]
        if button == Qt.MouseButton.LeftButton:
            ev.accept()  # type: ignore[attr-defined]
            self.clicked.emit(where, bool(ev.double()))  # type: ignore[attr-defined]
        elif button == Qt.MouseButton.RightButton:
            ev.accept()  # type: ignore[attr-defined]
            self.menu_requested.emit(where, ev.screenPos().toPoint())  # type: ignore[attr-defined]
        else:
            super().mouseClickEvent(ev)


class MapView(pg.GraphicsView):  # type: ignore[misc]
    """The widget of one map: the view box and the keys (module docstring). ``home``: the
    rectangle Home fits (the city)."""

    key_menu_requested = Signal()  # the Menu key or Shift+F10

    def __init__(self, home: QRectF, parent: QWidget | None = None) -> None:
        super().__init__(parent, background="#0d1117")
        self.box = MapViewBox()
        self.setCentralItem(self.box)
        self.home_rect = QRectF(home)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        margin = MAX_SPAN_M / 2
        self.box.setLimits(
            xMin=home.left() - margin,
            xMax=home.right() + margin,
            yMin=home.top() - margin,
            yMax=home.bottom() + margin,
            minXRange=MIN_SPAN_M,
            minYRange=MIN_SPAN_M,
            maxXRange=MAX_SPAN_M,
            maxYRange=MAX_SPAN_M,
        )
        self.fit_home()

    # --- the view --------------------------------------------------------------------------

    def view_rect(self) -> QRectF:
        (x0, x1), (y0, y1) = self.box.viewRange()
        return QRectF(x0, y0, x1 - x0, y1 - y0)

    def metres_per_px(self) -> float:
        """Metres per screen pixel now (the aspect is locked: the same both ways)."""
        (x0, x1), _ = self.box.viewRange()
        width = max(1.0, float(self.box.width()))
        return float(x1 - x0) / width

    def centre(self) -> QPointF:
        return self.view_rect().center()

    def show_area(self, cx: float, cy: float, span: float) -> None:
        """Centre the view on (``cx``, ``cy``) with ``span`` metres across its narrower side."""
        span = min(MAX_SPAN_M, max(MIN_SPAN_M, span))
        self.box.setRange(
            xRange=(cx - span / 2, cx + span / 2), yRange=(cy - span / 2, cy + span / 2), padding=0
        )

    def centre_on(self, cx: float, cy: float) -> None:
        """Move the view so (``cx``, ``cy``) is in its middle, at the same zoom."""
        view = self.view_rect()
        self.box.translateBy(x=cx - view.center().x(), y=cy - view.center().y())

    def fit_home(self) -> None:
        home = self.home_rect
        self.box.setRange(rect=home, padding=0.02)

    def pan(self, fx: float, fy: float) -> None:
        """Move by ``fx`` of the width east and ``fy`` of the height north."""
        view = self.view_rect()
        self.box.translateBy(x=fx * view.width(), y=fy * view.height())

    def zoom(self, factor: float) -> None:
        """Zoom in (``factor`` > 1) or out about the centre."""
        centre = self.centre()
        self.box.scaleBy(s=(1 / factor, 1 / factor), center=centre)

    # --- keys ------------------------------------------------------------------------------

    def keyPressEvent(self, ev: QKeyEvent) -> None:
        key = Qt.Key(ev.key())
        keys = Qt.Key
        moves = {
            keys.Key_Left: (-PAN_FRACTION, 0.0),
            keys.Key_Right: (PAN_FRACTION, 0.0),
            keys.Key_Up: (0.0, PAN_FRACTION),
            keys.Key_Down: (0.0, -PAN_FRACTION),
        }
        if key in moves:
            self.pan(*moves[key])
        elif key in (keys.Key_Plus, keys.Key_Equal):
            self.zoom(ZOOM_STEP)
        elif key in (keys.Key_Minus, keys.Key_Underscore):
            self.zoom(1 / ZOOM_STEP)
        elif key == keys.Key_Home:
            self.fit_home()
        elif key == keys.Key_Menu or (
            key == keys.Key_F10 and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier
        ):
            self.key_menu_requested.emit()
        else:
            super().keyPressEvent(ev)
            return
        ev.accept()

    def screen_point(self, x: float, y: float) -> QPoint:
        """Where the map point (``x``, ``y``) metres is on the screen."""
        scene = self.box.mapViewToScene(QPointF(x, y))
        return QPoint(self.mapToGlobal(self.mapFromScene(scene)))
