"""`MapDocks`: the window's maps — the ``map`` dock, the ones View → New map adds (``map_2``,
``map_3``…, one per monitor), the model they share, and what the window does for them.

**Behind the board.** Importing pyqtgraph and reading the roads takes about half a second,
which start-up must not wait for (DESIGN.md §6: a usable board in 2 s). Each map dock holds a
`MapHolder` that says the map is on its way; `MapDocks.start` imports the map modules and
reads ``sf_roads_render.npz`` and the stations in a worker thread (`ui.background.run_behind`;
nothing in them touches a Qt object), then builds the `MapModel` and every map on the GUI
thread. The window calls it once the road graph is loaded (the board first, the
recommendation second, the map third); tests call ``start(behind=False)``. pyqtgraph copies
every name of QtCore, QtGui and QtWidgets as it loads, which makes PySide6 create each class
it has not created yet (it creates them lazily), in C, holding the interpreter for up to tens
of milliseconds at a time: a worker doing that stalls the GUI thread. So the GUI thread first
touches those names itself, `WARM_SLICE_MS` at a time between events (`_warm`), and the worker
is left with Python to run, which yields the interpreter every few milliseconds.

**Layouts.** A holder is what `ui.layouts.LayoutManager` saves the map's own state from
(`MapHolder.save_state`, `restore_state`: its view and layers; kept until the map exists), and
`create_dock` makes a ``map_<n>`` dock a saved layout names, before the layout is applied, so
extra maps come back where they were. Closing an extra map deletes it.

**Actions** (`ui.map.panel.MapActions`): a double click centres every map
(`centre_all`); Dispatch recommended units selects the incident and does what F9 does
(`MainWindow.dispatch_recommended`); Create incident here puts the address nearest the point
(`desktop.geo.geocoder.Geocoder.reverse`, the Call-taking panel's street index, else the
shipped one) in Call-taking's address field (`CallTakingPanel.set_address_text`) and brings
it forward. Show route follows the selected unit's drive to the incident or point
(`desktop.geo.route_watch.RouteWatch`, over the recommendation's road graph): drawn on every
map with its ETA, and worked out again as the unit moves or the incident is relocated, until
Clear route (or the incident closes).

**Radio emergencies.** The window gives the alarm queue (`desktop.radio_clock.alarm_queue`)
to `MapDocks.show_alarms` whenever it changes: every map rings each unit in emergency
(`ui.map.model.MapModel.set_alarms`), also on maps built later; `centre_on_alarm` brings
every map to one, close enough to see its streets.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

from PySide6 import QtCore, QtGui, QtWidgets
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QDockWidget, QLabel, QVBoxLayout, QWidget

from desktop.domain.action_time import corrected_now
from desktop.geo.route_watch import RouteShown, RouteWatch
from ui.background import run_behind

if TYPE_CHECKING:
    from desktop.geo.geocoder import Geocoder
    from desktop.geo.projection import LocalProjection
    from desktop.geo.stations import Stations
    from desktop.radio_clock import AlarmItem
    from ui.main_window import MainWindow
    from ui.map.model import MapModel
    from ui.map.panel import MapPanel, RouteRequest
    from ui.map.roads import RoadGeometry

__all__ = ["ALARM_SPAN_M", "EXTRA_MAP", "MapDocks", "MapHolder"]

#: The objectName of an extra map dock: ``map_2``, ``map_3``…
EXTRA_MAP = re.compile(r"^map_([2-9]|[1-9][0-9])$")
#: How often fixes are checked for staleness (ms).
TICK_MS = 1000
#: Time given to creating Qt classes ahead of pyqtgraph, per turn of the event loop (ms).
WARM_SLICE_MS = 4.0
#: A map centred on a radio emergency is at most this wide (metres): its streets readable.
ALARM_SPAN_M = 1200.0


class MapHolder(QWidget):
    """The widget of a map dock: says the map is on its way, then holds the `MapPanel`."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{name}_holder")
        self.name = name
        self.panel: MapPanel | None = None
        self._pending: dict[str, Any] | None = None
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # Go to map while it loads
        self.placeholder = QLabel("Loading the map…")
        self.placeholder.setProperty("class", "muted")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.placeholder)

    def set_panel(self, panel: MapPanel) -> None:
        self.panel = panel
        self.placeholder.hide()
        self._layout.addWidget(panel)
        if self.hasFocus():
            panel.view.setFocus(Qt.FocusReason.OtherFocusReason)
        if self._pending is not None:
            panel.restore_state(self._pending)
            self._pending = None

    def focus_target(self) -> QWidget:
        """What takes the keyboard when the dispatcher goes to this map: its view once built."""
        return self.panel.view if self.panel is not None else self

    def say(self, text: str) -> None:
        self.placeholder.setText(text)

    def save_state(self) -> dict[str, Any]:
        """The map's view and layers (`MapPanel.save_state`), for the layout."""
        if self.panel is not None:
            return self.panel.save_state()
        return dict(self._pending or {})

    def restore_state(self, state: Mapping[str, Any]) -> None:
        if self.panel is not None:
            self.panel.restore_state(state)
        else:
            self._pending = dict(state)


