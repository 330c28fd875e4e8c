"""Run cards (desktop/runcards.py) and the any-of lines of `ResponsePlan`.

Contracts under test:
- every incident type of the demo calls has a card of its own, and every unit type a card asks
  for is on the demo roster;
- alarm levels are cumulative (the 2nd alarm is the 1st plus its units), and levels beyond those
  listed repeat the last one;
- fallbacks: a type's card for every priority, then the default card for an unknown type;
- ``"MEDIC|AMBULANCE"`` is one line filled by either type, in plans and in `recommend`;
- a bad file is refused with the place of the fault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from desktop.domain.types import Position, Unit, UnitStatus
from desktop.geo.plan import ResponsePlan
from desktop.geo.recommend import recommend
from desktop.geo.roads import RoadGraph
from desktop.resources import resource_path
from desktop.runcards import RunCard, RunCardError, RunCards, combine_plans

DEMO_CALLS = json.loads(resource_path("demo", "calls.json").read_text(encoding="utf-8"))
DEMO_ROSTER = json.loads(resource_path("demo", "roster.json").read_text(encoding="utf-8"))
DEMO_TYPES = sorted({call["type"] for call in DEMO_CALLS})
ROSTER_TYPES = {unit["type"] for unit in DEMO_ROSTER}


@pytest.fixture(scope="module")
def cards() -> RunCards:
    return RunCards.load()


def counts(plan: ResponsePlan) -> dict[str, int]:
    return dict(plan.needs)


# --- the shipped cards ----------------------------------------------------------------------


def test_the_demo_types_are_the_ones_the_brief_names() -> None:
    assert set(DEMO_TYPES) == {
        "MEDICAL",
        "ALARM",
        "FIRE-STRUCTURE",
        "TC",
        "FIRE-OUTSIDE",
        "FIRE-VEHICLE",
        "ASSIST",
        "ELECTRICAL",
        "RESCUE-ELEVATOR",
        "GAS-LEAK",
        "RESCUE-CONFINED",
        "RESCUE-WATER",
        "ODOR",
        "HAZMAT-FUEL",
        "SMOKE-INVEST",
        "OTHER",
    }


@pytest.mark.parametrize("incident_type", DEMO_TYPES)
def test_every_demo_type_has_a_card_for_every_priority(cards: RunCards, incident_type: str) -> None:
    assert incident_type in cards.incident_types()
    for priority in range(1, 6):
        card = cards.card_for(incident_type, priority)
        assert not card.is_default and card.incident_type == incident_type
        for alarm in (1, 2, 3):
            plan = card.plan(alarm)
            assert plan.total() >= 1
            assert plan.unit_types <= ROSTER_TYPES, plan  # every type can be filled


def test_every_demo_call_gets_a_plan(cards: RunCards) -> None:
    for call in DEMO_CALLS:
        assert cards.plan_for(call["type"], call["priority"]).total() >= 1


def test_structure_fire_first_and_second_alarm(cards: RunCards) -> None:
    first = cards.plan_for("FIRE-STRUCTURE", 2)
    assert counts(first) == {"ENGINE": 3, "TRUCK": 2, "CHIEF": 1, "RESCUE-SQUAD": 1, "MEDIC": 1}
    assert cards.plan_for("FIRE-STRUCTURE", 2, alarm=1) == first
    second = cards.plan_for("FIRE-STRUCTURE", 1, alarm=2)
    assert counts(second) == {"ENGINE": 5, "TRUCK": 3, "CHIEF": 2, "RESCUE-SQUAD": 1, "MEDIC": 1}
    assert [line for line, _ in second.needs][:5] == [line for line, _ in first.needs]


def test_medical_by_priority(cards: RunCards) -> None:
    assert counts(cards.plan_for("MEDICAL", 1)) == {"ENGINE": 1, "MEDIC": 1}
    for priority in (3, 4):
        plan = cards.plan_for("MEDICAL", priority)
        assert plan.needs == (("MEDIC|AMBULANCE", 1),)
        assert plan.unit_types == {"MEDIC", "AMBULANCE"}


def test_types_compare_case_insensitively(cards: RunCards) -> None:
    assert cards.plan_for(" medical ", 1) == cards.plan_for("MEDICAL", 1)


# --- alarm levels ---------------------------------------------------------------------------


@pytest.mark.parametrize("incident_type", DEMO_TYPES)
def test_alarm_levels_are_cumulative(cards: RunCards, incident_type: str) -> None:
    card = cards.card_for(incident_type, 1)
    for alarm in range(1, card.alarms + 3):
        lower, upper = counts(card.plan(alarm)), counts(card.plan(alarm + 1))
        added = counts(card.levels[min(alarm, card.alarms - 1)])
        assert set(lower) <= set(upper)
        for line in upper:
            assert upper[line] == lower.get(line, 0) + added.get(line, 0), (alarm, line)


def test_alarms_beyond_the_card_repeat_the_last_level(cards: RunCards) -> None:
    card = cards.card_for("FIRE-STRUCTURE", 1)
    assert card.alarms == 3
    third, fourth = counts(card.plan(3)), counts(card.plan(4))
    assert fourth["ENGINE"] - third["ENGINE"] == counts(card.levels[2])["ENGINE"]
    single = cards.card_for("MEDICAL", 1)
    assert single.alarms == 1
    assert counts(single.plan(2)) == {"ENGINE": 2, "MEDIC": 2}


@pytest.mark.parametrize("alarm", [0, -1, True])
def test_alarm_below_one_is_refused(cards: RunCards, alarm: Any) -> None:
    with pytest.raises(ValueError):
        cards.plan_for("FIRE-STRUCTURE", 1, alarm=alarm)


# --- fallbacks ------------------------------------------------------------------------------


def test_unknown_type_gets_the_default_card(cards: RunCards) -> None:
    card = cards.card_for("ALIEN-INVASION", 1)
    assert card.is_default and card is cards.default
    assert counts(cards.plan_for("ALIEN-INVASION", 1)) == {"ENGINE": 1}
    assert cards.plan_for("", 3) == cards.default.plan()


def test_a_type_card_without_priorities_covers_the_rest() -> None:
    text = json.dumps(
        {
            "default": {"alarms": [{"ENGINE": 1}]},
            "cards": [
                {"type": "X", "priorities": [1], "alarms": [{"ENGINE": 2}]},
                {"type": "X", "alarms": [{"TRUCK": 1}]},
            ],
        }
    )
    cards = RunCards.from_json(text)
    assert counts(cards.plan_for("X", 1)) == {"ENGINE": 2}
    for priority in (2, 5, 0, 99):  # even a priority out of range gets a plan
        assert counts(cards.plan_for("x", priority)) == {"TRUCK": 1}
    assert counts(cards.plan_for("Y", 1)) == {"ENGINE": 1}


# --- any-of lines ---------------------------------------------------------------------------


def test_any_of_lines_are_normalised_and_checked() -> None:
    plan = ResponsePlan({"medic | ambulance": 1, "ENGINE": 1})
    assert plan.needs == (("MEDIC|AMBULANCE", 1), ("ENGINE", 1))
    assert ResponsePlan.alternatives("MEDIC|AMBULANCE") == ("MEDIC", "AMBULANCE")
    assert ResponsePlan.alternatives("ENGINE") == ("ENGINE",)
    assert plan.unit_types == {"MEDIC", "AMBULANCE", "ENGINE"}
    assert plan.total() == 2
    for bad in (
        {"MEDIC|": 1},
        {"|MEDIC": 1},
        {"MEDIC|medic": 1},
        {"MEDIC|AMBULANCE": 1, "AMBULANCE|MEDIC": 1},
    ):
        with pytest.raises(ValueError):
            ResponsePlan(bad)
    # A single type and an any-of line with it are different lines.
    assert ResponsePlan({"MEDIC": 1, "MEDIC|AMBULANCE": 1}).total() == 2


def test_combine_adds_the_same_line_in_any_order() -> None:
    combined = combine_plans(
        [
            ResponsePlan({"ENGINE": 1, "MEDIC|AMBULANCE": 1}),
            ResponsePlan({"AMBULANCE|MEDIC": 2, "TRUCK": 1, "engine": 1}),
        ]
    )
    assert combined.needs == (("ENGINE", 2), ("MEDIC|AMBULANCE", 3), ("TRUCK", 1))
    assert combine_plans([]) == ResponsePlan({})


def straight_road() -> RoadGraph:
    """Ten nodes on an east-west road, about 90 m apart, 10 s per edge, both ways."""
    n = 10
    edges = sorted([(i, i + 1) for i in range(n - 1)] + [(i + 1, i) for i in range(n - 1)])
    starts = np.array([u for u, _ in edges])
    indptr = np.concatenate([[0], np.cumsum(np.bincount(starts, minlength=n))])
    return RoadGraph(
        [37.75] * n,
        [-122.45 + i * 0.001 for i in range(n)],
        indptr,
        [v for _, v in edges],
        [10.0] * len(edges),
        [88.0] * len(edges),
        {"name": "straight"},
    )


def test_recommend_fills_an_any_of_line_with_the_nearest_of_either() -> None:
    graph = straight_road()
    lat, lon = float(graph.lat[0]), float(graph.lon[0])

    def at(unit_id: str, kind: str, node: int) -> Unit:
        where = Position(lat=float(graph.lat[node]), lon=float(graph.lon[node]), at=0.0)
        return Unit(id=unit_id, type=kind, status=UnitStatus.AV, position=where)

    units = [at("M1", "MEDIC", 5), at("AM1", "AMBULANCE", 2), at("M2", "MEDIC", 8)]
    rec = recommend(graph, lat, lon, units, ResponsePlan({"MEDIC|AMBULANCE": 1}), 0.0)
    assert rec.unit_ids() == ["AM1"]
    assert rec.picks[0].type == "AMBULANCE"
    assert "closest MEDIC or AMBULANCE" in rec.picks[0].reason

    # A unit fills one line only: the MEDIC line takes M1, the any-of line the next nearest.
    plan = ResponsePlan({"MEDIC": 1, "MEDIC|AMBULANCE": 2})
    rec = recommend(graph, lat, lon, units, plan, 0.0)
    assert rec.unit_ids() == ["M1", "AM1", "M2"]
    assert rec.shortfalls == ()

    rec = recommend(graph, lat, lon, units[:1], ResponsePlan({"MEDIC|AMBULANCE": 2}), 0.0)
    [short] = rec.shortfalls
    assert short.text.startswith("needs 2 MEDIC or AMBULANCE, 1 available")


# --- bad files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cards", "where"),
    [
        ([{"type": "X", "alarms": []}], "cards[0]"),
        ([{"type": "X", "alarms": [{}]}], "alarm 1"),
        ([{"type": "X", "alarms": [{"ENGINE": 0}]}], "alarm 1"),
        ([{"type": "X", "alarms": [{"ENGINE": 1}, {"ENGINE|": 1}]}], "alarm 2"),
        ([{"type": " ", "alarms": [{"ENGINE": 1}]}], "type"),
        ([{"type": "X", "priorities": [0], "alarms": [{"ENGINE": 1}]}], "priorities"),
        ([{"type": "X", "priorities": [1, 1], "alarms": [{"ENGINE": 1}]}], "priorities"),
        (
            [
                {"type": "X", "priorities": [1, 2], "alarms": [{"ENGINE": 1}]},
                {"type": "x", "priorities": [2], "alarms": [{"ENGINE": 1}]},
            ],
            "priority 2",
        ),
        (
            [{"type": "X", "alarms": [{"ENGINE": 1}]}, {"type": "X", "alarms": [{"TRUCK": 1}]}],
            "every priority",
        ),
        ([{"type": "X", "alarm": [{"ENGINE": 1}]}], "alarm"),
        ([{"type": "X", "alarms": [{"ENGINE": "two"}]}], "alarms"),
    ],
)
def test_bad_cards_are_refused_with_the_place(
    tmp_path: Path, cards: list[dict[str, Any]], where: str
) -> None:
    path = tmp_path / "runcards.json"
    path.write_text(json.dumps({"default": {"alarms": [{"ENGINE": 1}]}, "cards": cards}))
    with pytest.raises(RunCardError) as info:
        RunCards.load(path)
    assert str(path) in str(info.value)
    assert where in str(info.value)


def test_a_file_needs_a_default_card_and_must_exist(tmp_path: Path) -> None:
    with pytest.raises(RunCardError, match="default"):
        RunCards.from_json('{"cards": []}')
    with pytest.raises(RunCardError):
        RunCards.load(tmp_path / "missing.json")
    with pytest.raises(RunCardError):
        RunCards.from_json("not json")


def test_a_card_is_plain_data() -> None:
    card = RunCard("X", frozenset(), "x", (ResponsePlan({"ENGINE": 1}),))
    assert card.plan(3) == ResponsePlan({"ENGINE": 3})
    assert not card.is_default
