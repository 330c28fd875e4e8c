"""Sans-I/O session state machines for both ends of a protocol v1 connection.

Neither class touches a socket, awaits, or reads a clock: bytes go in with ``now`` (seconds, any
monotonic or wall clock the caller chooses, used consistently), frames to send and things that
happened come out. The drivers are `desktop.link` (client) and `server.app` (server); the tests
drive the two machines back to back in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

from desktop.protocol.codec import (
    DEFAULT_MAX_FRAME_BYTES,
    decode_client_frame,
    decode_server_frame,
    encode,
)
from desktop.protocol.errors import CloseCode, ErrorCode, ProtocolError
from desktop.protocol.messages import (
    MAX_FIXES_PER_FRAME,
    MAX_KEYUPS_PER_FRAME,
    ActivityBody,
    ActivityReport,
    Command,
    CommandBody,
    Error,
    ErrorInfo,
    Event,
    Hello,
    HelloBody,
    KeyUp,
    KeyUpBody,
    KeyUpReport,
    KeyUps,
    Limits,
    Logout,
    LogoutBody,
    PasswordAuth,
    Ping,
    PingBody,
    Pong,
    PongBody,
    PositionBody,
    PositionFix,
    PositionReport,
    Positions,
    Presence,
    PresenceBody,
    Report,
    ReportBody,
    ReportRequest,
    ReportRequestBody,
    Result,
    ResultBody,
    Role,
    Snapshot,
    TokenAuth,
    Welcome,
    WelcomeBody,
)

__all__ = [
    "ActivityReported",
    "CaughtUp",
    "ClientConfig",
    "ClientPhase",
    "ClientSession",
    "CloseConnection",
    "CommandReceived",
    "EventReceived",
    "HelloReceived",
    "KeyUpsReceived",
    "KeyUpsReported",
    "LogoutRequested",
    "PongReceived",
    "PositionsReceived",
    "PositionsReported",
    "PresenceReceived",
    "ReportReceived",
    "ReportRequested",
    "ResultReceived",
    "ServerErrorReceived",
    "ServerSession",
    "ServerSessionLimits",
    "SnapshotReceived",
    "SyncComplete",
    "Welcomed",
]


# --- what the client machine reports --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Welcomed:
    """The server accepted the hello; the resync stream follows."""

    welcome: WelcomeBody


@dataclass(frozen=True, slots=True)
class EventReceived:
    event: Event


@dataclass(frozen=True, slots=True)
class SnapshotReceived:
    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class SyncComplete:
    """The client now holds every event up to ``server_seq`` of the welcome: replay the outbox."""

    server_seq: int


@dataclass(frozen=True, slots=True)
class ResultReceived:
    result: ResultBody


@dataclass(frozen=True, slots=True)
class ServerErrorReceived:
    """A protocol-level error from the server; ``fatal`` ones (auth) mean: do not just retry."""

    error: ErrorInfo
    fatal: bool


@dataclass(frozen=True, slots=True)
class PongReceived:
    """Round trip in seconds and the server clock minus ours (positive: server is ahead)."""

    rtt: float
    clock_offset: float


@dataclass(frozen=True, slots=True)
class PositionsReceived:
    """Latest AVL fixes from the server (a ``positions`` frame): keep each only if it is newer
    than the fix held for its unit (`desktop.domain.positions.is_newer`)."""

    fixes: list[PositionFix]


@dataclass(frozen=True, slots=True)
class KeyUpsReceived:
    """Latest radio key-ups from the server (a ``keyups`` frame): keep each only if it is newer
    than the key-up held for its channel (`desktop.domain.keyups.is_newer_keyup`)."""

    keyups: list[KeyUp]


_Item = TypeVar("_Item")


@dataclass(frozen=True, slots=True)
class PresenceReceived:
    """The floor's positions changed (a ``presence`` frame, to supervisors and admins)."""

    presence: PresenceBody


