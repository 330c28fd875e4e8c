"""`Connection`: ordered writing, replay streaming, close after flush, slow consumers (1013)."""

from __future__ import annotations

import asyncio
from typing import Any

from server.connection import Connection, Hub
from server.store.base import Batch, NewEvent
from server.store.sqlite import SqliteStore


class FakeWs:
    """Records frames; ``stuck`` makes send block as a client that stopped reading would."""

    remote_address = ("127.0.0.1", 4242)

    def __init__(self, stuck: bool = False) -> None:
        self.sent: list[bytes] = []
        self.closed: tuple[int, str] | None = None
        self.stuck = stuck

    async def send(self, data: bytes, text: bool = False) -> None:
        assert text
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.closed = (code, reason)


def make(store: SqliteStore, ws: FakeWs, **kw: Any) -> Connection:
    conn = Connection(ws, store, **kw)  # type: ignore[arg-type]
    conn.start_writer()
    return conn


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_frames_replay_and_close_in_order(store: SqliteStore) -> None:
    store.commit_batch(Batch([NewEvent("unit.updated", b"{}", 1.0, "a", None)] * 5))
    ws = FakeWs()
    conn = make(store, ws, replay_chunk=2)
    conn.send(b"welcome")
    conn.replay(1, 4)
    conn.send_many([b"live-5"])
    conn.close(1008, "bye")
    conn.send(b"dropped")  # nothing is queued after a close
    await conn.finish(1.0)
    assert ws.sent[0] == b"welcome" and ws.sent[-1] == b"live-5"
    assert all(b'"seq":%d' % n in frame for n, frame in zip((2, 3, 4), ws.sent[1:4], strict=True))
    assert len(ws.sent) == 5
    assert ws.closed == (1008, "bye")


async def test_slow_consumer_is_closed_1013(store: SqliteStore) -> None:
    ws = FakeWs(stuck=True)
    conn = make(store, ws, max_queue=10)
    hub = Hub()
    hub.add(conn)
    hub.broadcast([b"frame"] * 5)
    await settle()
    assert conn.alive and ws.closed is None
    hub.broadcast([b"frame"] * 15)  # the writer is stuck: the queue passes its limit
    await settle()
    assert ws.closed == (1013, "slow consumer")
    assert not conn.alive and conn.queued == 0
    hub.broadcast([b"more"])
    assert len(hub) == 0
    await conn.finish(1.0)


async def test_finish_without_close_stops_the_writer(store: SqliteStore) -> None:
    ws = FakeWs(stuck=True)
    conn = make(store, ws)
    conn.send(b"x")
    await settle()
    await asyncio.wait_for(conn.finish(1.0), 2)
    assert not conn.alive


async def test_requested_close_that_cannot_flush_is_forced(store: SqliteStore) -> None:
    ws = FakeWs(stuck=True)
    conn = make(store, ws)
    conn.send(b"x")
    conn.close(1008, "bye")
    await asyncio.wait_for(conn.finish(0.05), 2)
    assert ws.closed == (1008, "bye")


def test_the_batched_write_path_is_available() -> None:
    """`Connection._write` relies on websockets internals; an upgrade without them must be seen."""
    from server import connection

    assert connection._BATCH_WRITES
