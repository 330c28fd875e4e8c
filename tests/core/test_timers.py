"""Status and pending timers (desktop/timers.py) and the ``alert.acknowledge`` command.

Contracts under test:
- a timer is NONE below ``warn_after``, WARN from ``warn_after``, ALERT from ``alert_after``
  (both inclusive), measured from ``Unit.status_at`` / ``Incident.times["created"]`` by an
  injected clock; per-type overrides replace the status's timer (``null`` removes it);
- available units, units in quarters and incidents that are not pending have no timer;
- the configuration is validated, and the shipped one loads;
- `AlertBook`: an acknowledgement is one alert instance (entity, reason, started_at); it is read
  from the world, so it survives rebuilding the world from the log; a new occurrence alerts again;
- ``alert.acknowledge`` through `decide` and `World.apply`: validation, where it is recorded.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from desktop.domain.alerts import AlertAcknowledge, AlertAcknowledged
from desktop.domain.catalog import decide, event_kind_of
from desktop.domain.incidents import IncidentClose, IncidentCreate
from desktop.domain.kinds import CommandArgs, DecisionContext, DomainError, EventData
from desktop.domain.types import (
    Acknowledgement,
    EntityKind,
    Incident,
    IncidentStatus,
    Location,
    LocationArgs,
    Unit,
    UnitStatus,
)
from desktop.domain.units import UnitAdd, UnitDispatch, UnitSetStatus
from desktop.domain.world import World
from desktop.localdb import LocalDatabase
from desktop.protocol.errors import ErrorCode
from desktop.replica import Replica
from desktop.timers import (
    AlertBook,
    AlertKey,
    StatusTimer,
    Threshold,
    TimerConfig,
    TimerConfigError,
    TimerEngine,
    TimerLevel,
    TimerState,
    find_acknowledgement,
    load_timer_config,
)

T0 = 1_790_000_000.0
ACK_TIMEOUT = "acknowledgement timeout: re-contact or re-dispatch"
DP = StatusTimer(warn_after=60, alert_after=90, reason=ACK_TIMEOUT)
CHIEF_DP = Threshold(warn_after=120, alert_after=180, reason="chief slow to acknowledge")
OS = StatusTimer(
    warn_after=900,
    alert_after=1200,
    reason="welfare check",
    by_type={"chief": CHIEF_DP, "AIRPORT": None},
)
CONFIG = TimerConfig(
    unit_status={
        UnitStatus.DP: StatusTimer(
            warn_after=60, alert_after=90, reason=ACK_TIMEOUT, by_type={"CHIEF": CHIEF_DP}
        ),
        UnitStatus.OS: OS,
    },
    incident_pending={
        1: Threshold(warn_after=60, alert_after=120, reason="pending P1"),
        3: Threshold(warn_after=300, alert_after=600, reason="pending P3"),
    },
)


class Clock:
    """An injected clock: ``now`` is whatever the test sets."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def loc() -> Location:
    return Location(address="1 Main St")


def unit(unit_id: str, status: UnitStatus, at: float = T0, **kw: Any) -> Unit:
    return Unit(id=unit_id, type=kw.pop("type", "ENGINE"), status=status, status_at=at, **kw)


def incident(incident_id: str, priority: int, created: float = T0, **kw: Any) -> Incident:
    return Incident(
        id=incident_id,
        type="FIRE",
        priority=priority,
        location=loc(),
        times={"created": created},
        **kw,
    )


def only(states: list[TimerState], entity_id: str) -> TimerState:
    [state] = [s for s in states if s.entity_id == entity_id]
    return state


# --- configuration --------------------------------------------------------------------------