@dataclass(frozen=True, slots=True)
class ReportReceived:
    """The answer to the ``report_request`` whose frame id was ``request_id``."""

    request_id: str | None
    report: ReportBody


def _parts(items: list[_Item], step: int) -> list[list[_Item]]:
    """``items`` in consecutive slices of at most ``step``."""
    return [items[i : i + step] for i in range(0, len(items), step)]


ClientOutput = (
    Welcomed
    | EventReceived
    | SnapshotReceived
    | SyncComplete
    | ResultReceived
    | ServerErrorReceived
    | PongReceived
    | PositionsReceived
    | KeyUpsReceived
    | PresenceReceived
    | ReportReceived
)

_FATAL_CODES = frozenset(
    {
        ErrorCode.AUTH_FAILED,
        ErrorCode.TOKEN_EXPIRED,
        ErrorCode.ROLE_NOT_ALLOWED,
        ErrorCode.UNSUPPORTED_VERSION,
    }
)


class ClientPhase(StrEnum):
    NEW = "new"  # nothing sent yet
    HELLO_SENT = "hello_sent"
    SYNCING = "syncing"  # welcome received, resync stream arriving
    READY = "ready"  # resync complete: outbox replay, then live
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """How a client presents itself and how it watches the connection.

    A ping goes out every ``heartbeat_interval`` s; the connection is declared dead when nothing
    at all has arrived for ``dead_after`` s (a blackholed link sends no FIN).
    """

    client_id: str
    workstation: str
    role_requested: Role | None = None
    heartbeat_interval: float = 2.0
    dead_after: float = 6.0
    max_frame_bytes: int = 16 * 1024 * 1024