class _ExtraMapDock(QDockWidget):
    """An extra map's dock: closing it deletes it, and the window forgets it at once."""

    def __init__(self, title: str, parent: QWidget, forget: Callable[[], None]) -> None:
        super().__init__(title, parent)
        self._forget = forget
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._forget()
        super().closeEvent(event)


class MapDocks(QObject):
    """The maps of ``window`` (module docstring)."""

    loaded = Signal()  # the map modules, roads and stations are loaded and every map is built

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.holders: dict[str, MapHolder] = {"map": MapHolder("map")}
        self.model: MapModel | None = None
        self._roads: RoadGeometry | None = None
        self._projection: LocalProjection | None = None
        self._stations: Stations | None = None
        self._geocoder: Geocoder | None = None
        self._started = False
        self._warming: Iterator[tuple[ModuleType, str]] = iter(())
        self.new_map_action = QAction("&New map", self)
        self.new_map_action.setObjectName("new_map")
        self.new_map_action.setStatusTip("Another map, with its own view: float it to a monitor")
        self.new_map_action.triggered.connect(self.new_map)
        advisor = window.advisor
        self.routes = RouteWatch(lambda: advisor.graph if advisor.ready else None)
        self._route_shown = RouteShown((), "", True)
        self._alarms: tuple[AlarmItem, ...] = ()  # the alarm queue, kept until the model is built
        self._role: str | None = None  # the position's role, for maps built later too
        self._tick = QTimer(self)
        self._tick.setInterval(TICK_MS)
        self._tick.timeout.connect(self.tick)

    @property
    def panels(self) -> list[MapPanel]:
        return [h.panel for h in self.holders.values() if h.panel is not None]

    # --- loading ---------------------------------------------------------------------------

    def start(self, *, behind: bool = True) -> None:
        """Load and build the maps (once); ``behind``: the slow part in a worker thread."""
        if self._started:
            return
        self._started = True
        if not behind:
            self._load()
            self._loaded(None)
            return
        modules = (QtCore, QtGui, QtWidgets)
        self._warming = iter([(m, name) for m in modules for name in dir(m)])
        self._warm_timer = QTimer(self)
        self._warm_timer.setInterval(0)
        self._warm_timer.timeout.connect(self._warm)
        self._warm_timer.start()

    def _warm(self) -> None:
        """Create some of the Qt classes pyqtgraph will touch; once all are, load behind."""
        deadline = time.perf_counter() + WARM_SLICE_MS / 1000
        for module, name in self._warming:
            getattr(module, name, None)
            if time.perf_counter() > deadline:
                return
        self._warm_timer.stop()
        run_behind(self, "map", self._load, self._loaded)

    def _load(self) -> None:
        from desktop.geo.road_render import load_render
        from desktop.geo.stations import Stations

        importlib.import_module("ui.map.panel")  # pyqtgraph: the slow import
        roads = importlib.import_module("ui.map.roads")
        render = load_render()
        self._roads = roads.RoadGeometry.of(render)
        self._projection = render.projection
        self._stations = Stations.load_default()

    def _loaded(self, error: str | None) -> None:
        if (
            error is not None
            or self._roads is None
            or self._projection is None
            or self._stations is None
        ):
            for holder in self.holders.values():
                holder.say(f"The map could not be loaded ({error})")
            return
        from ui.map.model import MapModel

        window = self.window
        self.model = MapModel(
            lambda: window.service.state.view,
            self._projection,
            self._stations,
            stale_after_s=window.advisor.runcards.recommendation.avl_stale_after_s,
            clock=lambda: corrected_now(window.service.now(), window.service.status.clock_offset),
            parent=self,
        )
        if self._alarms:
            self.model.set_alarms(self._alarms)
        for holder in self.holders.values():
            self._build(holder)
        self._tick.start()
        self.loaded.emit()

    def _build(self, holder: MapHolder) -> None:
        from ui.map.panel import MapPanel

        if self.model is None or self._roads is None or holder.panel is not None:
            return
        panel = MapPanel(
            self.model, self._roads, self.window.selection, name=holder.name, actions=self
        )
        panel.route_requested.connect(self.show_route)
        panel.set_read_only_role(self._role)
        holder.set_panel(panel)
        if self._route_shown.points:
            panel.draw_route(self._route_shown.points)

    # --- docks -----------------------------------------------------------------------------

    def holder(self, name: str) -> MapHolder:
        return self.holders[name]

    def create_dock(self, name: str) -> QDockWidget | None:
        """Make the extra map dock ``name`` (``map_2``…), not yet placed; None for any other
        name (`ui.layouts.LayoutManager` asks for the docks a saved layout names)."""
        if not EXTRA_MAP.match(name) or name in self.holders:
            return None
        number = name.split("_")[1]
        dock = _ExtraMapDock(f"Map {number}", self.window, lambda: self._forget(name))
        dock.setObjectName(name)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        holder = MapHolder(name)
        dock.setWidget(holder)
        self.holders[name] = holder
        self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        self.window.docks[name] = dock
        self._build(holder)
        return dock

    def _forget(self, name: str) -> None:
        self.holders.pop(name, None)
        self.window.docks.pop(name, None)

    def new_map(self) -> QDockWidget:
        """View → New map: another map, floating over the window, to drag to a monitor. It
        starts where the first map looks."""
        self.start(behind=False)
        number = 2
        while f"map_{number}" in self.holders:
            number += 1
        dock = self.create_dock(f"map_{number}")
        assert dock is not None
        dock.setFloating(True)
        area = self.window.geometry()
        dock.resize(900, 700)
        dock.move(area.center().x() - 450 + 32 * (number - 2), area.center().y() - 350)
        first = self.holders["map"].panel
        panel = self.holders[dock.objectName()].panel
        if first is not None and panel is not None:
            panel.restore_state({"view": first.save_state()["view"]})
        dock.show()
        dock.raise_()
        return dock

    # --- updates ---------------------------------------------------------------------------

    def on_change(self, change: Any) -> None:
        """The bridge's `Change` (once per frame)."""
        if self.model is not None:
            self.model.apply(change)
        moved = change.units | change.positions | change.incidents
        if change.reset or self.routes.concerns(moved):
            self._update_route()

    def show_alarms(self, items: Sequence[AlarmItem]) -> None:
        """Ring, on every map, each unit in emergency in the alarm queue ``items`` (its order:
        `desktop.radio_clock.alarm_queue`); items with no alarm (PARs) are not drawn. Call it
        whenever the queue changes; the same queue again costs nothing."""
        self._alarms = tuple(items)
        if self.model is not None:
            self.model.set_alarms(self._alarms)

    def centre_on_alarm(self, item: AlarmItem) -> bool:
        """Centre every map on the unit of ``item`` (where the map rings it), zoomed in to
        `ALARM_SPAN_M` if wider. False when it has no position or the maps are not built."""
        place = self.model.alarm_item_xy(item) if self.model is not None else None
        if place is None or not self.panels:
            return False
        for panel in self.panels:
            panel.centre_on(*place, span=ALARM_SPAN_M)
        return True

    def tick(self) -> None:
        if self.model is not None:
            self.model.tick()
        if self.routes.unit_id is not None and self.routes.route is None:
            self._update_route()  # the road graph may have loaded since

    # --- routes ----------------------------------------------------------------------------

    def show_route(self, request: RouteRequest) -> RouteShown:
        """Follow the route a map asked for (module docstring); what it draws and says."""
        if request.unit_id is None:
            shown = RouteShown((), "Show route: select a unit first (on a map or in Units)", False)
            return self._draw_route(shown, keep=True)
        self.routes.follow(request.unit_id, request.incident_id, request.destination)
        return self._update_route()

    def clear_route(self) -> None:
        self._draw_route(self.routes.clear())

    def _update_route(self) -> RouteShown:
        shown = self.routes.update(self.window.service.state.view)
        return self._route_shown if shown is None else self._draw_route(shown)

    def _draw_route(self, shown: RouteShown, *, keep: bool = False) -> RouteShown:
        """Draw ``shown`` on every map and say it (``keep``: only say it)."""
        if not keep:
            self._route_shown = shown
        for panel in self.panels:
            if not keep:
                panel.draw_route(shown.points)
            panel.say_route(shown.text, shown.ok)
        return shown

    def set_read_only_role(self, role: str | None) -> None:
        """Every map, and every map built later, follows the position's ``role``: a
        monitoring position dispatches and creates nothing from a map (`ui.read_only`)."""
        self._role = role
        for panel in self.panels:
            panel.set_read_only_role(role)

    # --- MapActions ------------------------------------------------------------------------

    def centre_all(self, x: float, y: float) -> None:
        for panel in self.panels:
            panel.centre_on(x, y)

    def dispatch_recommended(self, incident_id: str) -> bool:
        self.window.selection.select_incident(incident_id)
        return self.window.dispatch_recommended()

    def create_incident_at(self, lat: float, lon: float) -> tuple[str, bool]:
        geocoder = self.window.call_taking.address.geocoder or self._shipped_geocoder()
        found = geocoder.reverse(lat, lon)
        if found is None:
            return "No address within 150 m of this point", False
        self.window.call_taking.set_address_text(found.label)
        self.window.go_to("call_taking")
        return f"{found.label} is in Call-taking: Enter verifies it", True

    def _shipped_geocoder(self) -> Geocoder:
        if self._geocoder is None:
            from desktop.geo.geocoder import Geocoder

            self._geocoder = Geocoder.load_default()
        return self._geocoder
