"""The storage contract of the dispatch server: `Store` and the records it reads and writes.

A `Store` holds the durable state of a dispatch centre: users, tokens, the append-only event log,
the idempotency table (first result of every command key), the newest AVL position of each unit
(beside the log, not in it), the append-only audit trail (`AuditRecord`: every command,
sign-in and sign-out) and a small key/value ``meta`` table (schema version, incident
number counters, server id). `server.store.sqlite.SqliteStore` is the
embedded implementation; a PostgreSQL store shared by several server instances implements the same
Protocol.

Contracts every implementation keeps:

* Event seqs are gap-free and ascending: a committed batch of ``n`` events gets seqs
  ``max + 1 .. max + n`` in the same transaction that writes them.
* `Store.commit_batch` is all or nothing; on failure it rolls back and raises `StorageUnavailable`.
* Several writers (server instances sharing one database) stay consistent through
  `Batch.after_seq`: a batch decided on the log up to ``after_seq`` commits only if no other
  writer has committed since, else `LogMoved` (nothing kept: catch up, decide again); and
  `Store.watch_commits` tells a writer of the others' commits.
* Every method is safe to call from any thread (the server calls slow ones from worker threads).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from desktop.protocol.codec import encode_raw
from desktop.protocol.messages import ErrorInfo, PositionFix, ResultBody

__all__ = [
    "AUDIT_QUERY_LIMIT",
    "AuditRecord",
    "Batch",
    "CommitWatch",
    "LogMoved",
    "NewEvent",
    "NewResult",
    "StorageUnavailable",
    "Store",
    "StoreError",
    "StoreOpenError",
    "StoredEvent",
    "TokenKind",
    "TokenRecord",
    "UserExists",
    "UserRecord",
    "render_result",
]

TokenKind = Literal["session", "refresh"]

#: Told that another writer committed up to ``seq`` (0: unknown); see `Store.watch_commits`.
CommitWatch = Callable[[int], None]


class StoreError(Exception):
    """Base of the store's errors."""


class StoreOpenError(StoreError):
    """The database cannot be opened (bad path, not a database, newer schema...)."""


class StorageUnavailable(StoreError):
    """A write failed (disk full, I/O error, locked too long); nothing of it was kept."""


class LogMoved(StoreError):
    """A batch with `Batch.after_seq` was not kept: another writer committed first (the log
    moved past ``after_seq``, or it committed one of the batch's idempotency keys)."""


class UserExists(StoreError):
    """`Store.add_user` was given a name that is already taken."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event of the log. ``data`` is the event data as JSON bytes (decode by ``kind``);
    ``at`` is when the server recorded it, ``acted_at`` when the dispatcher acted (None: at
    ``at``; see `desktop.domain.action_time`)."""

    seq: int
    kind: str
    data: bytes
    at: float
    actor: str
    key: str | None
    acted_at: float | None = None

    @property
    def action_time(self) -> float:
        return self.at if self.acted_at is None else self.acted_at


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; the store assigns its seq. Times as in `StoredEvent`."""

    kind: str
    data: bytes
    at: float
    actor: str
    key: str | None
    acted_at: float | None = None


@dataclass(frozen=True, slots=True)
class NewResult:
    """The first result of command ``key``, to keep for replays of the same key.

    ``event_indexes`` are positions in `Batch.events` of the events the command produced; the
    store turns them into seqs when it renders the result (`render_result`).
    """

    key: str
    user: str
    ok: bool
    created_at: float
    event_indexes: tuple[int, ...] = ()
    error: ErrorInfo | None = None


@dataclass(frozen=True, slots=True)
class Batch:
    """What one group commit writes: events, idempotency results and ``meta`` values to set.

    ``after_seq``: the newest seq of the log the batch was decided on; when set, the batch
    commits only if that is still the newest seq (else `LogMoved`). None: commit whatever
    the log holds (one writer, or writes that decide nothing, such as a clock setting).
    """

    events: Sequence[NewEvent] = ()
    results: Sequence[NewResult] = ()
    meta: Mapping[str, str] = field(default_factory=dict)
    after_seq: int | None = None


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user account. ``password_hash`` is an `server.auth.hash_password` string."""

    name: str
    role: str
    password_hash: str
    created_at: float
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A session or refresh token, known only by the sha256 hex digest of its value."""

    token_hash: str
    user: str
    kind: TokenKind
    expires_at: float
    created_at: float


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the audit trail (CJIS-style): who (``user`` in ``role``), where
    (``workstation``, the name the position gave, and ``peer``, its address ``host:port``),
    when (``at``, the server's clock), what (``kind``: a command kind, or ``login``,
    ``logout``), which command (``key``, its idempotency key; empty for the others) and how it
    ended (``outcome``: ``ok`` or an error code; ``detail``: the seqs of its events, or why).

    The one home of the trail's fields: the stores' columns, the log line and the
    ``dispatch-server audit`` listing follow this order. ``id`` is the store's (None until
    stored; ascending in the order of appending within one database).
    """

    at: float
    user: str
    workstation: str
    peer: str
    role: str
    kind: str
    key: str = ""
    outcome: str = "ok"
    detail: str = ""
    id: int | None = None


