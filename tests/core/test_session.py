"""The sans-I/O sessions of protocol v1, driven back to back in memory.

No sockets and no clocks: every call is given ``now`` explicitly, and bytes produced by one side
are handed to the other by these tests (desktop/protocol/session.py, docs/protocol.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from desktop.protocol.codec import decode_client_frame, decode_server_frame, encode, encode_raw
from desktop.protocol.errors import CloseCode, ErrorCode, ProtocolError
from desktop.protocol.messages import (
    Command,
    CommandBody,
    Error,
    ErrorInfo,
    Event,
    EventBody,
    Limits,
    PasswordAuth,
    Ping,
    Pong,
    Result,
    ResultBody,
    Snapshot,
    SnapshotBody,
    TokenAuth,
    WelcomeBody,
)
from desktop.protocol.session import (
    ClientConfig,
    ClientPhase,
    ClientSession,
    CloseConnection,
    CommandReceived,
    EventReceived,
    HelloReceived,
    PongReceived,
    ResultReceived,
    ServerErrorReceived,
    ServerPhase,
    ServerSession,
    ServerSessionLimits,
    SnapshotReceived,
    SyncComplete,
    Welcomed,
)

T0 = 1_700_000_000.0  # an arbitrary clock origin; only differences matter
CONFIG = ClientConfig(client_id="client-1", workstation="WS-04", role_requested="dispatcher")


def welcome_body(server_seq: int = 0, sync: str = "replay", **changes: Any) -> WelcomeBody:
    values: dict[str, Any] = {
        "user": "d.jones",
        "role": "dispatcher",
        "server_seq": server_seq,
        "sync": sync,
        "session_token": "session-token",
        "session_expires_at": T0 + 900,
        "server_time": T0,
        "limits": ServerSessionLimits().advertised(),
        "refresh_token": "refresh-token",
        "server_id": "srv-a",
        **changes,
    }
    return WelcomeBody(**values)


def event_frame(seq: int, kind: str = "unit.status_changed") -> bytes:
    body = EventBody(kind=kind, data=encode_raw({"n": seq}), at=T0 + seq, actor="d.jones")
    return encode(Event(seq=seq, body=body, ts=T0 + seq))


def snapshot_frame(seq: int, part: int, last: bool) -> bytes:
    body = SnapshotBody(part=part, last=last, incidents=encode_raw([]), units=encode_raw([part]))
    return encode(Snapshot(seq=seq, body=body))


def command_body(n: int = 1) -> CommandBody:
    return CommandBody(
        key=f"0190a0f0-0000-7000-8000-{n:012d}",
        client_seq=n,
        kind="unit.set_status",
        args=encode_raw({"unit_id": "E12", "status": "ER"}),
        issued_at=T0,
    )


def raw_command(n: int = 1) -> bytes:
    return encode(Command(body=command_body(n)))


@dataclass
class Pair:
    """A client and a server session joined by hand."""

    client: ClientSession
    server: ServerSession
    to_client: list[bytes] = field(default_factory=list)

    def handshake(self, welcome: WelcomeBody, now: float = T0) -> list[Any]:
        """hello -> HelloReceived -> accept -> what the client made of the welcome."""
        (received,) = self.server.receive(self.client.start(now), now)
        assert isinstance(received, HelloReceived)
        return self.client.receive(self.server.accept(welcome, now), now)


def make_pair(
    last_seq: int = 0, limits: ServerSessionLimits | None = None, config: ClientConfig = CONFIG
) -> Pair:
    client = ClientSession(config, TokenAuth(token="refresh-token"), last_seq=last_seq, now=T0)
    server = ServerSession(limits or ServerSessionLimits(), now=T0)
    return Pair(client, server)


def ready_pair(**kwargs: Any) -> Pair:
    pair = make_pair(**kwargs)
    pair.handshake(welcome_body(server_seq=pair.client.last_seq))
    assert pair.client.phase is ClientPhase.READY
    return pair


def error_of(data: bytes | Any) -> ErrorInfo:
    frame = decode_server_frame(data)
    assert isinstance(frame, Error)
    return frame.body


def result_of(data: bytes | Any) -> ResultBody:
    frame = decode_server_frame(data)
    assert isinstance(frame, Result)
    return frame.body


# --- handshake --------------------------------------------------------------------------------


def test_hello_welcome_handshake() -> None:
    pair = make_pair(last_seq=0)
    assert pair.client.phase is ClientPhase.NEW
    assert pair.server.phase is ServerPhase.AWAITING_HELLO

    hello = pair.client.start(T0)
    assert pair.client.phase is ClientPhase.HELLO_SENT
    frame = decode_client_frame(hello)
    assert json.loads(hello)["type"] == "hello"
    assert frame.ts == T0

    (received,) = pair.server.receive(hello, T0 + 0.01)
    assert isinstance(received, HelloReceived)
    assert received.hello.auth == TokenAuth(token="refresh-token")
    assert received.hello.client_id == "client-1"
    assert received.hello.workstation == "WS-04"
    assert received.hello.role_requested == "dispatcher"
    assert received.hello.last_seq == 0
    assert pair.server.phase is ServerPhase.AUTHENTICATING

    welcome = welcome_body(server_seq=0)
    out = pair.client.receive(pair.server.accept(welcome, T0 + 0.02), T0 + 0.03)
    assert pair.server.phase is ServerPhase.OPEN
    assert out == [Welcomed(welcome), SyncComplete(0)]
    assert pair.client.welcome == welcome
    assert pair.client.phase is ClientPhase.READY


def test_password_hello_carries_credentials() -> None:
    client = ClientSession(CONFIG, PasswordAuth(username="d.jones", password="pw"), 0, T0)
    server = ServerSession(ServerSessionLimits(), now=T0)
    (received,) = server.receive(client.start(T0), T0)
    assert isinstance(received, HelloReceived)
    assert received.hello.auth == PasswordAuth(username="d.jones", password="pw")


def test_limits_are_advertised_in_the_welcome() -> None:
    limits = ServerSessionLimits(max_frame_bytes=1000, frames_per_second=7.0, burst=9)
    assert limits.advertised() == Limits(
        max_frame_bytes=1000, commands_per_second=7.0, command_burst=9
    )


def test_second_welcome_is_a_protocol_violation() -> None:
    pair = ready_pair()
    with pytest.raises(ProtocolError):
        pair.client.receive(pair.server.accept(welcome_body(), T0), T0)


def test_welcome_before_hello_is_a_protocol_violation() -> None:
    pair = make_pair()
    with pytest.raises(ProtocolError):
        pair.client.receive(pair.server.accept(welcome_body(), T0), T0)


def test_event_before_welcome_is_a_protocol_violation() -> None:
    pair = make_pair()
    pair.client.start(T0)
    with pytest.raises(ProtocolError):
        pair.client.receive(event_frame(1), T0)


def test_client_rejects_a_malformed_server_frame() -> None:
    pair = ready_pair()
    with pytest.raises(ProtocolError) as info:
        pair.client.receive(b'{"v": 1, "type": "event", "seq": "one"}', T0)
    assert info.value.code is ErrorCode.INVALID_FRAME


# --- resync -----------------------------------------------------------------------------------


def test_replay_sync_completes_once_after_server_seq() -> None:
    pair = make_pair(last_seq=0)
    out = pair.handshake(welcome_body(server_seq=3, sync="replay"))
    assert out == [Welcomed(welcome_body(server_seq=3))]
    assert pair.client.phase is ClientPhase.SYNCING
    assert pair.client.sync_progress == (0, 3)

    completions = []
    for seq in (1, 2, 3):
        out = pair.client.receive(event_frame(seq), T0 + seq)
        assert isinstance(out[0], EventReceived)
        assert out[0].event.seq == seq
        assert pair.client.sync_progress == (seq, 3)
        completions += [o for o in out if isinstance(o, SyncComplete)]
        if seq < 3:
            assert completions == []
            assert pair.client.phase is ClientPhase.SYNCING
    assert completions == [SyncComplete(3)]
    assert out[-1] == SyncComplete(3)
    assert pair.client.phase is ClientPhase.READY
    assert pair.client.last_seq == 3

    # live events after the resync: no second SyncComplete
    for seq in (4, 5):
        out = pair.client.receive(event_frame(seq), T0 + seq)
        assert [type(o) for o in out] == [EventReceived]
    assert pair.client.last_seq == 5
    assert pair.client.sync_progress == (3, 3)


def test_replay_from_a_last_seq() -> None:
    pair = make_pair(last_seq=10)
    (received,) = pair.server.receive(pair.client.start(T0), T0)
    assert isinstance(received, HelloReceived)
    assert received.hello.last_seq == 10
    pair.client.receive(pair.server.accept(welcome_body(server_seq=12), T0), T0)
    assert pair.client.sync_progress == (0, 2)
    assert pair.client.receive(event_frame(11), T0) == [EventReceived(decode_event(11))]
    assert pair.client.sync_progress == (1, 2)
    out = pair.client.receive(event_frame(12), T0)
    assert out[-1] == SyncComplete(12)
    assert pair.client.sync_progress == (2, 2)


def decode_event(seq: int) -> Event:
    frame = decode_server_frame(event_frame(seq))
    assert isinstance(frame, Event)
    return frame


def test_nothing_to_replay_completes_with_the_welcome() -> None:
    pair = make_pair(last_seq=7)
    out = pair.handshake(welcome_body(server_seq=7, sync="replay"))
    assert out == [Welcomed(welcome_body(server_seq=7)), SyncComplete(7)]
    assert pair.client.phase is ClientPhase.READY
    assert pair.client.sync_progress == (0, 0)


def test_snapshot_sync_completes_with_the_last_part() -> None:
    pair = make_pair(last_seq=2)
    out = pair.handshake(welcome_body(server_seq=40, sync="snapshot"))
    assert out == [Welcomed(welcome_body(server_seq=40, sync="snapshot"))]
    assert pair.client.phase is ClientPhase.SYNCING

    for part in (0, 1):
        out = pair.client.receive(snapshot_frame(40, part, last=False), T0)
        assert len(out) == 1
        assert isinstance(out[0], SnapshotReceived)
        assert out[0].snapshot.body.part == part
        assert pair.client.phase is ClientPhase.SYNCING
        assert pair.client.last_seq == 2
    out = pair.client.receive(snapshot_frame(40, 2, last=True), T0)
    assert isinstance(out[0], SnapshotReceived)
    assert out[0].snapshot.body.last
    assert out[1:] == [SyncComplete(40)]
    assert pair.client.phase is ClientPhase.READY
    assert pair.client.last_seq == 40
    assert pair.client.sync_progress == (38, 38)

    out = pair.client.receive(event_frame(41), T0)
    assert [type(o) for o in out] == [EventReceived]
    assert pair.client.last_seq == 41


def test_single_part_snapshot() -> None:
    pair = make_pair(last_seq=0)
    pair.handshake(welcome_body(server_seq=5, sync="snapshot"))
    out = pair.client.receive(snapshot_frame(5, 0, last=True), T0)
    assert [type(o) for o in out] == [SnapshotReceived, SyncComplete]
    assert pair.client.phase is ClientPhase.READY


def test_snapshot_outside_a_resync_is_a_protocol_violation() -> None:
    pair = ready_pair()
    with pytest.raises(ProtocolError):
        pair.client.receive(snapshot_frame(1, 0, last=True), T0)


def test_sync_progress_before_welcome() -> None:
    pair = make_pair(last_seq=5)
    assert pair.client.sync_progress == (0, 0)
    pair.client.start(T0)
    assert pair.client.sync_progress == (0, 0)


# --- commands ---------------------------------------------------------------------------------


def test_commands_only_when_ready() -> None:
    pair = make_pair()
    with pytest.raises(RuntimeError):
        pair.client.command(command_body(), T0)  # NEW
    pair.server.receive(pair.client.start(T0), T0)
    with pytest.raises(RuntimeError):
        pair.client.command(command_body(), T0)  # HELLO_SENT
    pair.client.receive(pair.server.accept(welcome_body(server_seq=1), T0), T0)
    assert pair.client.phase is ClientPhase.SYNCING
    with pytest.raises(RuntimeError):
        pair.client.command(command_body(), T0)  # SYNCING
    pair.client.receive(event_frame(1), T0)
    assert pair.client.phase is ClientPhase.READY

    wire = pair.client.command(command_body(), T0 + 1)
    assert decode_client_frame(wire).ts == T0 + 1
    (got,) = pair.server.receive(wire, T0 + 1)
    assert got == CommandReceived(command_body())


def test_commands_in_order_and_results_back() -> None:
    pair = ready_pair()
    for n in (1, 2, 3):
        (got,) = pair.server.receive(pair.client.command(command_body(n), T0), T0)
        assert isinstance(got, CommandReceived)
        assert got.command.client_seq == n
    result = ResultBody(key=command_body(2).key, ok=True, events=[8, 9])
    out = pair.client.receive(encode(Result(body=result)), T0)
    assert out == [ResultReceived(result)]


def test_no_commands_after_close() -> None:
    pair = ready_pair()
    pair.client.receive(encode(Error(body=ErrorInfo(code="token_expired", message="m"))), T0)
    with pytest.raises(RuntimeError):
        pair.client.command(command_body(), T0)


# --- heartbeats -------------------------------------------------------------------------------


def test_first_ping_goes_right_after_the_welcome() -> None:
    """The round trip and the clock offset are known at once, not a heartbeat later."""
    pair = ready_pair()
    assert pair.client.next_tick() < T0
    frames, dead = pair.client.tick(T0)
    assert not dead
    (ping,) = frames
    assert isinstance(decode_client_frame(ping), Ping)
    assert pair.client.next_tick() == T0 + CONFIG.heartbeat_interval


def test_tick_sends_a_ping_every_heartbeat_interval() -> None:
    pair = ready_pair()
    pair.client.tick(T0)  # the first ping, right after the welcome
    interval = CONFIG.heartbeat_interval
    assert interval == 2.0
    assert pair.client.next_tick() == T0 + interval
    assert pair.client.tick(T0 + interval - 0.01) == ([], False)
    frames, dead = pair.client.tick(T0 + interval)
    assert not dead
    (ping,) = frames
    frame = decode_client_frame(ping)
    assert isinstance(frame, Ping)
    assert frame.body.t == T0 + interval
    assert pair.client.tick(T0 + interval + 0.5) == ([], False)
    assert pair.client.next_tick() == T0 + 2 * interval


def test_pong_gives_round_trip_and_clock_offset() -> None:
    pair = ready_pair()
    skew, one_way = 5.0, 0.04
    sent = T0 + 2.0
    (ping,), _ = pair.client.tick(sent)
    (pong,) = pair.server.receive(ping, sent + one_way + skew)  # the server's clock is 5 s ahead
    assert isinstance(pong, bytes)
    frame = decode_server_frame(pong)
    assert isinstance(frame, Pong)
    assert frame.body.t == sent
    (got,) = pair.client.receive(pong, sent + 2 * one_way)
    assert isinstance(got, PongReceived)
    assert got.rtt == pytest.approx(2 * one_way)
    assert got.clock_offset == pytest.approx(skew)
    assert pair.client.rtt == pytest.approx(2 * one_way)
    assert pair.client.clock_offset == pytest.approx(skew)


def test_pong_with_a_server_behind() -> None:
    client = ClientSession(CONFIG, TokenAuth(token="t"), last_seq=0, now=T0)
    server = ServerSession(ServerSessionLimits(), now=T0 - 60)  # its own clock, 3 s behind ours
    client.start(T0)
    (ping,), _ = client.tick(T0 + 2)
    (pong,) = server.receive(ping, T0 + 2 - 3.0)
    (got,) = client.receive(pong, T0 + 2)
    assert got == PongReceived(rtt=0.0, clock_offset=-3.0)


def test_ping_is_answered_before_hello() -> None:
    server = ServerSession(ServerSessionLimits(), now=T0)
    (pong,) = server.receive(encode(Ping()), T0)
    assert isinstance(decode_server_frame(pong), Pong)
    assert server.phase is ServerPhase.AWAITING_HELLO


def test_silence_for_dead_after_declares_the_link_dead() -> None:
    pair = ready_pair()
    assert CONFIG.dead_after == 6.0
    assert pair.client.tick(T0 + 5.99)[1] is False
    frames, dead = pair.client.tick(T0 + 6.0)
    assert (frames, dead) == ([], True)
    assert pair.client.phase is ClientPhase.CLOSED
    assert pair.client.tick(T0 + 7.0) == ([], False)  # said once


def test_any_frame_received_keeps_the_link_alive() -> None:
    pair = ready_pair()
    now = T0
    for _ in range(10):
        now += 5.0
        assert pair.client.tick(now)[1] is False
        pair.client.receive(event_frame(int(now - T0)), now)
    assert pair.client.next_tick() <= now + CONFIG.dead_after


def test_blackholed_link_is_dead_within_ten_seconds() -> None:
    """Pings go out, nothing comes back (no FIN): dead 6 to 10 s after the last frame received."""
    pair = ready_pair()
    last_frame = T0 + 1.0
    pair.client.receive(event_frame(1), last_frame)
    pings = 0
    now = last_frame
    dead_at = None
    while now < last_frame + 30:
        now = round(now + 0.1, 6)
        frames, dead = pair.client.tick(now)
        pings += len(frames)
        if dead:
            dead_at = now
            break
    assert dead_at is not None
    assert CONFIG.dead_after <= dead_at - last_frame <= 10.0
    assert pings >= 2  # the pings were sent, and never answered


def test_next_tick_lets_a_driver_sleep_exactly() -> None:
    pair = ready_pair()
    pair.client.tick(T0)  # the first ping, right after the welcome
    pings = 0
    now = T0
    for _ in range(20):
        now = pair.client.next_tick()
        frames, dead = pair.client.tick(now)
        pings += len(frames)
        if dead:
            break
    assert dead
    assert now == pytest.approx(T0 + CONFIG.dead_after)
    assert pings == 2  # at +2 and +4; at +6 the link is dead


# --- server: authentication order -------------------------------------------------------------


def test_command_before_hello_is_not_authenticated() -> None:
    server = ServerSession(ServerSessionLimits(), now=T0)
    out = server.receive(raw_command(), T0)
    assert len(out) == 1
    result = result_of(out[0])
    assert result.key == command_body().key
    assert result.ok is False
    assert result.error is not None
    assert result.error.code == ErrorCode.NOT_AUTHENTICATED
    assert server.bad_frames == 1


def test_command_while_authenticating_is_not_authenticated() -> None:
    pair = make_pair()
    pair.server.receive(pair.client.start(T0), T0)
    (out,) = pair.server.receive(raw_command(), T0)
    error = result_of(out).error
    assert error is not None
    assert error.code == ErrorCode.NOT_AUTHENTICATED


def test_hello_twice_is_already_authenticated() -> None:
    pair = ready_pair()
    hello = make_pair().client.start(T0)
    out = pair.server.receive(hello, T0)
    assert len(out) == 1
    assert error_of(out[0]).code == ErrorCode.ALREADY_AUTHENTICATED
    assert pair.server.phase is ServerPhase.OPEN
    assert pair.server.bad_frames == 1


def test_hello_twice_while_authenticating() -> None:
    pair = make_pair()
    hello = pair.client.start(T0)
    pair.server.receive(hello, T0)
    (out,) = pair.server.receive(hello, T0)
    assert error_of(out).code == ErrorCode.ALREADY_AUTHENTICATED


@pytest.mark.parametrize("code", [ErrorCode.AUTH_FAILED, ErrorCode.TOKEN_EXPIRED])
def test_rejected_hello_is_fatal_for_the_client(code: ErrorCode) -> None:
    pair = make_pair()
    pair.server.receive(pair.client.start(T0), T0)
    error_frame, close = pair.server.reject(code, "no", T0)
    assert close == CloseConnection(CloseCode.POLICY_VIOLATION, code)
    assert pair.server.phase is ServerPhase.CLOSED
    assert pair.server.receive(raw_command(), T0) == []
    assert isinstance(error_frame, bytes)
    out = pair.client.receive(error_frame, T0)
    assert out == [ServerErrorReceived(ErrorInfo(code=code, message="no"), fatal=True)]
    assert pair.client.phase is ClientPhase.CLOSED
    assert pair.client.tick(T0 + 100) == ([], False)


@pytest.mark.parametrize("code", [ErrorCode.ROLE_NOT_ALLOWED, ErrorCode.UNSUPPORTED_VERSION])
def test_other_fatal_errors(code: ErrorCode) -> None:
    pair = make_pair()
    pair.client.start(T0)
    (out,) = pair.client.receive(encode(Error(body=ErrorInfo(code=code, message="m"))), T0)
    assert isinstance(out, ServerErrorReceived)
    assert out.fatal
    assert pair.client.phase is ClientPhase.CLOSED


@pytest.mark.parametrize("code", [ErrorCode.BAD_FRAME, ErrorCode.RATE_LIMITED, "a_future_code"])
def test_other_errors_are_not_fatal(code: str) -> None:
    pair = ready_pair()
    (out,) = pair.client.receive(encode(Error(body=ErrorInfo(code=code, message="m"))), T0)
    assert out == ServerErrorReceived(ErrorInfo(code=code, message="m"), fatal=False)
    assert pair.client.phase is ClientPhase.READY


# --- server: bad input ------------------------------------------------------------------------


def test_binary_frame_closes_1003() -> None:
    pair = ready_pair()
    out = pair.server.receive(raw_command(), T0, binary=True)
    assert out == [CloseConnection(CloseCode.UNSUPPORTED_DATA, out[0].reason)]
    assert out[0].code == 1003
    assert pair.server.phase is ServerPhase.CLOSED
    assert pair.server.receive(raw_command(), T0) == []


def test_oversize_frame_gets_an_error_then_close_1009() -> None:
    limits = ServerSessionLimits(max_frame_bytes=200)
    pair = ready_pair(limits=limits)
    body = command_body()
    big = encode(Command(body=CommandBody(**{**_fields(body), "kind": "x" * 300})))
    error, close = pair.server.receive(big, T0)
    assert error_of(error).code == ErrorCode.FRAME_TOO_LARGE
    assert isinstance(close, CloseConnection)
    assert close.code == CloseCode.MESSAGE_TOO_BIG == 1009
    assert pair.server.receive(raw_command(), T0) == []


def _fields(body: CommandBody) -> dict[str, Any]:
    return {name: getattr(body, name) for name in body.__struct_fields__}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"not json", ErrorCode.BAD_FRAME),
        (b'{"v": 1, "type": "nope"}', ErrorCode.UNKNOWN_TYPE),
        (b'{"v": 9, "type": "ping"}', ErrorCode.UNSUPPORTED_VERSION),
        (b'{"v": 1, "type": "command", "body": {}}', ErrorCode.INVALID_FRAME),
    ],
)
def test_bad_frame_gets_a_typed_error(data: bytes, code: ErrorCode) -> None:
    pair = ready_pair()
    (out,) = pair.server.receive(data, T0)
    assert error_of(out).code == code
    assert pair.server.phase is ServerPhase.OPEN


def test_too_many_bad_frames_close_1008() -> None:
    limits = ServerSessionLimits()
    assert limits.max_bad_frames == 20
    pair = ready_pair(limits=limits)
    for n in range(1, limits.max_bad_frames):
        out = pair.server.receive(b"garbage", T0 + n)
        assert len(out) == 1
        assert error_of(out[0]).code == ErrorCode.BAD_FRAME
    # good frames in between do not reset the count
    assert pair.server.receive(raw_command(), T0 + 30) == [CommandReceived(command_body())]
    error, close = pair.server.receive(b"garbage", T0 + 31)
    assert error_of(error).code == ErrorCode.BAD_FRAME
    assert close == CloseConnection(CloseCode.POLICY_VIOLATION, close.reason)
    assert pair.server.phase is ServerPhase.CLOSED


def test_commands_before_hello_count_as_bad_frames() -> None:
    server = ServerSession(ServerSessionLimits(max_bad_frames=3), now=T0)
    for _ in range(2):
        assert len(server.receive(raw_command(), T0)) == 1
    out = server.receive(raw_command(), T0)
    assert result_of(out[0]).error is not None
    assert out[1] == CloseConnection(CloseCode.POLICY_VIOLATION, out[1].reason)


# --- server: rate limit -----------------------------------------------------------------------


def test_default_rate_limit() -> None:
    limits = ServerSessionLimits()
    assert (limits.frames_per_second, limits.burst) == (5000.0, 5000)


def open_server(limits: ServerSessionLimits, now: float = T0) -> ServerSession:
    """A server session past its handshake; the hello spent one token of the bucket."""
    server = ServerSession(limits, now=now)
    (hello,) = server.receive(ClientSession(CONFIG, TokenAuth(token="t"), 0, now).start(now), now)
    assert isinstance(hello, HelloReceived)
    server.accept(welcome_body(), now)
    return server


def test_burst_then_rate_limited_command_and_close_1008() -> None:
    server = open_server(ServerSessionLimits(frames_per_second=10.0, burst=6))
    for n in range(1, 6):
        assert server.receive(raw_command(n), T0) == [CommandReceived(command_body(n))]
    refusal, close = server.receive(raw_command(6), T0)
    result = result_of(refusal)
    assert result.key == command_body(6).key
    assert result.ok is False
    assert result.error is not None
    assert result.error.code == ErrorCode.RATE_LIMITED
    assert close == CloseConnection(CloseCode.POLICY_VIOLATION, close.reason)
    assert server.phase is ServerPhase.CLOSED
    assert server.receive(raw_command(7), T0 + 60) == []


def test_hello_spends_a_token() -> None:
    server = ServerSession(ServerSessionLimits(frames_per_second=1.0, burst=1), now=T0)
    hello = ClientSession(CONFIG, TokenAuth(token="t"), 0, T0).start(T0)
    assert isinstance(server.receive(hello, T0)[0], HelloReceived)
    server.accept(welcome_body(), T0)
    error = result_of(server.receive(raw_command(), T0)[0]).error
    assert error is not None
    assert error.code == ErrorCode.RATE_LIMITED


def test_rate_limited_ping_gets_an_error_frame() -> None:
    server = ServerSession(ServerSessionLimits(frames_per_second=1.0, burst=1), now=T0)
    (pong,) = server.receive(encode(Ping()), T0)
    assert isinstance(decode_server_frame(pong), Pong)
    error, close = server.receive(encode(Ping()), T0)
    assert error_of(error).code == ErrorCode.RATE_LIMITED
    assert isinstance(close, CloseConnection)
    assert close.code == CloseCode.POLICY_VIOLATION


def test_pings_and_commands_share_the_bucket() -> None:
    server = open_server(ServerSessionLimits(frames_per_second=1.0, burst=3))
    assert isinstance(decode_server_frame(server.receive(encode(Ping()), T0)[0]), Pong)
    assert isinstance(server.receive(raw_command(1), T0)[0], CommandReceived)
    refusal, _close = server.receive(raw_command(2), T0)
    assert result_of(refusal).error == ErrorInfo(code="rate_limited", message="rate_limited")


def test_tokens_refill_with_time_up_to_the_burst() -> None:
    server = open_server(ServerSessionLimits(frames_per_second=10.0, burst=5))
    now = T0 + 1.0  # the hello's token is back
    for n in range(5):
        assert isinstance(server.receive(raw_command(n), now)[0], CommandReceived)
    now += 0.301  # three tokens back (and a little, for float rounding)
    for n in range(3):
        assert isinstance(server.receive(raw_command(n), now)[0], CommandReceived)
    # a steady 10 frames/s is sustainable forever
    for _ in range(50):
        now += 0.1
        assert isinstance(server.receive(raw_command(), now)[0], CommandReceived)
    # an hour of silence refills only up to the burst
    now += 3600
    for n in range(5):
        assert isinstance(server.receive(raw_command(n), now)[0], CommandReceived)
    out = server.receive(raw_command(), now)
    assert result_of(out[0]).error is not None
    assert isinstance(out[1], CloseConnection)


def test_bad_frames_do_not_spend_tokens() -> None:
    server = open_server(ServerSessionLimits(frames_per_second=1.0, burst=2))
    for _ in range(5):
        assert error_of(server.receive(b"{", T0)[0]).code == ErrorCode.BAD_FRAME
    assert server.receive(raw_command(), T0) == [CommandReceived(command_body())]


def test_a_clock_stepping_back_does_not_trip_the_rate_limit() -> None:
    server = open_server(ServerSessionLimits(), now=T0)
    assert server.receive(raw_command(1), T0 + 10) == [CommandReceived(command_body(1))]
    # the server's wall clock is stepped back by 2 s
    assert server.receive(raw_command(2), T0 + 8) == [CommandReceived(command_body(2))]


@given(
    last_seq=st.integers(min_value=0, max_value=40),
    behind=st.integers(min_value=0, max_value=40),
    live=st.integers(min_value=0, max_value=5),
)
def test_replay_completes_exactly_once_at_server_seq(last_seq: int, behind: int, live: int) -> None:
    pair = make_pair(last_seq=last_seq)
    server_seq = last_seq + behind
    outputs = [(None, o) for o in pair.handshake(welcome_body(server_seq=server_seq))]
    for seq in range(last_seq + 1, server_seq + live + 1):
        outputs += [(seq, o) for o in pair.client.receive(event_frame(seq), T0)]
    done = [(seq, o) for seq, o in outputs if isinstance(o, SyncComplete)]
    assert done == [(server_seq if behind else None, SyncComplete(server_seq))]
    assert pair.client.phase is ClientPhase.READY
    assert pair.client.sync_progress == (behind, behind)
