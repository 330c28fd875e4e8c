"""The map (ui/map/): the render file, callers' shapes, stale AVL, layers and view in the layout,
routes, keys, the context menu, and selection shared by two maps on two screens.

The two-screen test runs this file as a script in a process of its own (Qt reads the screen
set-up once): ``python test_map.py STORE two-maps`` prints a JSON report as its last line.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
for _path in (ROOT, ROOT / "tests" / "ui"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.domain.caller_location import CallerLocation, Geodetic  # noqa: E402
from desktop.domain.catalog import event_kind_of  # noqa: E402
from desktop.domain.types import (  # noqa: E402
    Call,
    CallStatus,
    Incident,
    Location,
    Position,
    Unit,
    UnitStatus,
)
from desktop.domain.world import World  # noqa: E402
from desktop.geo.road_render import CLASSES, derive_render, load_render, write_render  # noqa: E402
from desktop.geo.stations import Stations  # noqa: E402
from desktop.state import Change  # noqa: E402

FIXTURE = ROOT / "tests" / "data" / "geo" / "map_roads.geojson"
#: Places in San Francisco (lat, lon).
MARKET_1200 = (37.77877, -122.41484)
CIVIC_CENTER = (37.7793, -122.4193)
MISSION_16TH = (37.7650, -122.4195)


# --- the render file (no Qt) --------------------------------------------------------------------


def test_render_file_is_derived_by_class_deterministically(tmp_path: Path) -> None:
    from server.cli import main as cli_main
    from server.gis_import import read_roads

    lines = read_roads(FIXTURE)
    arrays, meta = derive_render(lines)
    again, _ = derive_render(lines[::-1])
    for key in arrays:
        assert np.array_equal(arrays[key], again[key]), key
    assert meta["left_out"] == {"S1400": 1, "S1750": 1}  # Dot Ct (one point), the internal line
    assert meta["lines_by_class"] == {
        "path": 1, "service": 1, "local": 2, "secondary": 1, "primary": 1, "ramp": 2, "freeway": 2
    }  # fmt: skip
    write_render(tmp_path / "a.npz", arrays, meta)
    write_render(tmp_path / "b.npz", again, meta)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    render = load_render(tmp_path / "a.npz")
    classes = {CLASSES[c] for c in render.line_class}
    named = {
        render.names[n]: CLASSES[c]
        for c, n in zip(render.line_class, render.line_name, strict=True)
        if n >= 0
    }
    assert named["Long Blvd"] == "secondary" and named["Short St"] == "local"
    assert named["Big Fwy"] == "freeway" and named["Big Fwy Off Rmp"] == "ramp"
    assert classes == set(CLASSES)
    x, _, connect = render.polylines("local")  # the two lines of Short St, broken between them
    assert len(x) == 4 and connect.tolist() == [True, False, True, False]
    anchors = render.label_anchors()
    long_blvd = render.names.index("Long Blvd")
    at = int(np.flatnonzero(anchors.name == long_blvd)[0])
    assert anchors.angle[at] == pytest.approx(0.0, abs=0.01)  # runs east
    assert anchors.length[at] == pytest.approx(7040, rel=0.01)
    lx, _ = render.projection.to_xy(37.75, -122.45 + 0.04)
    assert anchors.x[at] == pytest.approx(float(lx), abs=1.0)  # halfway along
    # and through the command line, with its section of the provenance
    for name in ("one", "two"):
        argv = ["gis-import", "--roads", str(FIXTURE), "--out", str(tmp_path / name), "--render"]
        assert cli_main(argv) == 0
    one, two = (tmp_path / "one" / "sf_roads_render.npz", tmp_path / "two" / "sf_roads_render.npz")
    assert one.read_bytes() == two.read_bytes()
    provenance = (tmp_path / "one" / "PROVENANCE.md").read_text()
    assert "## Map render file" in provenance and "--render" in provenance


def test_the_shipped_render_file_loads_quickly() -> None:
    started = time.perf_counter()
    render = load_render()
    assert time.perf_counter() - started < 1.0
    assert 4000 < len(render.line_class) < 4200 and len(render.lat) > 40_000
    assert "Market St" in render.names
    x0, y0, x1, y1 = render.bounds
    assert 12_000 < x1 - x0 < 16_000 and 12_000 < y1 - y0 < 16_000  # San Francisco


# --- a map over a world of our own ----------------------------------------------------------


def _unit(unit_id: str, status: UnitStatus, at: tuple[float, float] | None, fix_at: float = 0.0,
          station: str = "01") -> Unit:  # fmt: skip
    position = None if at is None else Position(lat=at[0], lon=at[1], at=fix_at)
    return Unit(id=unit_id, type="ENGINE", station=station, status=status, position=position)


def _incident(incident_id: str, at: tuple[float, float], priority: int = 2) -> Incident:
    return Incident(
        id=incident_id,
        number=f"F2612-{incident_id[-3:]}",
        type="MEDICAL",
        priority=priority,
        location=Location(address="1200 MARKET ST", lat=at[0], lon=at[1]),
    )


def _call(call_id: str, shape: Geodetic, status: CallStatus = CallStatus.RINGING) -> Call:
    return Call(
        id=call_id,
        ani="4155550100",
        status=status,
        locations=[CallerLocation(kind="geodetic", geodetic=shape)],
    )


def _moved(*unit_ids: str) -> Change:
    """A Change saying these units' AVL positions moved (``Change.positions``)."""
    return Change(positions=set(unit_ids))