#: The most audit records `Store.query_audit` returns unless told otherwise.
AUDIT_QUERY_LIMIT = 1000


def render_result(result: NewResult, seqs: Sequence[int]) -> bytes:
    """The stored form of ``result``: an encoded `ResultBody`, given the batch's assigned seqs."""
    body = ResultBody(
        key=result.key,
        ok=result.ok,
        events=[seqs[i] for i in result.event_indexes],
        error=result.error,
    )
    return bytes(encode_raw(body))


class Store(Protocol):
    """Durable state of the dispatch server (see the module docstring for the contracts)."""

    # --- identity and meta -----------------------------------------------------------------

    def server_id(self) -> str:
        """A stable id of this database, created on first open."""
        ...

    def get_meta(self, key: str) -> str | None:
        """The ``meta`` value of ``key`` or None."""
        ...

    # --- event log -------------------------------------------------------------------------

    def server_seq(self) -> int:
        """The seq of the newest committed event (0 when the log is empty)."""
        ...

    def events_after(self, seq: int, limit: int) -> list[StoredEvent]:
        """Up to ``limit`` events with seq > ``seq``, ascending."""
        ...

    def commit_batch(self, batch: Batch) -> list[int]:
        """Write ``batch`` in one transaction; return the seqs assigned to its events, in order.

        Raises `StorageUnavailable` (after rolling back) when the transaction fails, and
        `LogMoved` when `Batch.after_seq` is set and another writer committed first.
        """
        ...

    def watch_commits(self, on_commit: CommitWatch) -> Callable[[], None] | None:
        """Call ``on_commit(seq)`` (from any thread) whenever another writer of the database
        may have committed; ``seq`` is the newest seq committed then, 0 when unknown (after
        the watch reconnected: notifications may have been missed, so catch up from the log).
        Returns a function that stops the watch (idempotent), or None when no other writer
        can commit (an embedded database has one server)."""
        ...

    def lookup_result(self, key: str) -> tuple[str, bytes] | None:
        """(user, encoded `ResultBody`) stored for command ``key``, or None."""
        ...

    def lookup_results(self, keys: Sequence[str]) -> dict[str, tuple[str, bytes]]:
        """`lookup_result` of every key of ``keys`` at once: the keys with a stored result."""
        ...

    # --- users -----------------------------------------------------------------------------

    def add_user(self, name: str, role: str, password_hash: str, now: float) -> None:
        """Create a user; raises `UserExists` if the name is taken."""
        ...

    def get_user(self, name: str) -> UserRecord | None: ...

    def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        ...

    def set_password(self, name: str, password_hash: str) -> bool:
        """Replace a user's password hash; False if there is no such user."""
        ...

    def set_disabled(self, name: str, disabled: bool) -> bool:
        """Disable or re-enable a user; False if there is no such user."""
        ...

    # --- tokens ----------------------------------------------------------------------------

    def insert_token(self, token: TokenRecord) -> None: ...

    def lookup_token(self, token_hash: str) -> TokenRecord | None: ...

    def delete_token(self, token_hash: str) -> None: ...

    def purge_expired_tokens(self, now: float) -> int:
        """Delete tokens that expired before ``now``; return how many."""
        ...

    # --- workstation contacts ------------------------------------------------------------

    def last_contact(self, client_id: str) -> float | None:
        """When the workstation ``client_id`` was last heard from (None: never); it bounds the
        action times of the work it brings (`desktop.domain.action_time`)."""
        ...

    def record_contact(self, client_id: str, at: float) -> None:
        """Note that ``client_id`` was heard from at ``at`` (an earlier time never replaces a
        later one)."""
        ...

    # --- AVL positions (the newest per unit; not events) --------------------------------

    def load_positions(self) -> list[PositionFix]:
        """The newest position kept of each unit (any order)."""
        ...

    def save_positions(self, fixes: Sequence[PositionFix]) -> None:
        """Keep ``fixes`` as their units' newest positions, in one transaction; a fix older
        than the one kept for its unit does not replace it. Raises `StorageUnavailable`."""
        ...

    # --- audit trail (append-only) ------------------------------------------------------

    def append_audit(self, records: Sequence[AuditRecord]) -> None:
        """Append ``records`` (their ``id`` is ignored) in one transaction. The table refuses
        UPDATE and DELETE. Raises `StorageUnavailable` (nothing of it kept)."""
        ...

    def query_audit(
        self,
        *,
        user: str | None = None,
        since: float | None = None,
        until: float | None = None,
        kind: str | None = None,
        limit: int = AUDIT_QUERY_LIMIT,
    ) -> list[AuditRecord]:
        """The first ``limit`` records with ``since <= at < until`` (a bound None: open), of
        ``user`` and of ``kind`` when given (exact matches), oldest first (by ``at``, then
        ``id``). Raises `StorageUnavailable`."""
        ...

    # --- lifecycle -------------------------------------------------------------------------

    def close(self) -> None:
        """Flush and release the database (idempotent)."""
        ...
