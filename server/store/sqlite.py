"""`SqliteStore`: the embedded `Store`, one SQLite file in WAL mode with ``synchronous=FULL``.

Two connections: a writer (every write, serialised by a lock, used from worker threads too) and
a reader (queries). WAL lets the reader run while the writer commits. Both are opened with
``check_same_thread=False`` and guarded by their own lock, so every method is thread-safe.

Schema (version 4)::

    users(name PK, role, password_hash, created_at, disabled)
    tokens(token_hash PK, user, kind, expires_at, created_at)
    events(seq INTEGER PRIMARY KEY, kind, data BLOB, at REAL, actor, key, acted_at REAL)
                                                                        -- append-only
    idempotency(key PK, user, result BLOB, created_at)
    contacts(client_id PK, at REAL)   -- when each workstation was last heard from
    positions(unit_id PK, lat REAL, lon REAL, at REAL, speed_mps REAL, heading_deg REAL)
                                      -- the newest AVL fix of each unit (a latest value)
    audit(id INTEGER PRIMARY KEY, at REAL, user_name, workstation, peer, role, kind, key,
          outcome, detail)            -- the audit trail (`AuditRecord`), append-only
    meta(k PK, v)

Triggers forbid UPDATE and DELETE on ``events`` and ``audit``. Older versions are upgraded in
place on open: version 1 (no action times, no contacts) keeps ``acted_at`` NULL on its events
(acted when recorded); version 2 gets the empty ``positions`` table, version 3 the empty
``audit`` table.

``SqliteStore(path, read_only=True)`` opens an existing database for reading only (the
``dispatch-server audit`` listing): SQLite's ``mode=ro``, no schema created or upgraded (a
database of another version is refused with `StoreOpenError`), every write refused with
`StorageUnavailable`. A server may be running on the file meanwhile (WAL).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from desktop.protocol.messages import PositionFix
from server.store.base import (
    AUDIT_QUERY_LIMIT,
    AuditRecord,
    Batch,
    CommitWatch,
    LogMoved,
    StorageUnavailable,
    StoredEvent,
    StoreOpenError,
    TokenRecord,
    UserExists,
    UserRecord,
    render_result,
)
from server.store.rows import (
    EVENT_COLUMNS,
    POSITION_COLUMNS,
    USER_COLUMNS,
    audit_insert,
    audit_of,
    audit_query,
    audit_values,
    event_of,
    position_of,
    token_of,
    user_of,
)

#: Keys looked up per query (SQLite limits the parameters of a statement).
LOOKUP_CHUNK = 500

__all__ = ["SCHEMA_VERSION", "SqliteStore"]

SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 5000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users(
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at REAL NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS tokens(
    token_hash TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('session', 'refresh')),
    expires_at REAL NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS tokens_expiry ON tokens(expires_at);
CREATE TABLE IF NOT EXISTS events(
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    key TEXT,
    acted_at REAL
);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TABLE IF NOT EXISTS idempotency(
    key TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    result BLOB NOT NULL,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS contacts(
    client_id TEXT PRIMARY KEY,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS positions(
    unit_id TEXT PRIMARY KEY,
    lat REAL NOT NULL,
    lon REAL NOT NULL,
    at REAL NOT NULL,
    speed_mps REAL,
    heading_deg REAL
);
CREATE TABLE IF NOT EXISTS meta(
    k TEXT PRIMARY KEY,
    v TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit(
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    user_name TEXT NOT NULL,
    workstation TEXT NOT NULL,
    peer TEXT NOT NULL,
    role TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    outcome TEXT NOT NULL,
    detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_at ON audit(at);
CREATE INDEX IF NOT EXISTS audit_user_at ON audit(user_name, at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
"""


