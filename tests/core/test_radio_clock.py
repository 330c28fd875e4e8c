"""What the radio position owes at a given time (desktop/radio_clock.py), with an injected
clock: every function takes ``now``.

Contracts under test:
- a working (active) incident of a type with marks owes an elapsed-time mark every
  ``elapsed_every_s`` and a PAR every ``par_every_s`` from ``times["first_onscene"]``: none
  before the first interval, only the latest due one of each kind, none once it is answered
  (``radio.marked``); a dispatched or closed incident, or a type without marks, owes none;
- alarm levels: SOUNDING until ``escalate_after_s`` after it was raised, ESCALATED from then,
  ACKNOWLEDGED once acknowledged, gone once cleared; a PAR owed for ``par_escalate_after_s``
  joins the queue ESCALATED; the queue's order;
- `sound_for`: a dispatching position hears SOUNDING ("normal") and ESCALATED ("loud"), a
  supervisor only ESCALATED.
"""

from __future__ import annotations

import pytest

from desktop.domain.incidents import IncidentClose
from desktop.domain.radio import RadioAcknowledge, RadioClear, RadioEmergency, RadioMarkAnswer
from desktop.domain.types import IncidentStatus, UnitStatus
from desktop.domain.units import UnitDispatch, UnitSetStatus
from desktop.domain.world import World
from desktop.radio_clock import (
    AlarmItem,
    AlarmLevel,
    Prompt,
    alarm_queue,
    owed_prompts,
    prompt_words,
    sound_for,
)
from desktop.radio_plan import AlarmRules, Channel, MarkRule, RadioPlan, load_radio_plan
from tests.core.test_radio import E12_AT, FIRE, MED, T0, _create, make_world, run

PLAN = load_radio_plan()
START = T0 - 600  # FIRE's first unit (E12) on scene
OUTSIDE = "0190a1b2-0000-7000-8000-00000000f003"  # F2612-000125, FIRE-OUTSIDE


def owed(world: World, now: float, plan: RadioPlan = PLAN) -> list[tuple[str, str, int, float]]:
    return [(p.incident_id, p.kind, p.number, p.due_at) for p in owed_prompts(world, plan, now)]


def answer(world: World, kind: str, due_at: float, now: float) -> None:
    run(world, RadioMarkAnswer(incident_id=FIRE, kind=kind, due_at=due_at), now)  # type: ignore[arg-type]


def levels(world: World, now: float, plan: RadioPlan = PLAN) -> list[tuple[str, AlarmLevel]]:
    return [(item.key, item.level) for item in alarm_queue(world, plan, now)]


# --- prompts --------------------------------------------------------------------------------


def test_the_shipped_plan_marks_a_structure_fire() -> None:
    rule = PLAN.marks_for("fire-structure")
    assert rule == MarkRule(elapsed_every_s=600, par_every_s=1200)
    assert PLAN.alarms == AlarmRules(
        escalate_after_s=30, repeat_every_s=3, par_escalate_after_s=120
    )
    world = make_world()
    assert world.incidents[FIRE].times["first_onscene"] == START
    assert world.incidents[FIRE].status is IncidentStatus.ACTIVE


def test_nothing_is_owed_before_the_first_interval() -> None:
    world = make_world()
    assert owed(world, START) == []
    assert owed(world, START + 599.9) == []


def test_an_elapsed_mark_falls_due_every_interval_and_a_par_every_other() -> None:
    world = make_world()
    assert owed(world, START + 600) == [(FIRE, "elapsed", 1, START + 600)]
    assert owed(world, START + 1199) == [(FIRE, "elapsed", 1, START + 600)]
    assert owed(world, START + 1200) == [
        (FIRE, "elapsed", 2, START + 1200),
        (FIRE, "par", 1, START + 1200),
    ]
    # the latest due elapsed mark, the first unanswered PAR; the earliest due first
    assert owed(world, START + 1900) == [
        (FIRE, "par", 1, START + 1200),
        (FIRE, "elapsed", 3, START + 1800),
    ]
    assert owed(world, START + 2400) == [
        (FIRE, "par", 1, START + 1200),
        (FIRE, "elapsed", 4, START + 2400),
    ]


def test_a_prompt_says_what_it_asks_for() -> None:
    world = make_world()
    elapsed, par = owed_prompts(world, PLAN, START + 1250)
    assert elapsed == Prompt(FIRE, "elapsed", 2, START + 1200, 1200.0, None)
    assert par == Prompt(FIRE, "par", 1, START + 1200, 1200.0, START + 1200 + 120)
    assert par.key == (FIRE, "par", START + 1200)
    assert prompt_words(world, elapsed) == "F2612-000123: working 20 min — announce"
    assert prompt_words(world, par) == "F2612-000123: PAR due (20 min on scene)"