class ClientSession:
    """The client's side of one connection: hello, resync, commands, heartbeats."""

    def __init__(
        self, config: ClientConfig, auth: PasswordAuth | TokenAuth, last_seq: int, now: float
    ) -> None:
        self.config = config
        self.phase = ClientPhase.NEW
        self.welcome: WelcomeBody | None = None
        self.sync_from = last_seq
        self.last_seq = last_seq
        self.rtt: float | None = None
        self.clock_offset: float | None = None
        self._auth = auth
        self._last_received = now
        self._last_ping = now

    # --- output ----------------------------------------------------------------------------

    def start(self, now: float) -> bytes:
        """The hello frame; send it first."""
        self.phase = ClientPhase.HELLO_SENT
        self._last_received = self._last_ping = now
        body = HelloBody(
            auth=self._auth,
            client_id=self.config.client_id,
            workstation=self.config.workstation,
            last_seq=self.last_seq,
            role_requested=self.config.role_requested,
        )
        return encode(Hello(body=body, ts=now))

    def command(self, body: CommandBody, now: float) -> bytes:
        """A command frame. Only valid once the session is READY."""
        if self.phase is not ClientPhase.READY:
            raise RuntimeError(f"cannot send commands while {self.phase}")
        return encode(Command(body=body, ts=now))

    def positions(self, fixes: list[PositionFix], now: float) -> list[bytes]:
        """``position`` frames reporting ``fixes``, at most `MAX_FIXES_PER_FRAME` in each. Only
        valid once the session is READY (an AVL gateway reports live, never from a queue)."""
        self._ready_to_report("positions")
        return [
            encode(PositionReport(body=PositionBody(fixes=part), ts=now))
            for part in _parts(fixes, MAX_FIXES_PER_FRAME)
        ]

    def keyups(self, keyups: list[KeyUp], now: float) -> list[bytes]:
        """``keyup`` frames reporting ``keyups``, at most `MAX_KEYUPS_PER_FRAME` in each. Only
        valid once the session is READY (a radio gateway reports live, never from a queue)."""
        self._ready_to_report("key-ups")
        return [
            encode(KeyUpReport(body=KeyUpBody(keyups=part), ts=now))
            for part in _parts(keyups, MAX_KEYUPS_PER_FRAME)
        ]

    def activity(self, activity: ActivityBody, now: float) -> bytes:
        """The ``activity`` frame saying what this position has open. Only valid once READY."""
        self._ready_to_report("activity")
        return encode(ActivityReport(body=activity, ts=now))

    def report_request(self, request: ReportRequestBody, request_id: str, now: float) -> bytes:
        """The ``report_request`` frame ``request_id``. Only valid once READY."""
        self._ready_to_report("a report request")
        return encode(ReportRequest(body=request, id=request_id, ts=now))

    def logout(self, refresh_token: str | None, now: float) -> bytes:
        """The ``logout`` frame asking the server to delete this session's tokens and
        ``refresh_token``. Only valid once welcomed (the server answers by closing 1000)."""
        if self.phase not in (ClientPhase.SYNCING, ClientPhase.READY):
            raise RuntimeError(f"cannot log out while {self.phase}")
        return encode(Logout(body=LogoutBody(refresh_token=refresh_token), ts=now))

    def _ready_to_report(self, what: str) -> None:
        if self.phase is not ClientPhase.READY:
            raise RuntimeError(f"cannot report {what} while {self.phase}")

    def tick(self, now: float, queued: int | None = None) -> tuple[list[bytes], bool]:
        """Frames due (heartbeat pings, saying how many commands are ``queued``
        unacknowledged) and whether the connection is to be declared dead."""
        if self.phase is ClientPhase.CLOSED:
            return [], False
        if now - self._last_received >= self.config.dead_after:
            self.phase = ClientPhase.CLOSED
            return [], True
        if now - self._last_ping >= self.config.heartbeat_interval:
            self._last_ping = now
            return [encode(Ping(body=PingBody(t=now, queued=queued), ts=now))], False
        return [], False

    def next_tick(self) -> float:
        """The time by which `tick` must be called again."""
        return min(
            self._last_ping + self.config.heartbeat_interval,
            self._last_received + self.config.dead_after,
        )

    # --- input -----------------------------------------------------------------------------

    def receive(self, data: str | bytes, now: float) -> list[ClientOutput]:
        """Digest one frame from the server. Raises `ProtocolError` if the server broke protocol."""
        self._last_received = now
        frame = decode_server_frame(data, self.config.max_frame_bytes)
        if isinstance(frame, Event):
            return self._on_event(frame)
        if isinstance(frame, Result):
            return [ResultReceived(frame.body)]
        if isinstance(frame, Pong):
            rtt = max(0.0, now - frame.body.t)
            self.rtt = rtt
            self.clock_offset = frame.body.server_time - (frame.body.t + rtt / 2)
            return [PongReceived(rtt, self.clock_offset)]
        if isinstance(frame, Welcome):
            return self._on_welcome(frame.body)
        if isinstance(frame, Snapshot):
            return self._on_snapshot(frame)
        if isinstance(frame, Positions):
            if self.phase not in (ClientPhase.SYNCING, ClientPhase.READY):
                raise ProtocolError(ErrorCode.INVALID_FRAME, "positions before welcome")
            return [PositionsReceived(frame.body.fixes)]
        if isinstance(frame, KeyUps):
            if self.phase not in (ClientPhase.SYNCING, ClientPhase.READY):
                raise ProtocolError(ErrorCode.INVALID_FRAME, "key-ups before welcome")
            return [KeyUpsReceived(frame.body.keyups)]
        if isinstance(frame, Presence):
            if self.phase not in (ClientPhase.SYNCING, ClientPhase.READY):
                raise ProtocolError(ErrorCode.INVALID_FRAME, "presence before welcome")
            return [PresenceReceived(frame.body)]
        if isinstance(frame, Report):
            return [ReportReceived(frame.id, frame.body)]
        fatal = frame.body.code in _FATAL_CODES
        if fatal:
            self.phase = ClientPhase.CLOSED
        return [ServerErrorReceived(frame.body, fatal)]

    def _on_welcome(self, welcome: WelcomeBody) -> list[ClientOutput]:
        if self.phase is not ClientPhase.HELLO_SENT:
            raise ProtocolError(ErrorCode.INVALID_FRAME, "welcome outside of a handshake")
        self.welcome = welcome
        self.phase = ClientPhase.SYNCING
        self._last_ping = float("-inf")  # measure round trip and clock offset at once
        out: list[ClientOutput] = [Welcomed(welcome)]
        if welcome.sync == "replay" and self.last_seq >= welcome.server_seq:
            self.phase = ClientPhase.READY
            out.append(SyncComplete(welcome.server_seq))
        return out

    def _on_event(self, event: Event) -> list[ClientOutput]:
        if self.phase not in (ClientPhase.SYNCING, ClientPhase.READY):
            raise ProtocolError(ErrorCode.INVALID_FRAME, "event before welcome")
        self.last_seq = max(self.last_seq, event.seq)
        out: list[ClientOutput] = [EventReceived(event)]
        welcome = self.welcome
        if (
            self.phase is ClientPhase.SYNCING
            and welcome is not None
            and welcome.sync == "replay"
            and event.seq >= welcome.server_seq
        ):
            self.phase = ClientPhase.READY
            out.append(SyncComplete(welcome.server_seq))
        return out

    def _on_snapshot(self, snapshot: Snapshot) -> list[ClientOutput]:
        if self.phase is not ClientPhase.SYNCING:
            raise ProtocolError(ErrorCode.INVALID_FRAME, "snapshot outside of a resync")
        out: list[ClientOutput] = [SnapshotReceived(snapshot)]
        if snapshot.body.last:
            self.last_seq = snapshot.seq
            self.phase = ClientPhase.READY
            out.append(SyncComplete(snapshot.seq))
        return out

    @property
    def sync_progress(self) -> tuple[int, int]:
        """(events received, events expected) of the current resync."""
        if self.welcome is None:
            return (0, 0)
        total = max(0, self.welcome.server_seq - self.sync_from)
        return (min(total, max(0, self.last_seq - self.sync_from)), total)