@pytest.fixture(scope="module")
def render() -> Any:
    return load_render()


@pytest.fixture
def world() -> World:
    now = time.time()
    return World(
        units={
            "E1": _unit("E1", UnitStatus.AV, CIVIC_CENTER, now),
            "M2": _unit("M2", UnitStatus.ER, MISSION_16TH, now),
            "T3": _unit("T3", UnitStatus.AQ, None, station="01"),
        },
        incidents={"inc-001": _incident("inc-001", MARKET_1200, priority=1)},
    )


def _model(world: World, clock: Any = time.time, stale_after_s: float = 120.0) -> Any:
    from ui.map.model import MapModel

    render = load_render()
    return MapModel(
        lambda: world, render.projection, Stations.load_default(), stale_after_s=stale_after_s,
        clock=clock,
    )  # fmt: skip


def _panel(qtbot: Any, world: World, **kwargs: Any) -> Any:
    from ui.map.panel import MapPanel
    from ui.map.roads import RoadGeometry
    from ui.selection import Selection

    model = _model(world, **kwargs)
    panel = MapPanel(model, RoadGeometry.of(load_render()), Selection())
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _double_click(widget: Any, pos: QPoint) -> None:
    """What a mouse sends for a double click (QTest.mouseDClick sends the double click only)."""
    left = Qt.MouseButton.LeftButton
    QTest.mouseClick(widget, left, pos=pos)
    QTest.mouseDClick(widget, left, pos=pos)
    QTest.mouseRelease(widget, left, pos=pos)


def _device(panel: Any, x: float, y: float) -> QPoint:
    """Where the map point (x, y) metres is in the map view's viewport."""
    scene = panel.box.mapViewToScene(QPointF(x, y))
    return QPoint(panel.view.mapFromScene(scene))