def test_shipped_config_loads_with_sensible_numbers() -> None:
    config = load_timer_config()
    assert set(config.unit_status) >= {UnitStatus.DP, UnitStatus.OS}
    assert not {UnitStatus.AV, UnitStatus.AQ} & set(config.unit_status)
    dp = config.unit_status[UnitStatus.DP]
    assert (dp.warn_after, dp.alert_after) == (60, 90)
    assert "re-contact or re-dispatch" in dp.reason
    assert config.unit_status[UnitStatus.OS].alert_after == 20 * 60
    assert "welfare check" in config.unit_status[UnitStatus.OS].reason
    assert sorted(config.incident_pending) == [1, 2, 3, 4, 5]
    p1 = config.incident_pending[1]
    assert (p1.warn_after, p1.alert_after) == (60, 120)
    alerts = [config.incident_pending[p].alert_after for p in range(1, 6)]
    assert alerts == sorted(alerts)  # less urgent waits longer
    assert all(t.source for t in config.incident_pending.values())


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"unit_status": {"DP": {"warn_after": 90, "alert_after": 60, "reason": "r"}}}', "warn"),
        ('{"unit_status": {"DP": {"warn_after": -1, "alert_after": 60, "reason": "r"}}}', "warn"),
        ('{"unit_status": {"DP": {"warn_after": 1, "alert_after": 60, "reason": " "}}}', "reason"),
        ('{"unit_status": {"XX": {"warn_after": 1, "alert_after": 2, "reason": "r"}}}', "XX"),
        ('{"unit_status": {"DP": {"warn_after": 1, "alert_after": 2}}}', "reason"),
        ('{"unit_status": {"DP": {"warn": 1, "alert_after": 2, "reason": "r"}}}', "warn"),
        ('{"incident_pending": {"one": {"warn_after": 1, "alert_after": 2, "reason": "r"}}}', "$"),
        ('{"timers": {}}', "timers"),
        (
            '{"unit_status": {"OS": {"warn_after": 1, "alert_after": 2, "reason": "r",'
            ' "by_type": {"CHIEF": null, "chief": null}}}}',
            "by_type",
        ),
        ("{not json", "JSON"),
    ],
)
def test_bad_config_is_refused_with_the_place(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "timers.json"
    path.write_text(text)
    with pytest.raises(TimerConfigError) as info:
        load_timer_config(path)
    assert str(path) in str(info.value)
    assert where in str(info.value)


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(TimerConfigError):
        load_timer_config(tmp_path / "nope.json")


# --- unit status timers: every threshold edge -----------------------------------------------

EDGES = [
    (0.0, TimerLevel.NONE),
    (59.999, TimerLevel.NONE),
    (60.0, TimerLevel.WARN),
    (60.001, TimerLevel.WARN),
    (89.999, TimerLevel.WARN),
    (90.0, TimerLevel.ALERT),
    (90.001, TimerLevel.ALERT),
    (86_400.0, TimerLevel.ALERT),
]


@pytest.mark.parametrize(("elapsed", "level"), EDGES)
def test_dispatched_unit_edges(elapsed: float, level: TimerLevel) -> None:
    clock = Clock(T0 + elapsed)
    engine = TimerEngine(CONFIG, clock)
    world = World(units={"E1": unit("E1", UnitStatus.DP, incident_id="i-1")})
    [state] = engine.evaluate(world)  # the injected clock gives "now"
    assert state.elapsed == pytest.approx(elapsed, abs=1e-6)
    assert state == TimerState(
        EntityKind.UNIT, "E1", level, ACK_TIMEOUT, T0, state.elapsed, 60.0, 90.0, "DP"
    )
    assert state.threshold == (90.0 if level is TimerLevel.ALERT else 60.0)
    assert state.key == AlertKey(EntityKind.UNIT, "E1", ACK_TIMEOUT, T0)
    assert engine.evaluate(world, T0 + elapsed) == [state]  # an explicit now wins


@pytest.mark.parametrize(
    ("elapsed", "level"),
    [
        (899.9, TimerLevel.NONE),
        (900, TimerLevel.WARN),
        (1199.9, TimerLevel.WARN),
        (1200, TimerLevel.ALERT),
        (1200.1, TimerLevel.ALERT),
    ],
)
def test_on_scene_welfare_check_edges(elapsed: float, level: TimerLevel) -> None:
    world = World(units={"E1": unit("E1", UnitStatus.OS)})
    [state] = TimerEngine(CONFIG).evaluate(world, T0 + elapsed)
    assert (state.level, state.reason, state.status) == (level, "welfare check", "OS")


@pytest.mark.parametrize(
    ("elapsed", "level"),
    [
        (119.9, TimerLevel.NONE),
        (120, TimerLevel.WARN),
        (179.9, TimerLevel.WARN),
        (180, TimerLevel.ALERT),
    ],
)
def test_per_type_override(elapsed: float, level: TimerLevel) -> None:
    world = World(
        units={
            "B1": unit("B1", UnitStatus.DP, type="CHIEF"),
            "B2": unit("B2", UnitStatus.OS, type="chief"),  # types compare case-insensitively
            "E1": unit("E1", UnitStatus.DP),
        }
    )
    states = TimerEngine(CONFIG).evaluate(world, T0 + elapsed)
    for chief in ("B1", "B2"):
        state = only(states, chief)
        assert (state.level, state.reason) == (level, "chief slow to acknowledge")
        assert (state.warn_after, state.alert_after) == (120, 180)
    assert only(states, "E1").reason == ACK_TIMEOUT  # other types keep the status's timer
    assert only(states, "E1").level is (TimerLevel.ALERT if elapsed >= 90 else TimerLevel.WARN)


def test_a_null_override_removes_the_timer() -> None:
    world = World(units={"A1": unit("A1", UnitStatus.OS, type="AIRPORT")})
    engine = TimerEngine(CONFIG)
    assert engine.evaluate(world, T0 + 10_000) == []
    assert engine.unit_rule(UnitStatus.OS, "airport") is None
    assert engine.unit_rule(UnitStatus.OS, "ENGINE") is OS
    assert engine.unit_rule(UnitStatus.AV, "ENGINE") is None


@pytest.mark.parametrize("status", [UnitStatus.AV, UnitStatus.AQ, UnitStatus.OOS])
def test_available_in_quarters_and_out_of_service_have_no_timer(status: UnitStatus) -> None:
    world = World(units={"E1": unit("E1", status, at=T0 - 86_400)})
    assert TimerEngine(load_timer_config()).evaluate(world, T0) == []


def test_every_committed_status_has_a_timer_in_the_shipped_config() -> None:
    engine = TimerEngine(load_timer_config())
    for status in (UnitStatus.DP, UnitStatus.ER, UnitStatus.OS, UnitStatus.TR, UnitStatus.AH):
        world = World(units={"M1": unit("M1", status, type="MEDIC", incident_id="i-1")})
        [state] = engine.evaluate(world, T0 + 86_400)
        assert state.level is TimerLevel.ALERT and state.reason, status


def test_elapsed_never_negative_when_the_clock_is_behind() -> None:
    world = World(units={"E1": unit("E1", UnitStatus.DP)}, incidents={"i-1": incident("i-1", 1)})
    for state in TimerEngine(CONFIG).evaluate(world, T0 - 5):
        assert (state.elapsed, state.level) == (0.0, TimerLevel.NONE)


# --- incident pending timers ----------------------------------------------------------------


@pytest.mark.parametrize("priority", [1, 2, 3, 4, 5])
def test_pending_timer_per_priority_edges(priority: int) -> None:
    config = load_timer_config()
    rule = config.incident_pending[priority]
    engine = TimerEngine(config, Clock())
    world = World(incidents={"i-1": incident("i-1", priority)})
    cases = [
        (rule.warn_after - 0.001, TimerLevel.NONE),
        (rule.warn_after, TimerLevel.WARN),
        (rule.alert_after - 0.001, TimerLevel.WARN),
        (rule.alert_after, TimerLevel.ALERT),
        (rule.alert_after + 0.001, TimerLevel.ALERT),
    ]
    for elapsed, level in cases:
        [state] = engine.evaluate(world, T0 + elapsed)
        assert (state.entity, state.entity_id) == (EntityKind.INCIDENT, "i-1")
        assert (state.level, state.reason) == (level, rule.reason), elapsed
        assert (state.started_at, state.priority, state.status) == (T0, priority, "pending")


def test_unlisted_priority_uses_the_nearest_listed_one() -> None:
    engine = TimerEngine(CONFIG)
    assert engine.pending_rule(1) is CONFIG.incident_pending[1]
    assert engine.pending_rule(2) is CONFIG.incident_pending[1]  # tie: the more urgent
    assert engine.pending_rule(5) is CONFIG.incident_pending[3]
    assert TimerEngine(TimerConfig()).pending_rule(1) is None


@pytest.mark.parametrize(
    "status", [IncidentStatus.DISPATCHED, IncidentStatus.ACTIVE, IncidentStatus.CLOSED]
)
def test_only_pending_incidents_have_a_pending_timer(status: IncidentStatus) -> None:
    world = World(incidents={"i-1": incident("i-1", 1, status=status)})
    assert TimerEngine(load_timer_config()).evaluate(world, T0 + 86_400) == []


def test_pending_queue_is_sorted_by_priority_then_age() -> None:
    world = World(
        incidents={
            "young-p1": incident("young-p1", 1, T0 + 30),
            "old-p3": incident("old-p3", 3, T0 - 900),
            "old-p1": incident("old-p1", 1, T0),
            "closed": incident("closed", 1, T0 - 999, status=IncidentStatus.CLOSED),
            "mid-p3": incident("mid-p3", 3, T0 - 100),
        }
    )
    queue = TimerEngine(CONFIG, Clock(T0 + 100)).pending_queue(world)
    assert [i.id for i, _ in queue] == ["old-p1", "young-p1", "old-p3", "mid-p3"]
    assert [s.level for _, s in queue] == [
        TimerLevel.WARN,
        TimerLevel.WARN,
        TimerLevel.ALERT,
        TimerLevel.NONE,
    ]


def test_next_change_is_the_earliest_level_change() -> None:
    world = World(
        units={"E1": unit("E1", UnitStatus.DP), "E2": unit("E2", UnitStatus.OS)},
        incidents={"i-1": incident("i-1", 1, T0 - 200)},  # already ALERT: changes no more
    )
    engine = TimerEngine(CONFIG)
    states = engine.evaluate(world, T0 + 10)
    assert only(states, "i-1").changes_at is None
    assert only(states, "E1").changes_at == T0 + 60
    assert engine.next_change(states) == T0 + 60
    assert engine.next_change(engine.evaluate(world, T0 + 70)) == T0 + 90
    assert engine.next_change([]) is None


def test_evaluate_is_fast_for_a_big_floor() -> None:
    """5,000 units and 2,000 incidents; the figure is printed (best of 5) with a loose bound."""
    statuses = list(UnitStatus)
    units = {
        f"U{n}": unit(f"U{n}", statuses[n % len(statuses)], T0 - n % 3000, type="MEDIC")
        for n in range(5000)
    }
    incidents = {
        f"i-{n}": incident(f"i-{n}", 1 + n % 5, T0 - n, status=list(IncidentStatus)[n % 4])
        for n in range(2000)
    }
    world = World(incidents, units)
    engine = TimerEngine(load_timer_config())
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        states = engine.evaluate(world, T0)
        best = min(best, time.perf_counter() - start)
    print(f"\nTimerEngine.evaluate: 5,000 units + 2,000 incidents in {best * 1000:.2f} ms")
    assert 3000 < len(states) < 7000
    assert best < 0.25  # a few ms on a development machine; loose for slow CI


# --- the alert.acknowledge command ----------------------------------------------------------


class Floor:
    """A world driven only by commands through `decide` and `World.apply`, with its log."""

    def __init__(self) -> None:
        self.world = World()
        self.log: list[tuple[EventData, float]] = []

    def run(self, args: CommandArgs, at: float, actor: str = "ann") -> list[EventData]:
        events = decide(self.world, args, DecisionContext(actor=actor, now=at))
        for data in events:
            self.world.apply(data, at)
            self.log.append((data, at))
        return events

    def replayed(self) -> World:
        """A new world rebuilt from the log, through the wire encoding (as after a restart)."""
        world = World()
        for data, at in self.log:
            kind = event_kind_of(data)
            world.apply(msgspec.json.decode(msgspec.json.encode(data), type=kind.data), at)
        return world


def floor_with_dispatch() -> Floor:
    """E1 dispatched at T0 to P1 incident i-1 (created T0 - 30); E2 in quarters; i-2 pending."""
    floor = Floor()
    floor.run(UnitAdd(unit_id="E1", type="ENGINE"), T0 - 100)
    floor.run(UnitAdd(unit_id="E2", type="ENGINE"), T0 - 100)
    where = LocationArgs(address="1 Main St")
    floor.run(IncidentCreate(incident_id="i-1", type="FIRE", priority=1, location=where), T0 - 30)
    floor.run(IncidentCreate(incident_id="i-2", type="FIRE", priority=1, location=where), T0 - 30)
    floor.run(UnitDispatch(incident_id="i-1", unit_ids=["E1"]), T0)
    return floor


def ack(entity: EntityKind, entity_id: str, **kw: Any) -> AlertAcknowledge:
    values: dict[str, Any] = {"reason": ACK_TIMEOUT, "started_at": T0, **kw}
    return AlertAcknowledge(entity=entity, entity_id=entity_id, **values)


def test_acknowledging_a_unit_alert_records_it_on_the_unit_and_its_incident() -> None:
    floor = floor_with_dispatch()
    [event] = floor.run(ack(EntityKind.UNIT, "E1", note="radio dead zone"), T0 + 95, "d.jones")
    assert event == AlertAcknowledged(
        entity=EntityKind.UNIT,
        entity_id="E1",
        reason=ACK_TIMEOUT,
        started_at=T0,
        actor="d.jones",
        note="radio dead zone",
        incident_id="i-1",
    )
    record = Acknowledgement(
        entity=EntityKind.UNIT,
        entity_id="E1",
        reason=ACK_TIMEOUT,
        started_at=T0,
        at=T0 + 95,
        actor="d.jones",
        note="radio dead zone",
    )
    assert floor.world.units["E1"].acknowledgements == [record]
    assert floor.world.incidents["i-1"].acknowledgements == [record]


def test_acknowledging_an_incident_alert_records_it_on_the_incident() -> None:
    floor = floor_with_dispatch()
    [event] = floor.run(ack(EntityKind.INCIDENT, "i-2", reason="pending P1"), T0 + 91)
    assert isinstance(event, AlertAcknowledged) and event.incident_id == "i-2"
    [record] = floor.world.incidents["i-2"].acknowledgements
    assert (record.entity, record.reason, record.actor, record.at) == (
        EntityKind.INCIDENT,
        "pending P1",
        "ann",
        T0 + 91,
    )


def test_a_unit_on_no_incident_keeps_the_record_itself() -> None:
    floor = floor_with_dispatch()
    [event] = floor.run(ack(EntityKind.UNIT, "E2", started_at=T0 - 100), T0 + 1)
    assert isinstance(event, AlertAcknowledged) and event.incident_id is None
    assert len(floor.world.units["E2"].acknowledgements) == 1
    assert all(not i.acknowledgements for i in floor.world.incidents.values())


def test_a_status_change_empties_the_units_record_but_not_the_timeline() -> None:
    floor = floor_with_dispatch()
    floor.run(ack(EntityKind.UNIT, "E1"), T0 + 95)
    floor.run(UnitSetStatus(unit_id="E1", status=UnitStatus.ER), T0 + 100)
    assert floor.world.units["E1"].acknowledgements == []
    assert len(floor.world.incidents["i-1"].acknowledgements) == 1
    # A late acknowledgement of the old status (it raced the status change) goes to the
    # timeline only: the unit's record is about its current status.
    floor.run(ack(EntityKind.UNIT, "E1", note="late"), T0 + 101)
    assert floor.world.units["E1"].acknowledgements == []
    assert [a.note for a in floor.world.incidents["i-1"].acknowledgements] == ["", "late"]


def test_a_closed_incident_can_still_be_acknowledged() -> None:
    floor = floor_with_dispatch()
    floor.run(IncidentClose(incident_id="i-2", disposition="cancelled"), T0 + 1)
    assert floor.run(ack(EntityKind.INCIDENT, "i-2", reason="pending P1"), T0 + 2)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (ack(EntityKind.UNIT, "nope"), ErrorCode.NOT_FOUND),
        (ack(EntityKind.INCIDENT, "E1"), ErrorCode.NOT_FOUND),  # a unit id is not an incident
        (ack(EntityKind.INCIDENT, "nope"), ErrorCode.NOT_FOUND),
        (ack(EntityKind.UNIT, "E1", reason=""), ErrorCode.INVALID_COMMAND),
        (ack(EntityKind.UNIT, "E1", reason="   "), ErrorCode.INVALID_COMMAND),
        (ack(EntityKind.UNIT, "E1", reason="x" * 201), ErrorCode.INVALID_COMMAND),
        (ack(EntityKind.UNIT, "E1", note="x" * 4001), ErrorCode.INVALID_COMMAND),
        (ack(EntityKind.UNIT, "E1", started_at=-1.0), ErrorCode.INVALID_COMMAND),
        (ack(EntityKind.UNIT, "E1", started_at=float("nan")), ErrorCode.INVALID_COMMAND),
    ],
)
def test_acknowledge_validation(args: AlertAcknowledge, code: ErrorCode) -> None:
    floor = floor_with_dispatch()
    with pytest.raises(DomainError) as info:
        decide(floor.world, args, DecisionContext(actor="ann", now=T0))
    assert info.value.code is code


