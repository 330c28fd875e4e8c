"""The workstation's local SQLite database: outbox, Needs attention, and the confirmed replica.

One file per profile, opened in WAL mode with ``synchronous=FULL`` so a committed transaction
survives power loss and ``kill -9``. A file that is not a readable database is never deleted:
it is renamed aside (``<name>.corrupt-<time>``), a fresh database is created, and
`LocalDatabase.recovered_from` names the kept file so the application can tell the dispatcher.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["SCHEMA_VERSION", "LocalDatabase", "LocalStorageError"]

SCHEMA_VERSION = 3

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
    """A connection to the workstation database, with explicit transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.recovered_from: Path | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.conn = self._open(path)
        except sqlite3.DatabaseError:
            self.recovered_from = self._move_aside(path)
            self.conn = self._open(path)
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []

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
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic, durable unit of work; nested uses join the outer transaction.

        Raises `LocalStorageError` (after rolling back) when SQLite cannot write.
        """
        if self._depth:
            self._depth += 1
            try:
                yield self.conn
            finally:
                self._depth -= 1
            return
        self._depth = 1
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            yield self.conn
            self.conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise LocalStorageError(f"local database {self.path}: {exc}") from exc
        except BaseException:
            self._rollback()
            raise
        finally:
            self._depth = 0
            callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:  # only reached when the transaction committed
            callback()

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once the current transaction has committed (at once outside one);
        never if it rolls back. In-memory mirrors of rows change here, so they never hold
        what the disk does not."""
        if self._depth:
            self._after_commit.append(callback)
        else:
            callback()

    def _rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

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
        """Checkpoint the WAL into the main file and close."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.conn.close()


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
