"""Radio emergencies on the map (ui/map/): a bold red ring over each unit in emergency, at its
position (else the one its alarm recorded), following it as it moves; dimmer once acknowledged;
gone once cleared; every map centred on one on request (`MapDocks.centre_on_alarm`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from msgspec.structs import replace
from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from desktop.domain.catalog import event_kind_of
from desktop.domain.kinds import EventData
from desktop.domain.radio import (
    RadioAlarmAcknowledged,
    RadioAlarmCleared,
    RadioEmergencyRaised,
)
from desktop.domain.types import Position, RadioAlarm, Unit, UnitStatus
from desktop.domain.world import World
from desktop.geo.road_render import load_render
from desktop.geo.stations import Stations
from desktop.protocol.codec import encode_raw
from desktop.radio_clock import AlarmItem, AlarmLevel, alarm_queue
from desktop.radio_plan import RadioPlan, load_radio_plan
from desktop.state import Change

CIVIC_CENTER = (37.7793, -122.4193)
MISSION_16TH = (37.7650, -122.4195)
MARKET_7TH = (37.7785, -122.4130)
RING_RADIUS_PX = 18  # the sounding ring (`ui.map.style.alarm_styles`): 36 px across


def _unit(unit_id: str, at: tuple[float, float] | None, fix_at: float) -> Unit:
    position = None if at is None else Position(lat=at[0], lon=at[1], at=fix_at)
    return Unit(id=unit_id, type="ENGINE", station="01", status=UnitStatus.OS, position=position)


def _alarm(alarm_id: str, radio_id: str, unit_id: str, raised_at: float) -> RadioAlarm:
    return RadioAlarm(id=alarm_id, radio_id=radio_id, unit_id=unit_id, raised_at=raised_at)


@pytest.fixture(scope="module")
def plan() -> RadioPlan:
    return load_radio_plan()


def _panel(qtbot: Any, world: World) -> Any:
    from ui.map.model import MapModel
    from ui.map.panel import MapPanel
    from ui.map.roads import RoadGeometry
    from ui.selection import Selection

    render = load_render()
    model = MapModel(lambda: world, render.projection, Stations.load_default())
    panel = MapPanel(model, RoadGeometry.of(render), Selection())
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _device(panel: Any, x: float, y: float) -> QPoint:
    """Where the map point (x, y) metres is in the map view's viewport."""
    return QPoint(panel.view.mapFromScene(panel.box.mapViewToScene(QPointF(x, y))))


def _ring_colour(panel: Any, label: str) -> QColor:
    """The colour painted on the ring ``label``, right of its centre."""
    panel.model._pulse.stop()  # sample the sounding phase, not the pulse's
    place = panel.model.alarm_xy(label)
    assert place is not None, label
    QApplication.processEvents()
    image: QImage = panel.view.viewport().grab().toImage()
    centre = _device(panel, *place)
    dpr = image.devicePixelRatio()
    x, y = round((centre.x() + RING_RADIUS_PX - 1) * dpr), round(centre.y() * dpr)
    return image.pixelColor(x, y)


def _queue(world: World, plan: RadioPlan, now: float) -> list[AlarmItem]:
    return alarm_queue(world, plan, now)


def test_a_ring_follows_the_unit_dims_when_acknowledged_and_goes_when_cleared(
    qtbot: Any, plan: RadioPlan
) -> None:
    from ui.map.model import ALARM_ACKNOWLEDGED, ALARM_PULSE, ALARM_SOUNDING

    now = time.time()
    world = World(
        units={"E1": _unit("E1", CIVIC_CENTER, now), "M2": _unit("M2", MISSION_16TH, now)}
    )
    panel = _panel(qtbot, world)
    model = panel.model
    model.set_alarms(_queue(world, plan, now))  # no alarm: nothing drawn, nothing ticking
    assert len(model.alarms) == 0 and not model.pulsing
    updates: list[Any] = []
    model.changed.connect(updates.append)

    world.apply(RadioEmergencyRaised(alarm=_alarm("a-1", "7012", "E1", now)), now, "gateway")
    model.set_alarms(_queue(world, plan, now))
    x, y = model.xy(*CIVIC_CENTER)
    assert model.alarm_xy("E1") == pytest.approx((x, y))
    assert model.alarm_look("E1") == "sounding" and model.pulsing
    assert model.alarms.style[model.alarms.row["E1"]] in (ALARM_SOUNDING, ALARM_PULSE)
    assert model.units.labels[model.units.row["E1"]] == ""  # the ring says E1, once
    assert updates and updates[-1].alarms
    panel.view.show_area(x, y, 1500)
    QApplication.processEvents()
    red = _ring_colour(panel, "E1")
    assert red.red() > 200 and red.green() < 130, red.name()  # bold red, over the roads
    assert panel.alarm_layer.painted == 1
    assert panel.alarm_layer.zValue() > panel.layers["units"].zValue()
    assert panel.alarm_layer.zValue() > panel.ring_layer.zValue()  # over the selection rings

    count = len(updates)
    model.set_alarms(_queue(world, plan, now))  # the same queue again: nothing to repaint
    assert len(updates) == count

    moved = Position(lat=MARKET_7TH[0], lon=MARKET_7TH[1], at=now + 5)
    world.units["E1"] = replace(world.units["E1"], position=moved)
    update = model.apply(Change(positions={"E1"}))
    assert update.alarms and model.alarm_xy("E1") == pytest.approx(model.xy(*MARKET_7TH))
    assert not model.apply(Change(positions={"M2"})).alarms  # another unit: rings untouched

    world.apply(RadioAlarmAcknowledged(alarm_id="a-1", actor="ann"), now + 6, "ann")
    model.set_alarms(_queue(world, plan, now + 6))
    assert model.alarm_look("E1") == "acknowledged" and not model.pulsing
    assert model.alarms.style[model.alarms.row["E1"]] == ALARM_ACKNOWLEDGED
    dim = _ring_colour(panel, "E1")
    assert dim.alpha() > 0 and dim.lightness() < red.lightness(), (dim.name(), red.name())
    assert dim.red() > dim.green()  # still a red ring

    cleared = RadioAlarmCleared(alarm_id="a-1", actor="ann", reason="E1 answered: all fine")
    world.apply(cleared, now + 9, "ann")
    model.set_alarms(_queue(world, plan, now + 9))
    assert model.alarm_xy("E1") is None and len(model.alarms) == 0
    assert model.units.labels[model.units.row["E1"]] == "E1"  # its own label again
    QApplication.processEvents()
    panel.view.viewport().grab()
    assert panel.alarm_layer.painted == 0


