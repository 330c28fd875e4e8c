"""`Connection`: one client's outgoing side (a bounded queue drained by a writer task) and `Hub`.

Frames are queued without blocking (`Connection.send`) and written by `Connection.write_loop`
(whatever is queued, up to `WRITE_BATCH` frames per socket write), so a slow client never stalls
the server or the other clients.
A queue longer than ``max_queue`` means the client cannot keep up: the queue is dropped and the
connection closed with 1013 ("slow consumer"); the client reconnects and resyncs.

A replay (the events after the client's ``last_seq``, up to the ``server_seq`` of its welcome) is
queued as one marker and streamed from the store in chunks by the writer, so a long replay never
sits in memory; live events queued behind the marker follow it, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from websockets.asyncio.connection import Connection as AsyncioConnection
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from desktop.protocol.errors import CloseCode
from server.frames import stored_event_frame
from server.store.base import StorageUnavailable, Store

__all__ = ["Connection", "Hub"]

log = logging.getLogger(__name__)

#: Most frames written to the socket at once.
WRITE_BATCH = 256
_BATCH_WRITES = hasattr(AsyncioConnection, "send_context")  # see Connection._write


@dataclass(frozen=True, slots=True)
class _Replay:
    after: int
    upto: int


@dataclass(frozen=True, slots=True)
class _Close:
    code: int
    reason: str


class Connection:
    """The server's view of one websocket client (identity, outgoing queue, writer)."""

    def __init__(
        self,
        ws: ServerConnection,
        store: Store,
        *,
        max_queue: int = 20_000,
        replay_chunk: int = 1000,
    ) -> None:
        self.ws = ws
        self.store = store
        self.max_queue = max_queue
        self.replay_chunk = replay_chunk
        self.user = ""
        self.role = ""
        self.workstation = ""
        self.client_id = ""
        #: When this workstation was last caught up before this session (the store's contact at
        #: sign-in; None: never), which bounds its commands' action times.
        self.last_contact: float | None = None
        #: When it last said it holds no unacknowledged command in this session, and when that
        #: was last written to the store.
        self.caught_up_at: float | None = None
        self.contact_saved_at: float | None = None
        self.peer = _peer(ws)
        self.close_requested: _Close | None = None
        self._queue: deque[bytes | _Replay | _Close] = deque()
        self._wakeup = asyncio.Event()
        self._dead = False
        self._closer: asyncio.Task[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<Connection {self.user or '?'}@{self.workstation or '?'} {self.peer}>"

    # --- queueing (never blocks) -----------------------------------------------------------

    @property
    def alive(self) -> bool:
        """False once the connection is closing: frames sent to it are dropped."""
        return not self._dead and self.close_requested is None

    @property
    def queued(self) -> int:
        return len(self._queue)

    def send(self, frame: bytes) -> None:
        """Queue one frame."""
        if self.alive:
            self._queue.append(frame)
            self._after_enqueue()

    def send_many(self, frames: Iterable[bytes]) -> None:
        if self.alive:
            self._queue.extend(frames)
            self._after_enqueue()

    def replay(self, after: int, upto: int) -> None:
        """Queue the events with ``after < seq <= upto`` (read from the store in their turn)."""
        if self.alive and upto > after:
            self._queue.append(_Replay(after, upto))
            self._after_enqueue()

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with ``code``."""
        if self.alive:
            self.close_requested = _Close(code, reason)
            self._queue.append(self.close_requested)
            self._wakeup.set()

    def _after_enqueue(self) -> None:
        if len(self._queue) > self.max_queue:
            self._overflow()
        else:
            self._wakeup.set()

    def _overflow(self) -> None:
        log.warning("%r: %d frames queued, closing as a slow consumer", self, len(self._queue))
        self._dead = True
        self._queue.clear()
        if self._writer is not None:
            self._writer.cancel()  # it may be stuck awaiting the socket
        self._closer = asyncio.create_task(
            self._close_now(CloseCode.TRY_AGAIN_LATER, "slow consumer")
        )

    async def _close_now(self, code: int, reason: str) -> None:
        try:
            await self.ws.close(code, reason)
        except Exception:  # pragma: no cover - closing is best effort
            log.debug("%r: close failed", self, exc_info=True)

    # --- writing ---------------------------------------------------------------------------

    def start_writer(self) -> asyncio.Task[None]:
        self._writer = asyncio.create_task(self.write_loop(), name=f"writer {self.peer}")
        return self._writer

    async def write_loop(self) -> None:
        """Write queued frames in order until a close marker or the connection ends."""
        try:
            while True:
                while not self._queue:
                    self._wakeup.clear()
                    await self._wakeup.wait()
                item = self._queue.popleft()
                if isinstance(item, bytes):
                    frames = [item]
                    while self._queue and len(frames) < WRITE_BATCH:
                        if not isinstance(self._queue[0], bytes):
                            break
                        frames.append(self._queue.popleft())  # type: ignore[arg-type]
                    await self._write(frames)
                elif isinstance(item, _Replay):
                    if not await self._stream(item):
                        return
                else:
                    self._dead = True
                    await self.ws.close(item.code, item.reason)
                    return
        except ConnectionClosed:
            self._dead = True
        except Exception:
            self._dead = True
            log.exception("%r: writer failed", self)
            await self._close_now(CloseCode.INTERNAL_ERROR, "internal error")

    async def _write(self, frames: list[bytes]) -> None:
        """Send ``frames`` as text messages, in order.

        Fast path (websockets' asyncio connection): every frame is framed by the sans-I/O
        protocol and the lot goes to the transport in ONE write, inside ``send_context`` (which
        checks the state and applies flow control exactly as `send` does). That is four times
        cheaper per frame than one `send` each (one syscall per batch instead of per frame) and
        is what fan-out to hundreds of clients needs. It relies on websockets internals that
        exist in 13-17; `test_server_connection` fails loudly if an upgrade removes them, and
        the fallback is one `send` per frame.
        """
        ws = self.ws
        if _BATCH_WRITES and isinstance(ws, AsyncioConnection):
            async with ws.send_context():
                protocol = ws.protocol
                for frame in frames:
                    protocol.send_text(frame)
                ws.transport.write(b"".join(protocol.data_to_send()))
        else:
            for frame in frames:
                await ws.send(frame, text=True)

    async def _stream(self, replay: _Replay) -> bool:
        """Send the replayed events; False (after closing with 1013) if the store failed."""
        after = replay.after
        while after < replay.upto:
            try:
                events = self.store.events_after(after, min(self.replay_chunk, replay.upto - after))
            except StorageUnavailable as exc:
                log.error("%r: replay failed: %s", self, exc)
                events = []
            if not events:
                log.error("%r: replay stopped at %d of %d", self, after, replay.upto)
                self._dead = True
                await self.ws.close(CloseCode.TRY_AGAIN_LATER, "replay unavailable")
                return False
            await self._write([stored_event_frame(event) for event in events])
            after = events[-1].seq
        return True

    async def finish(self, timeout: float) -> None:
        """The connection's reader is done: let a requested close flush (up to ``timeout`` s),
        otherwise stop the writer; afterwards nothing more is sent."""
        writer = self._writer
        close = self.close_requested
        if writer is not None and not writer.done():
            if close is not None:
                try:
                    await asyncio.wait_for(asyncio.shield(writer), timeout)
                except TimeoutError:
                    writer.cancel()
                    await self._close_now(close.code, close.reason)
            else:
                writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
        self._dead = True
        if self._closer is not None:
            await asyncio.gather(self._closer, return_exceptions=True)


class Hub:
    """The connections that receive live events."""

    def __init__(self) -> None:
        self._connections: set[Connection] = set()

    def __len__(self) -> int:
        return len(self._connections)

    def connections(self) -> list[Connection]:
        return list(self._connections)

    def add(self, conn: Connection) -> None:
        self._connections.add(conn)

    def discard(self, conn: Connection) -> None:
        self._connections.discard(conn)

    def broadcast(
        self, frames: Sequence[bytes], only: Callable[[Connection], bool] | None = None
    ) -> None:
        """Queue ``frames`` on every live connection (``only``: on those it is true for); drop
        connections that have gone."""
        for conn in list(self._connections):
            if conn.alive and (only is None or only(conn)):
                conn.send_many(frames)
            if not conn.alive:
                self._connections.discard(conn)


def _peer(ws: ServerConnection) -> str:
    try:
        address = ws.remote_address
    except Exception:  # pragma: no cover - no transport
        return "?"
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)
