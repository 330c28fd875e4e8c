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
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from desktop.ids import uuid7
from desktop.localdb import LocalDatabase

__all__ = ["Outbox", "OutboxEntry", "Rejection"]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """A queued command. ``args`` is its JSON; ``client_seq`` its place in the replay order."""

    client_seq: int
    key: str
    kind: str
    args: bytes
    issued_at: float


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
        with db.transaction() as conn:
            self.recovered = conn.execute(
                "UPDATE outbox SET state = 'queued' WHERE state = 'sent'"
            ).rowcount
        rows = db.conn.execute(
            "SELECT client_seq, key, kind, args, issued_at FROM outbox ORDER BY client_seq"
        ).fetchall()
        self._entries: dict[str, OutboxEntry] = {
            row[1]: OutboxEntry(row[0], row[1], row[2], bytes(row[3]), row[4]) for row in rows
        }
        refused = db.conn.execute(
            "SELECT client_seq, key, kind, args, issued_at, code, message, rejected_at "
            "FROM needs_attention ORDER BY client_seq"
        ).fetchall()
        self._attention: dict[str, Rejection] = {
            r[1]: Rejection(OutboxEntry(r[0], r[1], r[2], bytes(r[3]), r[4]), r[5], r[6], r[7])
            for r in refused
        }

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
        entries = []
        with self._db.transaction() as conn:
            for kind, args in commands:
                command_key = key or uuid7()
                cursor = conn.execute(
                    "INSERT INTO outbox (key, kind, args, issued_at) VALUES (?, ?, ?, ?)",
                    (command_key, kind, args, issued_at),
                )
                client_seq = cursor.lastrowid
                assert client_seq is not None
                entries.append(OutboxEntry(client_seq, command_key, kind, args, issued_at))
            self._db.after_commit(lambda: self._entries.update((e.key, e) for e in entries))
        return entries

    def adopt(
        self, entries: Sequence[OutboxEntry], refused: Sequence[Rejection], at: float, origin: str
    ) -> tuple[list[OutboxEntry], list[Rejection]]:
        """Take in commands moved from another profile (``origin`` names it, for the journal):
        ``entries`` queued at the end of this queue, in their order, ``refused`` into Needs
        attention, each under its *own* key (so nothing can be applied twice) and with its own
        ``issued_at``. One durable transaction; a key this database holds, or took in before
        (the journal's ``adopt`` rows, kept after the command was answered), is skipped, so a
        move interrupted after this commit can simply be done again. Returns what was added."""
        added: list[OutboxEntry] = []
        kept: list[Rejection] = []
        with self._db.transaction() as conn:
            adopted = {
                row[0] for row in conn.execute("SELECT key FROM journal WHERE action = 'adopt'")
            }
            held = adopted | self._entries.keys() | self._attention.keys()
            for entry in entries:
                if entry.key in held:
                    continue
                cursor = conn.execute(
                    "INSERT OR IGNORE INTO outbox (key, kind, args, issued_at) VALUES (?, ?, ?, ?)",
                    (entry.key, entry.kind, entry.args, entry.issued_at),
                )
                if cursor.rowcount and cursor.lastrowid is not None:
                    added.append(
                        OutboxEntry(
                            cursor.lastrowid, entry.key, entry.kind, entry.args, entry.issued_at
                        )
                    )
            for rejection in refused:
                old = rejection.entry
                if old.key in held:
                    continue
                # a client_seq of this database's sequence (never reused: local references)
                cursor = conn.execute(
                    "INSERT INTO outbox (key, kind, args, issued_at) VALUES (?, ?, ?, ?)",
                    (old.key, old.kind, old.args, old.issued_at),
                )
                assert cursor.lastrowid is not None
                conn.execute("DELETE FROM outbox WHERE key = ?", (old.key,))
                entry = OutboxEntry(cursor.lastrowid, old.key, old.kind, old.args, old.issued_at)
                conn.execute(
                    "INSERT OR IGNORE INTO needs_attention "
                    "(key, client_seq, kind, args, issued_at, code, message, rejected_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.key,
                        entry.client_seq,
                        entry.kind,
                        entry.args,
                        entry.issued_at,
                        rejection.code,
                        rejection.message,
                        rejection.rejected_at,
                    ),
                )
                kept.append(
                    Rejection(entry, rejection.code, rejection.message, rejection.rejected_at)
                )
            for entry in added:
                self._journal(conn, at, entry.key, "adopt", f"queued, moved from {origin}")
            for rejection in kept:
                self._journal(
                    conn, at, rejection.entry.key, "adopt", f"refused, moved from {origin}"
                )

            def mirror() -> None:
                self._entries.update((e.key, e) for e in added)
                self._attention.update((r.entry.key, r) for r in kept)

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
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM outbox WHERE key = ?", (key,))
            conn.execute(
                "INSERT OR REPLACE INTO needs_attention "
                "(key, client_seq, kind, args, issued_at, code, message, rejected_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (key, entry.client_seq, entry.kind, entry.args, entry.issued_at, code, message, at),
            )
            rejection = Rejection(entry, code, message, at)
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
        rejection = self._rejection(key)
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM needs_attention WHERE key = ?", (key,))
            entry = self.enqueue(rejection.entry.kind, args or rejection.entry.args, at)
            self._journal(conn, at, key, "retry", f"requeued as {entry.key}")
            self._db.after_commit(lambda: self._resolved(key))
        return entry

    def discard(self, key: str, at: float, reason: str = "") -> Rejection:
        """Drop a rejected command for good; the journal keeps who-knows-what was dropped."""
        rejection = self._rejection(key)
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM needs_attention WHERE key = ?", (key,))
            detail = f"{rejection.entry.kind} {rejection.entry.args.decode()} ({reason})"
            self._journal(conn, at, key, "discard", detail)
            self._db.after_commit(lambda: self._resolved(key))
        return rejection

    def journal(self) -> list[tuple[float, str, str, str]]:
        """(at, key, action, detail) of every retry and discard, oldest first."""
        rows = self._db.conn.execute(
            "SELECT at, key, action, detail FROM journal ORDER BY id"
        ).fetchall()
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
