"""DispatchServer over real websockets on 127.0.0.1 (port 0)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import msgspec
import pytest
from srvkit import ServerFactory

from desktop.domain.types import Incident, Unit
from desktop.protocol.codec import encode
from desktop.protocol.messages import (
    Error,
    Event,
    Hello,
    HelloBody,
    PasswordAuth,
    Ping,
    PingBody,
    Pong,
    Result,
    Snapshot,
    Welcome,
)
from desktop.protocol.session import ServerSessionLimits
from server.app import DispatchServer, ServerConfig, choose_sync
from server.auth import hash_password
from server.store.sqlite import SqliteStore
from tests.support.rawclient import RawClient, new_key

UNIT = {"unit_id": "E1", "type": "ENGINE", "status": "AV"}


def unit(n: int) -> dict[str, Any]:
    return {"unit_id": f"U{n}", "type": "ENGINE"}


async def fill(client: RawClient, n: int) -> None:
    """Add ``n`` units (one event each), pipelined."""
    keys = [await client.send_command("unit.add", unit(i)) for i in range(n)]
    for key in keys:
        assert (await client.result(key, timeout=10)).ok


# --- sign-in -------------------------------------------------------------------------------


async def test_password_hello_gets_welcome_with_tokens(server: DispatchServer) -> None:
    client = await RawClient.login(server.url, "ann")
    assert client.welcome is not None
    body = client.welcome.body
    assert (body.user, body.role, body.server_seq, body.sync) == ("ann", "dispatcher", 0, "replay")
    assert body.session_token and body.refresh_token
    assert body.session_expires_at == pytest.approx(time.time() + 900, abs=30)
    assert body.limits == server.limits.advertised()
    assert body.server_id == server.store.server_id()
    await client.close()

    # The session token signs in again, without a new refresh token.
    again = await RawClient.login(server.url, token=body.session_token)
    assert again.welcome is not None
    assert again.welcome.body.user == "ann" and again.welcome.body.refresh_token is None
    await again.close()


@pytest.mark.parametrize(
    ("user", "password", "role", "code"),
    [
        ("ann", "wrong", None, "auth_failed"),
        ("nobody", "x", None, "auth_failed"),
        ("carl", None, "dispatcher", "role_not_allowed"),
    ],
)
async def test_refused_hello_gets_error_then_1008(
    server: DispatchServer, user: str, password: str | None, role: Any, code: str
) -> None:
    client = await RawClient.open(server.url)
    kwargs = {} if password is None else {"password": password}
    frame = await client.hello(user, role=role, **kwargs)
    assert isinstance(frame, Error) and frame.body.code == code
    assert await client.closed_with() == 1008


async def test_unknown_token_is_refused(server: DispatchServer) -> None:
    client = await RawClient.open(server.url)
    frame = await client.hello(token="nope")
    assert isinstance(frame, Error) and frame.body.code == "auth_failed"
    assert await client.closed_with() == 1008


async def test_command_before_hello_is_not_authenticated(server: DispatchServer) -> None:
    client = await RawClient.open(server.url)
    result = await client.command("unit.add", UNIT)
    assert result.error is not None and result.error.code == "not_authenticated"
    await client.close()


# --- commands, events, results -------------------------------------------------------------


async def test_command_gives_events_to_everyone_then_result(server: DispatchServer) -> None:
    ann = await RawClient.login(server.url, "ann")
    sam = await RawClient.login(server.url, "sam")
    result = await ann.command("unit.add", UNIT)
    assert result.ok and result.events == [1]
    kinds = [type(f).__name__ for f in ann.frames]
    assert kinds == ["Welcome", "Event", "Result"]  # the event arrives before the result
    (event,) = ann.events
    assert event.seq == 1 and event.body.kind == "unit.added"
    assert event.body.actor == "ann" and event.body.key == result.key
    assert msgspec.json.decode(event.body.data)["unit"]["id"] == "E1"
    (seen,) = await sam.events_until(1)
    assert seen == event
    # The supervisor is refused every command, with "forbidden".
    refused = await sam.command("unit.set_status", {"unit_id": "E1", "status": "AQ"})
    assert refused.error is not None and refused.error.code == "forbidden"
    await ann.close()
    await sam.close()


async def test_replayed_key_returns_first_result_and_no_new_event(
    server: DispatchServer,
) -> None:
    ann = await RawClient.login(server.url, "ann")
    key = new_key()
    first = await ann.command("unit.add", UNIT, key=key)
    await ann.close()
    again = await RawClient.login(server.url, "ann", last_seq=1)
    assert await again.command("unit.add", UNIT, key=key) == first
    assert again.events == []
    bob = await RawClient.login(server.url, "bob")
    conflict = await bob.command("unit.add", UNIT, key=key)
    assert conflict.error is not None and conflict.error.code == "key_conflict"
    assert server.processor.seq == 1
    await again.close()
    await bob.close()


async def test_replay_after_last_seq(server: DispatchServer) -> None:
    ann = await RawClient.login(server.url, "ann")
    await fill(ann, 5)
    late = await RawClient.login(server.url, "bob", last_seq=2)
    assert late.welcome is not None
    assert (late.welcome.body.sync, late.welcome.body.server_seq) == ("replay", 5)
    events = await late.events_until(5)
    assert [e.seq for e in events] == [3, 4, 5]
    # Live events follow the replay.
    await ann.command("unit.add", unit(99))
    assert [e.seq for e in await late.events_until(6)] == [3, 4, 5, 6]
    up_to_date = await RawClient.login(server.url, "bob", last_seq=6)
    assert up_to_date.welcome is not None and up_to_date.welcome.body.sync == "replay"
    for client in (ann, late, up_to_date):
        await client.close()


async def test_long_replay_is_streamed_in_chunks(start_server: ServerFactory) -> None:
    server = await start_server(config=ServerConfig(replay_chunk=7))
    ann = await RawClient.login(server.url, "ann")
    await fill(ann, 40)
    late = await RawClient.login(server.url, "bob", last_seq=1)
    assert [e.seq for e in await late.events_until(40)] == list(range(2, 41))
    await ann.close()
    await late.close()


async def test_snapshot_when_the_log_is_long_or_last_seq_unknown(
    start_server: ServerFactory,
) -> None:
    server = await start_server(config=ServerConfig(fresh_replay_limit=3, replay_limit=10))
    ann = await RawClient.login(server.url, "ann")
    await ann.command(
        "incident.create",
        {"incident_id": "i1", "type": "FIRE", "priority": 1, "location": {"address": "1 Main"}},
    )
    await fill(ann, 4)
    for last_seq in (0, 99, -1):  # fresh client with a long log; a seq the server never issued
        client = await RawClient.login(server.url, "bob", last_seq=last_seq)
        assert client.welcome is not None
        assert (client.welcome.body.sync, client.welcome.body.server_seq) == ("snapshot", 5)
        frame = await client.next_of(Snapshot)
        assert frame.seq == 5 and frame.body.last and frame.body.part == 0
        incidents = msgspec.json.decode(frame.body.incidents, type=list[Incident])
        units = msgspec.json.decode(frame.body.units, type=list[Unit])
        assert [i.id for i in incidents] == ["i1"] and incidents[0].number
        assert sorted(u.id for u in units) == ["U0", "U1", "U2", "U3"]
        await client.close()
    await ann.close()


def test_choose_sync() -> None:
    assert choose_sync(0, 0) == "replay"
    assert choose_sync(0, 2000) == "replay"
    assert choose_sync(0, 2001) == "snapshot"
    assert choose_sync(5, 5) == "replay"
    assert choose_sync(1, 50_001) == "replay"
    assert choose_sync(1, 50_002) == "snapshot"
    assert choose_sync(6, 5) == "snapshot"
    assert choose_sync(-3, 5) == "snapshot"


async def test_snapshot_parts_hold_at_most_500_entities(start_server: ServerFactory) -> None:
    server = await start_server(config=ServerConfig(fresh_replay_limit=0))
    ann = await RawClient.login(server.url, "ann")
    await fill(ann, 1100)
    client = await RawClient.login(server.url, "bob")
    parts: list[Snapshot] = []
    while not parts or not parts[-1].body.last:
        parts.append(await client.next_of(Snapshot))
    sizes = [len(msgspec.json.decode(p.body.units)) for p in parts]
    assert sizes == [500, 500, 100] and [p.body.part for p in parts] == [0, 1, 2]
    await ann.close()
    await client.close()


async def test_clients_joining_during_a_command_stream_see_every_event_once(
    server: DispatchServer,
) -> None:
    """No gap and no duplicate between the resync and live events, whatever the timing."""
    writer = await RawClient.login(server.url, "ann")
    total = 100

    async def produce() -> None:
        for i in range(total):  # one at a time, so joiners land between commits
            assert (await writer.command("unit.add", unit(i))).ok

    producer = asyncio.create_task(produce())
    joiners: list[RawClient] = []
    while not producer.done():
        joiners.append(await RawClient.login(server.url, "bob", last_seq=0))
        await asyncio.sleep(0.005)
    await producer
    for joiner in joiners:
        assert joiner.welcome is not None
        seqs = [e.seq for e in await joiner.events_until(total)]
        assert seqs == list(range(1, total + 1)), joiner.welcome.body.server_seq
        await joiner.close()
    assert len(joiners) > 3
    await writer.close()


# --- bad input -------------------------------------------------------------------------------


async def test_invalid_json_gets_bad_frame_and_the_connection_stays_open(
    server: DispatchServer,
) -> None:
    client = await RawClient.login(server.url, "ann")
    await client.send("{not json")
    error = await client.next_of(Error)
    assert error.body.code == "bad_frame"
    await client.send(json.dumps({"v": 1, "type": "teleport", "body": {}}))
    assert (await client.next_of(Error)).body.code == "unknown_type"
    await client.send(json.dumps({"v": 1, "type": "command", "body": {"key": 1}}))
    assert (await client.next_of(Error)).body.code == "invalid_frame"
    assert isinstance(await client.ping(), Pong)
    assert (await client.command("unit.add", UNIT)).ok
    await client.close()


async def test_binary_frame_closes_1003(server: DispatchServer) -> None:
    client = await RawClient.login(server.url, "ann")
    await client.send(b'{"v":1,"type":"ping","body":{}}', text=False)
    assert await client.closed_with() == 1003


async def test_oversize_frame_closes_1009(start_server: ServerFactory) -> None:
    server = await start_server(ServerSessionLimits(max_frame_bytes=4096))
    client = await RawClient.login(server.url, "ann")
    await client.send("x" * 5000)
    assert await client.closed_with() == 1009


async def test_twenty_bad_frames_close_1008_others_keep_working(server: DispatchServer) -> None:
    bad = await RawClient.login(server.url, "ann")
    good = await RawClient.login(server.url, "bob")
    for _ in range(20):
        await bad.send("][")
    assert await bad.closed_with() == 1008
    assert len(bad.errors) == 20
    assert (await good.command("unit.add", UNIT)).ok
    await good.close()


async def test_rate_limit_gives_rate_limited_then_1008(start_server: ServerFactory) -> None:
    server = await start_server(ServerSessionLimits(frames_per_second=1.0, burst=3))
    flooder = await RawClient.login(server.url, "ann")
    other = await RawClient.login(server.url, "bob")
    keys = [await flooder.send_command("unit.add", unit(i)) for i in range(6)]
    assert await flooder.closed_with() == 1008
    results = [f.body for f in flooder.frames if isinstance(f, Result)]
    limited = [r for r in results if r.error is not None and r.error.code == "rate_limited"]
    assert len(limited) == 1 and limited[0].key == keys[2]  # the hello took one token
    assert (await other.command("unit.add", unit(50))).ok  # the other client is unaffected
    await other.close()


async def test_hello_twice_is_refused(server: DispatchServer) -> None:
    client = await RawClient.login(server.url, "ann")
    hello = HelloBody(
        auth=PasswordAuth(username="ann", password="x"), client_id="c", workstation="w"
    )
    await client.send(encode(Hello(body=hello)))
    assert (await client.next_of(Error)).body.code == "already_authenticated"
    assert isinstance(await client.ping(), Pong)
    await client.close()


async def test_login_rate_limiting(server: DispatchServer) -> None:
    for _ in range(5):
        client = await RawClient.open(server.url)
        assert isinstance(await client.hello("ann", password="bad"), Error)
        await client.closed_with()
    client = await RawClient.open(server.url)
    frame = await client.hello("ann")  # the right password, too soon
    assert isinstance(frame, Error) and "too many attempts" in frame.body.message
    assert isinstance(await (await RawClient.open(server.url)).hello("bob"), Welcome)


# --- storage failure and shutdown ---------------------------------------------------------------


async def test_disk_full_answers_storage_unavailable_then_recovers(
    server: DispatchServer, store: SqliteStore
) -> None:
    ann = await RawClient.login(server.url, "ann")
    bob = await RawClient.login(server.url, "bob")
    await ann.command(
        "incident.create",
        {"incident_id": "i1", "type": "FIRE", "priority": 1, "location": {"address": "1 Main"}},
    )
    store.set_max_page_count(store.page_count())
    codes = set()
    for _ in range(40):
        result = await ann.command("incident.add_note", {"incident_id": "i1", "text": "n" * 4000})
        if result.error is not None:
            codes.add(result.error.code)
            break
    assert codes == {"storage_unavailable"}
    failed_seq = server.processor.seq
    store.set_max_page_count(None)
    ok = await ann.command("incident.add_note", {"incident_id": "i1", "text": "back"})
    assert ok.ok and ok.events == [failed_seq + 1]
    assert [e.seq for e in await bob.events_until(failed_seq + 1)] == list(range(1, failed_seq + 2))
    await ann.close()
    await bob.close()


async def test_stop_closes_clients_with_1001(start_server: ServerFactory) -> None:
    server = await start_server()
    client = await RawClient.login(server.url, "ann")
    stopping = asyncio.create_task(server.stop())
    assert await client.closed_with() == 1001
    await stopping


async def test_restart_rebuilds_the_world_from_the_log(
    start_server: ServerFactory, store: SqliteStore
) -> None:
    first = await start_server()
    ann = await RawClient.login(first.url, "ann")
    await ann.command("unit.add", UNIT)
    await ann.command("unit.set_status", {"unit_id": "E1", "status": "OOS"})
    await ann.close()
    await first.stop()
    second = await start_server()
    assert second.processor.seq == 2
    assert second.processor.world.units["E1"].status == "OOS"
    client = await RawClient.login(second.url, "bob")
    assert [e.seq for e in await client.events_until(2)] == [1, 2]
    await client.close()


async def test_events_frames_decode_as_events(server: DispatchServer) -> None:
    """Every frame a command brings decodes as its type: the welcome, the event (unit.added,
    with its data) and the result that names it."""
    client = await RawClient.login(server.url, "ann")
    result = await client.command("unit.add", UNIT)
    assert result.ok and len(result.events) == 1
    [event] = await client.events_until(result.events[0])
    assert event.seq == result.events[0] and event.body.kind == "unit.added"
    assert msgspec.json.decode(event.body.data)["unit"]["id"] == "E1"
    kinds = [type(f) for f in client.frames]
    assert kinds.count(Welcome) == 1 and kinds.count(Result) == 1
    assert all(isinstance(f, Welcome | Event | Result) for f in client.frames)
    await client.close()


async def test_connection_without_hello_is_closed(start_server: ServerFactory) -> None:
    server = await start_server(config=ServerConfig(hello_timeout=0.2))
    idle = await RawClient.open(server.url)
    assert await idle.closed_with() == 1008
    client = await RawClient.login(server.url, "ann")  # signed-in connections are not affected
    await asyncio.sleep(0.3)
    assert isinstance(await client.ping(), Pong)
    await client.close()


async def test_frames_during_the_hello_check_are_answered_not_executed(
    server: DispatchServer, store: SqliteStore
) -> None:
    """The hello is checked in the background (real scrypt cost here): a ping is answered and a
    command refused with not_authenticated before the welcome; then the session works."""
    store.add_user("slow", "dispatcher", hash_password("pw"), time.time())
    client = await RawClient.open(server.url)
    hello = HelloBody(
        auth=PasswordAuth(username="slow", password="pw"), client_id="c", workstation="w"
    )
    await client.send(encode(Hello(body=hello)))
    key = await client.send_command("unit.add", UNIT)
    await client.send(encode(Ping(body=PingBody(t=1.0))))
    early = await client.result(key)
    assert early.error is not None and early.error.code == "not_authenticated"
    welcome = await client.next_of(Welcome)
    assert [type(f).__name__ for f in client.frames] == ["Result", "Pong", "Welcome"]
    assert welcome.body.user == "slow"
    assert (await client.command("unit.add", UNIT)).ok
    await client.close()


async def test_deeply_nested_json_is_a_bad_frame(server: DispatchServer) -> None:
    client = await RawClient.login(server.url, "ann")
    deep = "[" * 5000 + "]" * 5000
    await client.send(deep)
    assert (await client.next_of(Error)).body.code == "bad_frame"
    prefix = '{"v":1,"type":"command","body":{"key":"' + new_key() + '","client_seq":1,'
    args = '"kind":"unit.add","args":{"unit_id":"E1","type":"E","capabilities":' + deep + "}"
    nested_args = prefix + args + ',"issued_at":1}}'
    await client.send(nested_args)
    assert (await client.next_of(Error)).body.code == "bad_frame"
    assert isinstance(await client.ping(), Pong)  # still open
    for _ in range(18):
        await client.send(deep)
    assert await client.closed_with() == 1008  # counted towards the 20 bad frames
