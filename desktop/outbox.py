"""The durable outbox: every command the dispatcher issued and the server has not yet answered.

Contract:
- `enqueue` commits the command to disk (WAL, ``synchronous=FULL``) before it returns; the
  optimistic effect shown on screen is derived from the outbox rows, so the row *is* that
  effect's durable form. Nothing is sent before the row is committed.
- A row leaves the outbox only when the server's result for its key is recorded: `ack`
  deletes it, `reject` moves it to Needs attention in the same transaction.
- After a crash, `Outbox.__init__` recovers rows that were in flight (``state='sent'``) as queued;
  they are replayed with their original keys and the server answers each key only once.
- Needs attention entries leave only by `retry` (re-queued under a new key) or `discard`;
  both are written to the journal.
- `adopt` takes in commands moved from another profile (`desktop.stranded`) under their own
  keys: a queued one at the end of the queue, a refused one into Needs attention.
- Both lists are mirrored in memory, and the mirror changes only once the disk has (after the
  commit), so `entries` and `needs_attention` always agree with each other.
- Every row carries the checksum of its command (``crc``: `desktop.salvage.command_check` of
  client_seq, key, kind, args and issued_at), so one read back from a damaged file is queued
  again only if intact. ``client_seq`` is never reused, even across a replaced database.
- A disk that cannot record a command raises (`desktop.localdb.DiskFull`, ...) and queues
  nothing: the dispatcher is told, and nothing is ever sent unqueued (only the outbox row lets
  it be replayed under its key, exactly once). When the database is found damaged and
  replaced while running, the mirror is written into the fresh one (`LocalDatabase
  .add_restorer`), and the dispatcher's write that found the damage is done once more there.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from desktop.ids import uuid7
from desktop.localdb import DatabaseDamaged, DiskFull, LocalDatabase
from desktop.salvage import KeptCommand, command_check, put_back, raise_sequence

__all__ = ["Outbox", "OutboxEntry", "Rejection"]

log = logging.getLogger("dispatch.outbox")

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A queued command. ``args`` is its JSON; ``client_seq`` its place in the replay order."""

    client_seq: int
    key: str
    kind: str
    args: bytes
    issued_at: float

    @property
    def check(self) -> int:
        """Its row's ``crc``."""
        return command_check(self.client_seq, self.key, self.kind, self.args, self.issued_at)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A command the server refused, kept for the dispatcher to retry, edit or discard."""

    entry: OutboxEntry
    code: str
    message: str
    rejected_at: float


class Outbox:
    """Queue of unanswered commands in `client_seq` order, mirrored in memory."""

    def __init__(self, db: LocalDatabase) -> None:
        self._db = db
        try:
            with db.transaction() as conn:
                self.recovered = conn.execute(
                    "UPDATE outbox SET state = 'queued' WHERE state = 'sent'"
                ).rowcount
        except DiskFull as exc:  # the mark only says "was sent": every row is replayed anyway
            log.warning("in-flight commands not marked queued again: %s", exc)
            self.recovered = 0
        rows = db.read(
            "SELECT client_seq, key, kind, args, issued_at FROM outbox ORDER BY client_seq"
        )
        self._entries: dict[str, OutboxEntry] = {
            row[1]: OutboxEntry(row[0], row[1], row[2], bytes(row[3]), row[4]) for row in rows
        }
        refused = db.read(
            "SELECT client_seq, key, kind, args, issued_at, code, message, rejected_at "
            "FROM needs_attention ORDER BY client_seq"
        )
        self._attention: dict[str, Rejection] = {
            r[1]: Rejection(OutboxEntry(r[0], r[1], r[2], bytes(r[3]), r[4]), r[5], r[6], r[7])
            for r in refused
        }
        used = db.read("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
        self._high_seq = int(used[0][0]) if used else 0  # the highest client_seq ever given
        db.add_restorer(self._restore)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def entries(self) -> list[OutboxEntry]:
        """Every queued command, oldest first."""
        return list(self._entries.values())

    def get(self, key: str) -> OutboxEntry | None:
        return self._entries.get(key)

    def enqueue(
        self, kind: str, args: bytes, issued_at: float, key: str | None = None
    ) -> OutboxEntry:
        """Durably queue a command (its own transaction, or the caller's if one is open)."""
        return self.enqueue_many([(kind, args)], issued_at, key)[0]

    def enqueue_many(
        self, commands: Sequence[tuple[str, bytes]], issued_at: float, key: str | None = None
    ) -> list[OutboxEntry]:
        """Durably queue (kind, args) commands in this order, all or none, in one transaction
        (or the caller's); ``key`` for a single command only (tests), else fresh UUIDv7s."""
        if key is not None and len(commands) != 1:
            raise ValueError("a key can be given for one command only")
        keys = [key or uuid7() for _ in commands]
        return self._again_if_replaced(lambda: self._enqueue(commands, keys, issued_at))

    def _enqueue(
        self, commands: Sequence[tuple[str, bytes]], keys: Sequence[str], issued_at: float
    ) -> list[OutboxEntry]:
        entries = []
        with self._db.transaction() as conn:
            for (kind, args), key in zip(commands, keys, strict=True):
                entry = OutboxEntry(_next_seq(conn), key, kind, args, issued_at)
                _insert(conn, entry)
                entries.append(entry)
            self._db.after_commit(lambda: self._queued(entries))
        return entries

    def _queued(self, entries: Iterable[OutboxEntry]) -> None:
        for entry in entries:
            self._entries[entry.key] = entry
            self._high_seq = max(self._high_seq, entry.client_seq)

    def _again_if_replaced(self, work: Callable[[], _T]) -> _T:
        """Run ``work`` (a durable write of its own); if it found the database damaged and a
        fresh one replaced it (this mirror written into it), run it once more there."""
        try:
            return work()
        except DatabaseDamaged as exc:
            if exc.recovery is None or self._db.in_transaction:
                raise
            log.warning("the database was replaced (%s): the write is done again", exc.detail)
            return work()

    def _restore(self, conn: sqlite3.Connection) -> tuple[int, int]:
        """Write the mirror into a fresh database (`LocalDatabase.add_restorer`)."""
        commands = [
            KeptCommand(e.client_seq, e.key, e.kind, e.args, e.issued_at)
            for e in self._entries.values()
        ]
        commands += [
            KeptCommand(
                r.entry.client_seq,
                r.entry.key,
                r.entry.kind,
                r.entry.args,
                r.entry.issued_at,
                (r.code, r.message, r.rejected_at),
            )
            for r in self._attention.values()
        ]
        return put_back(conn, commands, self._high_seq)

    def adopt(
        self, entries: Sequence[OutboxEntry], refused: Sequence[Rejection], at: float, origin: str
    ) -> tuple[list[OutboxEntry], list[Rejection]]:
        """Take in commands moved from another profile (``origin`` names it, for the journal):
        ``entries`` queued at the end of this queue, in their order, ``refused`` into Needs
        attention, each under its *own* key (so nothing can be applied twice) and with its own
        ``issued_at``. One durable transaction; a key this database holds, or took in before
        (the journal's ``adopt`` rows, kept after the command was answered), is skipped, so a
        move interrupted after this commit can simply be done again. Returns what was added."""
        return self._again_if_replaced(lambda: self._adopt(entries, refused, at, origin))

    def _adopt(
        self, entries: Sequence[OutboxEntry], refused: Sequence[Rejection], at: float, origin: str
    ) -> tuple[list[OutboxEntry], list[Rejection]]:
        added: list[OutboxEntry] = []
        kept: list[Rejection] = []
        with self._db.transaction() as conn:
            adopted = {
                row[0] for row in conn.execute("SELECT key FROM journal WHERE action = 'adopt'")
            }
            held = adopted | self._entries.keys() | self._attention.keys()
            for old in entries:
                if old.key in held:
                    continue
                entry = OutboxEntry(_next_seq(conn), old.key, old.kind, old.args, old.issued_at)
                if _insert(conn, entry, or_ignore=True):
                    added.append(entry)
            for rejection in refused:
                old = rejection.entry
                if old.key in held:
                    continue
                # a client_seq of this database's sequence (never reused: local references)
                entry = OutboxEntry(_next_seq(conn), old.key, old.kind, old.args, old.issued_at)
                raise_sequence(conn, entry.client_seq)
                moved = Rejection(entry, rejection.code, rejection.message, rejection.rejected_at)
                _refuse(conn, moved, or_ignore=True)
                kept.append(moved)
            for entry in added:
                self._journal(conn, at, entry.key, "adopt", f"queued, moved from {origin}")
            for rejection in kept:
                self._journal(
                    conn, at, rejection.entry.key, "adopt", f"refused, moved from {origin}"
                )

            def mirror() -> None:
                self._queued(added)
                self._attention.update((r.entry.key, r) for r in kept)
                self._high_seq = max([self._high_seq, *(r.entry.client_seq for r in kept)])

            self._db.after_commit(mirror)
        return added, kept

    def mark_sent(self, keys: Iterable[str]) -> None:
        """Record that these commands went out (inside the caller's transaction)."""
        with self._db.transaction() as conn:
            conn.executemany(
                "UPDATE outbox SET state = 'sent', attempts = attempts + 1 WHERE key = ?",
                ((key,) for key in keys),
            )

    def ack(self, key: str) -> OutboxEntry | None:
        """The server applied ``key``: forget it (inside the caller's transaction)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM outbox WHERE key = ?", (key,))
            self._db.after_commit(lambda: self._forget(key))
        return entry

    def reject(self, key: str, code: str, message: str, at: float) -> Rejection | None:
        """The server refused ``key``: move it to Needs attention (caller's transaction)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        rejection = Rejection(entry, code, message, at)
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM outbox WHERE key = ?", (key,))
            _refuse(conn, rejection)
            self._db.after_commit(lambda: self._refused(rejection))
        return rejection

    def _forget(self, key: str) -> None:
        self._entries.pop(key, None)

    def _resolved(self, key: str) -> None:
        self._attention.pop(key, None)

    def _refused(self, rejection: Rejection) -> None:
        self._entries.pop(rejection.entry.key, None)
        self._attention[rejection.entry.key] = rejection

    def needs_attention(self) -> list[Rejection]:
        """Rejected commands waiting for the dispatcher, oldest first (as on disk: this and
        `entries` change together, once the disk has a refusal)."""
        return sorted(self._attention.values(), key=lambda r: r.entry.client_seq)

    def retry(self, key: str, at: float, args: bytes | None = None) -> OutboxEntry:
        """Queue a rejected command again under a new key, optionally with edited ``args``."""
        return self._again_if_replaced(lambda: self._retry(key, at, args))

    def _retry(self, key: str, at: float, args: bytes | None) -> OutboxEntry:
        rejection = self._rejection(key)
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM needs_attention WHERE key = ?", (key,))
            entry = self.enqueue(rejection.entry.kind, args or rejection.entry.args, at)
            self._journal(conn, at, key, "retry", f"requeued as {entry.key}")
            self._db.after_commit(lambda: self._resolved(key))
        return entry

    def discard(self, key: str, at: float, reason: str = "") -> Rejection:
        """Drop a rejected command for good; the journal keeps who-knows-what was dropped."""
        return self._again_if_replaced(lambda: self._discard(key, at, reason))

    def _discard(self, key: str, at: float, reason: str) -> Rejection:
        rejection = self._rejection(key)
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM needs_attention WHERE key = ?", (key,))
            detail = f"{rejection.entry.kind} {rejection.entry.args.decode()} ({reason})"
            self._journal(conn, at, key, "discard", detail)
            self._db.after_commit(lambda: self._resolved(key))
        return rejection

    def journal(self) -> list[tuple[float, str, str, str]]:
        """(at, key, action, detail) of every retry and discard, oldest first."""
        rows = self._db.read("SELECT at, key, action, detail FROM journal ORDER BY id")
        return [(r[0], r[1], r[2], r[3]) for r in rows]

    def _rejection(self, key: str) -> Rejection:
        rejection = self._attention.get(key)
        if rejection is None:
            raise KeyError(f"no command {key} in Needs attention")
        return rejection

    @staticmethod
    def _journal(conn: object, at: float, key: str, action: str, detail: str) -> None:
        conn.execute(  # type: ignore[attr-defined]
            "INSERT INTO journal (at, key, action, detail) VALUES (?, ?, ?, ?)",
            (at, key, action, detail),
        )


def _next_seq(conn: sqlite3.Connection) -> int:
    """The next client_seq of the outbox (inside the caller's transaction: never one given
    before, even to a command answered and deleted since)."""
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
    return (int(row[0]) if row else 0) + 1


def _insert(conn: sqlite3.Connection, entry: OutboxEntry, *, or_ignore: bool = False) -> bool:
    """Queue ``entry`` with its check; False if ``or_ignore`` and its key is queued already."""
    cursor = conn.execute(
        f"INSERT {'OR IGNORE ' if or_ignore else ''}INTO outbox "
        "(client_seq, key, kind, args, issued_at, crc) VALUES (?, ?, ?, ?, ?, ?)",
        (entry.client_seq, entry.key, entry.kind, entry.args, entry.issued_at, entry.check),
    )
    return bool(cursor.rowcount)


def _refuse(conn: sqlite3.Connection, rejection: Rejection, *, or_ignore: bool = False) -> None:
    """Put ``rejection`` in Needs attention (replacing one of its key, unless ``or_ignore``);
    ``conn`` may be a write-behind's recorder (`Outbox.reject`)."""
    e = rejection.entry
    conn.execute(
        f"INSERT OR {'IGNORE' if or_ignore else 'REPLACE'} INTO needs_attention "
        "(key, client_seq, kind, args, issued_at, code, message, rejected_at, crc) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            e.key,
            e.client_seq,
            e.kind,
            e.args,
            e.issued_at,
            rejection.code,
            rejection.message,
            rejection.rejected_at,
            e.check,
        ),
    )
