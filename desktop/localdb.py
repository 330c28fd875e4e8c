"""The workstation's local SQLite database: outbox, Needs attention, and the confirmed replica.

One file per profile, in WAL mode. Two kinds of transaction:

- **durable** (the default): what the dispatcher did — a queued command, a retry, a discard —
  committed with ``synchronous=FULL``, so it survives power loss and ``kill -9`` before
  anything is sent;
- **recoverable**: what the link received — acks, refusals, the replica — which the server can
  give again (an unacked command is replayed and answered from its idempotency key; the replica
  resyncs from its ``last_seq``). These use a second connection with ``synchronous=NORMAL``,
  and `write_behind` gathers their statements at once but runs them and their COMMIT, with
  whatever waiting for the disk it involves, on a writer thread: neither SQLite's work nor a
  slow disk stalls the event loop (the screen) while events stream in.
  (``transaction(durable=False)`` is the same, run and committed in place.)

Every transaction first waits for a write-behind commit in flight, so the disk sees writes in
the order they were made. WAL checkpoints stay automatic (every 1,000 pages, inside a commit:
a WAL that grows without them makes every durable commit slower): the link's steady stream of
recoverable writes crosses the threshold first, so its checkpoints run on the writer thread.

A file that is not a readable database is never deleted: it is renamed aside
(``<name>.corrupt-<time>``), a fresh database is created, and `LocalDatabase.recovered_from`
names the kept file so the application can tell the dispatcher.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

__all__ = ["SCHEMA_VERSION", "LocalDatabase", "LocalStorageError"]

SCHEMA_VERSION = 3

log = logging.getLogger("dispatch.localdb")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    client_seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key        TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    args       BLOB NOT NULL,
    issued_at  REAL NOT NULL,
    state      TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent')),
    attempts   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS needs_attention (
    key         TEXT PRIMARY KEY,
    client_seq  INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    args        BLOB NOT NULL,
    issued_at   REAL NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL,
    rejected_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    at     REAL NOT NULL,
    key    TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS replica (
    kind TEXT NOT NULL,
    id   TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (kind, id)
) WITHOUT ROWID;
-- Entries of the lists an incident only appends to (narrative, timeline), appended in rowid
-- order; entry n of a list is stored once (the unique index, created by _upgrade).
CREATE TABLE IF NOT EXISTS replica_entries (
    incident_id TEXT NOT NULL,
    list        TEXT NOT NULL,
    n           INTEGER NOT NULL,
    data        BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    k TEXT PRIMARY KEY,
    v TEXT NOT NULL
);
"""


#: Entry n of an incident's list is stored once: a replica can never show a note twice.
_ENTRY_KEY = (
    "CREATE UNIQUE INDEX IF NOT EXISTS replica_entries_key"
    " ON replica_entries (incident_id, list, n)"
)


class LocalStorageError(Exception):
    """The local database could not record something (disk full, read-only, I/O error).

    Whatever was being recorded did not happen: the transaction was rolled back.
    """