class SqliteStore:
    """A `server.store.base.Store` in one SQLite file. Raises `StoreOpenError` if it cannot open.

    Write failures raise `StorageUnavailable`; the failed transaction is rolled back.
    """

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        """``read_only``: see the module docstring (the file must exist)."""
        self.path = Path(path)
        self.read_only = read_only
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._closed = False
        opened: list[sqlite3.Connection] = []
        try:
            if read_only and not self.path.is_file():
                raise sqlite3.OperationalError("no such database file")
            self._writer = self._connect()
            opened.append(self._writer)
            if read_only:
                self._check_schema()
            else:
                self._init_schema()
            self._reader = self._connect()
        except sqlite3.Error as exc:
            for conn in opened:
                conn.close()
            raise StoreOpenError(f"cannot open database {str(self.path)!r}: {exc}") from None
        self._server_id = self.get_meta("server_id") or ""

    # --- connections -----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self.read_only:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, isolation_level=None, check_same_thread=False, uri=True)
        else:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            if self.read_only:  # the file's journal mode (WAL) is the server's to set
                return conn
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"journal_mode is {mode}, WAL is required")
            conn.execute("PRAGMA synchronous=FULL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _init_schema(self) -> None:
        conn = self._writer
        conn.executescript(_SCHEMA)  # idempotent (IF NOT EXISTS); runs in its own transaction
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT OR IGNORE INTO meta(k, v) VALUES ('schema_version', ?), ('server_id', ?)",
                (str(SCHEMA_VERSION), str(uuid.uuid4())),
            )
            row = conn.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
            if int(row[0]) > SCHEMA_VERSION:
                raise sqlite3.DatabaseError(
                    f"schema version {row[0]} is newer than this server ({SCHEMA_VERSION})"
                )
            if int(row[0]) < 2:
                conn.execute("ALTER TABLE events ADD COLUMN acted_at REAL")
            if int(row[0]) < SCHEMA_VERSION:  # versions 3 and 4 (positions, audit): _SCHEMA
                conn.execute(
                    "UPDATE meta SET v = ? WHERE k = 'schema_version'", (str(SCHEMA_VERSION),)
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _check_schema(self) -> None:
        """A read-only open: the database must be one of this version (nothing is upgraded)."""
        try:
            row = self._writer.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
        except sqlite3.OperationalError:
            row = None
        if row is None:
            raise sqlite3.DatabaseError("not a dispatch server database (no schema version)")
        version = int(row[0])
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this server ({SCHEMA_VERSION})"
            )
        if version < SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is older than this server ({SCHEMA_VERSION}): start"
                " the server on it once to upgrade it"
            )

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE); any SQLite error -> `StorageUnavailable`."""
        with self._write_lock:
            self._check_open()
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
                conn.execute("COMMIT")
            except sqlite3.IntegrityError:
                self._rollback(conn)
                raise
            except sqlite3.Error as exc:
                self._rollback(conn)
                raise StorageUnavailable(f"database write failed: {exc}") from exc
            except BaseException:
                self._rollback(conn)
                raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._read_lock:
            self._check_open()
            try:
                yield self._reader
            except sqlite3.Error as exc:
                raise StorageUnavailable(f"database read failed: {exc}") from exc

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # SQLite may have rolled back already
                conn.execute("ROLLBACK")

    def _check_open(self) -> None:
        if self._closed:
            raise StorageUnavailable("the store is closed")

    # --- diagnostics and fault injection ---------------------------------------------------

    def pragma(self, name: str) -> str:
        """The writer connection's value of PRAGMA ``name`` (e.g. journal_mode, synchronous)."""
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        with self._write_lock:
            return str(self._writer.execute(f"PRAGMA {name}").fetchone()[0])

    def set_max_page_count(self, pages: int | None) -> int:
        """Cap the database size in pages (None: lift the cap) on the writer; returns the cap.

        Fault injection: capping at the current ``page_count`` simulates a full disk.
        """
        with self._write_lock:
            limit = 1073741823 if pages is None else int(pages)
            return int(self._writer.execute(f"PRAGMA max_page_count={limit}").fetchone()[0])

    def page_count(self) -> int:
        with self._write_lock:
            return int(self._writer.execute("PRAGMA page_count").fetchone()[0])

    # --- identity and meta -----------------------------------------------------------------

    def server_id(self) -> str:
        return self._server_id

    def get_meta(self, key: str) -> str | None:
        with self._read() as conn:
            row = conn.execute("SELECT v FROM meta WHERE k = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # --- event log -------------------------------------------------------------------------

    def server_seq(self) -> int:
        with self._read() as conn:
            return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])

    def events_after(self, seq: int, limit: int) -> list[StoredEvent]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, max(0, limit)),
            ).fetchall()
        return [event_of(r) for r in rows]

    def commit_batch(self, batch: Batch) -> list[int]:
        """One transaction: events (seq = max + 1..), idempotency rows, meta values."""
        try:
            with self._write() as conn:
                last = int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0])
                if batch.after_seq is not None and last != batch.after_seq:
                    raise LogMoved(f"the log moved to seq {last} past {batch.after_seq}")
                seqs = list(range(last + 1, last + 1 + len(batch.events)))
                conn.executemany(
                    "INSERT INTO events(seq, kind, data, at, actor, key, acted_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [
                        (seq, e.kind, e.data, e.at, e.actor, e.key, e.acted_at)
                        for seq, e in zip(seqs, batch.events, strict=True)
                    ],
                )
                conn.executemany(
                    "INSERT INTO idempotency(key, user, result, created_at) VALUES (?, ?, ?, ?)",
                    [(r.key, r.user, render_result(r, seqs), r.created_at) for r in batch.results],
                )
                conn.executemany(
                    "INSERT INTO meta(k, v) VALUES (?, ?)"
                    " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                    list(batch.meta.items()),
                )
        except sqlite3.IntegrityError as exc:
            if batch.after_seq is not None:  # another writer of the file committed a key
                raise LogMoved(f"batch refused by the database: {exc}") from exc
            raise StorageUnavailable(f"batch refused by the database: {exc}") from exc
        return seqs

    def watch_commits(self, on_commit: CommitWatch) -> Callable[[], None] | None:
        """None: an embedded database has one server, which makes every commit itself."""
        return None

    def lookup_result(self, key: str) -> tuple[str, bytes] | None:
        return self.lookup_results([key]).get(key)

    def lookup_results(self, keys: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        found: dict[str, tuple[str, bytes]] = {}
        with self._read() as conn:
            for start in range(0, len(keys), LOOKUP_CHUNK):
                chunk = keys[start : start + LOOKUP_CHUNK]
                marks = ", ".join("?" * len(chunk))
                for key, user, result in conn.execute(
                    f"SELECT key, user, result FROM idempotency WHERE key IN ({marks})", chunk
                ):
                    found[str(key)] = (str(user), bytes(result))
        return found

    # --- users -----------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password_hash: str, now: float) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO users(name, role, password_hash, created_at, disabled)"
                    " VALUES (?, ?, ?, ?, 0)",
                    (name, role, password_hash, now),
                )
        except sqlite3.IntegrityError:
            raise UserExists(f"user {name!r} already exists") from None

    def get_user(self, name: str) -> UserRecord | None:
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE name = ?",
                (name,),
            ).fetchone()
        return None if row is None else user_of(row)

    def list_users(self) -> list[UserRecord]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT {USER_COLUMNS} FROM users ORDER BY name").fetchall()
        return [user_of(row) for row in rows]

    def set_password(self, name: str, password_hash: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?", (password_hash, name)
            )
            return cur.rowcount > 0

    def set_disabled(self, name: str, disabled: bool) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE users SET disabled = ? WHERE name = ?", (int(disabled), name)
            )
            return cur.rowcount > 0

    # --- tokens ----------------------------------------------------------------------------

    def insert_token(self, token: TokenRecord) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO tokens(token_hash, user, kind, expires_at, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (token.token_hash, token.user, token.kind, token.expires_at, token.created_at),
            )

    def lookup_token(self, token_hash: str) -> TokenRecord | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT token_hash, user, kind, expires_at, created_at FROM tokens"
                " WHERE token_hash = ?",
                (token_hash,),
            ).fetchone()
        if row is None:
            return None
        return token_of(row)

    def delete_token(self, token_hash: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM tokens WHERE token_hash = ?", (token_hash,))

    def purge_expired_tokens(self, now: float) -> int:
        with self._write() as conn:
            return conn.execute("DELETE FROM tokens WHERE expires_at < ?", (now,)).rowcount

    # --- workstation contacts ----------------------------------------------------------------

    def last_contact(self, client_id: str) -> float | None:
        with self._read() as conn:
            row = conn.execute(
                "SELECT at FROM contacts WHERE client_id = ?", (client_id,)
            ).fetchone()
        return None if row is None else float(row[0])

    def record_contact(self, client_id: str, at: float) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO contacts(client_id, at) VALUES (?, ?)"
                " ON CONFLICT(client_id) DO UPDATE SET at = MAX(at, excluded.at)",
                (client_id, at),
            )

    # --- AVL positions ---------------------------------------------------------------------

    def load_positions(self) -> list[PositionFix]:
        with self._read() as conn:
            rows = conn.execute(f"SELECT {POSITION_COLUMNS} FROM positions").fetchall()
        return [position_of(r) for r in rows]

    def save_positions(self, fixes: Sequence[PositionFix]) -> None:
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO positions(unit_id, lat, lon, at, speed_mps, heading_deg)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(unit_id) DO UPDATE SET"
                " lat = excluded.lat, lon = excluded.lon, at = excluded.at,"
                " speed_mps = excluded.speed_mps, heading_deg = excluded.heading_deg"
                " WHERE excluded.at > positions.at",
                [(f.unit_id, f.lat, f.lon, f.at, f.speed_mps, f.heading_deg) for f in fixes],
            )

    # --- audit trail ------------------------------------------------------------------------

    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        if not records:
            return
        try:
            with self._write() as conn:
                conn.executemany(audit_insert("?"), [audit_values(r) for r in records])
        except sqlite3.IntegrityError as exc:
            raise StorageUnavailable(f"audit records refused by the database: {exc}") from exc

    def query_audit(
        self,
        *,
        user: str | None = None,
        since: float | None = None,
        until: float | None = None,
        kind: str | None = None,
        limit: int = AUDIT_QUERY_LIMIT,
    ) -> list[AuditRecord]:
        query, params = audit_query(
            "?", user=user, since=since, until=until, kind=kind, limit=limit
        )
        with self._read() as conn:
            rows = conn.execute(query, params).fetchall()
        return [audit_of(row) for row in rows]

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Checkpoint the WAL into the database file (TRUNCATE) and close both connections."""
        with self._write_lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            self._reader.close()
            if not self.read_only:
                with contextlib.suppress(sqlite3.Error):  # the WAL is replayed on next open
                    self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._writer.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
