"""The workstation database's two kinds of write: durable ones wait for the disk, recoverable
ones are written behind (their COMMIT on a writer thread), in order, never lost silently."""

from __future__ import annotations

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


def test_a_write_behind_returns_before_its_commit_and_is_finished_by_its_caller(
    db: LocalDatabase,
) -> None:
    slow = SlowDisk(db._relaxed, 0.3)
    db._relaxed = slow  # type: ignore[assignment]
    outbox = Outbox(db)
    entry = outbox.enqueue("unit.add", b"{}", 1.0)  # durable: on disk before it returns
    outcomes: list[LocalStorageError | None] = []
    started = time.monotonic()
    assert db.write_behind(lambda conn: outbox.ack(entry.key), outcomes.append)
    assert time.monotonic() - started < 0.15  # the caller did not wait for the disk
    assert not db.write_behind(lambda conn: None, outcomes.append)  # one at a time
    assert not db.poll_writes() and outcomes == []  # still committing
    assert entry.key in outbox  # memory changes only once the disk has it
    deadline = time.monotonic() + 5
    while not db.poll_writes():  # the caller looks; the writer thread calls nothing back
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert outcomes == [None]
    assert entry.key not in outbox and len(Outbox(db)) == 0
    assert slow.commit_threads == ["local writes_0"]


def test_a_durable_write_waits_for_the_write_behind_before_it(db: LocalDatabase) -> None:
    """Writes reach the disk in the order they were made."""
    db._relaxed = SlowDisk(db._relaxed, 0.2)  # type: ignore[assignment]
    outcomes: list[LocalStorageError | None] = []
    db.write_behind(
        lambda conn: conn.execute("INSERT INTO meta (k, v) VALUES ('a', '1')"), outcomes.append
    )
    db.set_meta("a", "2")  # a durable write after it
    assert db.get_meta("a") == "2"
    assert outcomes == [None]  # the earlier write was finished first


def test_a_failed_commit_rolls_back_and_says_so(db: LocalDatabase) -> None:
    outbox = Outbox(db)
    entry = outbox.enqueue("unit.add", b"{}", 1.0)

    class FailingCommit(SlowDisk):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql == "COMMIT":
                raise sqlite3.OperationalError("database or disk is full")
            return super().execute(sql, *args)

    db._relaxed = FailingCommit(db._relaxed, 0)  # type: ignore[assignment]
    outcomes: list[LocalStorageError | None] = []
    db.write_behind(lambda conn: outbox.ack(entry.key), outcomes.append)
    db.wait_for_writes()
    [error] = outcomes
    assert isinstance(error, LocalStorageError) and "full" in str(error)
    assert entry.key in outbox and len(Outbox(db)) == 1  # nothing lost


def test_durable_writes_sync_and_recoverable_ones_do_not(db: LocalDatabase) -> None:
    assert db.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db._relaxed.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