def test_acknowledgements_are_optional_in_older_data() -> None:
    older = b'{"id": "E1", "type": "ENGINE", "status": "DP", "status_at": 5.0}'
    assert msgspec.json.decode(older, type=Unit).acknowledgements == []
    incident_json = b'{"id": "i", "type": "F", "priority": 1, "location": {"address": "x"}}'
    assert msgspec.json.decode(incident_json, type=Incident).acknowledgements == []
    assert b"acknowledgements" not in msgspec.json.encode(Unit(id="E1", type="ENGINE"))
    event = msgspec.json.decode(
        b'{"entity": "unit", "entity_id": "E1", "reason": "r", "started_at": 1.0,'
        b' "actor": "a", "from_v2": true}',
        type=AlertAcknowledged,
    )
    assert event.note == "" and event.incident_id is None


# --- AlertBook ------------------------------------------------------------------------------


def test_alert_book_raises_acknowledges_and_clears() -> None:
    floor = floor_with_dispatch()
    engine = TimerEngine(CONFIG)
    book = AlertBook()
    # T0 + 60: E1 warns, i-2 (created T0 - 30) warns: no alert yet.
    assert not book.update(floor.world, engine.evaluate(floor.world, T0 + 60))
    assert book.active() == []

    # T0 + 90: E1 alerts (acknowledgement timeout), i-2 alerts at T0 + 90 too (120 s pending).
    update = book.update(floor.world, engine.evaluate(floor.world, T0 + 90))
    assert [(s.entity_id, s.reason) for s in update.raised] == [
        ("i-2", "pending P1"),
        ("E1", ACK_TIMEOUT),
    ]
    assert [s.entity_id for s in book.unacknowledged()] == ["i-2", "E1"]  # oldest first
    # Raised once: the next update raises nothing new.
    assert not book.update(floor.world, engine.evaluate(floor.world, T0 + 95))

    [e1] = [s for s in book.unacknowledged() if s.entity_id == "E1"]
    command = book.acknowledge(e1, note="re-contacted on TAC 2")
    assert command == AlertAcknowledge(
        entity=EntityKind.UNIT,
        entity_id="E1",
        reason=ACK_TIMEOUT,
        started_at=T0,
        note="re-contacted on TAC 2",
    )
    assert not book.is_acknowledged(e1)  # not until the world records it
    floor.run(command, T0 + 96, "d.jones")
    update = book.update(floor.world, engine.evaluate(floor.world, T0 + 97))
    assert update.acknowledged == [e1.key] and not update.raised and not update.cleared
    assert book.is_acknowledged(e1)
    acknowledgement = book.acknowledgement(e1.key)
    assert acknowledgement is not None and acknowledgement.actor == "d.jones"
    assert [s.entity_id for s in book.unacknowledged()] == ["i-2"]
    assert {s.entity_id for s in book.active()} == {"i-2", "E1"}

    # E1 goes en route: its timer stops and the alert leaves the book.
    floor.run(UnitSetStatus(unit_id="E1", status=UnitStatus.ER), T0 + 98)
    update = book.update(floor.world, engine.evaluate(floor.world, T0 + 99))
    assert update.cleared == [e1.key]
    assert [s.entity_id for s in book.active()] == ["i-2"]


