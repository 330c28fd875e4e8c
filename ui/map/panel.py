"""`MapPanel`: one map of the city — roads, incidents, units, stations, callers — and what a
dispatcher does on it.

The view is `ui.map.view.MapView` (metres, pan and zoom with mouse and keys); roads and street
names are `ui.map.roads`'; the markers are `SpotLayer`s drawing the window's shared
`ui.map.model.MapModel` rows, so several maps (one per monitor) cost one update. A toolbar
turns layers on and off (roads, street names, incidents, units, callers, stations) and fits the
city; each map has its own view and layers, saved with the layout (`save_state`,
`restore_state`: the hooks `ui.layouts.LayoutManager` calls on a dock's widget).

Selection is the window's `ui.selection.Selection`: the selected incident and unit are ringed
on every map; a click on a marker selects it everywhere; a double click also centres every map
on it (`MapActions.centre_all`). A unit in radio emergency has a bold red ring of its own (the
model's ``alarms``), labelled, drawn over every other marker whatever layers are shown.

The context menu offers, for the point or the incident under the cursor: Dispatch recommended
units (what F9 does in Incident detail), Create incident here (reverse geocoded into
Call-taking), Show route (``route_requested``: the window follows the selected unit's drive and
draws it with `draw_route`, its ETA under the map, `say_route`; the map asked shows the whole
route), Clear route and Show caller's location; the Menu key or Shift+F10 opens it at the
selected incident (else the middle of the view). What the window does for them is `MapActions`
(`ui.map.docks.MapDocks`); without it the map centres itself and offers no actions. A
monitoring position (`MapPanel.set_read_only_role`, `ui.read_only`) dispatches and creates
nothing from the map: those two are disabled saying why; the view, routes and the caller's
location still work.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QPainterPath, QPen
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsPathItem,
    QLabel,
    QMenu,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.wording import incident_label
from ui.map.markers import Rows, SpotLayer
from ui.map.model import MapModel, MapUpdate
from ui.map.roads import RoadGeometry, RoadLayer, StreetLabels
from ui.map.style import (
    UNIT_LABEL_ZOOM_M_PER_PX,
    MapStyle,
    alarm_styles,
    call_styles,
    incident_styles,
    map_style,
    ring_styles,
    station_styles,
    unit_styles,
    zoom_level,
)
from ui.map.view import MapView
from ui.read_only import ReadOnlyGuard
from ui.selection import Selection
from ui.widgets.message_line import MessageLine, MessageState

__all__ = ["LAYERS", "PICK_PX", "MapActions", "MapPanel", "RouteRequest"]

#: The layers a dispatcher can turn on and off, and their toolbar words.
LAYERS: dict[str, str] = {
    "roads": "Roads",
    "labels": "Street names",
    "incidents": "Incidents",
    "units": "Units",
    "calls": "Callers",
    "stations": "Stations",
}
#: A click picks the marker nearest it within this many pixels.
PICK_PX = 12.0
#: Street names are placed again this long after the view stops moving (ms).
LABELS_DELAY_MS = 60
#: A view centred on one thing (Show caller's location) is this wide at least (metres).
CLOSE_SPAN_M = 900.0
#: A route shown is fitted into the view with this much room around it (times its extent).
ROUTE_MARGIN = 1.3
#: Markers that keep changing (AVL, statuses) are repainted at most this often (ms): 30 a
#: second, half the display rate, so a busy floor costs the map half the repaints; a change
#: after a quiet spell shows at once, in the same window update as the board's.
MARKER_FRAME_MS = 33
#: A change within a frame of the last repaint waits this much longer than the frame, so the
#: next change (the bridge's next frame, 16 ms on) usually paints it with the board's, in one
#: window update instead of two; the timer only paints what no later change did.
MERGE_SLACK_MS = 20
_Z = {
    "calls": 15.0,
    "route": 25.0,
    "stations": 20.0,
    "incidents": 30.0,
    "units": 40.0,
    "rings": 50.0,
    "alarms": 60.0,
}


@dataclass(frozen=True, slots=True)
class RouteRequest:
    """A route asked for on a map: from ``unit_id`` (the selected unit; ``origin`` its position)
    to ``incident_id`` (the incident under the cursor, else the selected one) or, without one,
    to the point ``destination`` (lat, lon) the menu was opened on."""

    unit_id: str | None
    incident_id: str | None
    origin: tuple[float, float] | None
    destination: tuple[float, float]


class MapActions(Protocol):
    """What the window does for a map (`ui.map.docks.MapDocks`)."""

    def centre_all(self, x: float, y: float) -> None: ...
    def dispatch_recommended(self, incident_id: str) -> bool: ...
    def create_incident_at(self, lat: float, lon: float) -> tuple[str, bool]: ...
    def clear_route(self) -> None: ...


class MapPanel(QWidget):
    """One map (module docstring) of ``model``'s markers over ``roads``; ``name``: its dock's
    objectName (``map``, ``map_2``…)."""

    route_requested = Signal(object)  # RouteRequest

    def __init__(
        self,
        model: MapModel,
        roads: RoadGeometry,
        selection: Selection,
        *,
        name: str = "map",
        actions: MapActions | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(f"{name}_panel")
        self.name = name
        self.model = model
        self.selection = selection
        self.map_actions = actions
        self.style_ = map_style(_theme())
        home = QRectF(roads.bounds)
        bounds = home.adjusted(-40_000, -40_000, 40_000, 40_000)
        self.view = MapView(home)
        self.view.setObjectName("map_view")
        self.box = self.view.box
        self.roads = RoadLayer(self.box, roads, self.style_)
        self.street_labels = StreetLabels(self.box, roads, self.style_)
        self.call_outlines = QGraphicsPathItem()
        self.call_outlines.setZValue(_Z["calls"])
        self.box.addItem(self.call_outlines, ignoreBounds=True)
        self.call_rows = Rows()
        self.layers: dict[str, SpotLayer] = {
            "calls": SpotLayer(self.call_rows, bounds, []),
            "stations": SpotLayer(model.station_rows, bounds, []),
            "incidents": SpotLayer(model.incidents, bounds, []),
            "units": SpotLayer(model.units, bounds, []),
        }
        for kind, layer in self.layers.items():
            layer.setZValue(_Z[kind])
            self.box.addItem(layer, ignoreBounds=True)
        self.layers["stations"].labels_left = True
        self.route = pg.PlotCurveItem(antialias=True)
        self.route.setZValue(_Z["route"])
        self.box.addItem(self.route, ignoreBounds=True)
        self.rings = Rows()
        self.rings.set(["incident", "unit"], [0, 0], [0, 0], [0, 1], shown=[False, False])
        self.ring_layer = SpotLayer(self.rings, bounds, [])
        self.ring_layer.setZValue(_Z["rings"])
        self.box.addItem(self.ring_layer, ignoreBounds=True)
        self.alarm_layer = SpotLayer(model.alarms, bounds, [])
        self.alarm_layer.setZValue(_Z["alarms"])
        self.alarm_layer.show_labels = True  # at every zoom: who is in trouble
        self.alarm_layer.spread_out = False  # exactly over the unit (one ring per unit)
        self.alarm_layer.label_font.setBold(True)
        self.alarm_layer.setVisible(len(model.alarms) > 0)  # none: not even asked to paint
        self.box.addItem(self.alarm_layer, ignoreBounds=True)
        self.visible: dict[str, bool] = dict.fromkeys(LAYERS, True)
        self.message = MessageLine("map_message", hide_when_empty=True)
        self.read_only = ReadOnlyGuard(self.message)  # the menu's edit actions: `menu_actions`
        self.route_label = QLabel()
        self.route_label.setObjectName("map_route")
        self.route_label.setToolTip("The route drawn: Clear route in the map's menu removes it")
        self.route_label.hide()
        self._build_toolbar()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.route_label)
        layout.addWidget(self.message)
        self._labels_timer = QTimer(self)
        self._labels_timer.setSingleShot(True)
        self._labels_timer.setInterval(LABELS_DELAY_MS)
        self._labels_timer.timeout.connect(self.place_street_labels)
        self._dirty: set[str] = set()  # marker layers changed since they were last repainted
        self._markers_painted_at = float("-inf")  # time.monotonic() of that
        self._markers_timer = QTimer(self)
        self._markers_timer.setSingleShot(True)
        self._markers_timer.timeout.connect(self._repaint_markers)
        self.apply_style(self.style_)
        self._show_calls()
        self._place_rings()
        model.changed.connect(self._on_model)
        selection.incident_changed.connect(self._on_selected)
        selection.unit_changed.connect(self._on_selected)
        self.box.sigRangeChanged.connect(self._on_range)
        self.box.clicked.connect(self._on_click)
        self.box.menu_requested.connect(self.open_menu)
        self.view.key_menu_requested.connect(self.open_menu_from_keys)
        self._on_range()

    # --- building --------------------------------------------------------------------------

    def _build_toolbar(self) -> None:
        self.toolbar = QToolBar("Map")
        self.toolbar.setObjectName(f"{self.name}_toolbar")  # unique: layouts check toolbars
        self.toolbar.setFloatable(False)
        self.toolbar.setMovable(False)
        self.layer_actions: dict[str, QAction] = {}
        for name, words in LAYERS.items():
            action = self.toolbar.addAction(words)
            action.setObjectName(f"map_layer_{name}")
            action.setCheckable(True)
            action.setChecked(True)
            action.toggled.connect(lambda on, n=name: self.set_layer(n, on))
            self.layer_actions[name] = action
        self.toolbar.addSeparator()
        fit = self.toolbar.addAction("Fit city", self.view.fit_home)
        fit.setObjectName("map_fit_city")
        fit.setToolTip("Show the whole city (Home)")

    def apply_style(self, style: MapStyle) -> None:
        """Draw with ``style`` (a theme)."""
        self.style_ = style
        self.view.setBackground(QColor(style.background))
        self.roads.set_style(style, 0)
        self.roads.set_zoom(self.view.metres_per_px())
        self.street_labels.set_style(style)
        styles = {
            "calls": call_styles(style),
            "stations": station_styles(style),
            "incidents": incident_styles(style),
            "units": unit_styles(style),
        }
        for name, layer in self.layers.items():
            layer.set_styles(styles[name])
            layer.label_colour = QColor(style.label)
            layer.halo_colour = QColor(style.label_halo)
        self.ring_layer.set_styles(ring_styles(style))
        self.alarm_layer.set_styles(alarm_styles(style))
        self.alarm_layer.label_colour = QColor(style.emergency)
        acknowledged = QColor(style.emergency_acknowledged)  # by ALARM_SOUNDING, _PULSE, _ACK…
        self.alarm_layer.label_colours = [QColor(style.emergency)] * 2 + [acknowledged]
        self.alarm_layer.halo_colour = QColor(style.label_halo)
        pen = QPen(QColor(style.caller), 1.5)
        pen.setCosmetic(True)
        pen.setStyle(Qt.PenStyle.DashLine)
        self.call_outlines.setPen(pen)
        self.route.setPen(pg.mkPen(QColor(style.route), width=4))

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            # `ui.theme.apply_theme` names the theme after setting the palette: look then
            QTimer.singleShot(0, self, self._follow_theme)
        super().changeEvent(event)

    def _follow_theme(self) -> None:
        style = map_style(_theme())
        if style is not self.style_:
            self.apply_style(style)

    # --- layers and view -------------------------------------------------------------------

    def set_layer(self, name: str, on: bool) -> None:
        """Show or hide layer ``name`` (`LAYERS`)."""
        self.visible[name] = on
        if self.layer_actions[name].isChecked() != on:
            self.layer_actions[name].setChecked(on)
        if name == "roads":
            self.roads.setVisible(on)
        elif name == "labels":
            self.street_labels.enabled = on
            self.place_street_labels()
        elif name in self.layers:
            self.layers[name].setVisible(on)
            if name == "calls":
                self.call_outlines.setVisible(on)

    def save_state(self) -> dict[str, Any]:
        """This map's view (centre and span, metres) and layers, for the layout."""
        view = self.view.view_rect()
        span = min(view.width(), view.height())
        centre = view.center()
        return {"view": [centre.x(), centre.y(), span], "layers": dict(self.visible)}

    def restore_state(self, state: Mapping[str, Any]) -> None:
        """Apply what `save_state` gave (anything malformed is ignored)."""
        layers = state.get("layers")
        if isinstance(layers, Mapping):
            for name, on in layers.items():
                if name in LAYERS and isinstance(on, bool):
                    self.set_layer(name, on)
        view = state.get("view")
        if (
            isinstance(view, list)
            and len(view) == 3
            and all(isinstance(v, int | float) and np.isfinite(v) for v in view)
        ):
            self.view.show_area(float(view[0]), float(view[1]), float(view[2]))

    def _on_range(self, *_: object) -> None:
        mpp = self.view.metres_per_px()
        self.roads.set_zoom(mpp)
        close = mpp <= UNIT_LABEL_ZOOM_M_PER_PX
        for name in ("units", "stations"):
            self.layers[name].show_labels = close
        for layer in self.layers.values():  # the whole city: a station's units are one dot
            layer.spread_out = zoom_level(mpp) > 0
        self._labels_timer.start()

    def place_street_labels(self) -> None:
        self.street_labels.place(self.view.view_rect(), self.view.metres_per_px())

    def centre_on(self, x: float, y: float, span: float | None = None) -> None:
        """Centre this map on (``x``, ``y``) metres; with ``span``, at least that wide."""
        if span is not None and self.view.metres_per_px() * self.view.width() > span:
            self.view.show_area(x, y, span)
        else:
            self.view.centre_on(x, y)

    # --- what changed ----------------------------------------------------------------------

    def _on_model(self, update: MapUpdate) -> None:
        if update.units:
            self._dirty.add("units")
        if update.incidents:
            self._dirty.add("incidents")
        if update.calls:
            self._show_calls()
        if update.alarms:
            self._dirty.add("alarms")
        if {self.selection.incident_id, self.selection.unit_id} & update.ids:
            self._dirty.add("rings")
        if not self._dirty:
            return
        since_ms = (time.monotonic() - self._markers_painted_at) * 1000
        if since_ms >= MARKER_FRAME_MS:
            self._markers_timer.stop()
            self._repaint_markers()  # now: painted in the same window update as the board
        elif not self._markers_timer.isActive():
            self._markers_timer.start(round(MARKER_FRAME_MS - since_ms + MERGE_SLACK_MS))

    def _repaint_markers(self) -> None:
        self._markers_painted_at = time.monotonic()
        dirty, self._dirty = self._dirty, set()
        if "rings" in dirty:
            self._place_rings()
        if "alarms" in dirty:
            self.alarm_layer.setVisible(len(self.model.alarms) > 0)
            self.alarm_layer.changed()
        for name in dirty - {"rings", "alarms"}:
            self.layers[name].changed()

    def _on_selected(self, _id: object = None) -> None:
        self._place_rings()

    def _place_rings(self) -> None:
        places = (
            self.model.incident_xy(self.selection.incident_id)
            if self.selection.incident_id
            else None,
            self.model.unit_xy(self.selection.unit_id) if self.selection.unit_id else None,
        )
        for row, place in enumerate(places):
            self.rings.shown[row] = place is not None
            if place is not None:
                self.rings.x[row], self.rings.y[row] = place
        self.ring_layer.changed()

    def _show_calls(self) -> None:
        path = QPainterPath()
        shapes = list(self.model.calls.values())
        for shape in shapes:
            for outline in shape.outlines:
                path.moveTo(float(outline[0, 0]), float(outline[0, 1]))
                for px, py in outline[1:].tolist():
                    path.lineTo(px, py)
        self.call_outlines.setPath(path)
        self.call_rows.set(
            [s.call_id for s in shapes],
            [s.x for s in shapes],
            [s.y for s in shapes],
            [int(s.ringing) for s in shapes],
        )
        self.layers["calls"].changed()

    def call_outline(self, call_id: str) -> QRectF | None:
        """The bounding rectangle (metres) of the outlines drawn for call ``call_id``."""
        shape = self.model.calls.get(call_id)
        if shape is None or not shape.outlines:
            return None
        points = np.vstack(shape.outlines)
        x0, y0 = points.min(axis=0)
        x1, y1 = points.max(axis=0)
        return QRectF(float(x0), float(y0), float(x1 - x0), float(y1 - y0))

    # --- routes ----------------------------------------------------------------------------

    def draw_route(self, points: Sequence[tuple[float, float]] | None) -> None:
        """Draw a route through ``points`` (lat, lon), replacing the one drawn; None or fewer
        than two points clear it."""
        if not points or len(points) < 2:
            self.route.setData([], [])
            return
        lat = np.array([p[0] for p in points], np.float64)
        lon = np.array([p[1] for p in points], np.float64)
        x, y = self.model.projection.to_xy(lat, lon)
        self.route.setData(x, y)

    def say_route(self, text: str, ok: bool) -> None:
        """Show the drawn route's ETA line under the map (empty or not ``ok``: none); a route
        that could not be drawn is said on the message line."""
        shown = bool(text) and ok and self.route_points() > 0
        self.route_label.setText(f"Route: {text}" if shown else "")
        self.route_label.setVisible(shown)
        if text and not shown:
            self.message.say(text, MessageState.OK if ok else MessageState.REFUSED)

    def route_points(self) -> int:
        """How many points the drawn route has (0: none)."""
        x, _ = self.route.getData()
        return 0 if x is None else len(x)

    # --- the mouse -------------------------------------------------------------------------

    def pick(self, x: float, y: float) -> tuple[str, str] | None:
        """The marker drawn nearest the map point (``x``, ``y``) metres within `PICK_PX`:
        ("unit" | "incident", id). Where the markers were drawn (spread apart at one spot), else
        (not painted yet) where they are."""
        device = self.view.mapFromScene(self.box.mapViewToScene(QPointF(x, y)))
        within = PICK_PX * self.view.metres_per_px()
        found: list[tuple[float, str, str]] = []
        for kind, layer in (("unit", "units"), ("incident", "incidents")):
            if not self.visible[layer]:
                continue
            rows = self.layers[layer].rows
            drawn = self.layers[layer].row_at(device.x(), device.y(), PICK_PX)
            if drawn is not None:
                found.append((drawn[1], kind, rows.ids[drawn[0]]))
                continue
            row = rows.nearest(x, y, within) if not self.layers[layer].painted else None
            if row is not None:
                pixels = float(np.hypot(rows.x[row] - x, rows.y[row] - y)) / within * PICK_PX
                found.append((pixels, kind, rows.ids[row]))
        if not found:
            return None
        _, kind, entity_id = min(found)
        return kind, entity_id

    def _on_click(self, where: QPointF, double: bool) -> None:
        self.view.setFocus(Qt.FocusReason.MouseFocusReason)
        picked = self.pick(where.x(), where.y())
        if picked is None:
            return
        kind, entity_id = picked
        if kind == "unit":
            self.selection.select_unit(entity_id)
            place = self.model.unit_xy(entity_id)
        else:
            self.selection.select_incident(entity_id)
            place = self.model.incident_xy(entity_id)
        if double and place is not None:
            if self.map_actions is not None:
                self.map_actions.centre_all(*place)
            else:
                self.centre_on(*place)

    def set_read_only_role(self, role: str | None) -> None:
        """A monitoring position (``role`` read-only) dispatches and creates nothing from
        this map (module docstring)."""
        self.read_only.set_role(role)

    def menu_actions(self, where: QPointF) -> QMenu:
        """The context menu for the point ``where`` (metres): see the module docstring."""
        menu = QMenu(self)
        menu.setObjectName("map_menu")
        picked = self.pick(where.x(), where.y())
        under = picked[1] if picked is not None and picked[0] == "incident" else None
        incident_id = under or self.selection.incident_id
        incident = self.model.incident(incident_id) if incident_id else None
        label = incident_label(incident) if incident is not None else ""
        lat, lon = self.model.latlon(where.x(), where.y())
        dispatch = menu.addAction(
            f"Dispatch recommended units to {label}" if under else "Dispatch recommended units"
        )
        dispatch.setObjectName("map_dispatch_recommended")
        dispatch.setEnabled(under is not None and self.map_actions is not None)
        dispatch.triggered.connect(lambda: self._dispatch(under))
        self.read_only.mark(dispatch)
        create = menu.addAction("Create incident here")
        create.setObjectName("map_create_incident")
        create.setEnabled(self.map_actions is not None)
        create.triggered.connect(lambda: self._create_at(lat, lon))
        self.read_only.mark(create)
        route = menu.addAction("Show route")
        route.setObjectName("map_show_route")
        route.triggered.connect(lambda: self.request_route(under, (lat, lon)))
        clear = menu.addAction("Clear route")
        clear.setObjectName("map_clear_route")
        clear.setEnabled(self.route_points() > 0 and self.map_actions is not None)
        clear.triggered.connect(self._clear_route)
        caller = menu.addAction("Show caller's location")
        caller.setObjectName("map_show_caller")
        call = self.model.linked_call(incident_id) if incident_id else None
        caller.setEnabled(call is not None)
        caller.triggered.connect(lambda: self.show_caller(incident_id))
        return menu

    def key_menu_point(self) -> QPointF:
        """Where the menu opened from the keyboard acts: the selected incident when it is in
        view, else the middle of the view."""
        incident_id = self.selection.incident_id
        place = self.model.incident_xy(incident_id) if incident_id else None
        if place is not None and self.view.view_rect().contains(QPointF(*place)):
            return QPointF(*place)
        return self.view.centre()

    def open_menu_from_keys(self) -> QMenu:
        where = self.key_menu_point()
        return self.open_menu(where, self.view.screen_point(where.x(), where.y()))

    def open_menu(self, where: QPointF, screen: QPoint) -> QMenu:
        menu = self.menu_actions(where)
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(screen)
        return menu

    def _dispatch(self, incident_id: str | None) -> None:
        if self.read_only.refuse() or incident_id is None or self.map_actions is None:
            return
        self.selection.select_incident(incident_id)
        self.map_actions.dispatch_recommended(incident_id)

    def _clear_route(self) -> None:
        if self.map_actions is not None:
            self.map_actions.clear_route()

    def _create_at(self, lat: float, lon: float) -> None:
        if self.map_actions is not None and not self.read_only.refuse():
            said, ok = self.map_actions.create_incident_at(lat, lon)
            self.message.say(said, MessageState.OK if ok else MessageState.REFUSED)

    def request_route(self, incident_id: str | None, point: tuple[float, float]) -> RouteRequest:
        """Ask for a route from the selected unit to ``incident_id`` (else the selected
        incident) or to ``point``: emits ``route_requested``."""
        incident_id = incident_id or self.selection.incident_id
        unit_id = self.selection.unit_id
        unit_place = self.model.unit_xy(unit_id) if unit_id else None
        origin = self.model.latlon(*unit_place) if unit_place else None
        to = self.model.incident_xy(incident_id) if incident_id else None
        destination = self.model.latlon(*to) if to else point
        request = RouteRequest(unit_id, incident_id if to else None, origin, destination)
        self.route_requested.emit(request)
        self.fit_route()
        return request

    def fit_route(self) -> bool:
        """Show the whole drawn route on this map (False: none is drawn)."""
        x, y = self.route.getData()
        if x is None or len(x) < 2:
            return False
        x0, x1, y0, y1 = float(x.min()), float(x.max()), float(y.min()), float(y.max())
        span = max(x1 - x0, y1 - y0) * ROUTE_MARGIN
        self.view.show_area((x0 + x1) / 2, (y0 + y1) / 2, max(span, CLOSE_SPAN_M))
        return True

    def show_caller(self, incident_id: str | None) -> bool:
        """Centre on the location of the caller of ``incident_id``'s linked call (drawn even if
        the call has ended). False when it has no such call."""
        call = self.model.linked_call(incident_id) if incident_id else None
        if call is None:
            self.message.say("No caller location on this incident", MessageState.REFUSED)
            return False
        self.model.show_call(call.id)
        shape = self.model.calls.get(call.id)
        if shape is not None:
            self.set_layer("calls", True)
            self.centre_on(shape.x, shape.y, span=CLOSE_SPAN_M)
        return True


def _theme() -> str | None:
    app = QApplication.instance()
    value = app.property("dispatch_theme") if app is not None else None
    return str(value) if value else None