def test_stale_marking_follows_the_injected_clock(world: World) -> None:
    from ui.map.model import STALE, unit_style

    t0 = 1_000_000.0
    clock = [t0]
    world.units["E1"] = _unit("E1", UnitStatus.AV, CIVIC_CENTER, fix_at=t0 - 10)
    world.units["M2"] = _unit("M2", UnitStatus.ER, MISSION_16TH, fix_at=t0 + 20)
    world.units["X9"] = _unit("X9", UnitStatus.AV, None, station="no such station")
    model = _model(world, clock=lambda: clock[0], stale_after_s=120.0)
    seen: list[Any] = []
    model.changed.connect(seen.append)
    assert model.unit_kind_of("E1") == "live"
    assert model.unit_kind_of("T3") == "home"  # no fix: at its station, drawn hollow
    assert model.unit_xy("T3") == pytest.approx(model.xy(*Stations.load_default()["01"].position))
    assert model.unit_kind_of("X9") is None  # neither a fix nor a known station: not drawn
    clock[0] = t0 + 100
    assert not model.tick() and not seen
    clock[0] = t0 + 131
    update = model.tick()
    assert update.units and update.ids == {"E1"} and seen == [update]
    assert model.unit_kind_of("E1") == "stale" and model.unit_kind_of("M2") == "live"
    row = model.units.row["E1"]
    assert int(model.units.style[row]) == unit_style(UnitStatus.AV, STALE)
    # a new fix (Change.positions): live again, moved, nothing rebuilt
    rows_before = model.units.x
    world.units["E1"] = _unit("E1", UnitStatus.AV, MISSION_16TH, fix_at=clock[0])
    model.apply(_moved("E1"))
    assert model.unit_kind_of("E1") == "live"
    assert model.unit_xy("E1") == pytest.approx(model.xy(*MISSION_16TH))
    assert model.units.x is rows_before


def test_caller_shapes_are_drawn_at_their_size(qtbot: Any, world: World) -> None:
    lat, lon = CIVIC_CENTER
    world.calls = {
        "c-circle": _call("c-circle", Geodetic(shape="Circle", lat=lat, lon=lon, radius_m=50.0,
                                                uncertainty_m=50.0)),
        "c-east": _call("c-east", Geodetic(shape="Ellipse", lat=lat, lon=lon, semi_major_m=200.0,
                                            semi_minor_m=50.0, orientation_deg=90.0),
                        CallStatus.ANSWERED),
        "c-north": _call("c-north", Geodetic(shape="Ellipse", lat=lat, lon=lon,
                                              semi_major_m=200.0, semi_minor_m=50.0,
                                              orientation_deg=0.0), CallStatus.LINKED),
        "c-poly": _call("c-poly", Geodetic(shape="Polygon", lat=lat, lon=lon, points=[
            (lat, lon), (lat + 0.001, lon), (lat + 0.001, lon + 0.001)])),
        "c-gone": _call("c-gone", Geodetic(shape="Circle", lat=lat, lon=lon, radius_m=30.0),
                        CallStatus.RELEASED),
    }  # fmt: skip
    panel = _panel(qtbot, world)

    def size(call_id: str) -> tuple[float, float]:
        rect = panel.call_outline(call_id)
        assert rect is not None, call_id
        return rect.width(), rect.height()

    assert size("c-circle") == pytest.approx((100.0, 100.0), rel=0.01)
    assert size("c-east") == pytest.approx((400.0, 100.0), rel=0.01)  # clockwise from north
    assert size("c-north") == pytest.approx((100.0, 400.0), rel=0.01)
    px, py = panel.model.projection.to_xy([lat, lat + 0.001], [lon, lon + 0.001])
    assert size("c-poly") == pytest.approx((px[1] - px[0], py[1] - py[0]), rel=0.001)
    assert panel.call_outline("c-gone") is None  # released: not on the line
    # outline only, dashed: apart from the incident's own (filled) marker
    assert panel.call_outlines.pen().style() == Qt.PenStyle.DashLine
    assert panel.call_outlines.brush().style() == Qt.BrushStyle.NoBrush
    assert len(panel.call_rows) == 4


