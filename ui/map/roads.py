"""The roads on one map: one item drawing every class in a few calls, and street names.

`RoadGeometry` is what the maps draw the roads from (numpy only, so it is prepared in the
worker thread that loads the map, and shared by every map): per drawing class of
`desktop.geo.road_render` and zoom level, its line segments, at the file's level of detail for
that zoom (a third of them for the whole city, all of them for a few blocks); the street-name
anchors in placing order.

`RoadLayer` is ONE item for the whole network (about 4,100 TIGER lines, 37,000 segments): per
class one ``QPainter.drawLines`` call over a numpy array of segments (no Python object per
street or per segment), with cosmetic, opaque, unantialiased pens, which Qt draws as plain line
segments (a stroked ``QPainterPath``, as a pyqtgraph ``PlotCurveItem`` draws a pen wider than a
pixel, is several times slower). Pens change with the zoom level (`ui.map.style.zoom_level`):
thinner and dimmer when the whole city shows; paths and service roads only closer in. Zoomed in,
only the segments in view (and a margin) are handed to Qt. While the view is still, the roads
are drawn once into a pixmap the size of the viewport and that is copied at each repaint, so a
repaint for moving units costs a copy, not the network: the first paint after the view stops
draws directly and remembers the view, the second one fills the pixmap.

`StreetLabels` names the streets in view once zoomed in past `LABEL_ZOOM_M_PER_PX`: at most
`MAX_LABELS`, at the middle of named lines along their direction, the bigger roads first,
never two within `LABEL_SPACING_PX` of each other, and only on lines long enough on screen to
carry their name. They are drawn by one item from ``QStaticText``s laid out once per name (the
pool is the name cache): pyqtgraph's ``TextItem`` wraps a ``QGraphicsTextItem`` and its text
document, measured at about 100 µs per label per frame (40 labels: a quarter of a 16 ms frame),
where the static texts cost a few.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QLineF, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QPainter,
    QPen,
    QPixmap,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from desktop.geo.road_render import CLASSES, RoadRender
from ui.map.style import LABEL_ZOOM_M_PER_PX, ZOOM_LEVELS, MapStyle, zoom_level

__all__ = ["LABEL_SPACING_PX", "MAX_LABELS", "RoadGeometry", "RoadLayer", "StreetLabels"]

F64 = npt.NDArray[np.float64]

#: Street names shown at once, at most.
MAX_LABELS = 40
#: Closest two street names may be, in pixels (between their centres).
LABEL_SPACING_PX = 110.0
#: Segments are culled to the view when it shows less than this share of the city's width.
CULL_BELOW = 0.5
#: Route numbers ("US Hwy 101" over Van Ness Ave): named only where nothing else is.
_ROUTE_NAME = re.compile(r"^(US Hwy|State Hwy|State Rte|I-)\b", re.IGNORECASE)


@dataclass(frozen=True)
class RoadGeometry:
    """What every map draws the roads and their names from (module docstring)."""

    segments: dict[tuple[str, int], F64]  # (class, zoom level) -> (n, 4): x1 y1 x2 y2 metres
    bounds: QRectF  # the city
    names: tuple[str, ...]
    label_x: F64  # the anchors of named lines, in placing order
    label_y: F64
    label_angle: F64
    label_length: F64
    label_name: npt.NDArray[np.int32]

    @classmethod
    def of(cls, render: RoadRender) -> RoadGeometry:
        """Prepare ``render`` for drawing (numpy only: fine in a worker thread)."""
        anchors = render.label_anchors()
        drawn = render.line_class[anchors.line].astype(np.int64)
        route = np.array([bool(_ROUTE_NAME.match(render.names[n])) for n in anchors.name])
        rank = np.where(route, -1, drawn)  # bigger classes first, route numbers last
        order = np.lexsort((-anchors.length, -rank))
        x0, y0, x1, y1 = render.bounds
        return cls(
            segments={
                (name, level): render.segments(name, detail=level)
                for name in CLASSES
                for level in range(ZOOM_LEVELS)
            },
            bounds=QRectF(x0, y0, x1 - x0, y1 - y0),
            names=render.names,
            label_x=anchors.x[order],
            label_y=anchors.y[order],
            label_angle=anchors.angle[order],
            label_length=anchors.length[order],
            label_name=anchors.name[order],
        )


def _draw_lines(painter: QPainter, lines: F64) -> None:
    """One ``drawLines`` call over an ``(n, 4)`` C-contiguous float64 array."""
    if len(lines):
        first = cast(QLineF, shiboken6.wrapInstance(lines.ctypes.data, QLineF))
        painter.drawLines(first, len(lines))


class RoadLayer(pg.GraphicsObject):  # type: ignore[misc]
    """The roads of one map (module docstring)."""

    def __init__(self, box: pg.ViewBox, geometry: RoadGeometry, style: MapStyle) -> None:
        super().__init__()
        self.geometry_ = geometry
        self._bounds = geometry.bounds.adjusted(-1000, -1000, 1000, 1000)
        self._pens: list[tuple[F64, QPen]] = []
        self._style = style
        self._level = 0
        self._version = 0  # counts changes of what is drawn (pens, visibility)
        self._last_key: tuple[float, ...] | None = None
        self._cache: QPixmap | None = None
        self._cache_key: tuple[float, ...] | None = None
        self.from_cache = False  # the last paint copied the pixmap (tests, the benchmark)
        self.setZValue(0)
        box.addItem(self, ignoreBounds=True)
        self.set_style(style, 0)

    def set_style(self, style: MapStyle, level: int) -> None:
        """Pens for ``style`` at zoom ``level``."""
        self._style, self._level = style, level
        self._background = QColor(style.background)
        self._pens = []
        for name in CLASSES:
            road_pen = style.road_pen(name, level)
            lines = self.geometry_.segments[name, level]
            if road_pen.width <= 0 or not len(lines):
                continue
            pen = QPen(QColor(road_pen.colour), road_pen.width)
            pen.setCosmetic(True)
            pen.setCapStyle(Qt.PenCapStyle.FlatCap)
            if road_pen.dotted:
                pen.setStyle(Qt.PenStyle.DotLine)
            self._pens.append((lines, pen))
        self._version += 1
        self.update()

    def set_zoom(self, metres_per_px: float) -> None:
        level = zoom_level(metres_per_px)
        if level != self._level:
            self.set_style(self._style, level)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _draw(self, painter: QPainter) -> None:
        view = self.viewRect()
        cull = view is not None and view.width() < CULL_BELOW * self._bounds.width()
        if view is not None and cull:
            margin = 0.1 * max(view.width(), view.height())
            x0, x1 = view.left() - margin, view.right() + margin
            y0, y1 = view.top() - margin, view.bottom() + margin
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for lines, pen in self._pens:
            painter.setPen(pen)
            if cull:
                xa, ya, xb, yb = lines[:, 0], lines[:, 1], lines[:, 2], lines[:, 3]
                inside = (
                    (np.maximum(xa, xb) >= x0)
                    & (np.minimum(xa, xb) <= x1)
                    & (np.maximum(ya, yb) >= y0)
                    & (np.minimum(ya, yb) <= y1)
                )
                _draw_lines(painter, np.ascontiguousarray(lines[inside]))
            else:
                _draw_lines(painter, lines)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        self.from_cache = False
        if not self._pens:
            return
        t = painter.transform()
        device = widget if widget is not None else painter.device()
        dpr = device.devicePixelRatioF()
        width, height = device.width(), device.height()
        key: tuple[float, ...] = (t.m11(), t.m12(), t.m21(), t.m22(), t.m31(), t.m32())
        key += (width, height, dpr, self._version)
        if key == self._cache_key and self._cache is not None:
            painter.resetTransform()
            painter.drawPixmap(0, 0, self._cache)
            self.from_cache = True
            return
        if key != self._last_key:  # the view moves: draw, and remember where it was
            self._last_key = key
            self._draw(painter)
            return
        pixmap = QPixmap(round(width * dpr), round(height * dpr))  # still: fill the cache
        pixmap.setDevicePixelRatio(dpr)
        pixmap.fill(self._background)  # opaque: a plain copy, no blending
        cached = QPainter(pixmap)
        cached.setTransform(t)
        self._draw(cached)
        cached.end()
        self._cache, self._cache_key = pixmap, key
        painter.resetTransform()
        painter.drawPixmap(0, 0, pixmap)
        self.from_cache = True


class StreetLabels(pg.GraphicsObject):  # type: ignore[misc]
    """Street names in view, drawn by this one item (module docstring)."""

    def __init__(self, box: pg.ViewBox, geometry: RoadGeometry, style: MapStyle) -> None:
        super().__init__()
        g = self._geometry = geometry
        self._font = QFont()
        self._font.setPointSizeF(max(7.0, self._font.pointSizeF() * 0.85))
        char = QFontMetricsF(self._font).averageCharWidth()
        chars = np.array([len(g.names[n]) for n in g.label_name], np.float64)
        self._text_px = chars * char + 16  # about the name's width, and a margin
        self._texts: dict[int, QStaticText] = {}  # name index -> its laid-out text
        self._placed: list[tuple[float, float, float, int]] = []  # x, y, angle, name
        self._colour = QColor(style.street_label)
        self._halo = QColor(style.background)
        self._bounds = g.bounds.adjusted(-1000, -1000, 1000, 1000)
        self.enabled = True
        self.setZValue(60)
        box.addItem(self, ignoreBounds=True)

    @property
    def shown(self) -> list[str]:
        """The names on the map now, in placing order."""
        return [self._geometry.names[n] for _, _, _, n in self._placed]

    def set_style(self, style: MapStyle) -> None:
        self._colour = QColor(style.street_label)
        self._halo = QColor(style.background)
        self.update()

    def place(self, view: QRectF, metres_per_px: float) -> None:
        """Choose the names for the view ``view`` (metres) at ``metres_per_px``."""
        g = self._geometry
        placed: list[tuple[float, float, float, int]] = []
        if self.enabled and metres_per_px <= LABEL_ZOOM_M_PER_PX:
            inset = 30 * metres_per_px
            inside = np.flatnonzero(
                (g.label_x > view.left() + inset)
                & (g.label_x < view.right() - inset)
                & (g.label_y > view.top() + inset)
                & (g.label_y < view.bottom() - inset)
                & (g.label_length / metres_per_px >= self._text_px)
            )
            spacing = LABEL_SPACING_PX * metres_per_px
            for i in inside[: MAX_LABELS * 20].tolist():
                x, y = float(g.label_x[i]), float(g.label_y[i])
                if any(abs(x - px) < spacing and abs(y - py) < spacing for px, py, _, _ in placed):
                    continue
                placed.append((x, y, float(g.label_angle[i]), int(g.label_name[i])))
                if len(placed) >= MAX_LABELS:
                    break
        if placed != self._placed:
            self._placed = placed
            self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _text(self, name: int) -> QStaticText:
        text = self._texts.get(name)
        if text is None:
            text = QStaticText(self._geometry.names[name])
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.prepare(QTransform(), self._font)
            self._texts[name] = text
        return text

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        if not self._placed:
            return
        t = painter.transform()
        painter.setFont(self._font)
        for x, y, angle, name in self._placed:
            text = self._text(name)
            size = text.size()
            at = QTransform.fromTranslate(
                t.m11() * x + t.m21() * y + t.m31(), t.m12() * x + t.m22() * y + t.m32()
            )
            painter.setTransform(at.rotate(-angle))
            corner = QPointF(-size.width() / 2, -size.height() / 2)
            painter.setPen(self._halo)
            painter.drawStaticText(corner + QPointF(1, 1), text)
            painter.setPen(self._colour)
            painter.drawStaticText(corner, text)
