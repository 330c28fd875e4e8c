"""`Link`: the websocket driver of the client session (the only client code that does I/O).

One connection at a time: connect → hello → resync (events after ``last_seq`` or a snapshot) →
replay the outbox in ``client_seq`` order with the original keys → LIVE. When the connection
ends (closed, refused, cut, the opening handshake not done within ``open_timeout``, or silent
for ``dead_after`` seconds, e.g. blackholed with no FIN), the link starts again, and goes
offline meanwhile without blocking the dispatcher: commands keep going to the outbox.

Failover: the link is given the ordered list of its centre's servers (instances that share one
database). A connection that ends moves it to the next server of the list at once; only once
every server has failed in a row does it wait an exponential backoff with jitter
(`reconnect_now` ends the wait early), and after reaching LIVE the count starts again
(`desktop.link_policy.Failover` holds the rule). On the new server it resyncs from its
``last_seq`` and replays its outbox under the original keys, which the shared database has
deduplicated, so nothing is lost or applied twice. `LinkStatus.server` names the server it is
on. One server is the same loop with a backoff after every failure.

Whether this profile's server has *ever* welcomed it is one fact, ``LinkStatus.ever_connected``:
it is read from the profile database (meta ``server_id``, written at the first welcome) when the
link is made, so a workstation restarted during an outage still knows that the server was
reached once, and a profile whose server never answered says so (its password never checked).
The instances of one centre share its database and so its server id. A welcome with another
server id (a database replaced, or a server of the list on another database) is resynced as a
replaced database always was, the server choosing between the events after ``last_seq`` and a
snapshot, and is said in the log; the new id is written down.

Every received frame is applied in memory at once; outbox acks and rejections are written in
one transaction per burst of frames (scheduled with ``call_soon``, so it runs when the reader has
drained what the socket had). The replica, a cache of the server's log, is written with them at
most every ``REPLICA_SAVE_INTERVAL`` seconds and whenever a connection ends. These are
recoverable writes (`desktop.localdb`): the server can give all of it again, so they do not
wait for the disk, and a slow disk never stalls the event loop (the screen) while events
stream in.

AVL positions go beside all that: a ``positions`` frame is applied at once
(`ClientState.apply_positions`) and never written for itself. `Link.report_positions` (an
``avl`` gateway) keeps the newest unsent fix of each unit and sends them once the resync is
done, paced with the commands within the server's rate limit (`desktop.link_policy.Pacer`);
fixes reported while offline, or not yet sent when a connection ends, are dropped and counted
(``positions_dropped``): a position is a latest value, never queued for later.

Radio key-ups go the same way: a ``keyups`` frame is applied at once
(`ClientState.apply_keyups`), and `Link.report_keyups` (a ``radio`` gateway) keeps the newest
unsent key-up of each channel, sends them once the resync is done within the same pacing, and
drops and counts (``keyups_dropped``) those reported offline or unsent when a connection ends.

What this position has open (`Link.report_activity`) is a latest value too, but it is kept:
the newest goes out once resynced, and again after every resync (a restarted server knows the
floor only from the reports). A ``presence`` frame (a supervisor's) is applied at once
(`ClientState.apply_presence`). `Link.request_report` asks the server for a shift report and
waits for its ``report`` frame; it fails at once when not connected, and when the connection
ends before the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import logging
import random
import ssl as ssl_module
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

import msgspec
import websockets
from websockets.asyncio.client import ClientConnection, connect

from desktop.domain.keyups import is_newer_keyup
from desktop.domain.positions import is_newer
from desktop.domain.world import snapshot_lists
from desktop.ids import uuid7
from desktop.link_policy import Backoff, Failover, LinkPhase, LinkStatus, Pacer, server_name
from desktop.localdb import LocalStorageError
from desktop.outbox import Outbox, OutboxEntry, Rejection
from desktop.protocol.errors import TRANSIENT_CODES, CloseCode, ProtocolError, error_words
from desktop.protocol.messages import (
    ActivityBody,
    CommandBody,
    KeyUp,
    Limits,
    PositionFix,
    ReportBody,
    ReportRequestBody,
    ResultBody,
)
from desktop.protocol.session import (
    ClientConfig,
    ClientSession,
    EventReceived,
    KeyUpsReceived,
    PongReceived,
    PositionsReceived,
    PresenceReceived,
    ReportReceived,
    ResultReceived,
    ServerErrorReceived,
    SnapshotReceived,
    SyncComplete,
    Welcomed,
)
from desktop.replica import Replica
from desktop.signin import SignIn
from desktop.state import ClientState, GapError
from desktop.storage_words import not_recorded

__all__ = ["Backoff", "Link", "LinkPhase", "LinkStatus", "TlsChoice"]

log = logging.getLogger("dispatch.link")

#: Longest time the on-disk replica lags the in-memory confirmed world while connected (s).
REPLICA_SAVE_INTERVAL = 0.25
#: How often the loop looks for the end of a write in flight on the writer thread (s).
WRITE_POLL_INTERVAL = 0.005
#: Meta key of the profile database: the server id of the first welcome (the server was reached).
SERVER_ID_META = "server_id"

_Latest = TypeVar("_Latest", PositionFix, KeyUp, ActivityBody)
#: The TLS of the wss:// servers: one context for all, or a function giving each URL's
#: (`desktop.workstation_config.WorkstationConfig.ssl_context`); None: the system's CAs.
TlsChoice = ssl_module.SSLContext | Callable[[str], ssl_module.SSLContext | None] | None


class _ConnectionEnded(Exception):
    """The current connection is over; the reason is the message."""


class _SignedOut(Exception):
    """The server refused our credentials and none are left (the message: in a person's words)."""


class Link:
    """Keeps one workstation connected to one of its servers. Create it, `await run()` in a
    task, `stop()` to end.

    ``servers``: a URL, or the centre's servers in failover order (duplicates dropped).
    ``ssl``: see `TlsChoice`; a function is asked once per server, here, and one context is
    used for the wss:// servers. Raises ValueError for an empty list."""

    def __init__(
        self,
        servers: str | Sequence[str],
        config: ClientConfig,
        state: ClientState,
        outbox: Outbox,
        replica: Replica,
        signin: SignIn,
        *,
        backoff: Backoff | None = None,
        ssl: TlsChoice = None,
        open_timeout: float = 5.0,
        max_in_flight: int = 2000,
        on_status: Callable[[LinkStatus], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        urls = (servers,) if isinstance(servers, str) else tuple(dict.fromkeys(servers))
        self.servers: tuple[str, ...] = urls
        self._tls = {url: _tls_of(ssl, url) for url in urls}
        self._failover = Failover(len(urls), backoff or Backoff())
        self.config = config
        self._state = state
        self._outbox = outbox
        self._db = replica.db
        self._replica = replica
        self._signin = signin
        self._open_timeout = open_timeout
        self._max_in_flight = max_in_flight
        self._on_status = on_status
        self._clock = clock
        self._rng = random.Random()
        self._server_id = self._db.get_meta(SERVER_ID_META)
        self._status = LinkStatus(
            LinkPhase.OFFLINE,
            queued=len(outbox),
            ever_connected=self._server_id is not None,
            server=self.url,
            servers=urls,
        )
        self._stopping = asyncio.Event()
        self._retry_now = asyncio.Event()
        self._wake = asyncio.Event()
        self._signed_in = asyncio.Event()
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._tick_due = asyncio.Event()
        self._in_flight: set[str] = set()
        self._backlog: set[str] = set()
        self._touched: set[tuple[str, str]] = set()
        self._replica_saved_at = 0.0
        self._session: ClientSession | None = None
        self._acks: list[str] = []
        self._rejections: list[tuple[str, str, str]] = []
        self._sent: list[str] = []
        self._snapshot_parts: dict[str, list[bytes]] = {}
        self._replace_replica = False
        self._flush_scheduled = False
        self._limits: Limits | None = None
        self._reached_live = False
        self._last_frame_at: float | None = None
        self._write_waiting = False  # a flush found a write still committing
        self._pacer = Pacer(1250.0, 125.0, time.monotonic())  # replaced at each resync's end
        self._unsent_fixes: dict[str, PositionFix] = {}
        self._fixes_due = asyncio.Event()
        self.positions_dropped = 0  # fixes reported offline or unsent when a connection ended
        self._unsent_keyups: dict[str, KeyUp] = {}  # by channel
        self._keyups_due = asyncio.Event()
        self.keyups_dropped = 0  # key-ups reported offline or unsent when a connection ended
        self._activity: ActivityBody | None = None  # the newest, sent after every resync
        self._unsent_activity: dict[str, ActivityBody] = {}
        self._activity_due = asyncio.Event()
        self._reports: dict[str, asyncio.Future[ReportBody]] = {}
        self._ws: ClientConnection | None = None
        self.storage_error: str | None = None
        self.role: str | None = None  # the role the server granted (from the newest welcome)

    # --- public ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server the link is on, or is about to try (the first of `servers` at start)."""
        return self.servers[self._failover.index]

    def ssl_for(self, url: str) -> ssl_module.SSLContext | None:
        """The TLS context the link connects to ``url`` with (None: none, or the system's CAs).
        Raises KeyError for a URL that is not one of `servers`."""
        return self._tls[url]

    @property
    def status(self) -> LinkStatus:
        status = replace(
            self._status,
            queued=len(self._outbox),
            last_confirmed_at=self._last_frame_at,
            local_error=self.storage_error or "",
        )
        if status.phase is LinkPhase.SYNCING and self._session is not None:
            done, total = self._session.sync_progress
            status = replace(status, sync_done=done, sync_total=total)
        return status

    def wake(self) -> None:
        """A command was queued: send it if the link is up."""
        self._wake.set()

    def reconnect_now(self) -> None:
        """The dispatcher asked to try again now: end the wait before the next try (no effect
        while a connection is being made or is up)."""
        self._retry_now.set()

    def credentials_changed(self) -> None:
        """New credentials were entered after SIGNED_OUT: try again now."""
        self._signed_in.set()

    def report_positions(self, fixes: Iterable[PositionFix]) -> int:
        """Send ``fixes`` (an AVL gateway's) once the resync is done: the newest unsent fix of
        each unit is kept and goes out as soon as the pacing allows. Returns how many were
        taken; none while offline or resyncing (they are dropped and counted)."""
        taken = 0
        for fix in fixes:
            if not self._ready.is_set():
                self.positions_dropped += 1
            elif is_newer(fix.at, self._unsent_fixes.get(fix.unit_id)):
                self._unsent_fixes[fix.unit_id] = fix
                taken += 1
        if taken:
            self._fixes_due.set()
        return taken

    def report_keyups(self, keyups: Iterable[KeyUp]) -> int:
        """Send radio ``keyups`` (a radio gateway's) once the resync is done: the newest
        unsent key-up of each channel is kept and goes out as soon as the pacing allows (at
        once, within the server's rate limit). Returns how many were taken; none while offline
        or resyncing (they are dropped and counted in ``keyups_dropped``)."""
        taken = 0
        for keyup in keyups:
            if not self._ready.is_set():
                self.keyups_dropped += 1
            elif is_newer_keyup(keyup.at, self._unsent_keyups.get(keyup.channel)):
                self._unsent_keyups[keyup.channel] = keyup
                taken += 1
        if taken:
            self._keyups_due.set()
        return taken

    def report_activity(self, activity: ActivityBody) -> None:
        """What this position has open now: sent once resynced (the newest only), and again
        after every resync."""
        self._activity = activity
        if self._ready.is_set():
            self._queue_activity()

    def _queue_activity(self) -> None:
        if self._activity is not None:
            self._unsent_activity[""] = self._activity
            self._activity_due.set()

    async def request_report(
        self, request: ReportRequestBody, timeout: float = 120.0
    ) -> ReportBody:
        """The server's answer to ``request``. Raises ConnectionError when not connected (the
        resync done) or when the connection ends first, TimeoutError after ``timeout`` s."""
        ws, session = self._ws, self._session
        if ws is None or session is None or not self._ready.is_set():
            raise ConnectionError("not connected: the report is made by the server")
        request_id = str(uuid7())
        answer: asyncio.Future[ReportBody] = asyncio.get_running_loop().create_future()
        self._reports[request_id] = answer
        try:
            await ws.send(session.report_request(request, request_id, self._clock()), text=True)
            async with asyncio.timeout(timeout):
                return await answer
        except websockets.WebSocketException as exc:
            raise ConnectionError(f"the connection ended: {exc}") from None
        finally:
            self._reports.pop(request_id, None)

    async def log_out(self, refresh_token: str | None, timeout: float = 3.0) -> bool:
        """Sign this workstation out on the server: a ``logout`` frame on the connection (once
        welcomed) asking it to delete this session's tokens and ``refresh_token``, then wait
        for it to close the connection with 1000. True when it did; False at once when not
        signed in on a connection (offline), or when it did not confirm within ``timeout`` s
        (the tokens then expire on the server at their TTL). Forgetting the credentials on
        this side is the caller's (`desktop.signin.SignIn.sign_out`), whatever this returns."""
        ws, session = self._ws, self._session
        if ws is None or session is None or session.welcome is None:
            return False
        try:
            async with asyncio.timeout(timeout):
                await ws.send(session.logout(refresh_token, self._clock()), text=True)
                await ws.wait_closed()
        except (TimeoutError, OSError, RuntimeError, websockets.WebSocketException) as exc:
            log.info("logout not confirmed by the server: %s", exc or type(exc).__name__)
            return False
        if ws.close_code != CloseCode.NORMAL:
            log.info("logout not confirmed by the server: %s %s", ws.close_code, ws.close_reason)
            return False
        return True

    def stop(self) -> None:
        """Ask `run` to end; it closes the socket (with a timeout) and returns."""
        self._stopping.set()
        self._wake.set()
        self._signed_in.set()

    async def run(self) -> None:
        """Connect, and reconnect whenever the connection ends, until `stop`: to the next
        server at once, or after the backoff once every server failed (`Failover`)."""
        detail = ""
        while not self._stopping.is_set():
            self._publish(
                phase=LinkPhase.CONNECTING, next_retry_at=None, detail=detail, server=self.url
            )
            try:
                await self._connect_once()
            except _SignedOut as exc:
                self._publish(phase=LinkPhase.SIGNED_OUT, detail=str(exc))
                self._signed_in.clear()
                await self._signed_in.wait()
                self._failover.restart_count()
                detail = ""
                continue
            except (
                OSError,
                TimeoutError,
                websockets.WebSocketException,
                _ConnectionEnded,
                GapError,
                ProtocolError,
            ) as exc:
                log.info("connection to %s ended: %s", self.url, exc)
                detail = str(exc) or type(exc).__name__
            except Exception as exc:  # a bug must not end the link: log it and reconnect
                log.exception("link to %s failed", self.url)
                detail = f"internal error: {exc!r}"
            else:
                detail = "connection closed"
            self._flush(save_replica=True, wait=True)
            if self._stopping.is_set():
                break
            ended_on = self.url
            delay = self._failover.ended(self._reached_live, self._rng)
            if len(self.servers) > 1:
                detail = f"{server_name(ended_on)}: {detail}"
            if delay <= 0:
                log.info("moving from %s to %s", ended_on, self.url)
                detail = f"{detail}; trying {server_name(self.url)}"
                continue
            self._publish(
                phase=LinkPhase.OFFLINE, next_retry_at=time.monotonic() + delay, detail=detail
            )
            await self._wait_before_retry(delay)
            detail = ""
        self._flush(save_replica=True, wait=True)
        self._publish(phase=LinkPhase.STOPPED, next_retry_at=None)

    async def _wait_before_retry(self, delay: float) -> None:
        """Wait ``delay`` s, or less if the link is stopped or `reconnect_now` is called."""
        self._retry_now.clear()
        waits = {
            asyncio.ensure_future(self._stopping.wait()),
            asyncio.ensure_future(self._retry_now.wait()),
        }
        try:
            await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()

    # --- one connection --------------------------------------------------------------------

    async def _connect_once(self) -> None:
        """Run one connection to its end (``_reached_live`` tells whether it got to LIVE)."""
        self._reset_connection_state()
        async with connect(
            self.url,
            ssl=self._tls[self.url],
            open_timeout=self._open_timeout,
            ping_interval=None,  # the session's own heartbeat detects dead links
            close_timeout=1.0,
            max_size=self.config.max_frame_bytes,
            max_queue=None,
            compression=None,
        ) as ws:
            try:
                auth = self._signin.hello_auth(self._clock())
            except PermissionError:
                raise _SignedOut("the password is needed to sign in again") from None
            session = ClientSession(self.config, auth, self._state.last_seq, self._clock())
            self._session = session
            self._ws = ws
            await ws.send(session.start(self._clock()), text=True)
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._read(ws, session))
                    group.create_task(self._heartbeat(ws, session))
                    group.create_task(self._send(ws, session))
                    group.create_task(
                        self._send_latest(
                            ws, self._unsent_fixes, self._fixes_due, session.positions
                        )
                    )
                    group.create_task(
                        self._send_latest(ws, self._unsent_keyups, self._keyups_due, session.keyups)
                    )
                    group.create_task(
                        self._send_latest(
                            ws,
                            self._unsent_activity,
                            self._activity_due,
                            lambda values, now: [session.activity(values[-1], now)],
                        )
                    )
                    group.create_task(self._until_stopped())
            except* _SignedOut as group_error:
                raise group_error.exceptions[0] from None
            except* (
                _ConnectionEnded,
                GapError,
                ProtocolError,
                OSError,
                websockets.WebSocketException,
            ) as group_error:
                ws.transport.abort()
                raise group_error.exceptions[0] from None
            finally:
                self._ready.clear()
                self._ws = None
                self._drop_unsent()

    def _drop_unsent(self) -> None:
        """Latest values not sent when a connection ends are dropped (and counted)."""
        self.positions_dropped += len(self._unsent_fixes)
        self._unsent_fixes.clear()
        self.keyups_dropped += len(self._unsent_keyups)
        self._unsent_keyups.clear()
        self._unsent_activity.clear()  # kept in ``_activity``: sent again after the resync
        for answer in self._reports.values():
            if not answer.done():
                answer.set_exception(ConnectionError("the connection ended before the report"))

    def _reset_connection_state(self) -> None:
        self._drop_unsent()
        self._in_flight.clear()
        self._backlog.clear()
        self._ready.clear()
        self._room.set()
        self._snapshot_parts = {}
        self._reached_live = False

    async def _until_stopped(self) -> None:
        await self._stopping.wait()
        raise _ConnectionEnded("stopping")

    async def _read(self, ws: ClientConnection, session: ClientSession) -> None:
        async for message in ws:
            for output in session.receive(message, self._clock()):
                self._handle(output, session)
            self._schedule_flush()
        raise _ConnectionEnded(f"server closed the connection ({ws.close_code} {ws.close_reason})")

    async def _heartbeat(self, ws: ClientConnection, session: ClientSession) -> None:
        while True:
            self._tick_due.clear()
            with contextlib.suppress(TimeoutError):  # woken early when a welcome asks to ping
                await asyncio.wait_for(
                    self._tick_due.wait(), max(0.0, session.next_tick() - self._clock())
                )
            frames, dead = session.tick(self._clock(), len(self._outbox))
            if dead:
                raise _ConnectionEnded(
                    f"no answer from the server for {self.config.dead_after:.0f} s"
                )
            for frame in frames:
                await ws.send(frame, text=True)

    async def _send(self, ws: ClientConnection, session: ClientSession) -> None:
        """Send queued commands in client_seq order once resynced, paced to the server's limits."""
        await self._ready.wait()
        last_sent = 0
        while True:
            self._wake.clear()
            for entry in self._outbox.entries():
                if entry.client_seq <= last_sent:
                    continue
                while len(self._in_flight) >= self._max_in_flight:
                    self._room.clear()
                    await self._room.wait()
                delay = self._pacer.wait(1.0, time.monotonic())
                if delay:
                    await asyncio.sleep(delay)
                self._pacer.spend(1.0)
                await ws.send(session.command(_command_body(entry), self._clock()), text=True)
                self._in_flight.add(entry.key)
                self._sent.append(entry.key)
                last_sent = entry.client_seq
            self._schedule_flush()
            await self._wake.wait()

    async def _send_latest(
        self,
        ws: ClientConnection,
        unsent: dict[str, _Latest],
        due: asyncio.Event,
        frames: Callable[[list[_Latest], float], list[bytes]],
    ) -> None:
        """Send a latest-value stream's ``unsent`` values (AVL fixes by unit, key-ups by
        channel) once resynced, oldest reported first, within the pacing (one token each);
        ``due`` is set when some are added, ``frames`` makes their frames."""
        await self._ready.wait()
        while True:
            due.clear()
            while unsent:
                pacer = self._pacer
                count = int(min(len(unsent), pacer.capacity))
                delay = pacer.wait(count, time.monotonic())
                if delay:
                    await asyncio.sleep(delay)
                keys = list(itertools.islice(unsent, count))
                values = [unsent.pop(key) for key in keys]
                pacer.spend(len(values))
                for frame in frames(values, self._clock()):
                    await ws.send(frame, text=True)
            await due.wait()

    # --- frames ----------------------------------------------------------------------------

    def _handle(self, output: object, session: ClientSession) -> None:
        self._last_frame_at = self._clock()
        if isinstance(output, EventReceived):
            event = output.event
            body = event.body
            touched = self._state.apply_event(
                event.seq, body.kind, body.data, body.at, body.key, body.actor, body.acted_at
            )
            self._touched.update(touched)
        elif isinstance(output, PositionsReceived):
            self._state.apply_positions(output.fixes)
        elif isinstance(output, KeyUpsReceived):
            self._state.apply_keyups(output.keyups)
        elif isinstance(output, PresenceReceived):
            self._state.apply_presence(output.presence)
        elif isinstance(output, ReportReceived):
            answer = self._reports.get(output.request_id or "")
            if answer is not None and not answer.done():
                answer.set_result(output.report)
        elif isinstance(output, ResultReceived):
            self._on_result(output.result)
        elif isinstance(output, Welcomed):
            self._signin.on_welcome(output.welcome)
            self.role = output.welcome.role
            self._tick_due.set()  # the session pings at once: round trip and clock offset
            self._limits = output.welcome.limits
            self._note_server_id(output.welcome.server_id or "unknown")
            self._publish(phase=LinkPhase.SYNCING, detail="", ever_connected=True)
        elif isinstance(output, SnapshotReceived):
            part = output.snapshot.body
            for field, blob in snapshot_lists(part).items():
                self._snapshot_parts.setdefault(field, []).append(blob)
            if part.last:
                self._state.load_snapshot(output.snapshot.seq, self._snapshot_parts)
                self._snapshot_parts = {}
                self._replace_replica = True
        elif isinstance(output, SyncComplete):
            self._backlog = {entry.key for entry in self._outbox.entries()}
            if self._limits is not None:
                self._pacer = Pacer.within(self._limits, time.monotonic())
            self._ready.set()
            self._queue_activity()
            self._publish_sync_done()
        elif isinstance(output, PongReceived):
            self._status = replace(self._status, rtt=output.rtt, clock_offset=output.clock_offset)
        elif isinstance(output, ServerErrorReceived):
            self._on_server_error(output)

    def _on_result(self, result: ResultBody) -> None:
        key = result.key
        self._in_flight.discard(key)
        self._room.set()
        if result.ok:
            self._acks.append(key)
        else:
            error = result.error
            code = error.code if error else "internal"
            if code in TRANSIENT_CODES:
                raise _ConnectionEnded(f"server asked to retry later ({code})")
            self._rejections.append((key, code, error.message if error else ""))
        self._backlog.discard(key)
        if self._status.phase is LinkPhase.REPLAYING and not self._backlog:
            self._publish(phase=LinkPhase.LIVE)
            self._reached_live = True

    def _publish_sync_done(self) -> None:
        if self._backlog:
            self._publish(phase=LinkPhase.REPLAYING, sync_done=0, sync_total=0)
        else:
            self._publish(phase=LinkPhase.LIVE, sync_done=0, sync_total=0)
            self._reached_live = True

    def _on_server_error(self, output: ServerErrorReceived) -> None:
        error = output.error
        if output.fatal:
            if self._signin.refused():
                raise _ConnectionEnded(f"credentials refused ({error.code}); trying the next")
            log.info("sign-in refused: %s: %s", error.code, error.message)
            raise _SignedOut(error.message or error_words(error.code))
        log.warning("server error %s: %s", error.code, error.message)

    def _note_server_id(self, server_id: str) -> None:
        """Write down the server id of a welcome: at the first one, that the server was
        reached; later, only when it changed (another database: the module docstring)."""
        recorded = self._server_id
        if recorded == server_id or (server_id == "unknown" and recorded is not None):
            return
        if recorded not in (None, "unknown"):
            log.warning(
                "%s is another database (server id %s, this workstation had %s): "
                "resynced as a replaced database",
                self.url,
                server_id,
                recorded,
            )
        self._server_id = server_id
        try:
            self._db.set_meta(SERVER_ID_META, server_id)
        except LocalStorageError as exc:  # still known for this run; said again next time
            log.error("could not record that the server was reached: %s", exc)

    # --- durable side ----------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled and not self._stopping.is_set():
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self, *, save_replica: bool = False, wait: bool = False) -> None:
        """Show what arrived since the last flush (observers first), then record it on disk in
        one recoverable transaction: behind (`LocalDatabase.write_behind`: the commit waits for
        the disk on a writer thread) or, with ``wait``, here and now (a connection ends)."""
        self._flush_scheduled = False
        self._state.flush()
        self._publish()
        if wait:
            self._db.wait_for_writes()
        else:
            self._db.poll_writes()
        now = time.monotonic()
        save_replica = save_replica or now - self._replica_saved_at >= REPLICA_SAVE_INTERVAL
        batch = self._take_batch(save_replica, now)
        if batch.empty:
            return
        work = functools.partial(self._write, batch)
        try:
            if wait:
                with self._db.transaction(durable=False) as conn:
                    work(conn)
                self._recorded(batch, None)
            elif self._db.write_behind(work, lambda e: self._recorded(batch, e)):
                self._poll_write_later()
            else:
                self._give_back(batch)  # a write is still committing: this one follows it
                self._write_waiting = True
        except LocalStorageError as exc:
            self._recorded(batch, exc)

    def _take_batch(self, save_replica: bool, now: float) -> _Batch:
        """What to record now; the lists start afresh for what arrives meanwhile."""
        replace_replica, self._replace_replica = self._replace_replica, False
        touched: set[tuple[str, str]] = set()
        if save_replica or replace_replica:
            touched, self._touched = self._touched, set()
            self._replica_saved_at = now
        batch = _Batch(self._acks, self._rejections, self._sent, touched, replace_replica)
        self._acks, self._rejections, self._sent = [], [], []
        return batch

    def _write(self, batch: _Batch, conn: object) -> None:
        """The statements of ``batch`` (inside the flush's transaction)."""
        state = self._state
        if batch.replace_replica:
            self._replica.replace(state.confirmed, state.last_seq)
        elif batch.touched:
            self._replica.save(state.confirmed, batch.touched, state.last_seq)
        for key in batch.acks:
            self._outbox.ack(key)
        for key, code, message in batch.rejections:
            rejection = self._outbox.reject(key, code, message, self._clock())
            if rejection is not None:
                batch.rejected.append(rejection)
        if batch.sent:
            self._outbox.mark_sent(batch.sent)

    def _recorded(self, batch: _Batch, error: LocalStorageError | None) -> None:
        """``batch`` is on disk (``error`` None): stop overlaying what was answered; or it was
        rolled back: nothing is lost (the outbox rows stay, the server dedups their keys when
        they are replayed), it is tried again with the next flush."""
        if error is not None:
            self._replica.forget_saved()  # what it believed on disk was rolled back
            self._give_back(batch)
            words = not_recorded(error)  # what the dispatcher reads (the banner's tooltip)
            if self.storage_error != words:  # once, not at every burst of a full disk
                log.error("could not record received frames: %s", error)
            self.storage_error = words
        else:
            if self.storage_error is not None:
                log.info("received frames are recorded again")
            self.storage_error = None
            for key in batch.acks:
                self._state.resolve_pending(key)
            for rejection in batch.rejected:
                self._state.resolve_pending(rejection.entry.key)
                self._state.note_attention_changed()
        self._state.flush()
        self._publish()
        if self._write_waiting:
            self._write_waiting = False
            self._schedule_flush()

    def _give_back(self, batch: _Batch) -> None:
        """Put a batch not recorded back in front of what arrived since."""
        self._acks[:0] = batch.acks
        self._rejections[:0] = batch.rejections
        self._sent[:0] = batch.sent
        self._touched |= batch.touched
        self._replace_replica = self._replace_replica or batch.replace_replica

    def _poll_write_later(self) -> None:
        """Look for the end of the write in flight soon (the writer thread calls nothing back:
        the loop looks, here or at the next flush)."""
        asyncio.get_running_loop().call_later(WRITE_POLL_INTERVAL, self._poll_write)

    def _poll_write(self) -> None:
        if not self._db.poll_writes() and not self._stopping.is_set():
            self._poll_write_later()

    def _publish(self, **changes: object) -> None:
        self._status = replace(self._status, **changes)  # type: ignore[arg-type]
        if self._on_status is not None:
            self._on_status(self.status)


@dataclass(slots=True)
class _Batch:
    """What one flush records: answers, sends, and the replica's touched entities."""

    acks: list[str]
    rejections: list[tuple[str, str, str]]
    sent: list[str]
    touched: set[tuple[str, str]]
    replace_replica: bool
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.acks or self.rejections or self.sent or self.touched or self.replace_replica
        )


def _tls_of(choice: TlsChoice, url: str) -> ssl_module.SSLContext | None:
    """The TLS context of ``url`` (one given for all applies to the wss:// servers only)."""
    if callable(choice):
        return choice(url)
    return choice if url.startswith("wss://") else None


def _command_body(entry: OutboxEntry) -> CommandBody:
    return CommandBody(
        key=entry.key,
        client_seq=entry.client_seq,
        kind=entry.kind,
        args=msgspec.Raw(entry.args),
        issued_at=entry.issued_at,
    )
