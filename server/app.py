"""`DispatchServer`: the websocket driver. The only server code that touches sockets.

Per connection: a sans-I/O `ServerSession` is fed every frame with ``time.time()``; its outputs
are frames to queue, a hello to authenticate, commands for the `CommandProcessor`, or a close.

Hello -> `server.auth.authenticate`, checked in a background task and a worker thread (scrypt
is slow) while the connection keeps reading: meanwhile pings are answered and commands refused
with ``not_authenticated``. A connection that has not signed in after ``hello_timeout`` seconds is
closed with 1008. After a successful check the welcome is queued; then, with
no ``await`` between reading the processor's ``(world, seq)`` and registering the connection in
the `Hub`, the resync is queued: a replay of the events after the client's ``last_seq`` (streamed
from the store) or snapshot frames of the world; live events follow. So a client ends its resync
holding exactly ``server_seq`` and then sees every later event once.

AVL positions (`server.positions`): a signed-in connection whose role may send them
(`desktop.domain.roles.may_send`: ``avl``, ``admin``) reports fixes in ``position`` frames; any
other role gets an ``error`` ``forbidden``, a frame with invalid fixes one ``invalid_position``
(its valid fixes are kept). The `PositionFeed` fans the changed positions out to every
connection of the `Hub` every ``positions_interval`` s, and right after a connection's resync
(queued behind it) the server sends every unit's newest fix.
Radio key-ups (`server.keyups`) go the same way: ``keyup`` frames from a role that may send
them (``radio``, ``admin``), the newest per channel fanned out every ``keyups_interval`` s in
``keyups`` frames and caught up after a resync; an invalid key-up is answered
``invalid_keyup``. What each position has open (``activity``) and the shift report on request
(``report_request``) go to `server.supervision`: the floor's presence is sent to the
supervisors and admins only.

Sign-in and sign-out are audited (`server.audit.AuditTrail`, with every command result from
the processor): each attempt, its outcome and the peer address. Password sign-ins go through
`server.auth.LoginThrottle` per user name and per peer host (refused ``rate_limited``). A
``logout`` frame deletes the tokens the connection holds (the one its hello presented, those
its welcome issued) and the refresh token the frame carries, then closes with 1000.

Sync choice (`choose_sync`): ``replay`` when ``0 < last_seq <= server_seq`` and at most
``replay_limit`` events are missing, or when ``last_seq == 0`` and the log holds at most
``fresh_replay_limit`` events; ``snapshot`` otherwise (also for a ``last_seq`` the server never
issued, e.g. after the database was replaced).

The server never crashes on input: every connection's failure is logged and contained.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Literal

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from desktop.domain.positions import position_of
from desktop.domain.roles import may_send, refusal
from desktop.domain.types import Position
from desktop.protocol.codec import encode
from desktop.protocol.errors import CloseCode, ErrorCode
from desktop.protocol.messages import (
    Error,
    ErrorInfo,
    HelloBody,
    PasswordAuth,
    Role,
    TokenAuth,
    WelcomeBody,
)
from desktop.protocol.session import (
    ActivityReported,
    CaughtUp,
    CloseConnection,
    CommandReceived,
    HelloReceived,
    KeyUpsReported,
    LogoutRequested,
    PositionsReported,
    ReportRequested,
    ServerOutput,
    ServerSession,
    ServerSessionLimits,
)
from server.audit import LOGIN, LOGOUT, AuditTrail
from server.auth import (
    REFRESH_TTL,
    SESSION_TTL,
    AuthFailure,
    IssuedTokens,
    LoginThrottle,
    authenticate,
    hash_token,
    issue_tokens,
    revoke_tokens,
)
from server.connection import Connection, Hub
from server.frames import snapshot_frames
from server.keyups import DEFAULT_KEYUP_INTERVAL, KeyUpBoard
from server.positions import (
    DEFAULT_HISTORY,
    DEFAULT_INTERVAL,
    DEFAULT_SAVE_INTERVAL,
    PositionBook,
    PositionFeed,
)
from server.presence import DEFAULT_PRESENCE_INTERVAL
from server.processor import CommandProcessor, load_world, uses_simulated_clock
from server.store.base import AuditRecord, StorageUnavailable, Store, StoreError
from server.supervision import Supervision

__all__ = ["DispatchServer", "ServerConfig", "choose_sync"]

log = logging.getLogger(__name__)

Sync = Literal["replay", "snapshot"]


#: With a shared database: the longest a sign-in waits for this instance to read the events a
#: workstation brings from another instance (its ``last_seq``) before it is welcomed (s).
CATCH_UP_WAIT = 2.0

#: Tasks `DispatchServer.stop` lets finish rather than cancels: the queued commands, and the
#: contacts being written (a cancelled one would not be written again: its time is noted).
_FINISHED_AT_STOP = frozenset({"command processor", "save contact"})

#: How often, at most, a connection's "caught up" time is written to the store (s).
CONTACT_SAVE_INTERVAL = 30.0


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Tunables of a `DispatchServer` beyond the per-connection `ServerSessionLimits`."""

    session_ttl: float = SESSION_TTL
    refresh_ttl: float = REFRESH_TTL
    max_queue: int = 20_000  # frames queued for one client before it is a slow consumer (1013)
    max_batch: int = 1000  # commands per group commit
    replay_limit: int = 50_000  # most events replayed to a client that has some
    fresh_replay_limit: int = 2000  # most events replayed to a client that has none
    replay_chunk: int = 1000  # events read from the store at a time during a replay
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    close_timeout: float = 2.0
    #: Login throttling (`server.auth.LoginThrottle`): failed password sign-ins per user name,
    #: and per peer address (any names), within the window (s), before it refuses for a while.
    login_max_failures: int = 5
    login_address_max_failures: int = 20
    login_window: float = 60.0
    token_purge_interval: float = 600.0
    #: permessage-deflate costs CPU per frame per connection, and every event is sent to every
    #: connection: off by default (dispatch centres run on LANs).
    compression: Literal["deflate"] | None = None
    hello_timeout: float = 30.0  # a connection that has not signed in by then is closed (1008)
    positions_interval: float = DEFAULT_INTERVAL  # seconds between fan-outs of AVL positions
    positions_save_interval: float = DEFAULT_SAVE_INTERVAL  # most seconds between their writes
    positions_history: int = DEFAULT_HISTORY  # fixes kept per unit in memory
    keyups_interval: float = DEFAULT_KEYUP_INTERVAL  # seconds between fan-outs of key-ups
    presence_interval: float = DEFAULT_PRESENCE_INTERVAL  # seconds between presence fan-outs
    #: With a shared database: seconds between two looks at the log for commits of the other
    #: instances, behind their notifications (a lost one is caught up within this time).
    follow_interval: float = 2.0