def test_where_the_ring_goes_without_a_unit_position(qtbot: Any, plan: RadioPlan) -> None:
    """No AVL fix: the position the alarm recorded; a radio on no unit is named by its id;
    neither position: not drawn; a PAR item has no place."""
    now = time.time()
    world = World(units={"E1": _unit("E1", None, now)})
    panel = _panel(qtbot, world)
    model = panel.model
    recorded = Position(lat=MISSION_16TH[0], lon=MISSION_16TH[1], at=now - 30)
    with_place = replace(_alarm("a-1", "7012", "E1", now), position=recorded)
    world.apply(RadioEmergencyRaised(alarm=with_place), now, "gateway")
    world.apply(RadioEmergencyRaised(alarm=_alarm("a-2", "9001", "", now)), now, "gateway")
    queue = _queue(world, plan, now)
    model.set_alarms(queue)
    assert model.alarm_xy("E1") == pytest.approx(model.xy(*MISSION_16TH))
    assert "radio 9001" in model.alarms.row and model.alarm_xy("radio 9001") is None
    par = AlarmItem("par:x", AlarmLevel.ESCALATED, now, "PAR OVERDUE", "i-1", "", None)
    model.set_alarms([*queue, par])  # skipped
    assert sorted(model.alarms.ids) == ["E1", "radio 9001"]
    assert model.alarm_item_xy(par) is None
    model.set_alarms([])  # nothing sounds: the pulse stops with the test
    assert not model.pulsing


# --- in the window -------------------------------------------------------------------------------


def _offline(qtbot: Any, tmp_path: Path) -> Any:
    from tests.support.offline_window import open_offline

    now = time.time()
    units = [_unit("E1", CIVIC_CENTER, now), _unit("M2", MISSION_16TH, now)]
    opened = open_offline(qtbot, tmp_path, units, [])
    opened.window.maps.start(behind=False)
    QApplication.processEvents()
    return opened


def _apply(opened: Any, *events: EventData) -> None:
    state = opened.service.state
    for data in events:
        kind = event_kind_of(data).name
        state.apply_event(state.last_seq + 1, kind, bytes(encode_raw(data)), time.time())


def test_every_map_rings_the_unit_and_centres_on_it(
    qtbot: Any, tmp_path: Path, plan: RadioPlan
) -> None:
    opened = _offline(qtbot, tmp_path)
    maps = opened.window.maps
    now = time.time()
    _apply(opened, RadioEmergencyRaised(alarm=_alarm("a-1", "7012", "M2", now)))
    opened.settle(qtbot)
    queue = _queue(opened.service.state.view, plan, now)
    maps.show_alarms(queue)
    second = maps.holders[maps.new_map().objectName()].panel  # a map built later rings it too
    first = maps.holders["map"].panel
    place = first.model.xy(*MISSION_16TH)
    for panel in (first, second):
        assert panel.model.alarm_xy("M2") == pytest.approx(place)
        panel.view.show_area(0.0, 0.0, 20_000)  # the whole city
    item = next(i for i in queue if i.unit_id == "M2")
    assert maps.centre_on_alarm(item)
    for panel in (first, second):
        view = panel.view.view_rect()
        assert (view.center().x(), view.center().y()) == pytest.approx(place, abs=5.0)
        assert min(view.width(), view.height()) <= 1300  # close enough to read its streets
    par = AlarmItem("par:x", AlarmLevel.ESCALATED, now, "PAR OVERDUE", None, "", None)
    assert not maps.centre_on_alarm(par)