def test_an_acknowledgement_survives_rebuilding_the_world_from_the_log() -> None:
    floor = floor_with_dispatch()
    engine = TimerEngine(CONFIG)
    [alert] = [s for s in engine.evaluate(floor.world, T0 + 100) if s.entity_id == "E1"]
    floor.run(AlertBook().acknowledge(alert), T0 + 100)

    rebuilt = floor.replayed()  # a restart: the world replayed from the event log
    book = AlertBook()
    update = book.update(rebuilt, engine.evaluate(rebuilt, T0 + 120))
    assert alert.key not in [s.key for s in update.raised]
    assert book.is_acknowledged(alert)
    assert find_acknowledgement(rebuilt, alert.key) is not None
    # Unacknowledged alerts are raised again after a restart (they must still be answered).
    assert [s.entity_id for s in update.raised] == ["i-2"]


def test_a_new_occurrence_alerts_again() -> None:
    floor = floor_with_dispatch()
    engine = TimerEngine(CONFIG)
    book = AlertBook()
    book.update(floor.world, engine.evaluate(floor.world, T0 + 100))
    [first] = [s for s in book.unacknowledged() if s.entity_id == "E1"]
    floor.run(book.acknowledge(first), T0 + 100)
    book.update(floor.world, engine.evaluate(floor.world, T0 + 101))
    assert book.is_acknowledged(first)

    # Cleared and dispatched again: the same timer, a new start, a new alert.
    floor.run(UnitSetStatus(unit_id="E1", status=UnitStatus.AQ), T0 + 200)
    floor.run(UnitDispatch(incident_id="i-1", unit_ids=["E1"]), T0 + 300)
    update = book.update(floor.world, engine.evaluate(floor.world, T0 + 400))
    [again] = [s for s in update.raised if s.entity_id == "E1"]
    assert (again.reason, again.started_at) == (first.reason, T0 + 300)
    assert not book.is_acknowledged(again)
    assert book.is_acknowledged(first) is False  # the old instance is no longer active
    assert find_acknowledgement(floor.world, first.key) is None  # the unit's record moved on
    assert len(floor.world.incidents["i-1"].acknowledgements) == 1  # the timeline keeps it