def test_a_route_is_drawn_and_cleared(qtbot: Any, world: World) -> None:
    panel = _panel(qtbot, world)
    panel.view.show_area(*panel.model.xy(*CIVIC_CENTER), 2500)
    route = [CIVIC_CENTER, (CIVIC_CENTER[0], MISSION_16TH[1] + 0.004), MISSION_16TH]
    panel.draw_route(route)
    assert panel.route_points() == 3
    QApplication.processEvents()
    image = panel.view.grab().toImage()
    mid = panel.model.xy(CIVIC_CENTER[0], (CIVIC_CENTER[1] + MISSION_16TH[1] + 0.004) / 2)
    spot = _device(panel, *mid)
    route_colour = QColor(panel.style_.route)
    near = [
        QColor(image.pixel(spot.x() + dx, spot.y() + dy)) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
    ]
    assert any(
        abs(c.red() - route_colour.red()) + abs(c.blue() - route_colour.blue()) < 60 for c in near
    )
    requests: list[Any] = []
    panel.route_requested.connect(requests.append)
    panel.selection.select_unit("M2")
    request = panel.request_route("inc-001", (0.0, 0.0))
    assert requests == [request]
    assert request.unit_id == "M2" and request.incident_id == "inc-001"
    assert request.origin == pytest.approx(MISSION_16TH) and request.destination == pytest.approx(
        MARKET_1200
    )
    panel.draw_route(None)
    assert panel.route_points() == 0


def test_keys_pan_zoom_and_fit_the_city(qtbot: Any, world: World) -> None:
    panel = _panel(qtbot, world)
    view = panel.view
    view.show_area(0.0, 0.0, 4000.0)
    before = view.view_rect()
    view.setFocus()
    QTest.keyClick(view, Qt.Key.Key_Right)
    after = view.view_rect()
    assert after.center().x() - before.center().x() == pytest.approx(0.2 * before.width(), rel=0.01)
    QTest.keyClick(view, Qt.Key.Key_Up)
    assert view.view_rect().center().y() > after.center().y()
    width = view.view_rect().width()
    QTest.keyClick(view, Qt.Key.Key_Plus)
    assert view.view_rect().width() == pytest.approx(width / 1.5, rel=0.01)
    QTest.keyClick(view, Qt.Key.Key_Minus)
    assert view.view_rect().width() == pytest.approx(width, rel=0.01)
    QTest.keyClick(view, Qt.Key.Key_Home)
    assert view.view_rect().contains(view.home_rect)
    assert view.focusPolicy() == Qt.FocusPolicy.StrongFocus
    asked: list[bool] = []
    view.key_menu_requested.connect(lambda: asked.append(True))
    QTest.keyClick(view, Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(view, Qt.Key.Key_Menu)
    assert asked == [True, True]
    centre = view.centre()
    assert panel.key_menu_point() == centre  # nothing selected: the middle of the view
    panel.selection.select_incident("inc-001")
    at = QPointF(*panel.model.incident_xy("inc-001"))
    view.show_area(at.x() + 500, at.y(), 2000)
    assert panel.key_menu_point() == at  # the selected incident, in view
    view.show_area(at.x() + 50_000, at.y(), 2000)
    assert panel.key_menu_point() == view.centre()  # out of view: the middle again
    menu = panel.open_menu_from_keys()
    assert menu.objectName() == "map_menu"
    menu.close()


def test_labels_show_when_zoomed_in_and_layers_toggle(qtbot: Any, world: World) -> None:
    panel = _panel(qtbot, world)
    panel.view.fit_home()
    panel.place_street_labels()
    assert panel.street_labels.shown == []  # the whole city: no names
    assert not panel.layers["units"].show_labels
    panel.view.show_area(*panel.model.xy(*MARKET_1200), 1200)
    panel.place_street_labels()
    shown = panel.street_labels.shown
    assert 0 < len(shown) <= 40 and "Market St" in shown
    assert panel.layers["units"].show_labels
    panel.layer_actions["labels"].trigger()  # the toolbar's Street names
    assert panel.street_labels.shown == [] and not panel.visible["labels"]
    panel.set_layer("units", False)
    assert not panel.layers["units"].isVisible()
    assert panel.pick(*panel.model.xy(*CIVIC_CENTER)) is None  # a hidden layer is not picked


def test_units_at_one_station_are_spread_apart_and_picked(qtbot: Any, world: World) -> None:
    world.units["E4"] = _unit("E4", UnitStatus.AQ, None, station="01")  # with T3, at Stn 01
    panel = _panel(qtbot, world)
    model = panel.model
    assert model.unit_xy("E4") == model.unit_xy("T3")
    panel.view.show_area(*model.unit_xy("T3"), 800)
    panel.view.grab()  # a paint
    layer = panel.layers["units"]
    spots = {}
    for unit_id in ("E4", "T3"):
        row = model.units.row[unit_id]
        at = int(np.flatnonzero(layer._painted_rows == row)[0])
        spots[unit_id] = QPoint(round(layer._painted_x[at]), round(layer._painted_y[at]))
    assert (spots["E4"] - spots["T3"]).manhattanLength() >= 8  # drawn apart, not on top
    for unit_id, spot in spots.items():
        QTest.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=spot)
        assert panel.selection.unit_id == unit_id