# --- the server machine -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HelloReceived:
    hello: HelloBody


@dataclass(frozen=True, slots=True)
class CommandReceived:
    command: CommandBody


@dataclass(frozen=True, slots=True)
class PositionsReported:
    """A signed-in client reported AVL fixes (at most `MAX_FIXES_PER_FRAME`). The application
    checks the connection's role (`desktop.domain.roles.may_send`) and each fix."""

    fixes: list[PositionFix]


@dataclass(frozen=True, slots=True)
class KeyUpsReported:
    """A signed-in client reported radio key-ups (at most `MAX_KEYUPS_PER_FRAME`). The
    application checks the connection's role (`desktop.domain.roles.may_send`) and each one."""

    keyups: list[KeyUp]


@dataclass(frozen=True, slots=True)
class ActivityReported:
    """A signed-in client said what it has open. The application checks the connection's role
    (`desktop.domain.roles.is_position`) and the activity (`desktop.domain.presence`)."""

    activity: ActivityBody


@dataclass(frozen=True, slots=True)
class ReportRequested:
    """A signed-in client asked for a shift report, to be answered with frame id
    ``request_id``. The application checks the role (`desktop.domain.roles.may_watch_floor`)."""

    request_id: str | None
    request: ReportRequestBody


@dataclass(frozen=True, slots=True)
class LogoutRequested:
    """The signed-in client signs out: delete its session's tokens and ``refresh_token``, then
    close with 1000. The session takes no further frame."""

    refresh_token: str | None


@dataclass(frozen=True, slots=True)
class CloseConnection:
    code: CloseCode
    reason: str


@dataclass(frozen=True, slots=True)
class CaughtUp:
    """The signed-in client said, in a ping, that it holds no unacknowledged command: nothing it
    did before ``at`` can still be on its way (the bound of `desktop.domain.action_time`)."""

    at: float


