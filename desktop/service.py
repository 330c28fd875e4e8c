"""`DispatchService`: the façade the UI talks to. Submit commands, read the view, subscribe.

Write path (DESIGN.md §5): `submit` checks the command once — the position's role
(`desktop.domain.roles`) and the rules on the current view, for a clear, immediate refusal of
what cannot work — commits it to the outbox, overlays the effect that check worked out on the
view, notifies observers and wakes the link. It returns once the command is on disk; whether the
network is up does not matter. Read path: the link applies events and results; observers get a
`Change` per burst.

AVL positions are no command: `positions` reads the newest fix of each unit known here, and an
``avl`` gateway's `report_positions` sends fixes while connected and drops them while offline
(a position is a latest value: the next fix replaces it, so none is queued). Radio key-ups
likewise: `keyups` reads the newest key-up of each channel heard here, and a ``radio``
gateway's `report_keyups` sends them while connected and drops them while offline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from desktop.domain.action_time import corrected_now
from desktop.domain.catalog import command_kind_of
from desktop.domain.kinds import CommandArgs, DomainError
from desktop.domain.roles import is_position, may_issue, may_send, may_watch_floor, refusal
from desktop.domain.types import Incident, Position, Unit
from desktop.link import Backoff, Link, LinkStatus, TlsChoice
from desktop.localdb import LocalDatabase, LocalStorageError
from desktop.outbox import Outbox, OutboxEntry, Rejection
from desktop.profiles import record_identity
from desktop.protocol.errors import ErrorCode
from desktop.protocol.messages import (
    ActivityBody,
    KeyUp,
    PositionFix,
    PositionPresence,
    ReportRequestBody,
    Role,
)
from desktop.protocol.session import ClientConfig
from desktop.replica import Replica
from desktop.signin import SignIn
from desktop.state import Change, ClientState, Forecast, PendingCommand

__all__ = ["CommandRefused", "DispatchService", "ServiceConfig"]

log = logging.getLogger("dispatch.service")

#: The last measured clock offset is written down again when it moves by more than this (s).
OFFSET_SAVE_CHANGE_S = 0.25

_encode = msgspec.json.Encoder().encode


class CommandRefused(Exception):
    """The command cannot apply to what this workstation knows; nothing was queued."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """Where the workstation keeps its data and which servers it talks to.

    ``url``: the server signed in to, tried first (the profile names it: `record_identity`).
    ``failover``: the other servers of the same centre (instances on one database), tried in
    this order when one is down (`desktop.link`); none by default. ``ssl``: the TLS of the
    wss:// servers, one context or a function giving each URL's
    (`WorkstationConfig.ssl_context`); None: the system's trusted CAs."""

    data_dir: Path
    url: str
    workstation: str = field(default_factory=socket.gethostname)
    role_requested: Role | None = None
    heartbeat_interval: float = 2.0
    dead_after: float = 6.0
    backoff: Backoff = field(default_factory=Backoff)
    open_timeout: float = 5.0
    max_in_flight: int = 2000
    ssl: TlsChoice = None
    failover: tuple[str, ...] = ()

    @property
    def database_path(self) -> Path:
        return self.data_dir / "workstation.sqlite"

    @property
    def servers(self) -> tuple[str, ...]:
        """Every server, in the order the link tries them: ``url``, then ``failover``."""
        return tuple(dict.fromkeys((self.url, *self.failover)))


