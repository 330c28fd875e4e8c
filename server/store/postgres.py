"""`PostgresStore`: the `Store` in a PostgreSQL database (psycopg 3, the ``[postgres]`` extra).

Same behaviour as `server.store.sqlite.SqliteStore`, method by method: gap-free ascending seqs,
all-or-nothing batches (a duplicate idempotency key rolls the whole batch back), the same errors
(`StoreOpenError` at open, `StorageUnavailable` for a failed write after its rollback,
`UserExists`). Open it with a libpq DSN, ``postgresql://user@host:5432/dbname``; the tables live
in the first schema of the connection's ``search_path`` (``?options=-c%20search_path%3Dname``
picks another one than ``public``).

Two connections, as in SQLite: a writer (every write, serialised by a lock) and a reader
(queries, autocommit), each behind its own lock, so every method is thread-safe. A connection
that broke (the database restarted) is opened again: a read that met the break is tried once
more on the new one; a write that met it raises `StorageUnavailable` (rolled back, or, if the
break came during COMMIT, of unknown outcome, as with any client of a database) and the next
write reconnects.

**Seqs: a counter row (the decision #17 asks for).** ``event_seq`` holds one row, the last seq
given out. `PostgresStore.commit_batch` starts with ``UPDATE event_seq SET seq = seq + n
RETURNING seq`` and writes its ``n`` events as ``seq - n + 1 .. seq`` in the same transaction. The
row lock taken by that UPDATE is held until the transaction ends, so every writer of the
database, in this process or in another server instance sharing it, commits its events in seq
order, one after another: a rolled-back batch releases its seqs (the UPDATE is undone with it),
and a reader never sees seq ``k + 1`` committed before ``k``. There are no gaps, which a
``SEQUENCE`` (never rolled back) or ``MAX(seq) + 1`` (two instances read the same maximum) would
not give. The cost is one writer at a time, as in SQLite; a commit waits for the row at most
``lock_timeout`` (5 s), then fails with `StorageUnavailable`.

Schema (version 2, its own line of versions; kept in ``meta.schema_version``)::

    users(name PK, role, password_hash, created_at, disabled BOOLEAN)
    tokens(token_hash PK, user_name, kind, expires_at, created_at)
    events(seq BIGINT PK, kind, data BYTEA, at, actor, key, acted_at)      -- append-only
    event_seq(one row: seq BIGINT)    -- the last seq given out (see above)
    idempotency(key PK, user_name, result BYTEA, created_at)
    contacts(client_id PK, at)
    positions(unit_id PK, lat, lon, at, speed_mps, heading_deg)
    audit(id BIGINT identity PK, at, user_name, workstation, peer, role, kind, key, outcome,
          detail)                     -- the audit trail (`AuditRecord`), append-only
    meta(k PK, v)

Times are DOUBLE PRECISION seconds, as in SQLite. Triggers forbid UPDATE, DELETE and TRUNCATE
on ``events`` and on ``audit``. The schema is created (or migrated) on open in one transaction
that first takes an advisory lock, so several instances opening a new database at once do not
race; a schema newer than this server is refused with `StoreOpenError`. Version 2 added
``audit`` (`_MIGRATIONS`).

``PostgresStore(dsn, read_only=True)`` opens the database for reading only (``dispatch-server
audit``): its sessions are ``READ ONLY`` (every write refused with `StorageUnavailable`), no
schema is created or upgraded, and a database of another version is refused with
`StoreOpenError`. The append-only triggers guard against the application and against mistakes;
the owner of the tables can still drop them: grant the server's role no more than it needs.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

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
from server.store.pg_watch import CommitWatcher, commit_channel
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

__all__ = ["SCHEMA_VERSION", "PostgresStore", "describe_dsn"]

_Conn = psycopg.Connection[TupleRow]

SCHEMA_VERSION = 2
CONNECT_TIMEOUT_S = 10  # used when the DSN sets no connect_timeout
LOCK_TIMEOUT_MS = 5000  # like SQLite's busy_timeout: a write waits this long for a lock

#: The audit trail (version 2): the table, its indexes, and the triggers that keep it
#: append-only.
_AUDIT_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit(
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL,
        user_name TEXT NOT NULL,
        workstation TEXT NOT NULL,
        peer TEXT NOT NULL,
        role TEXT NOT NULL,
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        outcome TEXT NOT NULL,
        detail TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_at ON audit(at)",
    "CREATE INDEX IF NOT EXISTS audit_user_at ON audit(user_name, at)",
    """CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$""",
    """CREATE OR REPLACE TRIGGER audit_no_change BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only()""",
    """CREATE OR REPLACE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()""",
)

#: Migrations by the version they lead to: a newer server appends ``{3: [...], ...}``.
_MIGRATIONS: dict[int, tuple[str, ...]] = {2: _AUDIT_SCHEMA}

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS users(
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        disabled BOOLEAN NOT NULL DEFAULT FALSE
    )""",
    """CREATE TABLE IF NOT EXISTS tokens(
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('session', 'refresh')),
        expires_at DOUBLE PRECISION NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS tokens_expiry ON tokens(expires_at)",
    """CREATE TABLE IF NOT EXISTS events(
        seq BIGINT PRIMARY KEY,
        kind TEXT NOT NULL,
        data BYTEA NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        actor TEXT NOT NULL,
        key TEXT,
        acted_at DOUBLE PRECISION
    )""",
    """CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$""",
    """CREATE OR REPLACE TRIGGER events_no_change BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only()""",
    """CREATE OR REPLACE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()""",
    """CREATE TABLE IF NOT EXISTS event_seq(
        one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
        seq BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS idempotency(
        key TEXT PRIMARY KEY,
        user_name TEXT NOT NULL,
        result BYTEA NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS contacts(
        client_id TEXT PRIMARY KEY,
        at DOUBLE PRECISION NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS positions(
        unit_id TEXT PRIMARY KEY,
        lat DOUBLE PRECISION NOT NULL,
        lon DOUBLE PRECISION NOT NULL,
        at DOUBLE PRECISION NOT NULL,
        speed_mps DOUBLE PRECISION,
        heading_deg DOUBLE PRECISION
    )""",
    *_AUDIT_SCHEMA,
)


def describe_dsn(dsn: str) -> str:
    """``host:port/dbname`` of ``dsn`` for messages (never its password); raises `StoreOpenError`
    for a DSN libpq cannot parse (without repeating it: the error would quote the password)."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        raise StoreOpenError("cannot open database: not a valid PostgreSQL DSN") from None
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    port = str(params.get("port") or "5432")
    return f"{host}:{port}/{params.get('dbname') or params.get('user') or ''}"


class PostgresStore:
    """A `server.store.base.Store` in a PostgreSQL database. Raises `StoreOpenError` if it cannot
    open; write failures raise `StorageUnavailable` after rolling the transaction back."""

    def __init__(self, dsn: str, *, read_only: bool = False) -> None:
        """``read_only``: see the module docstring."""
        self.where = describe_dsn(dsn)
        self.read_only = read_only
        if "connect_timeout" not in conninfo_to_dict(dsn):
            dsn = make_conninfo(dsn, connect_timeout=CONNECT_TIMEOUT_S)
        self._dsn = dsn
        self._write_lock = threading.Lock()
        self._read_lock = threading.Lock()
        self._closed = False
        self._watchers: list[CommitWatcher] = []
        self._channel = ""  # set with the schema, by _init_schema
        opened: list[_Conn] = []
        try:
            self._writer = self._connect()
            opened.append(self._writer)
            if read_only:
                self._check_schema()
            else:
                self._init_schema()
            self._reader = self._connect()
        except (psycopg.Error, StoreOpenError) as exc:
            for conn in opened:
                conn.close()
            if isinstance(exc, StoreOpenError):
                raise
            raise StoreOpenError(f"cannot open database {self.where}: {_message(exc)}") from None
        self._server_id = self.get_meta("server_id") or ""

    # --- connections -----------------------------------------------------------------------

    def _connect(self) -> _Conn:
        conn = psycopg.connect(self._dsn, autocommit=True, application_name="dispatch-server")
        try:
            conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")
            if self.read_only:
                conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
        except BaseException:
            conn.close()
            raise
        return conn

    def _init_schema(self) -> None:
        conn = self._writer
        with conn.transaction():
            schema = conn.execute("SELECT current_schema()").fetchone()
            if schema is None or schema[0] is None:
                raise StoreOpenError(
                    f"cannot open database {self.where}: no schema of its search_path exists"
                )
            self._channel = commit_channel(str(schema[0]))
            # One opener at a time per schema: CREATE ... IF NOT EXISTS alone races.
            conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext('dispatch-store:' || current_schema()))"
            )
            conn.execute("CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL)")
            row = conn.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
            version = 0 if row is None else int(str(row[0]))
            if version > SCHEMA_VERSION:
                raise StoreOpenError(
                    f"cannot open database {self.where}: schema version {version} is newer than"
                    f" this server ({SCHEMA_VERSION})"
                )
            if version == 0:
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO event_seq(one, seq) SELECT TRUE, COALESCE(MAX(seq), 0) FROM events"
                    " ON CONFLICT (one) DO NOTHING"
                )
                conn.execute(
                    "INSERT INTO meta(k, v) VALUES ('server_id', %s) ON CONFLICT (k) DO NOTHING",
                    (str(uuid.uuid4()),),
                )
            else:
                for target in range(version + 1, SCHEMA_VERSION + 1):
                    for statement in _MIGRATIONS.get(target, ()):
                        conn.execute(statement)
            conn.execute(
                "INSERT INTO meta(k, v) VALUES ('schema_version', %s)"
                " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                (str(SCHEMA_VERSION),),
            )

    def _check_schema(self) -> None:
        """A read-only open: the database must be one of this version (nothing is upgraded)."""
        try:
            row = self._writer.execute("SELECT v FROM meta WHERE k = 'schema_version'").fetchone()
        except psycopg.errors.UndefinedTable:
            row = None
        if row is None:
            raise StoreOpenError(
                f"cannot open database {self.where}: not a dispatch server database"
                " (no schema version)"
            )
        version = int(str(row[0]))
        if version != SCHEMA_VERSION:
            which = "newer" if version > SCHEMA_VERSION else "older"
            advice = "" if which == "newer" else ": start the server on it once to upgrade it"
            raise StoreOpenError(
                f"cannot open database {self.where}: schema version {version} is {which} than"
                f" this server ({SCHEMA_VERSION}){advice}"
            )

    def _usable(self, conn: _Conn) -> bool:
        return not (conn.closed or conn.broken)

    @contextmanager
    def _write(self) -> Iterator[_Conn]:
        """One write transaction; IntegrityError passes, any other error -> `StorageUnavailable`."""
        with self._write_lock:
            self._check_open()
            try:
                if not self._usable(self._writer):
                    self._writer = self._connect()
                conn = self._writer
                with conn.transaction():  # rolls back if the block raises
                    yield conn
            except psycopg.IntegrityError:
                raise
            except psycopg.Error as exc:
                raise StorageUnavailable(f"database write failed: {_message(exc)}") from exc

    def _fetch(self, query: str, params: Sequence[object] = ()) -> list[TupleRow]:
        """The rows of one query on the reader. A read is safe to repeat, so one that met a
        broken connection is tried once more on a new one; then -> `StorageUnavailable`."""
        with self._read_lock:
            self._check_open()
            for attempt in (1, 2):
                try:
                    if not self._usable(self._reader):
                        self._reader = self._connect()
                    return self._reader.execute(query, params).fetchall()
                except psycopg.Error as exc:
                    if attempt == 1 and self._reader.broken:
                        continue
                    raise StorageUnavailable(f"database read failed: {_message(exc)}") from exc
            raise AssertionError("unreachable")

    def _fetch_one(self, query: str, params: Sequence[object] = ()) -> TupleRow | None:
        rows = self._fetch(query, params)
        return rows[0] if rows else None

    def _check_open(self) -> None:
        if self._closed:
            raise StorageUnavailable("the store is closed")

    # --- identity and meta -----------------------------------------------------------------

    def server_id(self) -> str:
        return self._server_id

    def get_meta(self, key: str) -> str | None:
        row = self._fetch_one("SELECT v FROM meta WHERE k = %s", (key,))
        return None if row is None else str(row[0])

    # --- event log -------------------------------------------------------------------------

    def server_seq(self) -> int:
        row = self._fetch_one("SELECT COALESCE(MAX(seq), 0) FROM events")
        return 0 if row is None else int(str(row[0]))

    def events_after(self, seq: int, limit: int) -> list[StoredEvent]:
        rows = self._fetch(
            f"SELECT {EVENT_COLUMNS} FROM events WHERE seq > %s ORDER BY seq LIMIT %s",
            (seq, max(0, limit)),
        )
        return [event_of(r) for r in rows]

    def commit_batch(self, batch: Batch) -> list[int]:
        """One transaction: seqs from the counter row, events, idempotency rows, meta values,
        and the NOTIFY that wakes the other instances (delivered only if it commits)."""
        n = len(batch.events)
        try:
            with self._write() as conn:
                seqs: list[int] = []
                if n or batch.after_seq is not None:
                    row = conn.execute(
                        "UPDATE event_seq SET seq = seq + %s RETURNING seq", (n,)
                    ).fetchone()
                    if row is None:
                        raise StorageUnavailable("database write failed: event_seq has no row")
                    last = int(str(row[0]))
                    if batch.after_seq is not None and last - n != batch.after_seq:
                        raise LogMoved(f"the log moved to seq {last - n} past {batch.after_seq}")
                    seqs = list(range(last - n + 1, last + 1))
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO events(seq, kind, data, at, actor, key, acted_at)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                        [
                            (seq, e.kind, e.data, e.at, e.actor, e.key, e.acted_at)
                            for seq, e in zip(seqs, batch.events, strict=True)
                        ],
                    )
                    cur.executemany(
                        "INSERT INTO idempotency(key, user_name, result, created_at)"
                        " VALUES (%s, %s, %s, %s)",
                        [
                            (r.key, r.user, render_result(r, seqs), r.created_at)
                            for r in batch.results
                        ],
                    )
                    cur.executemany(
                        "INSERT INTO meta(k, v) VALUES (%s, %s)"
                        " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                        list(batch.meta.items()),
                    )
                if seqs:
                    conn.execute("SELECT pg_notify(%s, %s)", (self._channel, str(seqs[-1])))
        except psycopg.errors.UniqueViolation as exc:
            if batch.after_seq is not None:  # another instance kept one of these keys first
                raise LogMoved(f"batch refused by the database: {_message(exc)}") from exc
            raise StorageUnavailable(f"batch refused by the database: {_message(exc)}") from exc
        except psycopg.IntegrityError as exc:
            raise StorageUnavailable(f"batch refused by the database: {_message(exc)}") from exc
        return seqs

    def watch_commits(self, on_commit: CommitWatch) -> Callable[[], None] | None:
        """LISTEN for every instance's commits on a connection of its own (`CommitWatcher`)."""
        self._check_open()
        watcher = CommitWatcher(self._connect, self._channel, on_commit, self.where)
        with self._write_lock:
            self._watchers.append(watcher)
        watcher.start()

        def stop() -> None:
            watcher.stop()
            with self._write_lock:
                if watcher in self._watchers:
                    self._watchers.remove(watcher)

        return stop

    def lookup_result(self, key: str) -> tuple[str, bytes] | None:
        return self.lookup_results([key]).get(key)

    def lookup_results(self, keys: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        if not keys:
            return {}
        rows = self._fetch(
            "SELECT key, user_name, result FROM idempotency WHERE key = ANY(%s)", (list(keys),)
        )
        return {str(key): (str(user), bytes(result)) for key, user, result in rows}

    # --- users -----------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password_hash: str, now: float) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO users(name, role, password_hash, created_at, disabled)"
                    " VALUES (%s, %s, %s, %s, FALSE)",
                    (name, role, password_hash, now),
                )
        except psycopg.errors.UniqueViolation:
            raise UserExists(f"user {name!r} already exists") from None
        except psycopg.IntegrityError as exc:
            raise StorageUnavailable(f"database write failed: {_message(exc)}") from exc

    def get_user(self, name: str) -> UserRecord | None:
        row = self._fetch_one(
            f"SELECT {USER_COLUMNS} FROM users WHERE name = %s",
            (name,),
        )
        return None if row is None else user_of(row)

    def list_users(self) -> list[UserRecord]:
        rows = self._fetch(f"SELECT {USER_COLUMNS} FROM users ORDER BY name")
        return [user_of(row) for row in rows]

    def set_password(self, name: str, password_hash: str) -> bool:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE users SET password_hash = %s WHERE name = %s", (password_hash, name)
            )
            return cur.rowcount > 0

    def set_disabled(self, name: str, disabled: bool) -> bool:
        with self._write() as conn:
            cur = conn.execute("UPDATE users SET disabled = %s WHERE name = %s", (disabled, name))
            return cur.rowcount > 0

    # --- tokens ----------------------------------------------------------------------------

    def insert_token(self, token: TokenRecord) -> None:
        try:
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO tokens(token_hash, user_name, kind, expires_at, created_at)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    (token.token_hash, token.user, token.kind, token.expires_at, token.created_at),
                )
        except psycopg.IntegrityError as exc:  # SQLite lets its IntegrityError through here
            raise StorageUnavailable(f"database write failed: {_message(exc)}") from exc

    def lookup_token(self, token_hash: str) -> TokenRecord | None:
        row = self._fetch_one(
            "SELECT token_hash, user_name, kind, expires_at, created_at FROM tokens"
            " WHERE token_hash = %s",
            (token_hash,),
        )
        if row is None:
            return None
        return token_of(row)

    def delete_token(self, token_hash: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM tokens WHERE token_hash = %s", (token_hash,))

    def purge_expired_tokens(self, now: float) -> int:
        with self._write() as conn:
            return conn.execute("DELETE FROM tokens WHERE expires_at < %s", (now,)).rowcount

    # --- workstation contacts ----------------------------------------------------------------

    def last_contact(self, client_id: str) -> float | None:
        row = self._fetch_one("SELECT at FROM contacts WHERE client_id = %s", (client_id,))
        return None if row is None else float(row[0])

    def record_contact(self, client_id: str, at: float) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO contacts(client_id, at) VALUES (%s, %s) ON CONFLICT (client_id)"
                " DO UPDATE SET at = GREATEST(contacts.at, excluded.at)",
                (client_id, at),
            )

    # --- AVL positions ---------------------------------------------------------------------

    def load_positions(self) -> list[PositionFix]:
        rows = self._fetch(f"SELECT {POSITION_COLUMNS} FROM positions")
        return [position_of(r) for r in rows]

    def save_positions(self, fixes: Sequence[PositionFix]) -> None:
        with self._write() as conn, conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO positions(unit_id, lat, lon, at, speed_mps, heading_deg)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (unit_id) DO UPDATE SET"
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
            with self._write() as conn, conn.cursor() as cur:
                cur.executemany(audit_insert("%s"), [audit_values(r) for r in records])
        except psycopg.IntegrityError as exc:
            raise StorageUnavailable(f"audit records refused: {_message(exc)}") from exc

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
            "%s", user=user, since=since, until=until, kind=kind, limit=limit
        )
        return [audit_of(row) for row in self._fetch(query, params)]

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Close both connections (idempotent); every commit is already durable."""
        with self._write_lock:
            watchers, self._watchers = self._watchers, []
        for watcher in watchers:
            watcher.stop()
        with self._write_lock, self._read_lock:
            if self._closed:
                return
            self._closed = True
            for conn in (self._reader, self._writer):
                with contextlib.suppress(psycopg.Error):
                    conn.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _message(exc: psycopg.Error) -> str:
    """A psycopg error on one line (libpq's messages go on with hints on further lines)."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return text or type(exc).__name__
