"""An incident's timeline: every event about it, worded, attributed, in order; the pending timer
starts again when the incident goes back to pending; the replica appends timeline rows."""

from __future__ import annotations

from pathlib import Path

from desktop.domain.alerts import AlertAcknowledge
from desktop.domain.catalog import decide
from desktop.domain.incidents import IncidentAddNote, IncidentClose, IncidentCreate, IncidentUpdate
from desktop.domain.kinds import CommandArgs, DecisionContext
from desktop.domain.types import EntityKind, IncidentStatus, LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch, UnitSetStatus
from desktop.domain.wording import ordinal
from desktop.domain.world import World
from desktop.localdb import LocalDatabase
from desktop.replica import Replica
from desktop.timers import TimerEngine, TimerLevel, load_timer_config

T0 = 1_790_000_000.0


def run(world: World, args: CommandArgs, at: float, actor: str = "ann") -> None:
    """What the server does with an accepted command: decide, then apply each event."""
    for data in decide(world, args, DecisionContext(actor=actor, now=at)):
        world.apply(data, at, actor)


def a_day(world: World) -> None:
    run(world, UnitAdd(unit_id="E1", type="ENGINE"), T0)
    run(world, UnitAdd(unit_id="E2", type="ENGINE"), T0)
    run(
        world,
        IncidentCreate(
            incident_id="i-1", type="FIRE", priority=3, location=LocationArgs(address="1 Main")
        ),
        T0 + 1,
    )
    run(world, IncidentUpdate(incident_id="i-1", priority=1), T0 + 2, "bob")
    run(world, IncidentAddNote(incident_id="i-1", text="smoke from\nthe roof"), T0 + 3)
    run(
        world,
        UnitDispatch(
            incident_id="i-1",
            unit_ids=["E2"],
            recommended=["E1"],
            override_reason="E1 at a drill",
        ),
        T0 + 4,
    )
    run(world, UnitSetStatus(unit_id="E2", status=UnitStatus.ER), T0 + 5)
    run(
        world,
        AlertAcknowledge(
            entity=EntityKind.UNIT, entity_id="E2", reason="welfare check", started_at=T0 + 5
        ),
        T0 + 6,
    )
    run(world, UnitSetStatus(unit_id="E2", status=UnitStatus.AV), T0 + 7)
    run(world, IncidentClose(incident_id="i-1", disposition="FIRE OUT"), T0 + 8)


def engine_and_fire(world: World) -> None:
    """E1 on the roster and i-1 (FIRE P3) pending, both at T0."""
    run(world, UnitAdd(unit_id="E1", type="ENGINE"), T0)
    run(
        world,
        IncidentCreate(
            incident_id="i-1", type="FIRE", priority=3, location=LocationArgs(address="1 Main")
        ),
        T0,
    )


def test_every_event_about_an_incident_is_in_its_timeline_worded_and_attributed() -> None:
    world = World()
    a_day(world)
    timeline = world.incidents["i-1"].timeline
    assert [(e.at - T0, e.actor, e.text) for e in timeline] == [
        (1, "ann", "Created: FIRE P3 at 1 Main"),
        (2, "bob", "Changed priority 3 → 1"),
        (3, "ann", "Note: smoke from the roof"),
        (4, "ann", "Recommendation overridden: recommended E1; sent E2 — E1 at a drill"),
        (4, "ann", "E2 dispatched"),
        (4, "ann", "Incident PENDING → DISPATCHED"),
        (5, "ann", "E2 DP → ER"),
        (6, "ann", "Alert acknowledged (E2): welfare check"),
        (7, "ann", "E2 released (ER → AV)"),
        (7, "ann", "Incident DISPATCHED → PENDING"),
        (8, "ann", "Closed: FIRE OUT"),
    ]
    assert [e.kind for e in timeline][:4] == [
        "incident.created",
        "incident.updated",
        "incident.note_added",
        "incident.plan_overridden",
    ]


def test_the_pending_timer_starts_again_when_the_last_unit_is_released() -> None:
    world = World()
    engine_and_fire(world)
    engine = TimerEngine(load_timer_config(), lambda: T0)
    rule = engine.pending_rule(3)
    assert rule is not None
    [(_, first)] = engine.pending_queue(world, T0 + rule.alert_after)
    assert first.level is TimerLevel.ALERT

    run(world, UnitDispatch(incident_id="i-1", unit_ids=["E1"]), T0 + 100)
    assert engine.pending_queue(world, T0 + 200) == []
    run(world, UnitSetStatus(unit_id="E1", status=UnitStatus.AV), T0 + 200)
    incident = world.incidents["i-1"]
    assert incident.status is IncidentStatus.PENDING
    assert incident.times["pending"] == T0 + 200
    assert incident.times["created"] == T0
    [(_, again)] = engine.pending_queue(world, T0 + 210)
    assert (again.started_at, again.elapsed, again.level) == (T0 + 200, 10.0, TimerLevel.NONE)


def test_the_replica_keeps_timelines_and_appends_new_entries_only(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    replica = Replica(db)
    world = World()
    engine_and_fire(world)
    replica.save(world, [("incident", "i-1"), ("unit", "E1")], 2)
    run(world, UnitDispatch(incident_id="i-1", unit_ids=["E1"]), T0 + 1)
    replica.save(world, [("incident", "i-1"), ("unit", "E1")], 4)
    rows = db.conn.execute(
        "SELECT COUNT(*) FROM replica_entries WHERE list = 'timeline'"
    ).fetchone()[0]
    assert rows == len(world.incidents["i-1"].timeline) == 3
    loaded, last_seq = Replica(LocalDatabase(tmp_path / "ws.sqlite")).load()
    assert last_seq == 4
    assert loaded.incidents["i-1"] == world.incidents["i-1"]


def test_striking_an_alarm_is_recorded_with_its_ordinal() -> None:
    world = World()
    engine_and_fire(world)
    run(world, IncidentUpdate(incident_id="i-1", alarm=3), T0 + 1, "bob")
    incident = world.incidents["i-1"]
    assert incident.alarm == 3
    assert (incident.timeline[-1].actor, incident.timeline[-1].text) == (
        "bob",
        "Changed 3rd alarm (was 1st)",
    )
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th",
    ]  # fmt: skip