def choose_sync(
    last_seq: int, server_seq: int, *, replay_limit: int = 50_000, fresh_replay_limit: int = 2000
) -> Sync:
    """How a client holding ``last_seq`` catches up with ``server_seq`` (module docstring)."""
    if last_seq == 0:
        return "replay" if server_seq <= fresh_replay_limit else "snapshot"
    if 0 < last_seq <= server_seq and server_seq - last_seq <= replay_limit:
        return "replay"
    return "snapshot"


def _host(peer: str) -> str:
    """The address part of a connection's ``host:port`` peer (what login throttling counts)."""
    host, colon, _ = peer.rpartition(":")
    return host if colon else peer


class DispatchServer:
    """The reference dispatch server on ``host:port`` (port 0: any free port, see `port`).

    The caller owns ``store`` and closes it after `stop`. Usage::

        server = DispatchServer(SqliteStore(path), "127.0.0.1", 0)
        await server.start()
        ...  # connect to ws://127.0.0.1:{server.port}
        await server.stop()
    """

    def __init__(
        self,
        store: Store,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: ServerSessionLimits | None = None,
        config: ServerConfig | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        """``tls``: serve wss:// with this server-side context (`server.tls.server_context`)."""
        self.store = store
        self.tls = tls
        self._stop_watch: Callable[[], None] | None = None
        self.host = host
        self.limits = limits or ServerSessionLimits()
        self.config = config or ServerConfig()
        self.hub = Hub()
        self.positions = PositionFeed(
            store,
            self.hub.broadcast,
            book=PositionBook(self.config.positions_history),
            interval=self.config.positions_interval,
            save_interval=self.config.positions_save_interval,
        )
        self.keyups = KeyUpBoard(self.hub.broadcast, interval=self.config.keyups_interval)
        self.supervision = Supervision(store, self.hub, interval=self.config.presence_interval)
        self.throttle = LoginThrottle(
            self.config.login_max_failures,
            self.config.login_window,
            address_max_failures=self.config.login_address_max_failures,
        )
        #: Every command result, sign-in and sign-out (`server.audit`); written behind.
        self.audit = AuditTrail(store)
        #: The token digests each signed-in connection holds (what its logout revokes).
        self._held_tokens: weakref.WeakKeyDictionary[Connection, frozenset[str]] = (
            weakref.WeakKeyDictionary()
        )
        self._requested_port = port
        self._port: int | None = None
        self._server: Server | None = None
        self._processor: CommandProcessor | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.simulated_clock = False  # read from the store at start

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (valid after `start`)."""
        if self._port is None:
            raise RuntimeError("the server is not started")
        return self._port

    @property
    def url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://{self.host}:{self.port}"

    @property
    def processor(self) -> CommandProcessor:
        if self._processor is None:
            raise RuntimeError("the server is not started")
        return self._processor

    async def start(self) -> None:
        """Rebuild the world from the log, start the command processor, bind and listen."""
        if self._server is not None:
            raise RuntimeError("already started")
        loop = asyncio.get_running_loop()
        # Watch the other instances' commits before the log is read: none falls in between.

        def committed_elsewhere(seq: int) -> None:  # on the store's watch thread
            loop.call_soon_threadsafe(self._followed, seq)

        self._stop_watch = await asyncio.to_thread(self.store.watch_commits, committed_elsewhere)
        self.simulated_clock = await asyncio.to_thread(uses_simulated_clock, self.store)
        if self.simulated_clock:
            log.warning("a replay or training database: commands keep the times they carry")
        world, seq = await asyncio.to_thread(load_world, self.store)
        log.info(
            "world rebuilt: %d incidents, %d units, seq %d",
            len(world.incidents),
            len(world.units),
            seq,
        )
        await asyncio.to_thread(self.store.purge_expired_tokens, time.time())
        self.positions.book.load(await asyncio.to_thread(self.store.load_positions))
        self.audit.start()
        self._processor = CommandProcessor(
            self.store,
            world,
            seq,
            self.hub.broadcast,
            max_batch=self.config.max_batch,
            position_of=self._latest_position,
            simulated=self.simulated_clock,
            audit=self.audit,
        )
        self._spawn(self._processor.run(), "command processor")
        if self._stop_watch is not None:  # a shared database
            self._processor.follow()  # what was committed while the world was rebuilt
            self._spawn(self._poll_log(), "log poll")
        self._spawn(self._purge_tokens(), "token purge")
        self._spawn(self.positions.run(), "position feed")
        self._spawn(self.keyups.run(), "key-up feed")
        self._spawn(self.supervision.run(), "presence feed")
        self._server = await serve(
            self._serve_connection,
            self.host,
            self._requested_port,
            max_size=self.limits.max_frame_bytes,
            ping_interval=self.config.ping_interval,
            ping_timeout=self.config.ping_timeout,
            close_timeout=self.config.close_timeout,
            compression=self.config.compression,
            ssl=self.tls,
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        log.info("listening on %s:%d", self.host, self._port)

    async def stop(self) -> None:
        """Stop listening, close every connection with 1001, finish queued commands."""
        stop_watch, self._stop_watch = self._stop_watch, None
        if stop_watch is not None:
            await asyncio.to_thread(stop_watch)
        server, self._server = self._server, None
        if server is not None:
            server.close(close_connections=True)
            await server.wait_closed()
        if self._processor is not None:
            self._processor.stop()
        for task in list(self._tasks):
            if task.get_name() not in _FINISHED_AT_STOP:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self.supervision.stop()
        await self.positions.stop()
        await asyncio.to_thread(self.audit.close)  # the processor's last results included

    async def __aenter__(self) -> DispatchServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _followed(self, seq: int) -> None:
        """Another instance committed up to ``seq`` (0: unknown): the processor catches up."""
        if self._processor is not None:
            self._processor.follow(seq)

    async def _poll_log(self) -> None:
        """Catch up every `ServerConfig.follow_interval` s, whatever the notifications said."""
        while True:
            await asyncio.sleep(self.config.follow_interval)
            self.processor.follow()

    async def _purge_tokens(self) -> None:
        while True:
            await asyncio.sleep(self.config.token_purge_interval)
            try:
                await asyncio.to_thread(self.store.purge_expired_tokens, time.time())
            except StorageUnavailable as exc:
                log.warning("token purge failed: %s", exc)

    # --- one connection --------------------------------------------------------------------

    async def _serve_connection(self, ws: ServerConnection) -> None:
        conn = Connection(
            ws, self.store, max_queue=self.config.max_queue, replay_chunk=self.config.replay_chunk
        )
        session = ServerSession(self.limits, time.time())
        conn.start_writer()
        timer = asyncio.get_running_loop().call_later(
            self.config.hello_timeout, self._hello_overdue, conn
        )
        hello_tasks: list[asyncio.Task[None]] = []

        def on_hello(hello: HelloBody) -> None:
            # Checked in the background (scrypt is slow) while this loop keeps reading: pings
            # are answered and commands refused with not_authenticated until the welcome.
            hello_tasks.append(asyncio.create_task(self._on_hello(conn, session, hello)))

        try:
            async for message in ws:
                outputs = session.receive(message, time.time(), binary=isinstance(message, bytes))
                if not self._act(conn, session, outputs, on_hello):
                    break
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("%r: connection failed", conn)
            conn.close(CloseCode.INTERNAL_ERROR, "internal error")
        finally:
            timer.cancel()
            for task in hello_tasks:
                task.cancel()
            await asyncio.gather(*hello_tasks, return_exceptions=True)
            self.hub.discard(conn)
            self.supervision.left(conn)
            await conn.finish(self.config.close_timeout + 3.0)
            if conn.caught_up_at is not None and conn.caught_up_at != conn.contact_saved_at:
                await self._save_contact(conn.client_id, conn.caught_up_at)

    def _caught_up(self, conn: Connection, at: float) -> None:
        """Note that ``conn``'s workstation holds nothing unacknowledged; written to the store
        at most every `CONTACT_SAVE_INTERVAL` s (and when the connection ends)."""
        conn.caught_up_at = at
        saved = conn.contact_saved_at
        if conn.client_id and (saved is None or at - saved >= CONTACT_SAVE_INTERVAL):
            conn.contact_saved_at = at
            self._spawn(self._save_contact(conn.client_id, at), "save contact")

    async def _save_contact(self, client_id: str, at: float) -> None:
        try:
            await asyncio.to_thread(self.store.record_contact, client_id, at)
        except StoreError as exc:  # the bound is then looser, never wrong
            log.warning("contact of %s not recorded: %s", client_id, exc)

    @staticmethod
    def _hello_overdue(conn: Connection) -> None:
        if not conn.user:
            log.info("%r: no hello in time", conn)
            conn.close(CloseCode.POLICY_VIOLATION, "no hello in time")

    def _act(
        self,
        conn: Connection,
        session: ServerSession,
        outputs: list[ServerOutput],
        on_hello: Callable[[HelloBody], None],
    ) -> bool:
        """Act on a session's outputs (never awaits); False once the connection is to close."""
        for out in outputs:
            if isinstance(out, bytes):
                conn.send(out)
            elif isinstance(out, CommandReceived):
                self.processor.submit(conn, out.command)
            elif isinstance(out, PositionsReported):
                self._on_positions(conn, out)
            elif isinstance(out, KeyUpsReported):
                self._on_keyups(conn, out)
            elif isinstance(out, ActivityReported):
                self.supervision.activity(conn, out.activity)
            elif isinstance(out, ReportRequested):
                self.supervision.report_requested(conn, out.request_id, out.request)
            elif isinstance(out, HelloReceived):
                on_hello(out.hello)
            elif isinstance(out, LogoutRequested):
                self._spawn(self._on_logout(conn, out.refresh_token), "logout")
            elif isinstance(out, CaughtUp):
                self._caught_up(conn, out.at)
            elif isinstance(out, CloseConnection):
                conn.close(out.code, out.reason)
                return False
        return True

    def _on_positions(self, conn: Connection, report: PositionsReported) -> None:
        """Keep a report's valid fixes; answer a role that may not report, or invalid fixes,
        with one error frame (the connection stays open)."""
        now = time.time()
        if not may_send(conn.role, "position"):
            error = ErrorInfo(code=ErrorCode.FORBIDDEN, message=refusal(conn.role, "position"))
        else:
            refused = self.positions.report(report.fixes, self.processor.world.units)
            if refused is None:
                return
            log.debug("%r: %s", conn, refused.message)
            error = ErrorInfo(code=ErrorCode.INVALID_POSITION, message=refused.message)
        conn.send(encode(Error(body=error, ts=now)))

    def _latest_position(self, unit_id: str) -> Position | None:
        """A unit's newest AVL fix as a `Position` (None: none reported)."""
        fix = self.positions.book.latest(unit_id)
        return None if fix is None else position_of(fix)

    def _on_keyups(self, conn: Connection, report: KeyUpsReported) -> None:
        """Keep a report's valid key-ups; answer a role that may not report them, or invalid
        ones, with one error frame (the connection stays open)."""
        if not may_send(conn.role, "keyup"):
            error = ErrorInfo(code=ErrorCode.FORBIDDEN, message=refusal(conn.role, "keyup"))
        else:
            refused = self.keyups.report(report.keyups)
            if refused is None:
                return
            log.debug("%r: %s", conn, refused)
            error = ErrorInfo(code=ErrorCode.INVALID_KEYUP, message=refused)
        conn.send(encode(Error(body=error, ts=time.time())))

    async def _on_hello(self, conn: Connection, session: ServerSession, hello: HelloBody) -> None:
        """Authenticate, then welcome and queue the resync; or refuse (error, close 1008).
        Every attempt is audited (`LOGIN`), whatever its outcome."""
        now = time.time()
        conn.workstation = hello.workstation[:200]
        conn.client_id = hello.client_id[:200]
        claimed = hello.auth.username if isinstance(hello.auth, PasswordAuth) else ""
        requested = hello.role_requested or ""
        try:
            found = await asyncio.to_thread(
                authenticate,
                self.store,
                hello.auth,
                now,
                role_requested=hello.role_requested,
                throttle=self.throttle,
                address=_host(conn.peer),
            )
            if isinstance(found, AuthFailure):
                self._audit_login(conn, claimed, requested, found.code, found.message, now)
                refusal = session.reject(found.code, found.message, now)
                self._act(conn, session, refusal, lambda _: None)
                return
            tokens = await asyncio.to_thread(
                issue_tokens,
                self.store,
                found.user.name,
                now,
                refresh=found.method == "password",
                session_ttl=self.config.session_ttl,
                refresh_ttl=self.config.refresh_ttl,
            )
            conn.last_contact = await asyncio.to_thread(self.store.last_contact, conn.client_id)
        except StorageUnavailable as exc:
            log.error("%r: sign-in impossible: %s", conn, exc)
            self._audit_login(conn, claimed, requested, ErrorCode.STORAGE_UNAVAILABLE, "", now)
            error = ErrorInfo(code=ErrorCode.STORAGE_UNAVAILABLE, message="storage unavailable")
            conn.send(encode(Error(body=error, ts=now)))
            conn.close(CloseCode.TRY_AGAIN_LATER, "storage unavailable")
            return
        except Exception:
            log.exception("%r: sign-in failed", conn)
            self._audit_login(conn, claimed, requested, ErrorCode.INTERNAL, "", now)
            conn.close(CloseCode.INTERNAL_ERROR, "internal error")
            return
        conn.user, conn.role = found.user.name, found.role
        held = {hash_token(tokens.session_token)}
        if tokens.refresh_token is not None:
            held.add(hash_token(tokens.refresh_token))
        if isinstance(hello.auth, TokenAuth):
            held.add(hash_token(hello.auth.token))
        self._held_tokens[conn] = frozenset(held)
        self._audit_login(conn, conn.user, found.role, "ok", f"by {found.method}", now)
        if not conn.alive:  # closed meanwhile (rate limit, bad frames, hello timeout)
            return
        if hello.last_seq > self.processor.seq and self._stop_watch is not None:
            # A workstation coming from another instance may hold events this one has not
            # read yet: catch up first, so it gets a replay rather than a snapshot.
            await self.processor.reach(hello.last_seq, CATCH_UP_WAIT)
            if not conn.alive:
                return
        self._welcome(conn, session, hello, tokens, found.role, time.time())

    def _audit_login(
        self, conn: Connection, user: str, role: str, outcome: str, detail: str, now: float
    ) -> None:
        """Audit a sign-in attempt of ``conn`` (``outcome``: ``ok`` or the error code)."""
        if conn.client_id:
            detail = f"{detail}; client {conn.client_id}" if detail else f"client {conn.client_id}"
        self.audit.record(
            AuditRecord(
                at=now,
                user=user,
                workstation=conn.workstation,
                peer=conn.peer,
                role=role,
                kind=LOGIN,
                outcome=str(outcome),
                detail=detail,
            )
        )

    async def _on_logout(self, conn: Connection, refresh_token: str | None) -> None:
        """Sign ``conn`` out: delete its session's tokens and ``refresh_token`` (if the user's),
        audit it (`LOGOUT`), close with 1000; if the store fails, an ``error``
        ``storage_unavailable`` and close 1013 (the tokens then expire at their TTL)."""
        now = time.time()
        held = set(self._held_tokens.pop(conn, frozenset()))
        if refresh_token:
            held.add(hash_token(refresh_token))
        try:
            revoked = await asyncio.to_thread(revoke_tokens, self.store, conn.user, held)
        except StorageUnavailable as exc:
            log.error("%r: tokens not revoked at logout: %s", conn, exc)
            self._audit_logout(conn, ErrorCode.STORAGE_UNAVAILABLE, "tokens not revoked", now)
            error = ErrorInfo(
                code=ErrorCode.STORAGE_UNAVAILABLE,
                message="signed out here, but the sign-in could not be revoked on the server",
            )
            conn.send(encode(Error(body=error, ts=now)))
            conn.close(CloseCode.TRY_AGAIN_LATER, "storage unavailable")
            return
        self._audit_logout(conn, "ok", f"{revoked} tokens revoked", now)
        conn.close(CloseCode.NORMAL, "signed out")

    def _audit_logout(self, conn: Connection, outcome: str, detail: str, now: float) -> None:
        self.audit.record(
            AuditRecord(
                at=now,
                user=conn.user,
                workstation=conn.workstation,
                peer=conn.peer,
                role=conn.role,
                kind=LOGOUT,
                outcome=str(outcome),
                detail=detail,
            )
        )

    def _welcome(
        self,
        conn: Connection,
        session: ServerSession,
        hello: HelloBody,
        tokens: IssuedTokens,
        role: Role,
        now: float,
    ) -> None:
        """Welcome, resync and register for live events, all without awaiting (no gap)."""
        processor = self.processor
        seq, world = processor.seq, processor.world
        sync = choose_sync(
            hello.last_seq,
            seq,
            replay_limit=self.config.replay_limit,
            fresh_replay_limit=self.config.fresh_replay_limit,
        )
        welcome = WelcomeBody(
            user=conn.user,
            role=role,
            server_seq=seq,
            sync=sync,
            session_token=tokens.session_token,
            session_expires_at=tokens.session_expires_at,
            server_time=now,
            limits=session.limits.advertised(),
            refresh_token=tokens.refresh_token,
            server_id=self.store.server_id(),
            clock="simulated" if self.simulated_clock else "real",
        )
        conn.send(session.accept(welcome, now))
        if sync == "replay":
            conn.replay(hello.last_seq, seq)
        else:
            conn.send_many(snapshot_frames(world, seq, now))
        conn.send_many(self.positions.catch_up_frames())  # behind the resync, before live
        conn.send_many(self.keyups.catch_up_frames())
        self.supervision.welcomed(conn, role, now)
        self.hub.add(conn)

    # --- introspection (tests, operations) -------------------------------------------------

    def connection_count(self) -> int:
        return len(self.hub)

    async def wait_idle(self, timeout: float = 5.0) -> None:
        """Wait until no command is queued (tests)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while not self.processor.idle():
                    await asyncio.sleep(0.005)
