"""Wire protocol v1: every frame that crosses the websocket, as msgspec Structs.

A frame is a JSON text message with the envelope
``{"v": 1, "type": ..., "id": ..., "seq": ..., "ts": ..., "body": {...}}``.
``type`` selects the frame class (a msgspec tagged union); ``body`` holds the
frame's typed payload. Command arguments and event data stay raw JSON
(``msgspec.Raw``) in the envelope and are decoded by ``kind`` in a second step
(`desktop.protocol.codec`), so an unknown kind yields a precise error rather
than a failed frame.

docs/protocol.md describes every frame; keep the two in step.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "MAX_DRAFTS",
    "MAX_DRAFT_CHARS",
    "MAX_FIXES_PER_FRAME",
    "MAX_KEYUPS_PER_FRAME",
    "PROTOCOL_VERSION",
    "ActivityBody",
    "ActivityReport",
    "ClientFrame",
    "Command",
    "CommandBody",
    "Error",
    "ErrorInfo",
    "Event",
    "EventBody",
    "Frame",
    "Hello",
    "HelloBody",
    "KeyUp",
    "KeyUpBody",
    "KeyUpReport",
    "KeyUps",
    "KeyUpsBody",
    "Limits",
    "Logout",
    "LogoutBody",
    "PasswordAuth",
    "Ping",
    "PingBody",
    "Pong",
    "PongBody",
    "PositionBody",
    "PositionFix",
    "PositionPresence",
    "PositionReport",
    "Positions",
    "PositionsBody",
    "Presence",
    "PresenceBody",
    "Report",
    "ReportBody",
    "ReportRequest",
    "ReportRequestBody",
    "Result",
    "ResultBody",
    "Role",
    "ServerFrame",
    "Snapshot",
    "SnapshotBody",
    "TokenAuth",
    "Welcome",
    "WelcomeBody",
]

PROTOCOL_VERSION = 1
#: Most fixes one ``position`` frame may carry (more: the frame is refused ``invalid_frame``).
MAX_FIXES_PER_FRAME = 500
#: Most key-ups one ``keyup`` frame may carry.
MAX_KEYUPS_PER_FRAME = 200
#: Most drafts (fields being typed into) one ``activity`` frame may carry.
MAX_DRAFTS = 12
#: Most characters of one draft's text.
MAX_DRAFT_CHARS = 1000

Role = Literal["calltaker", "dispatcher", "supervisor", "admin", "telephony", "avl", "radio"]


class Frame(msgspec.Struct, tag_field="type", kw_only=True):
    """The envelope shared by every frame.

    ``v`` is the protocol version, ``id`` an optional correlation id chosen by
    the sender, ``ts`` the sender's wall clock (seconds since the epoch).
    """

    v: int = PROTOCOL_VERSION
    id: str | None = None
    ts: float | None = None


# --- authentication -------------------------------------------------------------------------


class PasswordAuth(msgspec.Struct, tag_field="method", tag="password", forbid_unknown_fields=True):
    """Sign in with a user name and password (first login on a workstation)."""

    username: str
    password: str


class TokenAuth(msgspec.Struct, tag_field="method", tag="token", forbid_unknown_fields=True):
    """Sign in with a session token or a refresh token issued by an earlier welcome."""

    token: str


# --- client -> server -----------------------------------------------------------------------


class HelloBody(msgspec.Struct, forbid_unknown_fields=True):
    """Opens a session. ``last_seq`` is the newest event seq the client holds (0: none)."""

    auth: PasswordAuth | TokenAuth
    client_id: str
    workstation: str
    last_seq: int = 0
    role_requested: Role | None = None


class Hello(Frame, tag="hello"):
    body: HelloBody


class CommandBody(msgspec.Struct, forbid_unknown_fields=True):
    """One dispatcher action. ``key`` is a UUID idempotency key, ``client_seq`` the outbox order,
    ``issued_at`` when the dispatcher acted, on the server's clock as the workstation estimates
    it (`desktop.domain.action_time.corrected_now`).

    ``args`` are decoded by ``kind`` into its Struct (`desktop.domain.catalog.COMMANDS`).
    """

    key: str
    client_seq: int
    kind: str
    args: msgspec.Raw
    issued_at: float


class Command(Frame, tag="command"):
    body: CommandBody


class PingBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """``t`` is the client's clock when sending; the pong echoes it to measure round trip.
    ``queued``: how many commands the client holds unacknowledged (None: not said); 0 confirms
    that nothing it did before now is still to come (bounds action times)."""

    t: float = 0.0
    queued: int | None = None


class Ping(Frame, tag="ping"):
    body: PingBody = msgspec.field(default_factory=PingBody)


class PositionFix(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Where unit ``unit_id`` was at ``at`` (seconds since the epoch, on the server's clock as
    the reporter estimates it): ``lat``/``lon`` in degrees (WGS 84), and when the vehicle knows
    them its ``speed_mps`` (metres per second) and ``heading_deg`` (degrees clockwise from
    true north, 0 <= h < 360). The rules a fix must meet are `desktop.domain.positions`."""

    unit_id: str
    lat: float
    lon: float
    at: float
    speed_mps: float | None = None
    heading_deg: float | None = None


