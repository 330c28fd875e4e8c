"""``alert.acknowledge`` end to end against an in-process `DispatchServer` over websockets.

Contracts under test: the command is accepted for calltakers, dispatchers and admins and
refused for supervisors (``forbidden``); it produces one ``alert.acknowledged`` event whose actor
is the user; every workstation that folds the event log into its world agrees the alert is
acknowledged (`desktop.timers.AlertBook`); and after a server restart a fresh workstation synced
by snapshot still sees it.
"""

from __future__ import annotations

from typing import Any

import msgspec
from srvkit import ServerFactory

from desktop.domain.types import EntityKind, UnitStatus
from desktop.protocol.messages import Event, Snapshot
from desktop.state import ClientState
from desktop.timers import AlertBook, TimerEngine, TimerLevel, load_timer_config
from server.app import ServerConfig
from server.store.sqlite import SqliteStore
from tests.support.rawclient import RawClient

ENGINE = TimerEngine(load_timer_config())
DP_REASON = load_timer_config().unit_status[UnitStatus.DP].reason


def fold(client: RawClient, state: ClientState | None = None) -> ClientState:
    """The world as a workstation holds it: every event ``client`` received, in seq order."""
    state = state or ClientState()
    for frame in client.frames:
        if isinstance(frame, Event) and frame.seq > state.last_seq:
            body = frame.body
            state.apply_event(
                frame.seq, body.kind, bytes(body.data), body.at, body.key, acted_at=body.acted_at
            )
    return state


def incident(incident_id: str) -> dict[str, Any]:
    return {
        "incident_id": incident_id,
        "type": "FIRE-STRUCTURE",
        "priority": 1,
        "location": {"address": "100 Block of Main St"},
    }


async def test_acknowledge_end_to_end(start_server: ServerFactory, store: SqliteStore) -> None:
    server = await start_server()
    ann = await RawClient.login(server.url, "ann")  # dispatcher
    bob = await RawClient.login(server.url, "bob")  # another dispatcher's workstation
    carl = await RawClient.login(server.url, "carl")  # calltaker
    sam = await RawClient.login(server.url, "sam")  # supervisor (monitoring)

    assert (await ann.command("unit.add", {"unit_id": "E1", "type": "ENGINE", "status": "AV"})).ok
    assert (await ann.command("incident.create", incident("i-1"))).ok
    assert (await ann.command("incident.create", incident("i-2"))).ok
    dispatched = await ann.command("unit.dispatch", {"incident_id": "i-1", "unit_ids": ["E1"]})
    assert dispatched.ok

    # E1 has not gone en route 100 s after its dispatch: the acknowledgement timeout alerts.
    world = fold(ann).view
    dispatched_at = world.units["E1"].status_at
    book = AlertBook()
    update = book.update(world, ENGINE.evaluate(world, dispatched_at + 100))
    [alert] = update.raised
    assert (alert.entity, alert.entity_id, alert.level) == (
        EntityKind.UNIT,
        "E1",
        TimerLevel.ALERT,
    )
    assert alert.reason == DP_REASON and alert.started_at == dispatched_at

    # The supervisor may not acknowledge; the dispatcher may.
    command = msgspec.to_builtins(book.acknowledge(alert, note="no answer on TAC 2"))
    refused = await sam.command("alert.acknowledge", command)
    assert refused.error is not None and refused.error.code == "forbidden"
    result = await ann.command("alert.acknowledge", command)
    assert result.ok and len(result.events) == 1
    [event] = [e for e in await ann.events_until(result.events[0]) if e.seq == result.events[0]]
    assert (event.body.kind, event.body.actor) == ("alert.acknowledged", "ann")
    assert msgspec.json.decode(event.body.data) == {
        "entity": "unit",
        "entity_id": "E1",
        "reason": DP_REASON,
        "started_at": dispatched_at,
        "actor": "ann",
        "note": "no answer on TAC 2",
        "incident_id": "i-1",
    }

    # Every workstation agrees: bob's world, folded from the events he received, has it.
    await bob.events_until(result.events[0])
    bob_world = fold(bob).view
    bob_book = AlertBook()
    bob_update = bob_book.update(bob_world, ENGINE.evaluate(bob_world, dispatched_at + 101))
    assert bob_book.is_acknowledged(alert) and alert.key not in [s.key for s in bob_update.raised]
    [recorded] = bob_world.incidents["i-1"].acknowledgements
    assert (recorded.actor, recorded.note, recorded.at) == (
        "ann",
        "no answer on TAC 2",
        event.body.action_time,
    )

    # A calltaker acknowledges the pending P1 i-2 once it alerts.
    created = bob_world.incidents["i-2"].times["created"]
    [pending] = [s for s in ENGINE.evaluate(bob_world, created + 130) if s.entity_id == "i-2"]
    assert pending.level is TimerLevel.ALERT
    by_carl = await carl.command(
        "alert.acknowledge", msgspec.to_builtins(AlertBook().acknowledge(pending))
    )
    assert by_carl.ok

    # Refusals: an unknown unit, a blank reason, an unknown field.
    unknown = await ann.command("alert.acknowledge", {**command, "entity_id": "E99"})
    assert unknown.error is not None and unknown.error.code == "not_found"
    blank = await ann.command("alert.acknowledge", {**command, "reason": " "})
    assert blank.error is not None and blank.error.code == "invalid_command"
    extra = await ann.command("alert.acknowledge", {**command, "urgent": True})
    assert extra.error is not None and extra.error.code == "invalid_command"

    for client in (ann, bob, carl, sam):
        await client.close()
    await server.stop()

    # A restart remembers: the world is rebuilt from the log, and a fresh workstation synced by
    # snapshot sees both acknowledgements.
    again = await start_server(config=ServerConfig(fresh_replay_limit=0))
    assert again.processor.world.units["E1"].acknowledgements[0].actor == "ann"
    fresh = await RawClient.login(again.url, "bob")
    assert fresh.welcome is not None and fresh.welcome.body.sync == "snapshot"
    parts: list[Snapshot] = []
    while not parts or not parts[-1].body.last:
        parts.append(await fresh.next_of(Snapshot))
    state = ClientState()
    state.load_snapshot(
        parts[-1].seq,
        {
            "incidents": [bytes(p.body.incidents) for p in parts],
            "units": [bytes(p.body.units) for p in parts],
        },
    )
    world = state.view
    book = AlertBook()
    update = book.update(world, ENGINE.evaluate(world, created + 140))
    assert update.raised == []
    assert book.is_acknowledged(alert) and book.is_acknowledged(pending)
    assert [a.actor for a in world.incidents["i-2"].acknowledgements] == ["carl"]
    await fresh.close()
