"""Road graph, TIGER import and unit recommendation (desktop/geo, server/gis_import.py).

A hand-made six-node graph with chosen travel times gives exact ETAs; the shipped San Francisco
graph (resources/geo/sf_roads.npz) checks snapping, grade separation and a ranking where the
unit closer as the crow flies is farther by road.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.domain.types import Position, Unit, UnitStatus
from desktop.geo.plan import ResponsePlan
from desktop.geo.projection import LocalProjection, equirectangular_m
from desktop.geo.recommend import (
    Recommendation,
    format_distance,
    format_duration,
    recommend,
)
from desktop.geo.roads import RoadGraph
from desktop.geo.stations import Station, Stations
from server.cli import main as cli_main
from server.gis_import import RoadLine, build_graph, read_roads

ROOT = Path(__file__).resolve().parents[2]
NOW = 1_700_000_000.0

# Hand-made graph: two rows of three nodes ~440 m apart (east-west) and ~556 m apart
# (north-south). The rows are joined only at the east end (2-5): a ravine between 0 and 3.
#
#   3 --60-- 4 --60-- 5
#                     |60
#   0 --60-- 1 --60-- 2        (seconds; every edge 400 m except 2-5, 500 m)
NODES = [(37.750, -122.450), (37.750, -122.445), (37.750, -122.440),
         (37.755, -122.450), (37.755, -122.445), (37.755, -122.440)]  # fmt: skip
TWO_WAY = [(0, 1, 60.0, 400.0), (1, 2, 60.0, 400.0), (2, 5, 60.0, 500.0),
           (5, 4, 60.0, 400.0), (4, 3, 60.0, 400.0)]  # fmt: skip


def make_graph(two_way: list[tuple[int, int, float, float]], one_way: Any = ()) -> RoadGraph:
    edges = sorted([*two_way, *[(v, u, s, m) for u, v, s, m in two_way], *one_way])
    u = np.array([e[0] for e in edges])
    indptr = np.concatenate([[0], np.cumsum(np.bincount(u, minlength=len(NODES)))])
    return RoadGraph(
        [p[0] for p in NODES],
        [p[1] for p in NODES],
        indptr,
        [e[1] for e in edges],
        [e[2] for e in edges],
        [e[3] for e in edges],
        {"name": "hand-made"},
    )


@pytest.fixture(scope="module")
def hand() -> RoadGraph:
    return make_graph(TWO_WAY)


@pytest.fixture(scope="module")
def sf() -> RoadGraph:
    graph = RoadGraph.load()
    graph.warm()
    return graph


def unit(uid: str, node: int | None, kind: str = "ENGINE", **kw: Any) -> Unit:
    status = kw.pop("status", UnitStatus.AV)
    at = kw.pop("at", NOW - 10)
    where = None if node is None else Position(lat=NODES[node][0], lon=NODES[node][1], at=at)
    return Unit(id=uid, type=kind, status=status, position=where, **kw)


def at_node(
    graph: RoadGraph, node: int, units: list[Unit], plan: dict[str, int], **kw: Any
) -> Recommendation:
    kw.setdefault("positions_fallback", {})
    lat, lon = NODES[node]
    return recommend(graph, lat, lon, units, ResponsePlan(plan), NOW, **kw)


# --- the hand-made graph ------------------------------------------------------------------------


def test_travel_from_gives_exact_times_and_lengths_to_the_node(hand: RoadGraph) -> None:
    seconds, metres = hand.travel_from(0)
    assert seconds.tolist() == [0.0, 60.0, 120.0, 300.0, 240.0, 180.0]
    assert metres.tolist() == [0.0, 400.0, 800.0, 2100.0, 1700.0, 1300.0]


def test_one_way_edges_are_searched_in_reverse() -> None:
    graph = make_graph(TWO_WAY, one_way=[(3, 0, 100.0, 600.0)])  # only 3 -> 0
    to_0, _ = graph.travel_from(0)
    to_3, metres_to_3 = graph.travel_from(3)
    assert to_0[3] == 100.0  # 3 may take the one-way shortcut to 0
    assert to_3[0] == 300.0 and metres_to_3[0] == 2100.0  # but 0 must go round to reach 3
    field = graph.travel_to(*NODES[0])
    assert field.seconds[3] == pytest.approx(100.0)


def test_save_and_load_round_trip_byte_identical(hand: RoadGraph, tmp_path: Path) -> None:
    hand.save(tmp_path / "a.npz")
    hand.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = RoadGraph.load(tmp_path / "a.npz")
    assert loaded.meta == {"name": "hand-made"}
    assert loaded.travel_from(0)[0].tolist() == hand.travel_from(0)[0].tolist()


def test_graph_rejects_inconsistent_arrays() -> None:
    with pytest.raises(ValueError):
        RoadGraph([0.0, 1.0], [0.0, 1.0], [0, 1, 2], [1, 0], [1.0, -1.0], [1.0, 1.0])
    with pytest.raises(ValueError):
        RoadGraph([0.0, 1.0], [0.0, 1.0], [0, 2, 2], [1, 1], [1.0, 1.0], [1.0, 1.0])


def test_snapping_mid_edge_and_off_road(hand: RoadGraph) -> None:
    mid = (37.750, -122.4425)  # halfway along 1-2
    node, off = hand.snap(*mid)
    assert node in (1, 2) and off == pytest.approx(0.0, abs=1e-6)
    field = hand.travel_to(*NODES[0])
    eta, dist, _ = field.from_points([mid[0]], [mid[1]])
    assert eta[0] == pytest.approx(90.0) and dist[0] == pytest.approx(600.0)
    # 100 m north of node 1 (no road there): 85 m beyond the free 15 m, at 2.5 m/s.
    north = LocalProjection(*NODES[1]).to_latlon(0.0, 100.0)
    eta, dist, off = field.from_points(north[0:1], north[1:2])
    assert off[0] == pytest.approx(100.0, abs=0.01)
    assert eta[0] == pytest.approx(60.0 + 85.0 / 2.5, abs=0.01)
    assert dist[0] == pytest.approx(500.0, abs=0.01)


def test_incident_mid_edge_is_reached_from_both_ends(hand: RoadGraph) -> None:
    field = hand.travel_to(37.750, -122.4475)  # halfway along 0-1
    assert field.seconds[0] == pytest.approx(30.0) and field.seconds[1] == pytest.approx(30.0)
    assert field.seconds[3] == pytest.approx(270.0)  # 3-4-5-2-1, then half of 1-0
    eta, dist, _ = field.from_points([37.750, 37.750], [-122.4485, -122.4465])  # same edge
    assert eta.tolist() == pytest.approx([12.0, 12.0])
    assert dist.tolist() == pytest.approx([80.0, 80.0])


def test_recommend_ranks_by_road_not_as_the_crow_flies(hand: RoadGraph) -> None:
    units = [unit("E3", 3), unit("E2", 2)]  # E3 is 556 m away in a line, E2 880 m
    rec = at_node(hand, 0, units, {"ENGINE": 2})
    assert rec.unit_ids() == ["E2", "E3"]
    first, second = rec.picks
    assert (first.eta_s, first.distance_m) == pytest.approx((120.0, 800.0))
    assert (second.eta_s, second.distance_m) == pytest.approx((300.0, 2100.0))
    assert first.reason == "closest ENGINE by road: 2 min, 800 m"
    assert second.reason == "2nd closest ENGINE by road: 5 min, 2.1 km"
    assert not first.stale and first.position_age_s == pytest.approx(10.0)
    assert rec.shortfalls == ()


def test_only_the_planned_types_fill_the_plan_in_plan_order(hand: RoadGraph) -> None:
    units = [unit("M1", 1, "MEDIC"), unit("E5", 5), unit("T4", 4, "TRUCK"), unit("M2", 2, "medic")]
    rec = at_node(hand, 0, units, {"ENGINE": 1})
    assert rec.unit_ids() == ["E5"]
    rec = at_node(hand, 0, units, {"medic": 2, "ENGINE": 1})
    assert rec.unit_ids() == ["M1", "M2", "E5"]
    assert [p.type for p in rec.picks] == ["MEDIC", "MEDIC", "ENGINE"]


def test_only_available_units_are_candidates(hand: RoadGraph) -> None:
    units = [
        unit("E1", 1, status=UnitStatus.DP),
        unit("E2", 2, status=UnitStatus.OS),
        unit("E3", 2, status=UnitStatus.OOS),
        unit("E4", 4, status=UnitStatus.AQ),
        unit("E5", 5, status=UnitStatus.AV),
    ]
    assert at_node(hand, 0, units, {"ENGINE": 3}).unit_ids() == ["E5", "E4"]


def test_stale_positions_are_flagged_with_their_age(hand: RoadGraph) -> None:
    units = [unit("E1", 1, at=NOW - 300), unit("E2", 2, at=NOW - 60)]
    rec = at_node(hand, 0, units, {"ENGINE": 2})
    old, fresh = rec.picks
    assert (old.unit_id, old.stale, old.position_age_s) == ("E1", True, 300.0)
    assert old.reason == "closest ENGINE by road: 1 min, 400 m; stale AVL (5 min old)"
    assert not fresh.stale and "stale" not in fresh.reason
    rec = at_node(hand, 0, units, {"ENGINE": 2}, stale_after=30.0)
    assert [p.stale for p in rec.picks] == [True, True]
    assert "stale AVL (60 s old)" in rec.picks[1].reason


def test_units_without_avl_use_the_fallback_position(hand: RoadGraph) -> None:
    units = [unit("E9", None), unit("E2", 2)]
    rec = at_node(hand, 0, units, {"ENGINE": 2}, positions_fallback={"E9": NODES[1]})
    home = rec.picks[0]
    assert (home.unit_id, home.eta_s, home.position_age_s, home.stale) == ("E9", 60.0, None, False)
    assert home.reason.endswith("; no AVL: home station")
    rec = at_node(hand, 0, units, {"ENGINE": 2}, positions_fallback={})
    assert rec.unit_ids() == ["E2"] and rec.unlocated == ("E9",)


def test_units_without_avl_are_placed_at_their_station(hand: RoadGraph) -> None:
    stations = Stations({"7": Station("7", *NODES[1]), "9": Station("9", *NODES[5])})
    units = [
        unit("E7", None, station="7"),
        unit("E9", None, station="9"),
        unit("E5", None, station="5"),  # a station with no known position: not ranked
        unit("E0", None),  # no station at all
    ]
    rec = at_node(hand, 0, units, {"ENGINE": 2}, positions_fallback=None, stations=stations)
    assert rec.unit_ids() == ["E7", "E9"]
    assert [p.eta_s for p in rec.picks] == [60.0, 180.0]
    assert all(p.reason.endswith("; no AVL: home station") for p in rec.picks)
    assert rec.unlocated == ("E0", "E5")


def test_default_home_is_the_shipped_station_position() -> None:
    """Every station of the demo roster has a shipped position, inside San Francisco."""
    stations = Stations.load_default()
    roster = json.loads((ROOT / "resources/demo/roster.json").read_text())
    assert {u["station"] for u in roster} <= set(stations)
    for station in stations.values():
        assert 37.70 < station.lat < 37.84 and -122.52 < station.lon < -122.35, station


def test_shortfalls_are_explained(hand: RoadGraph) -> None:
    rec = at_node(hand, 0, [unit("E2", 2), unit("M4", 4, "MEDIC")], {"ENGINE": 2, "MEDIC": 1})
    (engine,) = rec.shortfalls
    assert (engine.type, engine.needed, engine.available, engine.within_horizon) == (
        "ENGINE",
        2,
        1,
        1,
    )
    assert engine.text == "needs 2 ENGINE, 1 available within 10 min"
    units = [unit("E2", 2), unit("E3", 3)]  # 120 s and 300 s
    rec = at_node(hand, 0, units, {"ENGINE": 2}, horizon=200.0)
    assert [s.text for s in rec.shortfalls] == [
        "needs 2 ENGINE, 1 available within 3 min 20 s, 2 in all"
    ]
    assert rec.unit_ids() == ["E2", "E3"] and rec.picks[1].reason.endswith("; beyond 3 min 20 s")
    rec = at_node(hand, 0, [], {"ENGINE": 1, "TRUCK": 0})
    assert [s.text for s in rec.shortfalls] == ["needs 1 ENGINE, 0 available within 10 min"]


def test_equal_etas_go_to_the_smaller_id(hand: RoadGraph) -> None:
    units = [unit("E7", 2), unit("E10", 2), unit("E8", 2)]
    assert at_node(hand, 0, units, {"ENGINE": 2}).unit_ids() == ["E10", "E7"]


def test_response_plan_validation_and_formatting() -> None:
    assert ResponsePlan({"engine": 2, "MEDIC": 1}).needs == (("ENGINE", 2), ("MEDIC", 1))
    for bad in ({"ENGINE": -1}, {" ": 1}, {"ENGINE": 1, "engine": 1}):
        with pytest.raises(ValueError):
            ResponsePlan(bad)
    assert [format_duration(s) for s in (45, 60, 190.4, 600)] == [
        "45 s",
        "1 min",
        "3 min 10 s",
        "10 min",
    ]
    assert [format_distance(m) for m in (42, 851, 1449)] == ["40 m", "850 m", "1.4 km"]


# --- importing TIGER --------------------------------------------------------------------------


def tiny_lines() -> list[RoadLine]:
    """A street grid crossed by a freeway (shared vertex at (0.002, 0.001): an overpass), a
    ramp from the freeway down to the street at (0.004, 0.001), a stairway shortcut and an
    island street."""
    base = (-122.40, 37.75)

    def pt(dx: float, dy: float) -> tuple[float, float]:
        return (round(base[0] + dx, 6), round(base[1] + dy, 6))

    return [
        RoadLine((pt(0, 0.001), pt(0.002, 0.001), pt(0.004, 0.001)), "S1400", "Main St"),
        RoadLine((pt(0.002, 0), pt(0.002, 0.001), pt(0.002, 0.003)), "S1100", "I- 280"),
        RoadLine((pt(0.002, 0.003), pt(0.004, 0.002), pt(0.004, 0.001)), "S1630"),
        RoadLine((pt(0, 0.001), pt(0.002, 0)), "S1720", "Stairs"),
        RoadLine((pt(0.01, 0.01), pt(0.011, 0.01)), "S1400", "Island Ct"),
    ]


def test_import_nodes_lines_and_separates_the_freeway() -> None:
    arrays, report = build_graph(tiny_lines())
    assert report.excluded_by_class == {"S1720": 1}
    assert (report.nodes_dropped, report.components_dropped) == (2, 1)
    assert report.separated_vertices == 1  # the overpass vertex: a street and a freeway node
    assert report.nodes == 7 and report.edges == 12  # 6 two-way edges
    graph = RoadGraph(**arrays)

    def node(dx: float, dy: float) -> int:
        return int(np.argmin(np.abs(graph.lon - (-122.40 + dx)) + np.abs(graph.lat - (37.75 + dy))))

    seconds, metres = graph.travel_from(node(0.002, 0))  # the freeway's south end
    # From Main St's west end: east along Main St, up the ramp, south on the freeway; not
    # down through the overpass vertex, nor up the stairs.
    legs = [((0, 0.001), (0.002, 0.001), 22), ((0.002, 0.001), (0.004, 0.001), 22),
            ((0.004, 0.001), (0.004, 0.002), 30), ((0.004, 0.002), (0.002, 0.003), 30),
            ((0.002, 0.003), (0.002, 0.001), 55), ((0.002, 0.001), (0.002, 0), 55)]  # fmt: skip
    lengths = [
        float(equirectangular_m(37.75 + a[1], -122.40 + a[0], 37.75 + b[1], -122.40 + b[0]))
        for a, b, _ in legs
    ]
    start = node(0, 0.001)
    assert metres[start] == pytest.approx(sum(lengths), rel=1e-5)
    expected = sum(m / (mph * 0.44704) for m, (_, _, mph) in zip(lengths, legs, strict=True))
    assert seconds[start] == pytest.approx(expected, rel=1e-5)


def test_import_is_deterministic_and_order_independent(tmp_path: Path) -> None:
    lines = tiny_lines()
    first, _ = build_graph(lines)
    second, _ = build_graph(lines[::-1])
    for key in first:
        assert np.array_equal(first[key], second[key]), key
    geojson = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"MTFCC": ln.mtfcc, "FULLNAME": ln.name},
                "geometry": {"type": "LineString", "coordinates": [list(c) for c in ln.coords]},
            }
            for ln in lines
        ],
    }
    source = tmp_path / "roads.geojson"
    source.write_text(json.dumps(geojson))
    assert len(read_roads(source)) == len(lines)
    outputs = []
    for name in ("a", "b"):
        argv = ["gis-import", "--roads", str(source), "--out", str(tmp_path / name), "--name", "g"]
        assert cli_main(argv) == 0
        outputs.append(
            (
                (tmp_path / name / "g.npz").read_bytes(),
                (tmp_path / name / "PROVENANCE.md").read_text(),
            )
        )
    assert outputs[0] == outputs[1]
    assert "public domain" in outputs[0][1] and "two-way" in outputs[0][1]
    assert cli_main(["gis-import", "--roads", str(tmp_path / "none.geojson"), "--out", "x"]) == 2


# --- the San Francisco graph --------------------------------------------------------------------


def test_sf_graph_loads_and_is_compact(sf: RoadGraph) -> None:
    path = ROOT / "resources/geo/sf_roads.npz"
    assert path.stat().st_size < 2_000_000
    assert 25_000 < sf.n_nodes < 35_000 and sf.n_edges > 60_000
    assert sf.meta["two_way"] is True
    seconds, _ = sf.travel_from(0)
    assert np.isfinite(seconds).all()  # one strongly connected component


def test_sf_call_locations_snap_onto_roads(sf: RoadGraph) -> None:
    calls = json.loads((ROOT / "resources/demo/calls.json").read_text())
    lat = np.array([c["lat"] for c in calls])
    lon = np.array([c["lon"] for c in calls])
    inside = (
        (lat > sf.lat.min()) & (lat < sf.lat.max()) & (lon > sf.lon.min()) & (lon < sf.lon.max())
    )
    assert inside.sum() > 2000
    offsets = sf.locate(lat[inside], lon[inside]).offset_m
    # Block midpoints and intersections; two lie on roads newer than TIGER 2017 (4th St in
    # Mission Bay is 139 m from the nearest 2017 road).
    assert np.percentile(offsets, 99) < 25 and np.count_nonzero(offsets > 100) <= 1
    assert offsets.max() < 150
    node, off = sf.snap(37.779277, -122.419206)  # City Hall, on Polk St's side
    assert off < 100 and equirectangular_m(37.779277, -122.419206, sf.lat[node], sf.lon[node]) < 200


def test_sf_freeway_does_not_connect_to_the_street_beneath(sf: RoadGraph) -> None:
    # I-280 passes over 18th St at this vertex: a street node and a freeway node.
    both = np.nonzero((np.abs(sf.lat - 37.762804) < 1e-7) & (np.abs(sf.lon - -122.392769) < 1e-7))
    street_or_freeway = both[0]
    assert street_or_freeway.shape == (2,)
    seconds, metres = sf.travel_from(int(street_or_freeway[0]))
    assert seconds[street_or_freeway[1]] > 30 and metres[street_or_freeway[1]] > 300


@pytest.mark.parametrize(
    ("incident", "crow_close", "road_close"),
    [
        # Twin Peaks: Twin Peaks Blvd is 660 m west of 25th St & Fountain St over the hill,
        # 2.5 km by road; 25th St & Noe St is 870 m east, straight down 25th St.
        ((37.749231, -122.441538), (37.750902, -122.448730), (37.749830, -122.431717)),
        # Bernal Heights / Portola: Colby St & Sweeny St is 370 m south of Andover St & Benton
        # Ave, across Alemany Blvd and I-280 (2.4 km by road); Andover & Ellert is 490 m north.
        ((37.733928, -122.416912), (37.730920, -122.415034), (37.738290, -122.416519)),
    ],
    ids=["twin-peaks", "i280-alemany"],
)
def test_sf_unit_close_by_road_beats_unit_close_as_the_crow_flies(
    sf: RoadGraph,
    incident: tuple[float, float],
    crow_close: tuple[float, float],
    road_close: tuple[float, float],
) -> None:
    assert equirectangular_m(*incident, *crow_close) < 0.8 * equirectangular_m(
        *incident, *road_close
    )
    units = [
        Unit(
            id="E1",
            type="ENGINE",
            status=UnitStatus.AV,
            position=Position(lat=crow_close[0], lon=crow_close[1], at=NOW),
        ),
        Unit(
            id="E2",
            type="ENGINE",
            status=UnitStatus.AV,
            position=Position(lat=road_close[0], lon=road_close[1], at=NOW),
        ),
    ]
    rec = recommend(sf, *incident, units, ResponsePlan({"ENGINE": 2}), NOW, positions_fallback={})
    assert rec.unit_ids() == ["E2", "E1"]
    near, far = rec.picks
    assert far.eta_s > 2.5 * near.eta_s and far.distance_m > 2000
    assert near.reason.startswith("closest ENGINE by road: ")


def test_sf_recommendation_with_the_demo_roster(sf: RoadGraph) -> None:
    roster = json.loads((ROOT / "resources/demo/roster.json").read_text())
    units = [
        Unit(id=r["id"], type=r["type"], station=r["station"], status=UnitStatus.AQ) for r in roster
    ]
    plan = ResponsePlan({"ENGINE": 2, "TRUCK": 1, "MEDIC": 1, "CHIEF": 1})
    rec = recommend(sf, 37.779277, -122.419206, units, plan, NOW)  # City Hall; stations as homes
    assert len(rec.picks) == 5 and rec.shortfalls == ()
    assert all(p.reason.endswith("no AVL: home station") for p in rec.picks)
    assert all(p.eta_s < 300 for p in rec.picks)
