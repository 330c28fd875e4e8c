"""`desktop.geo.advice`: the run card's plan for an alarm level, less the units already on the
incident, filled by road ETA on the hand-made graph of test_geo."""

from __future__ import annotations

import pytest

from desktop.domain.types import Incident, IncidentStatus, Location, Unit, UnitStatus
from desktop.geo.advice import ALL_CLEARED, Advisor, remaining_plan
from desktop.geo.plan import ResponsePlan
from desktop.geo.roads import RoadGraph
from desktop.runcards import RunCardError, RunCards
from tests.core.test_geo import NODES, NOW, TWO_WAY, make_graph, unit

CARDS = RunCards.from_json(
    """{"recommendation": {"avl_stale_after_s": 30, "horizon_s": 150},
        "default": {"alarms": [{"ENGINE": 1}]},
        "cards": [{"type": "FIRE", "alarms": [{"ENGINE": 2, "MEDIC|AMBULANCE": 1},
                                              {"ENGINE": 1, "TRUCK": 1}]}]}"""
)


@pytest.fixture(scope="module")
def advisor() -> Advisor:
    loads: list[int] = []

    def graph() -> RoadGraph:
        loads.append(1)
        assert len(loads) == 1, "the graph is loaded once"
        return make_graph(TWO_WAY)

    return Advisor(CARDS, graph, positions_fallback={})


def fire(node: int = 0, units: tuple[str, ...] = (), **kw: object) -> Incident:
    lat, lon = NODES[node]
    return Incident(
        id="i-1",
        type="fire",
        priority=2,
        location=Location(address="1 Main", lat=lat, lon=lon),
        units=list(units),
        **kw,  # type: ignore[arg-type]
    )


def test_remaining_plan_takes_each_unit_once_in_plan_order() -> None:
    plan = ResponsePlan({"ENGINE": 2, "MEDIC|AMBULANCE": 1, "MEDIC": 1})
    left = remaining_plan(plan, ["engine", "MEDIC", "MEDIC", "MEDIC", "TRUCK"])
    assert left.needs == (("ENGINE", 1), ("MEDIC|AMBULANCE", 0), ("MEDIC", 0))


def test_first_alarm_is_filled_nearest_by_road(advisor: Advisor) -> None:
    units = [
        unit("E1", 1),
        unit("E2", 3),  # near as the crow flies, far by road
        unit("E3", 2),
        unit("M1", 1, "AMBULANCE"),
    ]
    advice = advisor.advise(fire(0), units, NOW)
    assert advice.card.incident_type == "FIRE"  # the type is matched case-insensitively
    assert advice.alarm == 1
    assert advice.plan.needs == (("ENGINE", 2), ("MEDIC|AMBULANCE", 1))
    assert advice.recommended_ids() == ["E1", "E3", "M1"]
    assert advice.on_scene == ()
    assert not advice.covered


def test_units_on_the_incident_count_towards_the_second_alarm(advisor: Advisor) -> None:
    units = [
        unit("E1", 1, status=UnitStatus.OS, incident_id="i-1"),
        unit("E2", 1, status=UnitStatus.ER, incident_id="i-1"),
        unit("M1", 1, "MEDIC", status=UnitStatus.OS, incident_id="i-1"),
        unit("E9", 1, status=UnitStatus.OS, incident_id="other"),  # busy elsewhere
        unit("E3", 2),
        unit("T1", 4, "TRUCK"),
    ]
    incident = fire(0, units=("E1", "E2", "M1"), status=IncidentStatus.ACTIVE)
    first = advisor.advise(incident, units, NOW, alarm=1)
    assert first.covered and first.recommended_ids() == []
    second = advisor.advise(incident, units, NOW, alarm=2)
    assert second.on_scene == ("E1", "E2", "M1")
    assert second.remaining.needs == (("ENGINE", 1), ("MEDIC|AMBULANCE", 0), ("TRUCK", 1))
    assert second.recommended_ids() == ["E3", "T1"]
    [shortfall] = second.recommendation.shortfalls  # type: ignore[union-attr]
    assert shortfall.text == "needs 1 TRUCK, 0 available within 2 min 30 s, 1 in all"


def test_stale_after_comes_from_the_run_card_file(advisor: Advisor) -> None:
    advice = advisor.advise(fire(0), [unit("E1", 1, at=NOW - 31), unit("E2", 1)], NOW)
    stale = {pick.unit_id: pick.stale for pick in advice.recommendation.picks}  # type: ignore[union-attr]
    assert stale == {"E1": True, "E2": False}


def test_no_coordinates_gives_the_plan_and_says_why(advisor: Advisor) -> None:
    incident = Incident(id="i-2", type="FIRE", priority=1, location=Location(address="1 Main"))
    advice = advisor.advise(incident, [unit("E1", 1)], NOW)
    assert advice.recommendation is None and advice.recommended_ids() == []
    assert "no coordinates" in advice.problem
    assert advice.plan.total() == 3


def test_bad_recommendation_settings_are_refused() -> None:
    with pytest.raises(RunCardError, match="avl_stale_after_s"):
        RunCards.from_json(
            '{"recommendation": {"avl_stale_after_s": -1}, "default": {"alarms": [{"E": 1}]}}'
        )
    assert RunCards.load().recommendation.avl_stale_after_s == 120


def test_the_sf_graph_recommends_for_a_demo_call() -> None:
    incident = Incident(
        id="i-sf",
        type="MEDICAL",
        priority=1,
        location=Location(address="0 Block of MARINA BLVD", lat=37.80516, lon=-122.43296),
    )
    roster = [
        Unit(id="E16", type="ENGINE", station="16"),
        Unit(id="E41", type="ENGINE", station="41"),
        Unit(id="M01", type="MEDIC", station="01"),
    ]
    fallback = {"E16": (37.7979, -122.4367), "E41": (37.7907, -122.4201), "M01": (37.775, -122.42)}
    advisor = Advisor(RunCards.load(), positions_fallback=fallback)
    advice = advisor.advise(incident, roster, NOW)
    assert advice.recommendation is not None
    assert advice.recommended_ids()[0] == "E16"


def test_an_active_incident_whose_units_all_cleared_is_offered_nothing(advisor: Advisor) -> None:
    """#10.9: the run card was sent and served; offering it whole again (F9) would send a
    second response."""
    units = [unit("E1", 1), unit("E3", 2), unit("M1", 1, "AMBULANCE")]  # all available again
    advice = advisor.advise(fire(0, status=IncidentStatus.ACTIVE), units, NOW)
    assert advice.recommendation is None and advice.recommended_ids() == []
    assert advice.problem == ALL_CLEARED
    # A pending incident (its only unit released: a dispatch undone) is offered the card again.
    again = advisor.advise(fire(0, status=IncidentStatus.PENDING), units, NOW)
    assert again.recommended_ids() == ["E1", "E3", "M1"]
