"""The watched route (desktop/geo/route_watch.py): drawn from where the recommendation places the
unit, kept through AVL jitter, worked out again when the unit or the incident moves, waiting for
the road graph, and dropped when the incident closes or the unit leaves the roster."""

from __future__ import annotations

from msgspec.structs import replace

from desktop.domain.types import (
    Incident,
    IncidentStatus,
    Location,
    Position,
    Unit,
    UnitStatus,
)
from desktop.domain.world import World
from desktop.geo.roads import RoadGraph
from desktop.geo.route_watch import RouteWatch, unit_origin
from tests.core.test_geo import NODES, TWO_WAY, make_graph


def _world(unit_at: tuple[float, float] | None, incident_at: tuple[float, float]) -> World:
    world = World()
    position = None if unit_at is None else Position(lat=unit_at[0], lon=unit_at[1], at=1.0)
    world.units["E1"] = Unit(id="E1", type="ENGINE", status=UnitStatus.ER, position=position)
    world.incidents["inc-1"] = Incident(
        id="inc-1",
        number="F2612-000001",
        type="FIRE",
        priority=1,
        location=Location(address="X", lat=incident_at[0], lon=incident_at[1]),
    )
    return world


def _watch(graph: RoadGraph | None) -> RouteWatch:
    return RouteWatch(lambda: graph)


def test_the_route_starts_at_the_fix_and_names_the_incident() -> None:
    watch = _watch(make_graph(TWO_WAY))
    watch.follow("E1", "inc-1", (0.0, 0.0))
    shown = watch.update(_world(NODES[0], NODES[3]))
    assert shown is not None and shown.ok
    assert shown.points == tuple(NODES[n] for n in (0, 1, 2, 5, 4, 3))  # round the ravine
    assert shown.text.startswith("E1 to F2612-000001: ") and "by road" in shown.text


def test_jitter_keeps_the_route_a_real_move_redraws_it() -> None:
    watch = _watch(make_graph(TWO_WAY))
    watch.follow("E1", "inc-1", (0.0, 0.0))
    assert watch.update(_world(NODES[0], NODES[3])) is not None
    jitter = (NODES[0][0], NODES[0][1] + 0.00005)  # about 4 m east
    assert watch.update(_world(jitter, NODES[3])) is None
    shown = watch.update(_world(NODES[1], NODES[3]))
    assert shown is not None and shown.points[0] == NODES[1] and len(shown.points) == 5


def test_a_relocated_incident_gets_a_new_route() -> None:
    watch = _watch(make_graph(TWO_WAY))
    watch.follow("E1", "inc-1", (0.0, 0.0))
    watch.update(_world(NODES[0], NODES[3]))
    shown = watch.update(_world(NODES[0], NODES[2]))
    assert shown is not None and shown.points == (NODES[0], NODES[1], NODES[2])


def test_a_point_target_and_a_unit_at_its_home_station() -> None:
    from desktop.geo.stations import Stations

    stations = Stations.load_default()
    world = _world(None, NODES[3])
    world.units["E1"] = replace(world.units["E1"], station="01")
    home = unit_origin(world.units["E1"], stations)
    assert home == stations.position("01")
    watch = RouteWatch(lambda: make_graph(TWO_WAY), stations)
    watch.follow("E1", None, NODES[4])
    shown = watch.update(world)
    assert shown is not None and shown.points[0] == home and shown.points[-1] == NODES[4]
    assert shown.text.startswith(f"E1 to {NODES[4][0]:.5f}, {NODES[4][1]:.5f}: ")


def test_it_waits_for_the_road_graph() -> None:
    graphs: list[RoadGraph | None] = [None]
    watch = RouteWatch(lambda: graphs[0])
    watch.follow("E1", "inc-1", (0.0, 0.0))
    shown = watch.update(_world(NODES[0], NODES[3]))
    assert shown is not None and not shown.ok and "still loading" in shown.text
    assert watch.unit_id == "E1"  # still watched
    graphs[0] = make_graph(TWO_WAY)
    shown = watch.update(_world(NODES[0], NODES[3]))
    assert shown is not None and shown.ok and len(shown.points) == 6


def test_a_closed_incident_or_a_unit_gone_drops_the_route() -> None:
    watch = _watch(make_graph(TWO_WAY))
    watch.follow("E1", "inc-1", (0.0, 0.0))
    world = _world(NODES[0], NODES[3])
    watch.update(world)
    assert watch.concerns({"inc-1"}) and watch.concerns({"E1"}) and not watch.concerns({"M2"})
    world.incidents["inc-1"] = replace(world.incidents["inc-1"], status=IncidentStatus.CLOSED)
    shown = watch.update(world)
    assert shown is not None and shown.points == () and "closed" in shown.text
    assert watch.unit_id is None and watch.update(world) is None

    watch.follow("E1", "inc-1", (0.0, 0.0))
    del world.units["E1"]
    shown = watch.update(world)
    assert shown is not None and "no longer on the roster" in shown.text


def test_no_road_route_is_said() -> None:
    watch = _watch(make_graph([(0, 1, 60.0, 400.0), (3, 4, 60.0, 400.0)]))  # two islands
    watch.follow("E1", "inc-1", (0.0, 0.0))
    shown = watch.update(_world(NODES[0], NODES[4]))
    assert shown is not None
    assert not shown.ok and shown.points == () and "No road route from E1" in shown.text