def test_an_acknowledgement_of_another_reason_or_start_does_not_count() -> None:
    floor = floor_with_dispatch()
    engine = TimerEngine(CONFIG)
    floor.run(ack(EntityKind.UNIT, "E1", reason="something else"), T0 + 95)
    floor.run(ack(EntityKind.INCIDENT, "i-2", reason="pending P1", started_at=T0), T0 + 95)
    book = AlertBook()
    book.update(floor.world, engine.evaluate(floor.world, T0 + 130))
    assert {s.entity_id for s in book.unacknowledged()} == {"E1", "i-2"}


def test_book_accepts_plain_keys() -> None:
    key = AlertKey(EntityKind.INCIDENT, "i-2", "pending P1", T0 - 30)
    floor = floor_with_dispatch()
    floor.run(AlertBook().acknowledge(key), T0 + 100)
    book = AlertBook()
    book.update(floor.world, TimerEngine(CONFIG).evaluate(floor.world, T0 + 100))
    assert book.is_acknowledged(key) and book.unacknowledged()[0].entity_id == "E1"


def test_a_restarted_workstation_remembers_from_its_replica(tmp_path: Path) -> None:
    floor = floor_with_dispatch()
    engine = TimerEngine(CONFIG)
    [alert] = [s for s in engine.evaluate(floor.world, T0 + 100) if s.entity_id == "E1"]
    floor.run(AlertBook().acknowledge(alert, note="ok"), T0 + 100)

    db = LocalDatabase(tmp_path / "workstation.sqlite")
    touched = [("unit", u) for u in floor.world.units] + [
        ("incident", i) for i in floor.world.incidents
    ]
    Replica(db).save(floor.world, touched, last_seq=len(floor.log))
    db.close()

    db = LocalDatabase(tmp_path / "workstation.sqlite")
    world, last_seq = Replica(db).load()
    db.close()
    assert last_seq == len(floor.log)
    book = AlertBook()
    book.update(world, engine.evaluate(world, T0 + 120))
    assert book.is_acknowledged(alert)
    assert [a.note for a in world.incidents["i-1"].acknowledgements] == ["ok"]
