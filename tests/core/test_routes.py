"""Road routes (desktop/geo/routes.py) and the recommendation following the AVL stream: a route's
seconds are the ETA the recommendation gives for the same start; a live fix moves a unit, a
fix older than the run cards' ``avl_stale_after_s`` is flagged stale."""

from __future__ import annotations

import math

import numpy as np
import pytest

from desktop.domain.positions import position_of
from desktop.domain.types import Incident, Location, Unit, UnitStatus
from desktop.domain.world import World
from desktop.geo.advice import Advisor, shipped_graph
from desktop.geo.plan import ResponsePlan
from desktop.geo.projection import equirectangular_m
from desktop.geo.recommend import recommend
from desktop.geo.roads import RoadGraph
from desktop.geo.stations import Stations
from desktop.protocol.messages import PositionFix
from desktop.runcards import RunCards
from desktop.state import ClientState
from tests.core.test_geo import NODES, TWO_WAY, make_graph

NOW = 1_700_000_000.0
#: 1200 Market St, San Francisco (a street address of the shipped geography).
MARKET_1200 = (37.7786, -122.4159)


@pytest.fixture(scope="module")
def sf() -> RoadGraph:
    return shipped_graph()


def test_a_route_on_the_hand_made_graph_goes_round_the_ravine() -> None:
    graph = make_graph(TWO_WAY)
    route = graph.route(*NODES[0], *NODES[3])
    assert route is not None
    assert route.points == tuple(NODES[n] for n in (0, 1, 2, 5, 4, 3))
    assert route.seconds == pytest.approx(300.0) and route.metres == pytest.approx(2100.0)
    assert route.elapsed_s == pytest.approx((0.0, 60.0, 120.0, 180.0, 240.0, 300.0))
    assert route.along_m == pytest.approx((0.0, 400.0, 800.0, 1300.0, 1700.0, 2100.0))
    halfway = route.where(150.0)
    assert (halfway.lat, halfway.lon) == pytest.approx((37.7525, -122.440))
    assert halfway.speed_mps == pytest.approx(500.0 / 60.0)
    assert halfway.heading_deg == pytest.approx(0.0)  # due north from 2 to 5
    end = route.where(1e9)
    assert (end.lat, end.lon, end.speed_mps) == (*NODES[3], 0.0)


def test_no_route_where_the_roads_do_not_connect() -> None:
    graph = make_graph([(0, 1, 60.0, 400.0), (3, 4, 60.0, 400.0)])
    assert graph.route(*NODES[0], *NODES[4]) is None


def test_a_route_from_a_station_to_an_address_is_the_recommendations_eta(sf: RoadGraph) -> None:
    station = Stations.load_default().position("01")
    assert station is not None
    route = sf.route(*station, *MARKET_1200)
    assert route is not None
    assert route.start == station and route.end == MARKET_1200
    crow = float(equirectangular_m(*station, *MARKET_1200))
    assert crow < route.metres < 2 * crow
    assert 30.0 < route.seconds < 600.0
    assert route.elapsed_s[-1] == pytest.approx(route.seconds)
    assert route.along_m[-1] == pytest.approx(route.metres)
    assert list(route.elapsed_s) == sorted(route.elapsed_s)
    # the polyline follows the roads: every inner point is a node or a foot on a segment
    for lat, lon in route.points[2:-2]:
        assert float(np.min(equirectangular_m(lat, lon, sf.lat, sf.lon))) < 1.0
    engine = Unit(id="E1", type="ENGINE", station="01", status=UnitStatus.AQ)
    pick = recommend(sf, *MARKET_1200, [engine], ResponsePlan({"ENGINE": 1}), NOW).picks[0]
    assert pick.eta_s == pytest.approx(route.seconds, rel=1e-9)
    assert pick.distance_m == pytest.approx(route.metres, rel=1e-9)


def test_routes_agree_with_the_etas_between_random_points(sf: RoadGraph) -> None:
    rng = np.random.default_rng(13)
    checked = 0
    for _ in range(40):
        a = (37.73 + 0.06 * rng.random(), -122.49 + 0.09 * rng.random())
        b = (37.73 + 0.06 * rng.random(), -122.49 + 0.09 * rng.random())
        field = sf.travel_to(*b)
        eta, dist, _ = field.from_points(np.asarray([a[0]]), np.asarray([a[1]]))
        route = field.route_from(*a)
        if route is None:
            assert not math.isfinite(float(eta[0]))
            continue
        checked += 1
        assert (route.seconds, route.metres) == (float(eta[0]), float(dist[0]))
        assert route.elapsed_s[-1] == pytest.approx(route.seconds, rel=1e-6, abs=1e-6)
        assert route.along_m[-1] == pytest.approx(route.metres, rel=1e-6, abs=1e-6)
    assert checked >= 30


# --- the recommendation reads the stream -------------------------------------------------------

CARDS = RunCards.from_json(
    """{"recommendation": {"avl_stale_after_s": 30, "horizon_s": 900},
        "default": {"alarms": [{"ENGINE": 1}]}}"""
)


def test_the_recommendation_follows_live_fixes_and_flags_stale_ones(sf: RoadGraph) -> None:
    # E1's station (01) is near 1200 Market St; E2's (13) is farther
    e1 = Unit(id="E1", type="ENGINE", station="01", status=UnitStatus.AV)
    e2 = Unit(id="E2", type="ENGINE", station="13", status=UnitStatus.AV)
    state = ClientState("ann", World(units={"E1": e1, "E2": e2}))
    advisor = Advisor(CARDS, lambda: sf)
    incident = Incident(
        id="i1", type="FIRE", priority=1, location=Location(lat=MARKET_1200[0], lon=MARKET_1200[1])
    )

    def picks(now: float) -> list[tuple[str, bool, str]]:
        recommendation = advisor.advise(incident, state.view.units.values(), now).recommendation
        assert recommendation is not None
        return [(p.unit_id, p.stale, p.reason) for p in recommendation.picks]

    (first,) = picks(NOW)
    assert first[0] == "E1" and "no AVL: home station" in first[2]
    # E2 reports from right beside the incident: the live fix wins
    beside = PositionFix(unit_id="E2", lat=37.77865, lon=-122.41585, at=NOW - 5)
    state.apply_positions([beside])
    ((unit_id, stale, reason),) = picks(NOW)
    assert (unit_id, stale) == ("E2", False) and "AVL" not in reason
    assert state.unit("E2").position == position_of(beside)  # type: ignore[union-attr]
    # 40 s later the fix is older than avl_stale_after_s (30): still used, flagged stale
    ((unit_id, stale, reason),) = picks(NOW + 35)
    assert (unit_id, stale) == ("E2", True) and "stale AVL (40 s old)" in reason
