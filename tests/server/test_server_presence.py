"""The floor's positions and the shift report on request (server/presence.py,
server/supervision.py): who joins, what watchers receive and when, refusals that keep the
connection open, a position taken over by a newer connection of its user (and never by
another user's), the catch-up after a resync, and a report answered over the wire: its range
rule, one at a time, made off the event loop. `PresenceBoard` alone, then real websockets on
127.0.0.1 with bare protocol clients."""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest
from srvkit import PASSWORD, ServerFactory, add_users

import server.supervision
from desktop.domain.floor_figures import MAX_REPORT_S
from desktop.domain.roles import refusal
from desktop.protocol.codec import decode_server_frame, encode
from desktop.protocol.messages import (
    MAX_DRAFT_CHARS,
    ActivityBody,
    ActivityReport,
    Error,
    Hello,
    HelloBody,
    PasswordAuth,
    Pong,
    Presence,
    Report,
    ReportRequest,
    ReportRequestBody,
    Welcome,
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


def test_another_user_never_takes_a_position_over(caplog: pytest.LogCaptureFixture) -> None:
    sent = Sent()
    board = PresenceBoard(sent, clock=lambda: T)
    ann, bob = object(), object()
    assert board.join(ann, "ws-1", "ann", "dispatcher", "D1", T - 10)
    board.fan_out()
    with caplog.at_level(logging.WARNING, logger="server.presence"):
        assert not board.join(bob, "ws-1", "bob", "dispatcher", "D9", T)
    (warning,) = caplog.records
    assert "'ws-1'" in warning.getMessage() and "'bob'" in warning.getMessage()
    assert board.fan_out() == 0  # nothing changed for the watchers
    position = board.get("ws-1")
    assert position is not None and (position.user, position.workstation) == ("ann", "D1")
    board.report(bob, "ws-1", ActivityBody(panel="map"))  # the refused one is not heard
    board.report(ann, "ws-1", ActivityBody(panel="units"))
    position = board.get("ws-1")
    assert position is not None and position.activity.panel == "units"
    board.leave(bob, "ws-1")  # nor does its end take the position away
    assert board.get("ws-1") is not None and board.takeovers_refused == 1
    board.leave(ann, "ws-1")
    assert board.join(bob, "ws-1", "bob", "dispatcher", "D9", T)  # free again: anyone's


def test_the_fan_out_interval_must_be_positive() -> None:
    for interval in (0, -0.2, math.nan, math.inf):
        with pytest.raises(ValueError, match="the fan-out interval must be positive"):
            PresenceBoard(Sent(), interval=interval)


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


async def sign_in(url: str, user: str, client_id: str) -> RawClient:
    """``user`` signed in from the workstation install ``client_id``."""
    client = await RawClient.open(url)
    body = HelloBody(
        auth=PasswordAuth(username=user, password=PASSWORD),
        client_id=client_id,
        workstation=f"ws-{user}",
    )
    await client.send(encode(Hello(body=body)))
    welcome = await client.recv()
    assert isinstance(welcome, Welcome), welcome
    return client


async def test_another_user_cannot_hide_a_position_by_sending_its_client_id(
    floor: DispatchServer, caplog: pytest.LogCaptureFixture
) -> None:
    sam = await RawClient.login(floor.url, "sam")
    ann = await sign_in(floor.url, "ann", "shared-install")
    await say(ann, ActivityBody(panel="incidents"))
    await presence_until(
        sam, lambda f: any(p.activity.panel == "incidents" for p in f.body.positions)
    )
    with caplog.at_level(logging.WARNING, logger="server.presence"):
        bob = await sign_in(floor.url, "bob", "shared-install")
        await say(bob, ActivityBody(panel="map"))
        await bob.ping()  # its activity has been read
        await bob.close()
        await ann.ping()
    position = floor.supervision.presence.get("shared-install")
    assert position is not None and position.user == "ann"
    assert (position.workstation, position.activity.panel) == ("ws-ann", "incidents")
    takeovers = [r for r in caplog.records if "not taken over" in r.getMessage()]
    assert len(takeovers) == 1  # once for the connection, not once per activity
    late = await RawClient.login(floor.url, "root")  # a watcher's catch-up: ann, never bob
    catch_up = await late.next_of(Presence)
    assert [(p.client_id, p.user) for p in catch_up.body.positions if p.user != "root"] == [
        ("shared-install", "ann"),
        ("test-sam", "sam"),
    ]
    assert not any(
        p.user == "bob" for f in sam.frames if isinstance(f, Presence) for p in f.body.positions
    )
    # ann's own workstation reconnecting takes its position over, as a reconnect does
    again = await sign_in(floor.url, "ann", "shared-install")
    await say(again, ActivityBody(panel="radio"))
    await presence_until(sam, lambda f: any(p.activity.panel == "radio" for p in f.body.positions))
    await ann.close()  # the older connection ends: the position stays the new one's
    await again.ping()
    position = floor.supervision.presence.get("shared-install")
    assert position is not None and position.activity.panel == "radio"
    for client in (again, late, sam):
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
    assert refused.body.error.message == refusal("dispatcher", "report")
    backwards = await report_of(sam, ReportRequestBody(start=T, end=T - 60), "r2")
    assert backwards.body.error is not None and backwards.body.error.code == "invalid_frame"
    no_zone = await report_of(sam, ReportRequestBody(start=T - 60, end=T, tz="Mars/Base"), "r3")
    assert no_zone.body.error is not None and "Mars/Base" in no_zone.body.error.message
    for client in (sam, ann):
        await client.close()


async def test_a_report_longer_than_a_year_and_a_day_is_refused(floor: DispatchServer) -> None:
    sam = await RawClient.login(floor.url, "sam")
    too_long = await report_of(sam, ReportRequestBody(start=T - MAX_REPORT_S - 1, end=T))
    assert too_long.body.error is not None and too_long.body.error.code == "invalid_frame"
    assert too_long.body.error.message == "the range must be at most 366 days long"
    longest = await report_of(sam, ReportRequestBody(start=T - MAX_REPORT_S, end=T), "r2")
    assert longest.body.error is None
    assert len(json.loads(bytes(longest.body.figures))["calls_by_hour"]) == 366 * 24
    await sam.close()


async def test_a_second_report_while_one_is_made_is_rate_limited_and_all_is_off_the_loop(
    floor: DispatchServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first report is held in its thread until the second request has been answered;
    making the report and putting it in its JSON form both happen away from the loop."""
    gate = threading.Event()
    threads: list[threading.Thread] = []
    shift_report, report_dict = server.supervision.shift_report, server.supervision.report_dict

    def held_report(*args: Any) -> Any:
        threads.append(threading.current_thread())
        assert gate.wait(10)
        return shift_report(*args)

    def watched_dict(*args: Any) -> Any:
        threads.append(threading.current_thread())
        return report_dict(*args)

    monkeypatch.setattr(server.supervision, "shift_report", held_report)
    monkeypatch.setattr(server.supervision, "report_dict", watched_dict)
    sam = await RawClient.login(floor.url, "sam")
    request = ReportRequestBody(start=T - 3600, end=T)
    await sam.send(encode(ReportRequest(body=request, id="first")))
    second = await report_of(sam, request, "second")
    assert second.body.error is not None and second.body.error.code == "rate_limited"
    assert isinstance(await sam.ping(), Pong)  # the loop is not waiting for the report
    gate.set()
    first = await sam.next_of(Report, timeout=10.0)
    assert first.id == "first" and first.body.error is None
    assert json.loads(bytes(first.body.figures))["calls"] == 0
    assert len(threads) == 2 and threading.main_thread() not in threads
    third = await report_of(sam, request, "third")  # the one before is done: a new one is made
    assert third.body.error is None
    await sam.close()
