"""Acceptance f, h and i against the real server process: idempotent replay, supervisor
monitoring, and bad input (with other clients working throughout)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed

from desktop.domain.catalog import COMMANDS
from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd
from desktop.ids import uuid7
from desktop.protocol.messages import Error, Event, Pong, Result
from desktop.service import CommandRefused
from tests.integration.test_sync import live, settled
from tests.support.fixtures import ClientFactory
from tests.support.rawclient import RawClient
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until

VALID_ARGS: dict[str, dict[str, Any]] = {
    "incident.create": {
        "incident_id": "sup-1",
        "type": "FIRE",
        "priority": 1,
        "location": {"address": "1 Main"},
    },
    "incident.update": {"incident_id": "inc-1", "priority": 3},
    "incident.add_note": {"incident_id": "inc-1", "text": "hello"},
    "incident.close": {"incident_id": "inc-1", "disposition": "resolved"},
    "unit.add": {"unit_id": "M9", "type": "MEDIC"},
    "unit.update": {"unit_id": "E1", "station": "7"},
    "unit.dispatch": {"incident_id": "inc-1", "unit_ids": ["E1"]},
    "unit.set_status": {"unit_id": "E1", "status": "OOS"},
    "alert.acknowledge": {
        "entity": "incident",
        "entity_id": "inc-1",
        "reason": "pending P1: not dispatched",
        "started_at": 1.0,
    },
    "call.offer": {"call_id": "sup-call", "ani": "4155550100"},
    "call.end": {"call_id": "sup-call"},
    "call.answer": {"call_id": "sup-call"},
    "call.link": {"call_id": "sup-call", "incident_id": "inc-1"},
    "call.release": {"call_id": "sup-call"},
    "call.mark_called_back": {"call_id": "sup-call"},
    "incident.link": {"incident_id": "inc-1", "target_id": "sup-1", "relation": "child"},
    "premise.set": {"address": "1 Main St", "hazards": ["dog"]},
    "premise.remove": {"address": "1 Main St"},
    "radio.emergency": {"alarm_id": "sup-alarm", "radio_id": "7001"},
    "radio.acknowledge": {"alarm_id": "sup-alarm"},
    "radio.clear": {"alarm_id": "sup-alarm", "reason": "unit answered"},
    "radio.assign_channel": {"incident_id": "inc-1", "channel": "FIRE TAC 2"},
    "radio.log": {"entry_id": "sup-entry", "unit_id": "E1", "text": "on scene"},
    "radio.mark": {"incident_id": "inc-1", "kind": "par", "due_at": 1.0},
}


def test_every_command_kind_has_valid_args_here() -> None:
    assert set(VALID_ARGS) == set(COMMANDS)


async def test_f_replayed_key_returns_first_result_and_no_new_event(server: ServerProcess) -> None:
    first = await RawClient.login(server.url, "ann")
    key = uuid7()
    args = {"unit_id": "E1", "type": "ENGINE", "status": "AV"}
    result = await first.command("unit.add", args, key=key)
    assert result.ok and len(result.events) == 1
    again = await first.command("unit.add", args, key=key)
    assert again == result
    await first.close()

    # A new connection (as after a reconnect) replaying the key gets the same answer.
    second = await RawClient.login(server.url, "ann")
    assert second.welcome is not None and second.welcome.body.server_seq == 1
    third_try = await second.command("unit.add", args, key=key)
    assert third_try == result
    # ...and a rejection is remembered too.
    bad_key = uuid7()
    refused = await second.command(
        "unit.dispatch", {"incident_id": "nope", "unit_ids": ["E1"]}, key=bad_key
    )
    assert not refused.ok and refused.error is not None and refused.error.code == "not_found"
    assert (
        await second.command(
            "unit.dispatch", {"incident_id": "nope", "unit_ids": ["E1"]}, key=bad_key
        )
        == refused
    )
    await second.close()

    probe = await RawClient.login(server.url, "bob")
    assert probe.welcome is not None and probe.welcome.body.server_seq == 1  # no new event
    await probe.close()


async def test_h_supervisor_is_refused_every_command_and_sees_every_event(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    dispatcher = make_client("ann", server.url)
    await wait_until(lambda: live(dispatcher))
    dispatcher.submit(UnitAdd(unit_id="E1", type="ENGINE", status=UnitStatus.AV))
    dispatcher.submit(
        IncidentCreate(
            incident_id="inc-1", type="FIRE", priority=1, location=LocationArgs(address="1 Main")
        )
    )
    await wait_until(lambda: settled(dispatcher))

    monitor = await RawClient.login(server.url, "sam", role="supervisor")
    assert monitor.welcome is not None and monitor.welcome.body.role == "supervisor"
    for kind, args in VALID_ARGS.items():
        result = await monitor.command(kind, args)
        assert not result.ok and result.error is not None, kind
        assert result.error.code == "forbidden", (kind, result.error)
    unknown = await monitor.command("unit.teleport", {})
    assert unknown.error is not None and unknown.error.code == "forbidden"

    # Through the desktop service, a monitoring position is refused at once, nothing queued...
    watcher = make_client("sam", server.url, role_requested="supervisor")
    with pytest.raises(CommandRefused) as refused:
        watcher.submit(IncidentAddNote(incident_id="inc-1", text="supervisor note"))
    assert refused.value.code == "forbidden" and not watcher.outbox
    await wait_until(lambda: live(watcher) and watcher.incident("inc-1") is not None)
    # ...and where the role is not known yet (no welcome so far), the server refuses it.
    early = make_client("sam", server.url)
    early.submit(UnitAdd(unit_id="E9", type="ENGINE"))  # fine on its still empty view
    await wait_until(lambda: bool(early.needs_attention()))
    assert early.needs_attention()[0].code == "forbidden"
    assert early.role == "supervisor"

    # The supervisor sees every event the dispatcher causes.
    dispatcher.submit(IncidentAddNote(incident_id="inc-1", text="seen by all"))
    await wait_until(lambda: settled(dispatcher))
    while not any(
        isinstance(f, Event) and f.body.kind == "incident.note_added" for f in monitor.frames
    ):
        await monitor.recv()
    # the resync replayed the log, then live events followed: every seq once, in order
    assert [e.seq for e in monitor.events] == list(range(1, dispatcher.state.last_seq + 1))
    await wait_until(lambda: watcher.state.last_seq == dispatcher.state.last_seq)
    assert [n.text for n in watcher.incident("inc-1").narrative] == ["seen by all"]  # type: ignore[union-attr]
    await monitor.close()


@pytest.fixture
def limited_server(tmp_path: Path, template_db: Path) -> Iterator[ServerProcess]:
    """A server with a low per-connection rate limit, to flood it."""
    db = tmp_path / "limited.sqlite"
    shutil.copy(template_db, db)
    proc = ServerProcess(db, "--rate-limit", "200", "--burst", "200")
    proc.start(0)
    yield proc
    proc.stop()


async def test_i_bad_input_gets_typed_errors_and_others_keep_working(
    limited_server: ServerProcess, make_client: ClientFactory
) -> None:
    url = limited_server.url
    good = make_client("dan", url)
    await wait_until(lambda: live(good))
    good.submit(
        IncidentCreate(
            incident_id="inc-1", type="FIRE", priority=1, location=LocationArgs(address="1 Main")
        )
    )
    notes_sent = 0

    async def keep_working() -> None:
        nonlocal notes_sent
        while True:
            good.submit(IncidentAddNote(incident_id="inc-1", text=f"still here {notes_sent}"))
            notes_sent += 1
            await asyncio.sleep(0.02)

    worker = asyncio.create_task(keep_working())
    try:
        # Malformed frames on an authenticated connection: typed errors, connection stays.
        raw = await RawClient.login(url, "ann")
        cases = [
            (b"{not json", "bad_frame"),
            (b"[1, 2, 3]", "bad_frame"),
            (b'{"type": "command", "v": 1, "body": {"key": 1}}', "invalid_frame"),
            (b'{"type": "teleport", "v": 1, "body": {}}', "unknown_type"),
            (b'{"type": "ping", "v": 99, "body": {"t": 0}}', "unsupported_version"),
        ]
        for frame, code in cases:
            await raw.send(frame)
            reply = await raw.reply()
            assert isinstance(reply, Error) and reply.body.code == code, (frame, reply)
        unknown_kind = await raw.command("unit.teleport", {"unit_id": "E1"})
        assert unknown_kind.error is not None and unknown_kind.error.code == "unknown_kind"
        wrong_types = await raw.command("unit.add", {"unit_id": 5, "type": ["x"]})
        assert wrong_types.error is not None and wrong_types.error.code == "invalid_command"
        await raw.send(b'{"type": "ping", "v": 1, "body": {"t": 1.5}}')
        assert isinstance(await raw.reply(), Pong)  # still open and serving

        # A command before hello.
        anonymous = await RawClient.open(url)
        await anonymous.send(
            b'{"type":"command","v":1,"body":{"key":"k","client_seq":1,"kind":"unit.add",'
            b'"args":{},"issued_at":0}}'
        )
        refusal = await anonymous.reply()
        assert isinstance(refusal, Result) and refusal.body.error is not None
        assert refusal.body.error.code == "not_authenticated"

        # Too many invalid frames: 1008.
        for _ in range(25):
            with_errors = anonymous
            try:
                await with_errors.send(b"garbage")
            except ConnectionClosed:
                break
        assert await anonymous.closed_with() == 1008

        # A frame over the size limit: 1009.
        huge = await RawClient.login(url, "ann")
        await huge.send(b'{"type":"ping","v":1,"body":{"t":0},"pad":"' + b"x" * 300_000 + b'"}')
        assert await huge.closed_with() == 1009

        # Invalid UTF-8 in a text frame: 1007. A binary frame: 1003.
        bad_utf8 = await RawClient.login(url, "ann")
        await bad_utf8.send(b'{"type":"ping","\xff\xfe":1}')
        assert await bad_utf8.closed_with() == 1007
        binary = await RawClient.login(url, "ann")
        await binary.send(b"\x00\x01", text=False)
        assert await binary.closed_with() == 1003

        # A flood of 1,000 frames/s: rate_limited, then 1008.
        flood = await RawClient.login(url, "ann")
        codes: list[str] = []
        try:
            for i in range(1000):
                await flood.send(b'{"type":"ping","v":1,"body":{"t":%d}}' % i)
                await asyncio.sleep(0.001)
        except ConnectionClosed:
            pass
        close_code = await flood.closed_with()
        codes = [f.body.code for f in flood.frames if isinstance(f, Error)]
        assert "rate_limited" in codes
        assert close_code == 1008
    finally:
        worker.cancel()

    await wait_until(lambda: settled(good), timeout=20, what="good client drained")
    narrative = good.incident("inc-1").narrative  # type: ignore[union-attr]
    assert [n.text for n in narrative] == [f"still here {i}" for i in range(notes_sent)]
    assert notes_sent > 10
    assert good.needs_attention() == []
    assert limited_server.proc is not None and limited_server.proc.poll() is None