class PositionBody(msgspec.Struct, forbid_unknown_fields=True):
    """AVL fixes reported by a gateway (role ``avl`` or ``admin``), at most
    `MAX_FIXES_PER_FRAME` of them; any order, any units."""

    fixes: list[PositionFix]


class PositionReport(Frame, tag="position"):
    """Client -> server: AVL fixes. No ``seq``, no result: positions are a latest-value stream
    beside the event log (docs/protocol.md, "Positions (AVL)")."""

    body: PositionBody


class KeyUp(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Radio ``radio_id`` keyed up (``talking``) or let go of its transmit button on
    ``channel`` at ``at`` (seconds since the epoch, the server's clock as the gateway estimates
    it). The rules a key-up must meet are `desktop.domain.keyups`."""

    channel: str
    radio_id: str
    at: float
    talking: bool = True


class KeyUpBody(msgspec.Struct, forbid_unknown_fields=True):
    """Key-ups reported by the radio gateway (role ``radio`` or ``admin``), at most
    `MAX_KEYUPS_PER_FRAME`, oldest first."""

    keyups: list[KeyUp]


class KeyUpReport(Frame, tag="keyup"):
    """Client -> server: radio key-ups (PTT ids). No ``seq``, no result: a latest-value stream
    beside the event log, like positions (docs/protocol.md, "Radio key-ups")."""

    body: KeyUpBody


class ActivityBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """What a position has in front of it now: the ``panel`` with the keyboard, the ``call_id``
    and ``incident_id`` it has open, what it is typing (``drafts``: field -> text, at most
    `MAX_DRAFTS` of at most `MAX_DRAFT_CHARS` characters; field names in
    `desktop.domain.presence.DRAFT_FIELDS`) and when its dispatcher last pressed a key or
    clicked (``input_at``, the server's clock as the workstation estimates it). Each frame
    replaces the one before: it is the whole picture, not a change."""

    panel: str = ""
    call_id: str | None = None
    incident_id: str | None = None
    drafts: dict[str, str] = msgspec.field(default_factory=dict)
    input_at: float | None = None


class ActivityReport(Frame, tag="activity"):
    """Client -> server: what this position has open and is typing (docs/protocol.md,
    "Positions and shadowing"). No ``seq``, no result, never stored: a latest value."""

    body: ActivityBody


class ReportRequestBody(msgspec.Struct, forbid_unknown_fields=True):
    """Ask for the shift report of [``start``, ``end``) (seconds since the epoch), its times
    written in the IANA zone ``tz``."""

    start: float
    end: float
    tz: str = "UTC"


class ReportRequest(Frame, tag="report_request"):
    """Client -> server: a supervisor's or admin's shift report; answered by one ``report``
    frame with the same ``id``."""

    body: ReportRequestBody


class LogoutBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Sign this workstation out. The server deletes the session's tokens (the one the hello
    presented and those its welcome issued) and ``refresh_token``, the refresh token the
    workstation holds (it may come from an earlier session); a token of another user is left
    alone."""

    refresh_token: str | None = None


class Logout(Frame, tag="logout"):
    """Client -> server, once welcomed: sign out (docs/protocol.md, "Signing out"). The server
    answers by closing the connection with 1000 once the tokens are deleted."""

    body: LogoutBody = msgspec.field(default_factory=LogoutBody)


ClientFrame = (
    Hello | Command | Ping | PositionReport | KeyUpReport | ActivityReport | ReportRequest | Logout
)


# --- server -> client -----------------------------------------------------------------------


class Limits(msgspec.Struct, forbid_unknown_fields=True):
    """Limits the server enforces on this connection; a well-behaved client stays within them."""

    max_frame_bytes: int
    commands_per_second: float
    command_burst: int


class WelcomeBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Session accepted. The server then streams the resync (events or snapshot) before live events.

    ``sync`` is ``"replay"`` when the events after the client's ``last_seq`` follow as event
    frames, ``"snapshot"`` when snapshot frames follow instead (the client must then replace its
    replica). Sync is complete once the client holds ``server_seq``. ``clock`` is
    ``"simulated"`` on a replay or training database, whose server takes each command's
    ``issued_at`` as its action time (a replayed day keeps its own times); absent otherwise.
    """

    user: str
    role: Role
    server_seq: int
    sync: Literal["replay", "snapshot"]
    session_token: str
    session_expires_at: float
    server_time: float
    limits: Limits
    refresh_token: str | None = None
    server_id: str = ""
    clock: Literal["real", "simulated"] = "real"


class Welcome(Frame, tag="welcome"):
    body: WelcomeBody


class EventBody(msgspec.Struct, forbid_unknown_fields=True):
    """A change of state. ``data`` is decoded by ``kind`` (`desktop.domain.catalog.EVENTS`).

    ``at`` is when the server recorded it, ``acted_at`` when the dispatcher acted (the
    command's bounded ``issued_at``, `desktop.domain.action_time`; absent: the same as ``at``).
    ``key`` is the idempotency key of the command that caused it, ``actor`` the user.
    """

    kind: str
    data: msgspec.Raw
    at: float
    actor: str = ""
    key: str | None = None
    acted_at: float | None = None

    @property
    def action_time(self) -> float:
        """When the dispatcher acted: what the record, the timers and intervals use."""
        return self.at if self.acted_at is None else self.acted_at


class Event(Frame, tag="event"):
    """One event of the server's log; ``seq`` is gap-free and ascending on every connection."""

    seq: int
    body: EventBody


class SnapshotBody(msgspec.Struct, forbid_unknown_fields=True):
    """One part of a full state snapshot at ``seq``; ``last`` marks the final part."""

    part: int
    last: bool
    incidents: msgspec.Raw
    units: msgspec.Raw
    calls: msgspec.Raw = msgspec.Raw(b"[]")
    premises: msgspec.Raw = msgspec.Raw(b"[]")
    alarms: msgspec.Raw = msgspec.Raw(b"[]")
    radio_log: msgspec.Raw = msgspec.Raw(b"[]")


class Snapshot(Frame, tag="snapshot"):
    seq: int
    body: SnapshotBody


class ErrorInfo(msgspec.Struct, forbid_unknown_fields=True):
    """A typed error: ``code`` for machines (docs/protocol.md), ``message`` for people."""

    code: str
    message: str


class ResultBody(msgspec.Struct, forbid_unknown_fields=True):
    """The outcome of the command ``key``: the seqs of its events, or the reason it was rejected."""

    key: str
    ok: bool
    events: list[int] = msgspec.field(default_factory=list)
    error: ErrorInfo | None = None


class Result(Frame, tag="result"):
    body: ResultBody


class Error(Frame, tag="error"):
    """A protocol-level error not tied to one command (bad frame, failed hello...)."""

    body: ErrorInfo


class PongBody(msgspec.Struct, forbid_unknown_fields=True):
    """Echo of the ping's ``t`` and the server's clock, for round trip and clock offset."""

    t: float
    server_time: float


class Pong(Frame, tag="pong"):
    body: PongBody


class PositionsBody(msgspec.Struct, forbid_unknown_fields=True):
    """The newest fix of each unit whose position changed (or, after a resync, of every unit
    the server has a fix for); at most one fix per unit per frame."""

    fixes: list[PositionFix]


class Positions(Frame, tag="positions"):
    """Server -> client: latest AVL positions, coalesced. No ``seq``: a client keeps a fix only
    when it is newer (``at``) than the one it holds for that unit."""

    body: PositionsBody


class KeyUpsBody(msgspec.Struct, forbid_unknown_fields=True):
    """The newest key-up of each channel that changed (or, after a resync, of every channel
    the server has heard); at most one per channel per frame."""

    keyups: list[KeyUp]


class KeyUps(Frame, tag="keyups"):
    """Server -> client: latest radio key-ups per channel, coalesced. No ``seq``: a client
    keeps a key-up only when it is newer (``at``) than the one it holds for that channel."""

    body: KeyUpsBody


class PositionPresence(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """One signed-in position: who (``user``, ``role``), where (``workstation``; ``client_id``
    identifies the workstation install), since when (``signed_in_at``) and its newest
    ``activity`` (empty until it reports one)."""

    client_id: str
    user: str
    role: Role
    workstation: str
    signed_in_at: float
    activity: ActivityBody = msgspec.field(default_factory=ActivityBody)


class PresenceBody(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Positions that signed in or whose activity changed, and the ``client_id``s of those
    that signed out (``gone``). ``full``: this frame lists every position (after a resync):
    forget the ones it does not list."""

    positions: list[PositionPresence] = msgspec.field(default_factory=list)
    gone: list[str] = msgspec.field(default_factory=list)
    full: bool = False


class Presence(Frame, tag="presence"):
    """Server -> supervisor and admin positions: the floor's positions, coalesced. No ``seq``:
    a latest-value stream beside the event log (docs/protocol.md, "Positions and shadowing")."""

    body: PresenceBody


class ReportBody(msgspec.Struct, forbid_unknown_fields=True):
    """The answer to a ``report_request``: ``figures`` is the report's JSON form (the keys of
    docs/operations.md, "Shift report"), or ``error`` says why there is none (``figures`` is
    then ``null``)."""

    figures: msgspec.Raw = msgspec.Raw(b"null")
    error: ErrorInfo | None = None


class Report(Frame, tag="report"):
    body: ReportBody


ServerFrame = (
    Welcome | Event | Snapshot | Result | Error | Pong | Positions | KeyUps | Presence | Report
)
