"""`SpotLayer`: thousands of map markers from numpy arrays, drawn in one call.

A layer holds, per row, a position (``x``, ``y`` metres in the map's projection), a style index
(into the layer's `SpotStyle`s), whether it is shown, and an optional label. Each style is
rendered once into an atlas pixmap; a paint culls the rows outside the viewport, maps the rest
to device pixels with numpy and draws them with one ``QPainter.drawPixmapFragments`` call.
Moving a unit is writing two floats and calling `SpotLayer.changed`: no Python object per
spot, no per-spot style lookup, and Qt merges every ``update()`` of a frame into one paint. (The
pyqtgraph ``ScatterPlotItem`` this replaces rebuilds its record array and looks up every spot's
style in its atlas on each ``setData``; `bench/map_frame.py` compares the two.)

The bounding rectangle is fixed (the city and a margin), so moving markers never re-indexes
the scene. Labels (unit ids, station numbers) are drawn in the same paint, in device pixels,
when `show_labels` is set and at most `LABEL_CAP` labelled spots are in view. Markers at one
spot (the units of a station without a fix, two incidents at one address) are spread on a small
circle around it (`spread`), drawn and picked there, and labelled once ("E1 M2 T5").
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
    QPolygonF,
    QStaticText,
    QTransform,
)
from PySide6.QtWidgets import QStyleOptionGraphicsItem, QWidget

from desktop.geo.areas import natural_key

__all__ = ["LABEL_CAP", "Rows", "SpotLayer", "SpotStyle", "spread", "symbol_path"]

F64 = npt.NDArray[np.float64]

#: At most this many labels are drawn by one layer (more in view: none, the map is too busy).
LABEL_CAP = 120
#: Markers closer than this (pixels) are at one spot, and spread around it (`spread`).
SPREAD_CELL_PX = 3.0
#: The widest circle markers at one spot are spread on (pixels).
SPREAD_MAX_PX = 26.0
_FRAGMENT_FIELDS = 10  # QPainter.PixmapFragment: x y sx sy sw sh scaleX scaleY rotation opacity


class Rows:
    """Markers as arrays, one row per entity: ``x``, ``y`` (metres), ``style`` (index into the
    layer's styles), ``shown``, ``labels`` and ``ids``; ``row`` maps an id to its row. Layers read
    them at every paint, so several maps share one `Rows` and a change is made once."""

    def __init__(self) -> None:
        self.x: F64 = np.zeros(0)
        self.y: F64 = np.zeros(0)
        self.style = np.zeros(0, np.int16)
        self.shown = np.zeros(0, np.bool_)
        self.labels: list[str] = []
        self.ids: list[str] = []
        self.row: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def set(
        self,
        ids: Sequence[str],
        x: Sequence[float] | F64,
        y: Sequence[float] | F64,
        style: Sequence[int] | npt.NDArray[np.integer],
        shown: Sequence[bool] | npt.NDArray[np.bool_] | None = None,
        labels: Sequence[str] | None = None,
    ) -> None:
        """Replace every row."""
        n = len(ids)
        self.ids = list(ids)
        self.row = {entity_id: i for i, entity_id in enumerate(self.ids)}
        self.x = np.array(x, np.float64).reshape(n)
        self.y = np.array(y, np.float64).reshape(n)
        self.style = np.array(style, np.int16).reshape(n)
        self.shown = np.ones(n, np.bool_) if shown is None else np.array(shown, np.bool_)
        self.labels = list(labels) if labels is not None else [""] * n
        if len(self.shown) != n or len(self.labels) != n:
            raise ValueError("rows of different lengths")

    def append(self, entity_id: str, x: float, y: float, style: int, label: str = "") -> int:
        """Add a row at the end (a new unit, a new incident); returns it."""
        row = len(self.ids)
        self.ids.append(entity_id)
        self.row[entity_id] = row
        self.x = np.append(self.x, x)
        self.y = np.append(self.y, y)
        self.style = np.append(self.style, np.int16(style))
        self.shown = np.append(self.shown, True)
        self.labels.append(label)
        return row

    def nearest(self, x: float, y: float, within: float) -> int | None:
        """The shown row nearest (``x``, ``y``) within ``within`` metres, or None."""
        if not len(self.x):
            return None
        d = np.hypot(self.x - x, self.y - y)
        d[~self.shown] = np.inf
        row = int(np.argmin(d))
        return row if d[row] <= within else None


@dataclass(frozen=True, slots=True)
class SpotStyle:
    """How one kind of marker looks: a ``symbol`` (`symbol_path`), its ``size`` in pixels, a
    ``fill`` (None: hollow) and an ``outline`` of ``width`` pixels (None: none)."""

    symbol: str
    size: float
    fill: str | None
    outline: str | None = None
    width: float = 1.0
    dashed: bool = False


def symbol_path(symbol: str, size: float) -> QPainterPath:
    """A marker shape centred on (0, 0), ``size`` pixels across: ``circle``, ``square``,
    ``diamond``, ``triangle``, ``cross``."""
    path = QPainterPath()
    r = size / 2
    if symbol == "square":
        path.addRect(QRectF(-r * 0.85, -r * 0.85, 1.7 * r, 1.7 * r))
    elif symbol == "diamond":
        path.addPolygon(QPolygonF([QPointF(0, -r), QPointF(r, 0), QPointF(0, r), QPointF(-r, 0)]))
        path.closeSubpath()
    elif symbol == "triangle":
        h = r * math.sqrt(3) / 2
        path.addPolygon(QPolygonF([QPointF(0, -r), QPointF(h, r / 2), QPointF(-h, r / 2)]))
        path.closeSubpath()
    elif symbol == "cross":
        path.moveTo(-r, 0)
        path.lineTo(r, 0)
        path.moveTo(0, -r)
        path.lineTo(0, r)
    else:
        path.addEllipse(QRectF(-r, -r, 2 * r, 2 * r))
    return path


def _render(style: SpotStyle, dpr: float) -> QImage:
    side = math.ceil(style.size + 2 * style.width + 2)
    image = QImage(round(side * dpr), round(side * dpr), QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(dpr)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.translate(side / 2, side / 2)
    if style.outline is None:
        painter.setPen(Qt.PenStyle.NoPen)
    else:
        pen = QPen(QColor(style.outline), style.width)
        if style.dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
    painter.setBrush(QBrush(QColor(style.fill)) if style.fill else Qt.BrushStyle.NoBrush)
    painter.drawPath(symbol_path(style.symbol, style.size))
    painter.end()
    return image


class SpotLayer(pg.GraphicsObject):  # type: ignore[misc]
    """Draws `Rows` (module docstring). ``bounds``: the fixed bounding rectangle, in metres;
    ``styles``: the style of each style index."""

    def __init__(self, rows: Rows, bounds: QRectF, styles: Sequence[SpotStyle]) -> None:
        super().__init__()
        self.rows = rows
        self._bounds = QRectF(bounds)
        self.show_labels = False
        self.labels_left = False  # labels left of the markers (stations: units spread right)
        self.spread_out = True  # spread markers at one spot (off when the whole city shows)
        self.label_colour = QColor("#c9d1d9")
        #: A label colour per style index (a spot's label takes its style's); None: all
        #: `label_colour`.
        self.label_colours: Sequence[QColor] | None = None
        self.halo_colour = QColor("#0d1117")
        self.label_font = QFont()
        self._texts: dict[str, QStaticText] = {}  # label -> laid out once
        self._fragments = np.zeros((0, _FRAGMENT_FIELDS), np.float64)
        self._styles: tuple[SpotStyle, ...] = ()
        self._atlas = QPixmap()
        self._atlas_dpr = 0.0
        self._sources = np.zeros((0, 4), np.float64)
        self._pad = 0.0
        self.painted = 0  # rows drawn by the last paint (tests, the benchmark)
        self._painted_rows = np.zeros(0, np.intp)  # which, and where (viewport pixels)
        self._painted_x: F64 = np.zeros(0)
        self._painted_y: F64 = np.zeros(0)
        self.set_styles(styles)

    def set_styles(self, styles: Sequence[SpotStyle]) -> None:
        """Replace the styles (a theme change); the atlas is rendered again at the next paint."""
        self._styles = tuple(styles)
        self._atlas_dpr = 0.0
        self._pad = max((s.size / 2 + s.width + 1 for s in self._styles), default=0.0)
        self.update()

    @property
    def styles(self) -> tuple[SpotStyle, ...]:
        return self._styles

    def changed(self) -> None:
        """The rows changed (in place or replaced): paint again (Qt merges a frame's updates)."""
        self.update()

    # --- drawing ---------------------------------------------------------------------------

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _build_atlas(self, dpr: float) -> None:
        images = [_render(s, dpr) for s in self._styles]
        width = sum(i.width() for i in images) or 1
        height = max((i.height() for i in images), default=1)
        atlas = QImage(width, height, QImage.Format.Format_ARGB32_Premultiplied)
        atlas.fill(Qt.GlobalColor.transparent)
        painter = QPainter(atlas)
        sources = []
        left = 0
        for image in images:
            image.setDevicePixelRatio(1.0)
            painter.drawImage(left, 0, image)
            sources.append((left, 0, image.width(), image.height()))
            left += image.width()
        painter.end()
        self._atlas = QPixmap.fromImage(atlas)
        self._sources = np.array(sources, np.float64).reshape(-1, 4)
        self._atlas_dpr = dpr

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        self.painted = 0
        self._painted_rows = np.zeros(0, np.intp)
        data = self.rows
        if not len(data.x) or not self._styles:
            return
        dpr = (
            widget.devicePixelRatioF()
            if widget is not None
            else painter.device().devicePixelRatioF()
        )
        if dpr != self._atlas_dpr:
            self._build_atlas(dpr)
        t = painter.transform()
        view = self.viewRect()
        if view is None or not t.m11():
            return
        pad = (self._pad + SPREAD_MAX_PX) / abs(t.m11())  # metres: a marker, spread out
        x, y = data.x, data.y
        rows = np.flatnonzero(
            data.shown
            & (x > view.left() - pad)
            & (x < view.right() + pad)
            & (y > view.top() - pad)
            & (y < view.bottom() + pad)
        )
        n = len(rows)
        if not n:
            return
        if len(self._fragments) < n:
            self._fragments = np.zeros((max(n, 2 * len(self._fragments)), _FRAGMENT_FIELDS))
        frags = self._fragments[:n]
        cx = t.m11() * x[rows] + t.m21() * y[rows] + t.m31()
        cy = t.m12() * x[rows] + t.m22() * y[rows] + t.m32()
        if self.spread_out:
            xd, yd, group, size = spread(cx, cy)
        else:
            xd, yd, group, size = cx, cy, np.arange(n), np.ones(n, np.intp)
        frags[:, 0] = xd
        frags[:, 1] = yd
        frags[:, 2:6] = self._sources[data.style[rows]]
        frags[:, 6:8] = 1.0 / dpr
        frags[:, 8] = 0.0
        frags[:, 9] = 1.0
        painter.resetTransform()
        first = cast(
            QPainter.PixmapFragment,
            shiboken6.wrapInstance(frags.ctypes.data, QPainter.PixmapFragment),
        )
        painter.drawPixmapFragments(first, n, self._atlas)
        self.painted = n
        self._painted_rows, self._painted_x, self._painted_y = rows, xd, yd
        if self.show_labels:
            self._paint_labels(painter, rows, cx, cy, xd, group, size)

    def row_at(self, px: float, py: float, within_px: float) -> tuple[int, float] | None:
        """The row drawn nearest the viewport point (``px``, ``py``) by the last paint, within
        ``within_px`` (markers spread apart are picked where they were drawn), and how far."""
        drawn = self._painted_rows
        if not len(drawn) or int(drawn.max()) >= len(self.rows.shown):  # rows replaced since
            return None
        d = np.hypot(self._painted_x - px, self._painted_y - py)
        i = int(np.argmin(d))
        if d[i] > within_px or not self.rows.shown[drawn[i]]:
            return None
        return int(drawn[i]), float(d[i])

    def _paint_labels(
        self,
        painter: QPainter,
        rows: npt.NDArray[np.intp],
        cx: F64,
        cy: F64,
        xd: F64,
        group: npt.NDArray[np.intp],
        size: npt.NDArray[np.intp],
    ) -> None:
        labels = self.rows.labels
        spots: dict[int, list[int]] = {}  # group -> the positions (in rows) of its labelled rows
        for i, r in enumerate(rows.tolist()):
            if labels[r]:
                spots.setdefault(int(group[i]), []).append(i)
        if not spots or len(spots) > LABEL_CAP:
            return
        painter.setFont(self.label_font)
        dy = -QFontMetricsF(self.label_font).height() / 2
        placed: list[tuple[float, float, str]] = []
        colours = self.label_colours
        styles = self.rows.style
        placed_colours: list[QColor] = []
        for members in spots.values():
            i = members[0]
            if colours is not None:
                style = int(styles[rows[i]])
                placed_colours.append(colours[style] if style < len(colours) else self.label_colour)
            names = sorted((labels[rows[k]] for k in members), key=natural_key)
            text = " ".join(names[:4]) + (f" +{len(names) - 4}" if len(names) > 4 else "")
            if size[i] > 1:  # beside the spread: right of its centre, past its radius
                left = cx[i] + float(_spread_radius(size[i])) + self._pad + 2
                placed.append((left, cy[i] + dy, text))
            else:
                placed.append((xd[i] + self._pad + 1, cy[i] + dy, text))
        if self.labels_left:  # clear of units spread around the same spot
            placed = [
                (
                    cx[m[0]] - SPREAD_MAX_PX - self._pad - self._text(label).size().width(),
                    top,
                    label,
                )
                for m, (_, top, label) in zip(spots.values(), placed, strict=True)
            ]
        painter.setPen(self.halo_colour)
        for left, top, label in placed:
            painter.drawStaticText(QPointF(left + 1.0, top + 1.0), self._text(label))
        painter.setPen(self.label_colour)
        for k, (left, top, label) in enumerate(placed):
            if colours is not None:
                painter.setPen(placed_colours[k])
            painter.drawStaticText(QPointF(left, top), self._text(label))

    def _text(self, label: str) -> QStaticText:
        text = self._texts.get(label)
        if text is None:
            if len(self._texts) > 4 * LABEL_CAP:  # group labels come and go: keep it bounded
                self._texts.clear()
            text = self._texts[label] = QStaticText(label)
            text.setTextFormat(Qt.TextFormat.PlainText)
            text.prepare(QTransform(), self.label_font)
        return text


def _spread_radius(size: Any) -> F64:
    """The radius (pixels) of the circle a spot's ``size`` markers are spread on."""
    return np.asarray(np.minimum(SPREAD_MAX_PX, 3.0 + 2.2 * np.asarray(size, np.float64)))


def spread(x: F64, y: F64) -> tuple[F64, F64, npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Markers at one spot (within `SPREAD_CELL_PX`: units at their station, calls at one
    address) placed around it on a circle, so each shows and can be clicked. Returns the new
    x, y (pixels), each marker's group and its group's size (1: alone, not moved)."""
    key = np.round(x / SPREAD_CELL_PX).astype(np.int64) * 2_000_003 + np.round(
        y / SPREAD_CELL_PX
    ).astype(np.int64)
    _, group, counts = np.unique(key, return_inverse=True, return_counts=True)
    size = counts[group]
    if len(size) == 0 or int(size.max()) == 1:
        return x, y, group, size
    order = np.argsort(group, kind="stable")
    starts = np.cumsum(counts) - counts
    position = np.empty(len(order), np.intp)
    position[order] = np.arange(len(order))
    rank = position - starts[group]
    radius = np.where(size > 1, _spread_radius(size), 0.0)
    angle = 2 * np.pi * rank / size - np.pi / 2
    return x + radius * np.cos(angle), y + radius * np.sin(angle), group, size
