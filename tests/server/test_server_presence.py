"""The floor's positions and the shift report on request (server/presence.py,
server/supervision.py): who joins, what watchers receive and when, refusals that keep the
connection open, a position taken over by a newer connection, the catch-up after a resync,
and a report answered over the wire. `PresenceBoard` alone, then real websockets on 127.0.0.1
with bare protocol clients."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Sequence

import pytest
from srvkit import ServerFactory, add_users

from desktop.protocol.codec import decode_server_frame, encode
from desktop.protocol.messages import (
    MAX_DRAFT_CHARS,
    ActivityBody,
    ActivityReport,
    Error,
    Pong,
    Presence,
    Report,
    ReportRequest,
    ReportRequestBody,
)
from server.app import DispatchServer, ServerConfig
from server.presence import PresenceBoard
from server.store.sqlite import SqliteStore
from tests.support.rawclient import RawClient

T = time.time()


class Sent:
    def __init__(self) -> None:
        self.frames: list[Presence] = []

    def __call__(self, frames: Sequence[bytes]) -> None:
        for data in frames:
            frame = decode_server_frame(data)
            assert isinstance(frame, Presence)
            self.frames.append(frame)


# --- the board ---------------------------------------------------------------------------------


def test_the_board_sends_joins_changes_and_leaves_once_each() -> None:
    sent = Sent()
    board = PresenceBoard(sent, interval=0.1, clock=lambda: T)
    conn_a, conn_b = object(), object()
    board.join(conn_a, "ws-1", "ann", "dispatcher", "DISPATCH 1", T - 60)
    board.join(conn_b, "ws-2", "carl", "calltaker", "CALL 3", T - 30)
    assert board.fan_out() == 2
    assert [p.user for p in sent.frames[-1].body.positions] == ["ann", "carl"]
    assert board.fan_out() == 0
    seen = ActivityBody(panel="incidents", incident_id="i-1", drafts={"command": "D E01"})
    assert board.report(conn_a, "ws-1", seen) is None
    assert board.report(conn_a, "ws-1", seen) is None  # the same again: no change
    assert board.fan_out() == 1
    (position,) = sent.frames[-1].body.positions
    assert position.activity == seen and position.workstation == "DISPATCH 1"
    board.leave(conn_b, "ws-2")
    assert board.fan_out() == 1 and sent.frames[-1].body.gone == ["ws-2"]
    assert len(board) == 1


def test_a_newer_connection_takes_the_position_over() -> None:
    board = PresenceBoard(Sent(), clock=lambda: T)
    old, new = object(), object()
    board.join(old, "ws-1", "ann", "dispatcher", "D1", T - 10)
    board.join(new, "ws-1", "ann", "dispatcher", "D1", T)
    board.report(old, "ws-1", ActivityBody(panel="map"))  # the old one is no longer heard
    position = board.get("ws-1")
    assert position is not None and position.activity.panel == ""
    board.leave(old, "ws-1")  # nor does its end take the position away
    assert board.get("ws-1") is not None
    board.leave(new, "ws-1")
    assert board.get("ws-1") is None


def test_an_invalid_activity_is_refused_with_the_reason() -> None:
    board = PresenceBoard(Sent(), clock=lambda: T)
    conn = object()
    board.join(conn, "ws-1", "ann", "dispatcher", "D1", T)
    too_long = ActivityBody(drafts={"command": "x" * (MAX_DRAFT_CHARS + 1)})
    assert "at most 1000" in (board.report(conn, "ws-1", too_long) or "")
    not_a_time = ActivityBody(input_at=float("nan"))
    assert "not a time" in (board.report(conn, "ws-1", not_a_time) or "")
    assert board.refused == 2


def test_the_catch_up_lists_every_position_as_full() -> None:
    board = PresenceBoard(Sent(), clock=lambda: T)
    (data,) = board.catch_up_frames()
    frame = decode_server_frame(data)
    assert isinstance(frame, Presence) and frame.body.full and frame.body.positions == []
    for n in range(3):
        board.join(object(), f"ws-{n}", f"user{n}", "dispatcher", f"D{n}", T)
    frames = [decode_server_frame(d) for d in board.catch_up_frames()]
    assert isinstance(frames[0], Presence) and frames[0].body.full
    assert sum(len(f.body.positions) for f in frames if isinstance(f, Presence)) == 3


def test_big_drafts_are_spread_over_frames_within_the_frame_limit() -> None:
    board = PresenceBoard(Sent(), clock=lambda: T)
    for n in range(12):
        conn = object()
        board.join(conn, f"ws-{n:02}", "ann", "dispatcher", "D", T)
        drafts = {f"d{k}": "é" * MAX_DRAFT_CHARS for k in range(12)}
        board.report(conn, f"ws-{n:02}", ActivityBody(drafts=drafts))
    frames = board.catch_up_frames()
    assert len(frames) > 1 and max(map(len, frames)) < 256 * 1024


# --- over the wire -----------------------------------------------------------------------------


async def say(client: RawClient, activity: ActivityBody) -> None:
    await client.send(encode(ActivityReport(body=activity)))


@pytest.fixture
async def floor(store: SqliteStore, start_server: ServerFactory) -> DispatchServer:
    """The server (presence fanned out every 50 ms) with a ``radio`` gateway (ray)."""
    add_users(store, {"ray": "radio"})
    return await start_server(config=ServerConfig(presence_interval=0.05))


async def presence_until(client: RawClient, done: object, timeout: float = 5.0) -> Presence:
    """The first presence frame ``done(frame)`` is true of."""
    async with asyncio_timeout(timeout):
        while True:
            frame = await client.next_of(Presence, timeout=timeout)
            if done(frame):  # type: ignore[operator]
                return frame


def asyncio_timeout(seconds: float) -> contextlib.AbstractAsyncContextManager[None]:
    import asyncio

    return asyncio.timeout(seconds)


async def test_a_supervisor_sees_every_position_and_follows_what_it_has_open(
    floor: DispatchServer,
) -> None:
    ann = await RawClient.login(floor.url, "ann")
    ray = await RawClient.login(floor.url, "ray")  # a gateway: no position
    sam = await RawClient.login(floor.url, "sam")
    catch_up = await sam.next_of(Presence)
    assert catch_up.body.full
    assert {p.user for p in catch_up.body.positions} == {"ann", "sam"}
    (ann_position,) = [p for p in catch_up.body.positions if p.user == "ann"]
    assert (ann_position.role, ann_position.workstation) == ("dispatcher", "ws-ann")
    await say(ann, ActivityBody(panel="incident_detail", incident_id="i-9", input_at=T))
    seen = await presence_until(
        sam, lambda f: any(p.activity.incident_id == "i-9" for p in f.body.positions)
    )
    assert seen.body.positions[0].client_id == "test-ann"
    await say(
        ann, ActivityBody(panel="incident_detail", incident_id="i-9", drafts={"command": "D E"})
    )
    seen = await presence_until(
        sam, lambda f: any(p.activity.drafts.get("command") == "D E" for p in f.body.positions)
    )
    await ann.close()
    gone = await presence_until(sam, lambda f: "test-ann" in f.body.gone)
    assert gone.body.positions == []
    assert not any(isinstance(f, Presence) for f in ray.frames)  # a gateway does not watch
    for client in (ray, sam):
        await client.close()


async def test_a_dispatcher_gets_no_presence_and_a_gateway_may_not_report_activity(
    floor: DispatchServer,
) -> None:
    ann = await RawClient.login(floor.url, "ann")
    bob = await RawClient.login(floor.url, "bob")
    ray = await RawClient.login(floor.url, "ray")
    await say(bob, ActivityBody(panel="map"))
    await say(ray, ActivityBody(panel="map"))
    assert (await ray.next_of(Error)).body.code == "forbidden"
    assert isinstance(await ray.ping(), Pong)
    await say(bob, ActivityBody(drafts={"command": "x" * (MAX_DRAFT_CHARS + 1)}))
    error = await bob.next_of(Error)
    assert error.body.code == "invalid_frame" and "at most 1000" in error.body.message
    assert isinstance(await bob.ping(), Pong)  # the connection stays open
    await ann.ping()
    assert not any(isinstance(f, Presence) for f in ann.frames + bob.frames)
    position = floor.supervision.presence.get("test-bob")
    assert position is not None and position.activity.panel == "map"
    for client in (ann, bob, ray):
        await client.close()


async def test_activity_before_hello_is_refused_and_counted_as_a_bad_frame(
    floor: DispatchServer,
) -> None:
    client = await RawClient.open(floor.url)
    await say(client, ActivityBody(panel="map"))
    assert (await client.next_of(Error)).body.code == "not_authenticated"
    await client.close()


async def report_of(client: RawClient, request: ReportRequestBody, rid: str = "r1") -> Report:
    await client.send(encode(ReportRequest(body=request, id=rid)))
    frame = await client.next_of(Report, timeout=10.0)
    assert frame.id == rid
    return frame


async def test_the_shift_report_is_answered_to_a_supervisor_only(floor: DispatchServer) -> None:
    sam = await RawClient.login(floor.url, "sam")
    ann = await RawClient.login(floor.url, "ann")
    result = await ann.command(
        "incident.create",
        {"incident_id": "i-1", "type": "FIRE", "priority": 2, "location": {"address": "1 Main St"}},
    )
    assert result.ok, result
    report = await report_of(
        sam, ReportRequestBody(start=T - 3600, end=T + 3600, tz="America/Los_Angeles")
    )
    assert report.body.error is None
    figures = json.loads(bytes(report.body.figures))
    assert figures["incidents"] == 1 and figures["from"].endswith(("-08:00", "-07:00"))
    refused = await report_of(ann, ReportRequestBody(start=T - 60, end=T))
    assert refused.body.error is not None and refused.body.error.code == "forbidden"
    backwards = await report_of(sam, ReportRequestBody(start=T, end=T - 60), "r2")
    assert backwards.body.error is not None and backwards.body.error.code == "invalid_frame"
    no_zone = await report_of(sam, ReportRequestBody(start=T - 60, end=T, tz="Mars/Base"), "r3")
    assert no_zone.body.error is not None and "Mars/Base" in no_zone.body.error.message
    for client in (sam, ann):
        await client.close()