@dataclass(frozen=True, slots=True)
class ServerSessionLimits:
    """Per-connection limits. Every frame spends from one token bucket: a command, a ping or a
    hello one token, a ``position`` frame one per fix it carries (at least one)."""

    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES
    frames_per_second: float = 5000.0
    burst: int = 5000
    max_bad_frames: int = 20

    def advertised(self) -> Limits:
        return Limits(
            max_frame_bytes=self.max_frame_bytes,
            commands_per_second=self.frames_per_second,
            command_burst=self.burst,
        )


ServerOutput = (
    HelloReceived
    | CommandReceived
    | PositionsReported
    | KeyUpsReported
    | ActivityReported
    | ReportRequested
    | LogoutRequested
    | CloseConnection
    | CaughtUp
    | bytes
)


@dataclass(slots=True)
class _TokenBucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def take(self, now: float, cost: float = 1.0) -> bool:
        elapsed = max(0.0, now - self.stamp)  # a wall clock may step back; never drain on that
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.stamp = now
        if self.tokens >= cost:
            self.tokens -= cost
            return True
        return False


class ServerPhase(StrEnum):
    AWAITING_HELLO = "awaiting_hello"
    AUTHENTICATING = "authenticating"
    OPEN = "open"
    CLOSED = "closed"