def test_an_answered_prompt_is_owed_no_more_until_the_next_falls_due() -> None:
    world = make_world()
    answer(world, "elapsed", START + 600, START + 610)
    assert owed(world, START + 700) == []
    assert owed(world, START + 1200) == [
        (FIRE, "elapsed", 2, START + 1200),
        (FIRE, "par", 1, START + 1200),
    ]
    answer(world, "par", START + 1200, START + 1230)
    assert owed(world, START + 1230) == [(FIRE, "elapsed", 2, START + 1200)]
    answer(world, "elapsed", START + 1200, START + 1240)
    assert owed(world, START + 1240) == []


def test_an_answer_to_another_due_time_does_not_answer_the_owed_one() -> None:
    world = make_world()
    answer(world, "elapsed", START + 601, START + 610)  # not the due time
    answer(world, "par", START + 600, START + 610)  # not the kind
    assert owed(world, START + 700) == [(FIRE, "elapsed", 1, START + 600)]


def test_a_dispatched_incident_owes_nothing() -> None:
    world = make_world()
    hazmat = "0190a1b2-0000-7000-8000-00000000f004"
    _create(world, hazmat, "HAZMAT-FUEL", "F2612-000126", START - 100)
    run(world, UnitDispatch(incident_id=hazmat, unit_ids=["E2"]), START - 50)
    run(world, UnitSetStatus(unit_id="E2", status=UnitStatus.ER), START)
    assert world.incidents[hazmat].status is IncidentStatus.DISPATCHED
    assert [p for p in owed_prompts(world, PLAN, START + 3600) if p.incident_id == hazmat] == []


def test_a_closed_incident_owes_nothing() -> None:
    world = make_world()
    run(world, UnitSetStatus(unit_id="E12", status=UnitStatus.AV), START + 900)
    run(world, UnitSetStatus(unit_id="T3", status=UnitStatus.AV), START + 900)
    run(world, IncidentClose(incident_id=FIRE, disposition="OUT"), START + 950)
    assert owed(world, START + 1200) == []
    assert alarm_queue(world, PLAN, START + 1400) == []


def test_a_type_without_marks_owes_nothing_and_one_without_par_owes_no_par() -> None:
    world = make_world()
    run(world, UnitSetStatus(unit_id="M55", status=UnitStatus.OS), START)  # MED: MEDICAL
    assert world.incidents[MED].status is IncidentStatus.ACTIVE
    _create(world, OUTSIDE, "FIRE-OUTSIDE", "F2612-000125", START - 60)
    run(world, UnitDispatch(incident_id=OUTSIDE, unit_ids=["E2"]), START - 30)
    run(world, UnitSetStatus(unit_id="E2", status=UnitStatus.OS), START)
    assert [p for p in owed(world, START + 1200) if p[0] != FIRE] == [
        (OUTSIDE, "elapsed", 2, START + 1200)
    ]


def test_a_plan_without_marks_owes_nothing() -> None:
    plan = RadioPlan(channels=[Channel(name="FIRE DISPATCH")])
    assert owed(make_world(), START + 3600, plan) == []


# --- the alarm queue ------------------------------------------------------------------------


def emergency(world: World, radio_id: str, alarm_id: str, now: float) -> None:
    run(world, RadioEmergency(alarm_id=alarm_id, radio_id=radio_id), now, actor="radio-gw")


def test_an_alarm_sounds_escalates_is_acknowledged_and_goes() -> None:
    world = make_world()
    emergency(world, "7012", "a-1", T0)
    assert levels(world, T0) == [("alarm:a-1", AlarmLevel.SOUNDING)]
    assert levels(world, T0 + 29.9) == [("alarm:a-1", AlarmLevel.SOUNDING)]
    assert levels(world, T0 + 30) == [("alarm:a-1", AlarmLevel.ESCALATED)]
    [item] = alarm_queue(world, PLAN, T0 + 30)
    assert item == AlarmItem(
        key="alarm:a-1",
        level=AlarmLevel.ESCALATED,
        since=T0,
        words="EMERGENCY E12 (radio 7012)",
        incident_id=FIRE,
        unit_id="E12",
        position=E12_AT,
        alarm=world.alarms["a-1"],
    )
    run(world, RadioAcknowledge(alarm_id="a-1"), T0 + 40)
    assert levels(world, T0 + 41) == [("alarm:a-1", AlarmLevel.ACKNOWLEDGED)]
    run(world, RadioClear(alarm_id="a-1", reason="unit answered"), T0 + 60)
    assert alarm_queue(world, PLAN, T0 + 61) == []


def test_an_alarm_acknowledged_before_it_escalates_never_escalates() -> None:
    world = make_world()
    emergency(world, "7012", "a-1", T0)
    run(world, RadioAcknowledge(alarm_id="a-1"), T0 + 5)
    assert levels(world, T0 + 590) == [("alarm:a-1", AlarmLevel.ACKNOWLEDGED)]  # before a PAR