class DispatchService:
    """One workstation's connection to the dispatch floor. Use from the event loop's thread."""

    def __init__(
        self,
        config: ServiceConfig,
        signin: SignIn,
        on_status: Callable[[LinkStatus], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._clock = clock
        self.db = LocalDatabase(config.database_path)
        client_id = self.db.get_meta("client_id")
        if client_id is None:
            client_id = str(uuid.uuid4())
            self.db.set_meta("client_id", client_id)
        self.client_id = client_id
        record_identity(self.db, config.url, signin.username)
        saved_offset = self.db.get_meta("clock_offset")
        self._offset: float | None = None if saved_offset is None else float(saved_offset)
        self.replica = Replica(self.db)
        world, last_seq = self.replica.load()
        self.state = ClientState(actor=signin.username, world=world, last_seq=last_seq)
        self.outbox = Outbox(self.db)
        for entry in self.outbox.entries():
            self.state.add_pending(entry)
        session_config = ClientConfig(
            client_id=client_id,
            workstation=config.workstation,
            role_requested=config.role_requested,
            heartbeat_interval=config.heartbeat_interval,
            dead_after=config.dead_after,
        )
        self.link = Link(
            config.servers,
            session_config,
            self.state,
            self.outbox,
            self.replica,
            signin,
            backoff=config.backoff,
            ssl=config.ssl,
            open_timeout=config.open_timeout,
            max_in_flight=config.max_in_flight,
            on_status=on_status,
            clock=clock,
        )
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Start connecting (in the running event loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.link.run(), name="link")

    async def stop(self, close_within: float = 5.0) -> None:
        """Stop the link, close the socket within ``close_within`` s, checkpoint the database."""
        self.link.stop()
        if self._task is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._task, close_within)
            self._task = None
        self.db.close()

    # --- write -----------------------------------------------------------------------------

    @property
    def role(self) -> str | None:
        """The role the server granted, or the one asked for before the first welcome."""
        return self.link.role or self.config.role_requested

    def check(self, args: CommandArgs) -> None:
        """Raise `CommandRefused` if ``args`` cannot apply to the current view, or this
        position's role may not issue it (nothing queued). The server enforces both again."""
        self._refuse_role([args])
        try:
            self.state.check(args, self.server_now())
        except DomainError as exc:
            raise CommandRefused(exc.code, exc.message) from None

    def submit(self, args: CommandArgs) -> OutboxEntry:
        """Queue one command durably and show its effect now (see `submit_all`)."""
        return self.submit_all([args])[0]

    def submit_all(self, commands: Sequence[CommandArgs]) -> list[OutboxEntry]:
        """Queue ``commands`` durably, all or none, in order, and show their effect now.

        Each is checked once, against the view with the effect of those before it. Raises
        `CommandRefused` (the first refusal) when one cannot apply, and
        `desktop.localdb.LocalStorageError` when the disk cannot record them: either way
        nothing is queued.
        """
        forecast = self._forecast(commands)
        rows = [(command_kind_of(args).name, _encode(args)) for args in commands]
        try:
            entries = self.outbox.enqueue_many(rows, forecast.at)
        except BaseException:
            self.state.drop_forecast(forecast)
            raise
        self.state.add_forecast(forecast, entries)
        self.state.flush()
        self.link.wake()
        return entries

    def _refuse_role(self, commands: Sequence[CommandArgs]) -> None:
        role = self.role
        for args in commands:
            kind = command_kind_of(args)
            if role is not None and not may_issue(role, kind.least_role):
                raise CommandRefused(ErrorCode.FORBIDDEN, refusal(role, kind.name))

    def _forecast(self, commands: Sequence[CommandArgs]) -> Forecast:
        """The role check and the rules, once, for commands issued now (their effect applied
        to the view: the caller queues them, or drops the forecast)."""
        self._refuse_role(commands)
        try:
            return self.state.forecast(commands, self.server_now())
        except DomainError as exc:
            raise CommandRefused(exc.code, exc.message) from None

    def needs_attention(self) -> list[Rejection]:
        """Commands the server refused, with the reason, oldest first."""
        return self.outbox.needs_attention()

    def retry(self, key: str, args: CommandArgs | None = None) -> OutboxEntry:
        """Send a rejected command again (as it was, or edited) under a new key.

        Raises `KeyError` if ``key`` is not in Needs attention, and `CommandRefused` (nothing
        changes) when the edited ``args`` cannot apply to the current view."""
        if args is None:
            entry = self.outbox.retry(key, self.server_now())
            self.state.add_pending(entry)
        else:
            kinds = [r.entry.kind for r in self.needs_attention() if r.entry.key == key]
            if not kinds:
                raise KeyError(f"no command {key} in Needs attention")
            kind = kinds[0]
            if command_kind_of(args).name != kind:
                raise CommandRefused("invalid_command", f"an edit of {kind} must stay {kind}")
            forecast = self._forecast([args])
            try:
                entry = self.outbox.retry(key, forecast.at, _encode(args))
            except BaseException:
                self.state.drop_forecast(forecast)
                raise
            self.state.add_forecast(forecast, [entry])
        self.state.note_attention_changed()
        self.state.flush()
        self.link.wake()
        return entry

    def discard(self, key: str, reason: str = "") -> Rejection:
        """Drop a rejected command; the discard is journaled with what was dropped."""
        rejection = self.outbox.discard(key, self._clock(), reason)
        self.state.note_attention_changed()
        self.state.flush()
        return rejection

    def adopt(
        self, entries: Sequence[OutboxEntry], refused: Sequence[Rejection], origin: str
    ) -> tuple[list[OutboxEntry], list[Rejection]]:
        """Take in commands moved from another profile (`desktop.stranded.move_here`), under
        their own keys: the queued ones are shown and sent like this workstation's own, the
        refused ones wait in Needs attention. Returns what was added (a key held already is
        skipped)."""
        added, kept = self.outbox.adopt(entries, refused, self._clock(), origin)
        for entry in added:
            self.state.add_pending(entry)
        if kept:
            self.state.note_attention_changed()
        self.state.flush()
        self.link.wake()
        return added, kept

    def report_positions(self, fixes: Iterable[PositionFix]) -> int:
        """Send AVL ``fixes`` (stamped on the server's clock: `server_now`) in ``position``
        frames, for a position signed in as ``avl`` (or ``admin``). Connected (the resync done),
        the newest fix of each unit goes out within the pacing; offline they are dropped,
        never queued. Returns how many were taken to send. Raises `CommandRefused`
        (``forbidden``) when the role granted may not report positions."""
        role = self.role
        if role is not None and not may_send(role, "position"):
            raise CommandRefused(ErrorCode.FORBIDDEN, refusal(role, "position"))
        return self.link.report_positions(fixes)

    def report_keyups(self, keyups: Iterable[KeyUp]) -> int:
        """Send radio ``keyups`` (stamped on the server's clock: `server_now`) in ``keyup``
        frames, for a position signed in as ``radio`` (or ``admin``). Connected (the resync
        done), the newest key-up of each channel goes out at once within the pacing; offline
        they are dropped, never queued. Returns how many were taken to send. Raises
        `CommandRefused` (``forbidden``) when the role granted may not report key-ups."""
        role = self.role
        if role is not None and not may_send(role, "keyup"):
            raise CommandRefused(ErrorCode.FORBIDDEN, refusal(role, "keyup"))
        return self.link.report_keyups(keyups)

    def report_activity(self, activity: ActivityBody) -> None:
        """Say what this position has open and is typing (`desktop.activity`): sent while
        connected, and again after every resync. A gateway is no position: ignored."""
        role = self.role
        if role is None or is_position(role):
            self.link.report_activity(activity)

    async def shift_report(self, start: float, end: float, tz: str) -> dict[str, Any]:
        """The server's shift report of [``start``, ``end``) in the zone ``tz`` (its JSON form:
        docs/operations.md, "Shift report"). Raises `CommandRefused` (``forbidden``) for a role
        that does not watch the floor, or with the server's error; ConnectionError when not
        connected (the report is made from the server's log)."""
        role = self.role
        if role is not None and not may_watch_floor(role):
            raise CommandRefused(ErrorCode.FORBIDDEN, refusal(role, "report"))
        answer = await self.link.request_report(ReportRequestBody(start=start, end=end, tz=tz))
        if answer.error is not None:
            raise CommandRefused(answer.error.code, answer.error.message)
        figures = msgspec.json.decode(answer.figures)
        if not isinstance(figures, dict):
            raise CommandRefused(ErrorCode.INTERNAL, "the server answered with no report")
        return figures

    # --- read ------------------------------------------------------------------------------

    def now(self) -> float:
        """The service's clock (wall time, seconds)."""
        return self._clock()

    def server_now(self) -> float:
        """The server's clock as this workstation estimates it: what commands are stamped with
        (``issued_at``) and timers run on. Uses the clock offset measured now, or the last one
        measured (kept in the workstation database, so work done offline after a restart is
        corrected too); none ever measured counts as 0."""
        measured = self.link.status.clock_offset
        if measured is not None and (
            self._offset is None or abs(measured - self._offset) > OFFSET_SAVE_CHANGE_S
        ):
            self._offset = measured
            try:
                self.db.set_meta("clock_offset", repr(measured))
            except LocalStorageError as exc:  # a remembered value: kept in memory, never fatal
                log.warning("clock offset not saved: %s", exc)
        return corrected_now(self._clock(), self._offset if measured is None else measured)

    @property
    def status(self) -> LinkStatus:
        return self.link.status

    def incidents(self) -> list[Incident]:
        return list(self.state.view.incidents.values())

    def units(self) -> list[Unit]:
        return list(self.state.view.units.values())

    def incident(self, incident_id: str) -> Incident | None:
        return self.state.incident(incident_id)

    def unit(self, unit_id: str) -> Unit | None:
        return self.state.unit(unit_id)

    def pending(self) -> list[PendingCommand]:
        return self.state.pending()

    def positions(self) -> Mapping[str, Position]:
        """The newest AVL position known here of each unit that has one, by unit id (a live,
        read-only view: `Change.positions` says whose moved). Also each ``Unit.position``."""
        return self.state.positions

    def presence(self) -> Mapping[str, PositionPresence]:
        """The floor's signed-in positions by client id (a supervisor's or admin's; a live,
        read-only view: `Change.presence` says which changed)."""
        return self.state.presence

    def keyups(self) -> Mapping[str, KeyUp]:
        """The newest radio key-up heard here on each channel, by channel (a live, read-only
        view: `Change.keyups` says which channels changed)."""
        return self.state.keyups

    def subscribe(self, observer: Callable[[Change], None]) -> Callable[[], None]:
        return self.state.subscribe(observer)