@dataclass
class ServerSession:
    """The server's side of one connection.

    `receive` returns, in order: frames to send back (``bytes``), a `HelloReceived` for the
    application to authenticate (answer with `accept` or `reject`), `CommandReceived` for the
    command pipeline, `PositionsReported` for the position book, `LogoutRequested` (after
    which nothing else is taken), or `CloseConnection` after which nothing else is processed.
    A ``position`` frame before the welcome is refused ``not_authenticated``, one with more
    than `MAX_FIXES_PER_FRAME` fixes ``invalid_frame`` (both count as invalid frames); so is a
    ``logout`` before the welcome."""

    limits: ServerSessionLimits
    now: float
    phase: ServerPhase = ServerPhase.AWAITING_HELLO
    bad_frames: int = 0
    _bucket: _TokenBucket = field(init=False)

    def __post_init__(self) -> None:
        self._bucket = _TokenBucket(
            self.limits.frames_per_second, self.limits.burst, self.limits.burst, self.now
        )

    def receive(self, data: str | bytes, now: float, *, binary: bool = False) -> list[ServerOutput]:
        """Digest one frame; ``binary`` says it arrived as a websocket binary frame."""
        if self.phase is ServerPhase.CLOSED:
            return []
        if binary:
            return self._close(CloseCode.UNSUPPORTED_DATA, "protocol v1 uses text frames only")
        try:
            frame = decode_client_frame(data, self.limits.max_frame_bytes)
        except ProtocolError as exc:
            if exc.code is ErrorCode.FRAME_TOO_LARGE:
                too_big = self._close(CloseCode.MESSAGE_TOO_BIG, "frame too large")
                return [self._error(exc.code, exc.message, now), *too_big]
            return self._bad_frame(exc.code, exc.message, now)
        cost = 1
        if isinstance(frame, PositionReport):
            cost = len(frame.body.fixes)
            if cost > MAX_FIXES_PER_FRAME:
                message = f"{cost} fixes in one frame; at most {MAX_FIXES_PER_FRAME}"
                return self._bad_frame(ErrorCode.INVALID_FRAME, message, now)
        if isinstance(frame, KeyUpReport):
            cost = len(frame.body.keyups)
            if cost > MAX_KEYUPS_PER_FRAME:
                message = f"{cost} key-ups in one frame; at most {MAX_KEYUPS_PER_FRAME}"
                return self._bad_frame(ErrorCode.INVALID_FRAME, message, now)
        if not self._bucket.take(now, max(1, cost)):
            refusal = self._error(ErrorCode.RATE_LIMITED, "too many frames; slow down", now)
            if isinstance(frame, Command):
                result = _refused(frame.body.key, ErrorCode.RATE_LIMITED)
                refusal = encode(Result(body=result, ts=now))
            return [refusal, *self._close(CloseCode.POLICY_VIOLATION, "rate limit exceeded")]
        if isinstance(frame, Ping):
            pong = encode(Pong(body=PongBody(t=frame.body.t, server_time=now), ts=now))
            if frame.body.queued == 0 and self.phase is ServerPhase.OPEN:
                return [pong, CaughtUp(now)]
            return [pong]
        if isinstance(frame, Hello):
            if self.phase is not ServerPhase.AWAITING_HELLO:
                return self._bad_frame(ErrorCode.ALREADY_AUTHENTICATED, "hello sent twice", now)
            self.phase = ServerPhase.AUTHENTICATING
            return [HelloReceived(frame.body)]
        if isinstance(frame, PositionReport):
            return self._on_positions(frame, now)
        if isinstance(frame, KeyUpReport):
            if self.phase is not ServerPhase.OPEN:
                return self._bad_frame(ErrorCode.NOT_AUTHENTICATED, "send hello first", now)
            return [KeyUpsReported(frame.body.keyups)]
        if isinstance(frame, Logout):
            if self.phase is not ServerPhase.OPEN:
                return self._bad_frame(ErrorCode.NOT_AUTHENTICATED, "send hello first", now)
            self.phase = ServerPhase.CLOSED  # nothing more is taken: the server closes 1000
            return [LogoutRequested(frame.body.refresh_token)]
        if isinstance(frame, ActivityReport | ReportRequest):
            if self.phase is not ServerPhase.OPEN:
                return self._bad_frame(ErrorCode.NOT_AUTHENTICATED, "send hello first", now)
            if isinstance(frame, ActivityReport):
                return [ActivityReported(frame.body)]
            return [ReportRequested(frame.id, frame.body)]
        if self.phase is not ServerPhase.OPEN:
            result = _refused(frame.body.key, ErrorCode.NOT_AUTHENTICATED, "send hello first")
            self.bad_frames += 1
            return [encode(Result(body=result, ts=now)), *self._budget_check()]
        return [CommandReceived(frame.body)]

    def _on_positions(self, frame: PositionReport, now: float) -> list[ServerOutput]:
        if self.phase is not ServerPhase.OPEN:
            return self._bad_frame(ErrorCode.NOT_AUTHENTICATED, "send hello first", now)
        return [PositionsReported(frame.body.fixes)]

    def accept(self, welcome: WelcomeBody, now: float) -> bytes:
        """The welcome frame for an authenticated hello; the session is then open for commands."""
        self.phase = ServerPhase.OPEN
        return encode(Welcome(body=welcome, ts=now))

    def reject(self, code: ErrorCode, message: str, now: float) -> list[ServerOutput]:
        """Refuse a hello: an error frame, then close 1008."""
        return [self._error(code, message, now), *self._close(CloseCode.POLICY_VIOLATION, code)]

    def _bad_frame(self, code: ErrorCode, message: str, now: float) -> list[ServerOutput]:
        self.bad_frames += 1
        return [self._error(code, message, now), *self._budget_check()]

    def _budget_check(self) -> list[ServerOutput]:
        if self.bad_frames >= self.limits.max_bad_frames:
            return self._close(CloseCode.POLICY_VIOLATION, "too many invalid frames")
        return []

    def _close(self, code: CloseCode, reason: str) -> list[ServerOutput]:
        self.phase = ServerPhase.CLOSED
        return [CloseConnection(code, reason)]

    @staticmethod
    def _error(code: ErrorCode, message: str, now: float) -> bytes:
        return encode(Error(body=ErrorInfo(code=code, message=message), ts=now))


def _refused(key: str, code: ErrorCode, message: str = "") -> ResultBody:
    return ResultBody(key=key, ok=False, error=ErrorInfo(code=code, message=message or code))