def test_an_unanswered_par_joins_the_queue_escalated() -> None:
    world = make_world()
    due = START + 1200
    assert alarm_queue(world, PLAN, due) == []
    assert alarm_queue(world, PLAN, due + 119.9) == []
    [item] = alarm_queue(world, PLAN, due + 120)
    assert (item.key, item.level, item.since, item.words) == (
        f"par:{FIRE}:{due!r}",
        AlarmLevel.ESCALATED,
        due,
        "PAR OVERDUE F2612-000123",
    )
    assert (item.incident_id, item.unit_id, item.position, item.alarm) == (FIRE, "", None, None)
    assert item.prompt == Prompt(FIRE, "par", 1, due, 1200.0, due + 120)
    answer(world, "par", due, due + 130)
    assert alarm_queue(world, PLAN, due + 130) == []


def test_an_unanswered_elapsed_mark_never_joins_the_queue() -> None:
    world = make_world()
    answer(world, "par", START + 1200, START + 1201)
    assert owed(world, START + 1799) == [(FIRE, "elapsed", 2, START + 1200)]
    assert alarm_queue(world, PLAN, START + 1799) == []


def test_the_queue_order() -> None:
    world = make_world()
    now = START + 1200 + 200  # the PAR due at START + 1200 escalated at START + 1320
    emergency(world, "7003", "a-acked-old", now - 100)
    emergency(world, "7055", "a-acked-new", now - 50)
    emergency(world, "7012", "a-escalated", now - 40)
    emergency(world, "7002", "a-sounding", now - 5)
    emergency(world, "MA-1", "a-sounding-new", now - 1)
    run(world, RadioAcknowledge(alarm_id="a-acked-new"), now - 45)
    run(world, RadioAcknowledge(alarm_id="a-acked-old"), now - 2)
    assert levels(world, now) == [
        ("alarm:a-escalated", AlarmLevel.ESCALATED),
        ("alarm:a-sounding", AlarmLevel.SOUNDING),
        ("alarm:a-sounding-new", AlarmLevel.SOUNDING),
        (f"par:{FIRE}:{START + 1200!r}", AlarmLevel.ESCALATED),
        ("alarm:a-acked-old", AlarmLevel.ACKNOWLEDGED),
        ("alarm:a-acked-new", AlarmLevel.ACKNOWLEDGED),
    ]
    words = [item.words for item in alarm_queue(world, PLAN, now)]
    assert words[2] == "EMERGENCY radio MA-1 (on no unit)"


def test_escalated_pars_wait_longest_first() -> None:
    world = make_world()
    _create(world, OUTSIDE, "RESCUE-WATER", "F2612-000125", START - 60)
    run(world, UnitDispatch(incident_id=OUTSIDE, unit_ids=["E2"]), START - 30)
    run(world, UnitSetStatus(unit_id="E2", status=UnitStatus.OS), START - 10)
    now = START + 1200 + 130
    assert [item.key for item in alarm_queue(world, PLAN, now)] == [
        f"par:{OUTSIDE}:{START - 10 + 1200!r}",
        f"par:{FIRE}:{START + 1200!r}",
    ]


# --- who hears what -------------------------------------------------------------------------


def item(level: AlarmLevel) -> AlarmItem:
    return AlarmItem(f"k{level}", level, T0, "w", None, "", None)


@pytest.mark.parametrize(
    ("queue", "dispatcher", "supervisor"),
    [
        ([], "none", "none"),
        ([AlarmLevel.ACKNOWLEDGED], "none", "none"),
        ([AlarmLevel.SOUNDING], "normal", "none"),
        ([AlarmLevel.SOUNDING, AlarmLevel.ACKNOWLEDGED], "normal", "none"),
        ([AlarmLevel.ESCALATED], "loud", "loud"),
        ([AlarmLevel.SOUNDING, AlarmLevel.ESCALATED], "loud", "loud"),
    ],
)
def test_who_hears_what(queue: list[AlarmLevel], dispatcher: str, supervisor: str) -> None:
    items = [item(level) for level in queue]
    assert sound_for(items, "dispatcher") == dispatcher
    assert sound_for(items, "calltaker") == dispatcher
    assert sound_for(items, None) == dispatcher  # not signed in yet: a dispatching position
    assert sound_for(items, "supervisor") == supervisor


def test_the_queue_sounds_as_it_escalates() -> None:
    world = make_world()
    emergency(world, "7012", "a-1", T0)
    assert sound_for(alarm_queue(world, PLAN, T0 + 1), "dispatcher") == "normal"
    assert sound_for(alarm_queue(world, PLAN, T0 + 1), "supervisor") == "none"
    assert sound_for(alarm_queue(world, PLAN, T0 + 30), "dispatcher") == "loud"
    assert sound_for(alarm_queue(world, PLAN, T0 + 30), "supervisor") == "loud"
    run(world, RadioAcknowledge(alarm_id="a-1"), T0 + 31)
    assert sound_for(alarm_queue(world, PLAN, T0 + 32), "dispatcher") == "none"


def test_an_overdue_par_stays_escalated_when_the_next_falls_due() -> None:
    world = make_world()
    assert [i.level for i in alarm_queue(world, PLAN, START + 2399)] == [AlarmLevel.ESCALATED]
    assert [i.level for i in alarm_queue(world, PLAN, START + 2400)] == [AlarmLevel.ESCALATED]
