"""The workstation database's two kinds of write: durable ones wait for the disk, recoverable
ones are written behind (their COMMIT on a writer thread), in order, never lost silently."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop.localdb import LocalDatabase, LocalStorageError
from desktop.outbox import Outbox


class SlowDisk:
    """A connection whose COMMIT takes ``delay`` seconds (a disk slow to sync)."""

    def __init__(self, conn: sqlite3.Connection, delay: float) -> None:
        self._conn = conn
        self.delay = delay
        self.commit_threads: list[str] = []

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            self.commit_threads.append(threading.current_thread().name)
            time.sleep(self.delay)
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[LocalDatabase]:
    database = LocalDatabase(tmp_path / "ws.sqlite")
    yield database
    database.close()


async def test_a_write_behind_returns_before_its_commit_and_reports_after(
    db: LocalDatabase,
) -> None:
    slow = SlowDisk(db._relaxed, 0.3)
    db._relaxed = slow  # type: ignore[assignment]
    outbox = Outbox(db)
    entry = outbox.enqueue("unit.add", b"{}", 1.0)  # durable: on disk before it returns
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[LocalStorageError | None] = loop.create_future()
    started = time.monotonic()
    assert db.write_behind(
        lambda conn: outbox.ack(entry.key), outcome.set_result, loop.call_soon_threadsafe
    )
    assert time.monotonic() - started < 0.15  # the loop did not wait for the disk
    assert entry.key in outbox  # memory changes only once the disk has it
    assert not db.write_behind(lambda conn: None, outcome.set_result, loop.call_soon_threadsafe)
    assert await asyncio.wait_for(outcome, 5) is None
    assert entry.key not in outbox and len(Outbox(db)) == 0
    assert slow.commit_threads and slow.commit_threads[0].startswith("local writes")


def test_a_durable_write_waits_for_the_write_behind_before_it(db: LocalDatabase) -> None:
    """Writes reach the disk in the order they were made."""
    db._relaxed = SlowDisk(db._relaxed, 0.2)  # type: ignore[assignment]
    posted: list[Any] = []
    db.write_behind(
        lambda conn: conn.execute("INSERT INTO meta (k, v) VALUES ('a', '1')"),
        lambda error: None,
        posted.append,
    )
    db.set_meta("a", "2")  # a durable write after it
    assert db.get_meta("a") == "2"
    assert len(posted) == 1  # the earlier commit had finished first


async def test_a_failed_commit_rolls_back_and_says_so(db: LocalDatabase) -> None:
    outbox = Outbox(db)
    entry = outbox.enqueue("unit.add", b"{}", 1.0)
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[LocalStorageError | None] = loop.create_future()

    class FailingCommit(SlowDisk):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "COMMIT":
                raise sqlite3.OperationalError("database or disk is full")
            return super().execute(sql, *args)

    db._relaxed = FailingCommit(db._relaxed, 0)  # type: ignore[assignment]
    db.write_behind(
        lambda conn: outbox.ack(entry.key), outcome.set_result, loop.call_soon_threadsafe
    )
    error = await asyncio.wait_for(outcome, 5)
    assert isinstance(error, LocalStorageError) and "full" in str(error)
    assert entry.key in outbox and len(Outbox(db)) == 1  # nothing lost


def test_durable_writes_sync_and_recoverable_ones_do_not(db: LocalDatabase) -> None:
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db._relaxed.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
