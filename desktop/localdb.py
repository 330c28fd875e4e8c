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

Failures are typed: `DiskFull` (SQLITE_FULL: the disk, or a size cap), `DatabaseDamaged`
(SQLITE_CORRUPT, SQLITE_NOTADB, a short read; when opening, a failed ``quick_check`` or a
command row that fails its check: `desktop.localdb_schema.altered_commands`) and
`LocalStorageError` for the rest (locked, read-only, I/O error). What was being recorded did
not happen (rolled back) and nothing else changes: the first write after space is freed works.

**A damaged database is replaced, never deleted** (`desktop.salvage`: how, on the files):

- *at start*: it is moved aside (kept as ``<name>.damaged-<time>`` with its -wal and -shm) and
  a fresh one created; then every kept file of this database not yet read back (meta
  ``salvaged <name>``) is read back into it: its intact commands under their own keys, who
  this workstation is (`KEPT_META`), its journal. One durable transaction with that record, so
  a crash or a full disk on the way means it is simply done again at the next start.
- *while running* (the outermost transaction, a write-behind or a read hits damage): the same
  move; the fresh database gets what memory holds — every queued and refused command (each
  `add_restorer`, i.e. the outbox's mirror), the meta values — and the journal read back from
  the kept file. `generation` goes up, so the replica writes itself whole at its next save
  (until then it has no ``last_seq``: a restart resyncs from 0). If the fresh database cannot
  be written yet (a full disk), every transaction first tries again.

The replica is never read back: a fresh database has none and no ``last_seq``, so the link
resyncs from the server (events from 0, or a snapshot). Each replacement is a `Recovery` in
`LocalDatabase.recoveries`, given to the `on_recovery` listeners, for the application to tell
the dispatcher (`desktop.storage_words.recovered`) and the log.
"""

from __future__ import annotations

import contextlib
import logging
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from desktop import salvage
from desktop.localdb_schema import SCHEMA_VERSION, altered_commands, open_schema
from desktop.salvage import Recovery
from desktop.storage_errors import DatabaseDamaged, DiskFull, LocalStorageError, storage_error

__all__ = [
    "KEPT_META",
    "SCHEMA_VERSION",
    "DatabaseDamaged",
    "DiskFull",
    "LocalDatabase",
    "LocalStorageError",
    "Recovery",
    "storage_error",
]

log = logging.getLogger("dispatch.localdb")

#: Meta values a fresh database takes over from the one it replaces: who this workstation is.
#: Not ``last_seq``: the fresh database has no replica, so the link resyncs from the server.
KEPT_META = ("client_id", "profile_url", "profile_user", "server_id", "clock_offset")
#: Meta key prefix recording a kept file whose commands this database holds (read back).
_SALVAGED = "salvaged "

#: What a restorer writes into a fresh database from memory (inside the restore's
#: transaction), returning how many (queued, refused) commands it put back.
Restorer = Callable[[sqlite3.Connection], tuple[int, int]]


@dataclass(slots=True)
class _Renewal:
    """A replacement of the damaged database while running, as far as it went."""

    cause: str
    kept: Path | None = None  # moved aside
    opened: bool = False  # the fresh database is open (its restore may still be owed)


class LocalDatabase:
    """The workstation database, with explicit transactions (see the module docstring).

    ``conn`` is for reads and durable writes; use it from one thread (the event loop's).
    Raises `LocalStorageError` when the file cannot be opened (locked, disk full, and so on:
    nothing is moved); a damaged file is replaced (`recoveries`)."""

    def __init__(self, path: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self.recoveries: list[Recovery] = []
        self.generation = 0  # goes up each time a fresh database replaces a damaged one
        self._listeners: list[Callable[[Recovery], None]] = []
        self._restorers: list[Restorer] = []
        self._renewal: _Renewal | None = None
        self._restoring = False
        self._active: sqlite3.Connection | None = None  # the connection of the open transaction
        self._depth = 0
        self._after_commit: list[Callable[[], None]] = []
        self._writer: ThreadPoolExecutor | None = None
        self._behind: _Behind | None = None  # the write-behind in flight (or not finished)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            salvage.finish_interrupted_move(path, clock())
        except OSError as exc:
            raise LocalStorageError(f"local database {path}: {exc}") from exc
        causes: dict[Path, str] = {}
        try:
            self.conn = self._open(path)
        except DatabaseDamaged as damaged:
            causes[self._move_aside(damaged.detail)] = damaged.detail
            self.conn = self._open(path)
        self._relaxed = self._connect(path, "NORMAL")
        self._meta = self._read_meta(self.conn)  # the meta values as last read or committed
        done = {k[len(_SALVAGED) :] for k in self._meta if k.startswith(_SALVAGED)}
        for kept in salvage.kept_files(path):
            if kept.name not in done:
                self._read_back(kept, causes.get(kept, ""))

    # --- opening ----------------------------------------------------------------------------

    @staticmethod
    def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.execute("PRAGMA busy_timeout=5000")
        except sqlite3.Error as exc:
            raise storage_error(exc, path) from exc
        return conn

    @classmethod
    def _open(cls, path: Path) -> sqlite3.Connection:
        """The durable connection, the file checked (``quick_check``) and brought up to date."""
        conn = cls._connect(path, "FULL")
        try:
            check = conn.execute("PRAGMA quick_check").fetchone()
            if check is None or check[0] != "ok":
                said = f"integrity check failed: {check[0] if check else 'no answer'}"
                raise DatabaseDamaged(f"local database {path}: {said}", detail=said)
            open_schema(conn)
            if altered := altered_commands(conn):
                said = f"{altered} command rows fail their check (altered on disk)"
                raise DatabaseDamaged(f"local database {path}: {said}", detail=said)
        except sqlite3.Error as exc:
            conn.close()
            raise storage_error(exc, path) from exc
        except BaseException:
            conn.close()
            raise
        return conn

    def _move_aside(self, cause: str) -> Path:
        """Rename the damaged file aside (its connections closed); raises `DatabaseDamaged`
        (no ``recovery``) when it cannot be: nothing replaces it then."""
        try:
            kept = salvage.move_aside(self.path, self._clock())
        except OSError as exc:
            said = f"local database {self.path} is damaged ({cause}), not moved aside: {exc}"
            log.error("%s", said)
            raise DatabaseDamaged(said, detail=cause) from exc
        log.error("local database %s is damaged (%s): kept as %s", self.path, cause, kept)
        return kept

    @staticmethod
    def _read_meta(conn: sqlite3.Connection) -> dict[str, str]:
        return {str(k): str(v) for k, v in conn.execute("SELECT k, v FROM meta")}

    def _read_back(self, kept: Path, cause: str) -> None:
        """Put what can be read back from the kept file ``kept`` into this database, with the
        record that it was (one durable transaction)."""
        found = salvage.read_back(kept)
        with self.transaction() as conn:
            queued, refused = salvage.put_back(
                conn, [*found.queued, *found.refused], found.high_seq, found.journal
            )
            for key, value in found.meta.items():
                if key not in self._meta and _carried_over(key, value):
                    self.set_meta(key, value)
            self.set_meta(_SALVAGED + kept.name, repr(self._clock()))
        for command in found.unverified:
            log.error(
                "%s: a command could not be read back intact and is NOT queued again: "
                "%s %s (key %s)",
                kept,
                command.kind,
                command.args[:200],
                command.key,
            )
        self._recovered(
            Recovery(
                kept,
                cause,
                during_run=False,
                queued=queued,
                refused=refused,
                unverified=tuple(
                    salvage.describe_damaged(c.kind, c.args) for c in found.unverified
                ),
                complete=found.complete,
            )
        )

    # --- replacing a damaged database while running ----------------------------------------

    @property
    def recovered_from(self) -> Path | None:
        """The newest kept (damaged) file this database replaced, if any."""
        return self.recoveries[-1].kept if self.recoveries else None

    @property
    def in_transaction(self) -> bool:
        return self._active is not None

    def on_recovery(self, listener: Callable[[Recovery], None]) -> Callable[[], None]:
        """Call ``listener`` with every later `Recovery` (those made at start are in
        `recoveries`); returns the unsubscribe function."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def add_restorer(self, restorer: Restorer) -> None:
        """``restorer`` writes what it holds in memory into a fresh database that replaces a
        damaged one while running (the outbox: its queued and refused commands). With none,
        the commands are read back from the kept file instead."""
        self._restorers.append(restorer)

    def _damaged(self, failure: DatabaseDamaged) -> None:
        """``failure`` found the database damaged: replace it now if no transaction is open
        (else at the next one). ``failure.recovery`` tells whether that was done."""
        if self._restoring:
            return  # the fresh database itself failed while being filled: tried again later
        if self._renewal is None:
            self._renewal = _Renewal(failure.detail)
        try:
            recovery = self._ready()
        except LocalStorageError as exc:
            log.error("the damaged database %s is not replaced yet: %s", self.path, exc)
            return
        failure.recovery = recovery

    def _ready(self) -> Recovery | None:
        """Finish the replacement of a damaged database, if one is owed and no transaction is
        open: move it aside, open a fresh one, put back what memory holds. Returns the
        `Recovery` made, if any; raises `LocalStorageError` while it cannot be finished."""
        renewal = self._renewal
        if renewal is None or self._active is not None:
            return None
        if renewal.kept is None:
            self._close_connections()
            try:
                renewal.kept = self._move_aside(renewal.cause)
            except DatabaseDamaged:
                self._renewal = None  # go on with the damaged file; the next damage tries again
                self.conn = self._connect(self.path, "FULL")
                self._relaxed = self._connect(self.path, "NORMAL")
                raise
        if not renewal.opened:
            self.conn = self._open(self.path)
            self._relaxed = self._connect(self.path, "NORMAL")
            renewal.opened = True
        recovery = self._restore(renewal.kept, renewal.cause)
        self._renewal = None
        self.generation += 1
        self._recovered(recovery)
        return recovery

    def _close_connections(self) -> None:
        for conn in (self._relaxed, self.conn):
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _restore(self, kept: Path, cause: str) -> Recovery:
        """Fill the fresh database from memory (and the journal from the kept file)."""
        found = salvage.read_back(kept)
        self._meta.update({k: v for k, v in found.meta.items() if k not in self._meta})
        self._restoring = True
        try:
            with self._outermost(durable=True) as conn:
                if self._restorers:
                    counts = [restorer(conn) for restorer in self._restorers]
                    salvage.put_back(conn, [], 0, found.journal)
                else:
                    commands = [*found.queued, *found.refused]
                    counts = [salvage.put_back(conn, commands, found.high_seq, found.journal)]
                conn.executemany(
                    "INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
                    [(k, v) for k, v in self._meta.items() if _carried_over(k, v)]
                    + [(_SALVAGED + kept.name, repr(self._clock()))],
                )
        finally:
            self._restoring = False
        self._meta = self._read_meta(self.conn)
        from_memory = bool(self._restorers)
        return Recovery(
            kept,
            cause,
            during_run=True,
            queued=sum(q for q, _ in counts),
            refused=sum(r for _, r in counts),
            unverified=()
            if from_memory
            else tuple(salvage.describe_damaged(c.kind, c.args) for c in found.unverified),
            complete=from_memory or found.complete,
        )

    def _recovered(self, recovery: Recovery) -> None:
        self.recoveries.append(recovery)
        log.error(
            "local database %s replaced (%s); the damaged file is kept as %s: %d queued and "
            "%d refused commands put back under their own keys, %d damaged ones not queued%s",
            self.path,
            "found while running" if recovery.during_run else "found at start",
            recovery.kept,
            recovery.queued,
            recovery.refused,
            len(recovery.unverified),
            "" if recovery.complete else "; parts of it could not be read",
        )
        for listener in list(self._listeners):
            try:
                listener(recovery)
            except Exception:  # telling must never stop the storage
                log.exception("a recovery listener failed")

    # --- transactions ----------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One atomic unit of work, durable (the default) or recoverable (see the module
        docstring); nested uses join the outer transaction, whatever they ask for.

        Raises `LocalStorageError` (after rolling back) when SQLite cannot write; a
        `DatabaseDamaged` one has replaced the database when its ``recovery`` is set.
        """
        if self._active is not None:
            self._depth += 1
            try:
                yield self._active
            finally:
                self._depth -= 1
            return
        self.wait_for_writes()
        self._ready()
        with self._outermost(durable) as conn:
            yield conn

    @contextlib.contextmanager
    def _outermost(self, durable: bool) -> Iterator[sqlite3.Connection]:
        conn = self.conn if durable else self._relaxed
        try:
            with self._statements(conn):
                yield conn
                conn.execute("COMMIT")
        except DatabaseDamaged as failure:
            self._after_commit = []  # not for the transactions that fill a fresh database
            self._damaged(failure)
            raise
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
        return storage_error(error, self.path)

    def read(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """The rows of a query on the durable connection (committed data, and the open
        durable transaction's own writes). Raises `LocalStorageError`; when the database is
        found damaged (outside a transaction) it is replaced and the query runs on the fresh
        one."""
        if self._active is None:
            self._ready()
        try:
            return self.conn.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            failure = self._failure(exc)
            if not isinstance(failure, DatabaseDamaged) or self._active is not None:
                raise failure from exc
            self._damaged(failure)
            if failure.recovery is None:
                raise failure from exc
        try:
            return self.conn.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise self._failure(exc) from exc

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
        run (if it committed), then ``done(error)`` (None, or the error that rolled it back; a
        damaged database is replaced first). Returns False, having done nothing, while the
        previous write-behind is not finished: call again after its ``done``. An exception of
        ``work`` is raised here, and `LocalStorageError` while a replacement cannot finish.
        """
        if self._behind is not None:
            return False
        if self._active is not None:
            raise RuntimeError("write_behind inside an open transaction")
        self._ready()
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
            self._finish(behind)
        return self._behind is None

    def wait_for_writes(self) -> None:
        """Wait for a write-behind in flight, then finish it here."""
        behind, self._behind = self._behind, None
        if behind is not None:
            behind.future.result()
            self._finish(behind)

    def _finish(self, behind: _Behind) -> None:
        error = behind.future.result()
        if isinstance(error, DatabaseDamaged):
            self._damaged(error)  # before ``done``: it may read the database again
        behind.finish(error)

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
        """Roll back what is open (SQLite may have done so itself, after a full disk)."""
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            log.warning("rollback failed: %s", exc)

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
        """A meta value; when the database cannot be read, the value last read or committed."""
        try:
            rows = self.read("SELECT v FROM meta WHERE k = ?", (key,))
        except LocalStorageError:
            return self._meta.get(key)
        value = None if not rows else str(rows[0][0])
        if value is not None:
            self._meta[key] = value
        return value

    def set_meta(self, key: str, value: str) -> None:
        """Set a meta value (inside the caller's transaction, or as its own)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v",
                (key, value),
            )
            self.after_commit(lambda: self._meta.__setitem__(key, value))

    def close(self) -> None:
        """Finish writes in flight, checkpoint the WAL into the main file and close."""
        self.wait_for_writes()
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        with contextlib.suppress(sqlite3.Error):
            self._relaxed.close()
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()


def _carried_over(key: str, value: str) -> bool:
    """Whether a fresh database takes over this meta value of the one it replaces."""
    if key.startswith(_SALVAGED):
        return True
    if key == "clock_offset":
        try:
            return math.isfinite(float(value))
        except ValueError:
            return False
    return key in KEPT_META and bool(value)


@dataclass(slots=True)
class _Behind:
    """A write-behind: its commit on the writer thread, and what to do once it is over."""

    future: Future[LocalStorageError | None]
    callbacks: list[Callable[[], None]]
    done: Callable[[LocalStorageError | None], None]

    def finish(self, error: LocalStorageError | None) -> None:
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