class LocalDatabase:
    """The workstation database, with explicit transactions (see the module docstring).

    ``conn`` is for reads and durable writes; use it from one thread (the event loop's)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.recovered_from: Path | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = self._open(path)
        except sqlite3.DatabaseError:
            self.recovered_from = self._move_aside(path)
            self.conn = self._open(path)
        self._relaxed = self._connect(path, "NORMAL")
        self._active: sqlite3.Connection | None = None  # the connection of the open transaction
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []
        self._writer: ThreadPoolExecutor | None = None
        self._behind: _Behind | None = None  # the write-behind in flight (or not finished)

    @staticmethod
    def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={synchronous}")
        conn.execute("PRAGMA busy_timeout=5000")
        return conn

    @staticmethod
    def _open(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=5000")
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {check}")
            conn.executescript(_SCHEMA)
            _upgrade(conn)
            conn.execute(_ENTRY_KEY)
            conn.execute(
                "INSERT OR IGNORE INTO meta (k, v) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        except sqlite3.DatabaseError:
            conn.close()
            raise
        return conn

    @staticmethod
    def _move_aside(path: Path) -> Path:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        kept = path.with_name(f"{path.name}.corrupt-{stamp}")
        path.rename(kept)
        for suffix in ("-wal", "-shm"):
            sidecar = path.with_name(path.name + suffix)
            if sidecar.exists():
                sidecar.rename(kept.with_name(kept.name + suffix))
        return kept

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work, durable (the default) or recoverable (see the module
        docstring); nested uses join the outer transaction, whatever they ask for.

        Raises `LocalStorageError` (after rolling back) when SQLite cannot write.
        """
        if self._active is not None:
            self._depth += 1
            try:
                yield self._active
            finally:
                self._depth -= 1
            return
        self.wait_for_writes()
        conn = self.conn if durable else self._relaxed
        try:
            with self._statements(conn):
                yield conn
                conn.execute("COMMIT")
        finally:
            callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:  # only reached when the transaction committed
            callback()

    @contextlib.contextmanager
    def _statements(self, conn: sqlite3.Connection) -> Iterator[None]:
        """BEGIN IMMEDIATE on ``conn`` and the body's statements (nested transactions join it);
        an error rolls back (an SQLite one becomes `LocalStorageError`). COMMIT is the
        caller's, inside the body or after it."""
        self._active, self._depth = conn, 1
        try:
            conn.execute("BEGIN IMMEDIATE")
            yield
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise self._failure(exc) from exc
        except BaseException:
            self._rollback(conn)
            raise
        finally:
            self._active, self._depth = None, 0

    def _failure(self, error: sqlite3.Error) -> LocalStorageError:
        return LocalStorageError(f"local database {self.path}: {error}")

    def write_behind(
        self,
        work: Callable[[sqlite3.Connection], None],
        done: Callable[[LocalStorageError | None], None],
    ) -> bool:
        """Record recoverable writes without the caller waiting for the database.

        ``work`` runs now, on the caller's thread, and gathers its statements: it is given a
        recorder (``execute``, ``executemany``; nested transactions get it too) standing for the
        connection. The writer thread runs them in one transaction of the recoverable connection
        and commits; it touches nothing else. The caller then finishes the write on its own
        thread with `poll_writes` (or `wait_for_writes`): the after-commit callbacks of ``work``
        run (if it committed), then ``done(error)`` (None, or the error that rolled it back).
        Returns False, having done nothing, while the previous write-behind is not finished:
        call again after its ``done``. An exception of ``work`` is raised here.
        """
        if self._behind is not None:
            return False
        if self._active is not None:
            raise RuntimeError("write_behind inside an open transaction")
        recorder = _Recorder()
        self._active, self._depth = cast(sqlite3.Connection, recorder), 1
        try:
            work(self._active)
        finally:
            self._active, self._depth = None, 0
            callbacks, self._after_commit = self._after_commit, []
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="local writes")
        future = self._writer.submit(self._run_behind, recorder)
        self._behind = _Behind(future, callbacks, done)
        return True

    def _run_behind(self, recorder: _Recorder) -> LocalStorageError | None:
        """On the writer thread: the statements in one transaction, committed."""
        conn = self._relaxed
        try:
            conn.execute("BEGIN IMMEDIATE")
            recorder.run(conn)
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(conn)
            return self._failure(exc)
        return None

    def poll_writes(self) -> bool:
        """Finish a write-behind whose commit is over, here (see `write_behind`); True when
        none is in flight any more."""
        behind = self._behind
        if behind is not None and behind.future.done():
            self._behind = None
            behind.finish()
        return self._behind is None

    def wait_for_writes(self) -> None:
        """Wait for a write-behind in flight, then finish it here."""
        behind, self._behind = self._behind, None
        if behind is not None:
            behind.future.result()
            behind.finish()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the current transaction has committed (at once outside one);
        never if it rolls back. In-memory mirrors of rows change here, so they never hold
        what the disk does not."""
        if self._active is not None:
            self._after_commit.append(callback)
        else:
            callback()

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            conn.execute("ROLLBACK")

    def page_count(self) -> int:
        """The database's size in pages."""
        return int(self.conn.execute("PRAGMA page_count").fetchone()[0])

    def set_max_page_count(self, pages: int | None) -> None:
        """Cap the database's size in pages on both connections (None: lift the cap).

        Fault injection, as the server store's: capping at `page_count` is a full disk."""
        limit = 1073741823 if pages is None else int(pages)
        self.wait_for_writes()
        for conn in (self.conn, self._relaxed):
            conn.execute(f"PRAGMA max_page_count={limit}").fetchone()

    def get_meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a meta value (inside the caller's transaction, or as its own)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                (key, value),
            )

    def close(self) -> None:
        """Finish writes in flight, checkpoint the WAL into the main file and close."""
        self.wait_for_writes()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        self._relaxed.close()
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


@dataclass(slots=True)
class _Behind:
    """A write-behind: its commit on the writer thread, and what to do once it is over."""

    future: Future[LocalStorageError | None]
    callbacks: list[Callable[[], None]]
    done: Callable[[LocalStorageError | None], None]

    def finish(self) -> None:
        error = self.future.result()
        if error is None:
            for callback in self.callbacks:
                callback()
        self.done(error)


class _Recorder:
    """What a write-behind's statements are given for a connection: it keeps them, in order,
    for the writer thread to run (`LocalDatabase.write_behind`). Writes only: nothing it
    returns is a result."""

    def __init__(self) -> None:
        self._statements: list[tuple[bool, str, Any]] = []

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._statements.append((False, sql, tuple(parameters)))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> None:
        self._statements.append((True, sql, [tuple(row) for row in parameters]))

    def run(self, conn: sqlite3.Connection) -> None:
        for many, sql, parameters in self._statements:
            if many:
                conn.executemany(sql, parameters)
            else:
                conn.execute(sql, parameters)


def _upgrade(conn: sqlite3.Connection) -> None:
    """Bring a database of an older schema up to `SCHEMA_VERSION`: the replica (a cache of the
    server's log) is emptied with its ``last_seq``, so the next connection fetches it again;
    the outbox, Needs attention and the journal are kept as they are. Version 1 kept narratives
    in ``replica_narrative``; version 2 could hold an entry twice (a restarted workstation
    appended its entries again), which version 3's unique key on entries forbids."""
    row = conn.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
    if row is None or int(row[0]) >= SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("DROP TABLE IF EXISTS replica_narrative")
        conn.execute("DROP TABLE IF EXISTS replica_timeline")
        conn.execute("DELETE FROM replica")
        conn.execute("DELETE FROM replica_entries")
        conn.execute("DELETE FROM meta WHERE k = 'last_seq'")
        conn.execute("UPDATE meta SET v = ? WHERE k = 'schema_version'", (str(SCHEMA_VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