def test_the_map_follows_the_theme(qtbot: Any, world: World) -> None:
    from ui.theme import apply_theme

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    panel = _panel(qtbot, world)
    try:
        apply_theme(app, "light")
        QApplication.processEvents()
        assert panel.style_.name == "light"
        apply_theme(app, "high-contrast")
        QApplication.processEvents()
        assert panel.style_.name == "high-contrast"
    finally:
        apply_theme(app, "dark")
        QApplication.processEvents()
    assert panel.style_.name == "dark"


# --- in the window -------------------------------------------------------------------------------


def _offline(qtbot: Any, tmp_path: Path) -> Any:
    from tests.support.offline_window import open_offline

    now = time.time()
    units = [
        _unit("E1", UnitStatus.AV, CIVIC_CENTER, now),
        _unit("M2", UnitStatus.AV, MISSION_16TH, now),
    ]
    opened = open_offline(qtbot, tmp_path, units, [_incident("inc-001", MARKET_1200)])
    opened.window.maps.start(behind=False)
    QApplication.processEvents()
    return opened


def test_layers_and_view_are_saved_with_the_layout(qtbot: Any, tmp_path: Path) -> None:
    first = _offline(qtbot, tmp_path / "a")
    maps = first.window.maps
    dock = maps.new_map()
    assert dock.objectName() == "map_2" and dock.isFloating()
    second_map = maps.holders["map_2"].panel
    second_map.set_layer("units", False)
    second_map.set_layer("labels", False)
    second_map.view.show_area(1200.0, -800.0, 1500.0)
    maps.holders["map"].panel.set_layer("stations", False)
    assert first.window.layouts.save()
    (tmp_path / "b" / "config").mkdir(parents=True)
    shutil.copy(tmp_path / "a" / "config" / "layouts.json", tmp_path / "b" / "config")
    layout = json.loads((tmp_path / "b" / "config" / "layouts.json").read_text())
    saved = next(iter(layout["setups"].values()))["current"]["panels"]
    assert set(saved) == {"map", "map_2"} and saved["map_2"]["layers"]["units"] is False

    again = _offline(qtbot, tmp_path / "b")  # restores the layout, then builds the maps
    restored = again.window.maps.holders
    assert set(restored) == {"map", "map_2"} and again.window.docks["map_2"].isFloating()
    panel = restored["map_2"].panel
    assert panel.visible == {**dict.fromkeys(panel.visible, True), "units": False, "labels": False}
    assert not panel.layers["units"].isVisible()
    view = panel.view.view_rect()
    assert (view.center().x(), view.center().y()) == pytest.approx((1200.0, -800.0), abs=5.0)
    assert min(view.width(), view.height()) == pytest.approx(1500.0, rel=0.02)
    assert restored["map"].panel.visible["stations"] is False
    # the layout in code has one map
    again.window.layouts.reset()
    QApplication.processEvents()
    assert set(again.window.maps.holders) == {"map"}


def test_context_menu_creates_an_incident_here_and_dispatches(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened = _offline(qtbot, tmp_path)
    window = opened.window
    panel = window.maps.holders["map"].panel
    at = QPointF(*panel.model.xy(*MARKET_1200))
    panel.view.show_area(at.x(), at.y(), 1500)
    menu = panel.menu_actions(at)
    actions = {a.objectName(): a for a in menu.actions()}
    assert actions["map_dispatch_recommended"].isEnabled()  # the incident under the cursor
    assert "F2612-001" in actions["map_dispatch_recommended"].text()
    assert not actions["map_show_caller"].isEnabled()  # no call linked
    sent: list[str | None] = []
    monkeypatch.setattr(
        window, "dispatch_recommended", lambda: sent.append(window.selection.incident_id) or True
    )
    actions["map_dispatch_recommended"].trigger()
    assert sent == ["inc-001"]  # selected, then what F9 does
    actions["map_create_incident"].trigger()
    assert "MARKET" in window.call_taking.address.field.text().upper()
    assert window.docks["call_taking"].isVisible()
    assert panel.message.text().endswith("Enter verifies it")


def test_show_route_draws_the_units_drive_and_follows_it(qtbot: Any, tmp_path: Path) -> None:
    """A known unit-incident pair: E1 at Civic Center to 1200 Market St. The route is drawn on
    every map with the recommendation's ETA, follows E1's next AVL fix, and is cleared."""
    from desktop.protocol.messages import PositionFix

    opened = _offline(qtbot, tmp_path)
    window, maps = opened.window, opened.window.maps
    window.advisor.load()
    second = maps.holders[maps.new_map().objectName()].panel
    panel = maps.holders["map"].panel
    at = QPointF(*panel.model.xy(*MARKET_1200))
    actions = {a.objectName(): a for a in panel.menu_actions(at).actions()}
    assert not actions["map_clear_route"].isEnabled()
    actions["map_show_route"].trigger()  # no unit selected yet
    assert panel.route_points() == 0 and "select a unit first" in panel.message.text()

    window.go_to("map")  # Ctrl+6: the keyboard in the map, whose Menu key opens the menu
    assert panel.view.hasFocus()
    window.selection.select_unit("E1")
    request = panel.request_route(None, MARKET_1200)  # to the incident under the cursor: none,
    assert request.incident_id is None  # nor selected: to the point
    window.selection.select_incident("inc-001")
    panel.request_route(None, (0.0, 0.0))  # the selected incident
    eta, metres, _ = window.advisor.graph.travel_to(*MARKET_1200).from_points(
        np.asarray([CIVIC_CENTER[0]]), np.asarray([CIVIC_CENTER[1]])
    )
    route = maps.routes.route
    assert route is not None and route.seconds == pytest.approx(float(eta[0]))
    assert route.metres == pytest.approx(float(metres[0]))
    assert route.points[0] == CIVIC_CENTER and route.points[-1] == MARKET_1200
    view = panel.view.view_rect()  # the map asked shows the whole route
    assert all(view.contains(QPointF(*panel.model.xy(*p))) for p in route.points)
    for map_panel in (panel, second):
        assert map_panel.route_points() == len(route.points) > 3
        assert map_panel.route_label.text().startswith("Route: E1 to F2612-001: ")
        assert "by road" in map_panel.route_label.text()

    moved_to = (37.7771, -122.4170)  # E1 drives down the road: its route starts there now
    fix = PositionFix(unit_id="E1", lat=moved_to[0], lon=moved_to[1], at=time.time())
    window.service.state.apply_positions([fix])
    opened.settle(qtbot)
    follows = maps.routes.route
    assert follows is not None and follows.points[0] == moved_to
    assert follows.seconds < route.seconds
    assert second.route_points() == len(follows.points)

    actions = {a.objectName(): a for a in second.menu_actions(at).actions()}
    assert actions["map_clear_route"].isEnabled()
    actions["map_clear_route"].trigger()
    assert panel.route_points() == second.route_points() == 0
    assert panel.route_label.text() == "" and maps.routes.unit_id is None
    assert panel.message.text() == "Route cleared"


# --- two maps on two screens (a process of its own) ----------------------------------------------


def test_selection_is_shared_by_two_maps_on_two_screens(tmp_path: Path) -> None:
    from screens import run_setup

    report = run_setup(tmp_path, 2, tmp_path / "data", "two-maps", script=Path(__file__))
    assert report["screens"] == {"map": "LEFT", "map_2": "RIGHT"}
    assert report["rings_after_select"] == {"map": [True, False], "map_2": [True, False]}
    assert report["selected_by_click"] == "M2"
    assert report["rings_after_click"] == {"map": [True, True], "map_2": [True, True]}
    assert report["unit_ring_at"]["map"] == pytest.approx(report["m2_at"], abs=0.5)
    assert report["selected_by_double_click"] == "inc-001"
    for centre in report["centres_after_double_click"].values():
        assert centre == pytest.approx(report["incident_at"], abs=2.0)


def _two_maps(data: Path) -> dict[str, Any]:
    from desktop.domain.incidents import IncidentCreated
    from desktop.domain.units import UnitAdded
    from desktop.protocol.codec import encode_raw
    from desktop.service import DispatchService, ServiceConfig
    from desktop.signin import SignIn
    from ui.bridge import Bridge
    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    service = DispatchService(
        ServiceConfig(data_dir=data / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    now = time.time()
    events = [
        UnitAdded(unit=_unit("E1", UnitStatus.AV, CIVIC_CENTER, now)),
        UnitAdded(unit=_unit("M2", UnitStatus.ER, MISSION_16TH, now)),
        IncidentCreated(incident=_incident("inc-001", MARKET_1200)),
    ]
    for seq, event in enumerate(events, 1):
        service.state.apply_event(seq, event_kind_of(event).name, bytes(encode_raw(event)), now)
    window = MainWindow(service, Bridge(), data / "config", sound=lambda: None)
    left, right = QApplication.screens()[0], QApplication.screens()[1]
    window.setGeometry(left.availableGeometry().adjusted(40, 40, -40, -40))
    window.show()
    window.maps.start(behind=False)
    dock = window.maps.new_map()
    dock.setGeometry(right.availableGeometry().adjusted(100, 100, -100, -100))
    for _ in range(5):
        app.processEvents()
    maps = {name: h.panel for name, h in window.maps.holders.items()}
    for panel in maps.values():
        panel.view.show_area(*panel.model.xy(*CIVIC_CENTER), 4000)
    app.processEvents()

    def rings() -> dict[str, list[bool]]:
        return {name: [bool(s) for s in p.rings.shown] for name, p in maps.items()}

    report: dict[str, Any] = {
        "screens": {name: window.docks[name].screen().name() for name in maps},
    }
    window.selection.select_incident("inc-001")  # as the Incidents panel does
    report["rings_after_select"] = rings()
    second = maps["map_2"]
    m2 = second.model.xy(*MISSION_16TH)
    QTest.mouseClick(second.view.viewport(), Qt.MouseButton.LeftButton, pos=_device(second, *m2))
    app.processEvents()
    report["selected_by_click"] = window.selection.unit_id
    report["rings_after_click"] = rings()
    report["m2_at"] = list(m2)
    report["unit_ring_at"] = {
        n: [float(p.rings.x[1]), float(p.rings.y[1])] for n, p in maps.items()
    }
    window.selection.select_incident(None)
    incident = second.model.incident_xy("inc-001")
    _double_click(second.view.viewport(), _device(second, *incident))
    app.processEvents()
    report["selected_by_double_click"] = window.selection.incident_id
    report["incident_at"] = list(incident)
    report["centres_after_double_click"] = {
        n: [p.view.centre().x(), p.view.centre().y()] for n, p in maps.items()
    }
    window.close()
    service.db.close()
    return report


def _main(argv: list[str]) -> int:
    store, action = argv[0], argv[1]
    assert action == "two-maps", action
    print(json.dumps(_two_maps(Path(store))))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
