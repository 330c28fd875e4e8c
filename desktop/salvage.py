"""A damaged workstation database: moved aside and kept, and what can be read back from it.

`desktop.localdb` decides *when* (a file SQLite reports damaged, at start or while running);
this module holds *how*, on the files:

- `move_aside` renames the database to ``<name>.damaged-<local time>`` (``-2``, ``-3``… if that
  name is taken: a kept file is never overwritten), then its ``-wal`` and ``-shm`` to the same
  name plus their suffix, and syncs the directory. Never deleted, never copied (a full disk
  cannot copy).
- `finish_interrupted_move`, called before the database is opened: a ``-wal`` or ``-shm`` with
  no main file beside it is what a crash between those renames leaves. It is moved onto the
  newest kept file that lacks it (else kept as ``<name>-wal.orphan-<time>``), because SQLite
  would otherwise wipe it when it creates a fresh database there, and the WAL holds the last
  commands committed.
- `read_back` reads a kept file read-only (SQLite ``mode=ro``: never written, never
  checkpointed), each table from both ends, so rows on either side of a damaged page are
  found. A command row (outbox or Needs attention) counts as *intact* only if its ``crc``
  column equals `command_check` of its fields: exactly what was queued, so it may be queued
  again under its own key. A row that fails the check is never queued again; it is described
  for the dispatcher instead. A file written before checksums (schema 3) has no ``crc``
  column: its rows must decode as their command kind and carry a canonical key.
- `put_back` writes commands (read back, or from the outbox's memory) into a fresh database
  with their own keys, ``client_seq`` and action time, and keeps ``client_seq`` from ever being
  reused: the server applies a key once, and the local references (``L12``) stay unique.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import sqlite3
import time
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.domain.catalog import COMMANDS, describe_command, read_command
from desktop.domain.world import World

__all__ = [
    "DAMAGED",
    "SIDECARS",
    "KeptCommand",
    "ReadBack",
    "Recovery",
    "command_check",
    "describe_damaged",
    "describe_stored",
    "finish_interrupted_move",
    "kept_files",
    "move_aside",
    "put_back",
    "read_back",
]

log = logging.getLogger("dispatch.localdb")

#: What a kept file's name adds to the database's: ``workstation.sqlite.damaged-<time>``.
DAMAGED = ".damaged-"
#: The files SQLite keeps beside a database in WAL mode.
SIDECARS = ("-wal", "-shm")

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def command_check(client_seq: int, key: str, kind: str, args: bytes, issued_at: float) -> int:
    """The ``crc`` column of an outbox or Needs attention row: CRC-32 of the command's fields."""
    head = f"{client_seq}\x1f{key}\x1f{kind}\x1f{issued_at!r}\x1f".encode()
    return zlib.crc32(args, zlib.crc32(head))


def describe_stored(kind: str, args: bytes) -> str:
    """A stored command in a dispatcher's words (its kind when it does not decode)."""
    command = read_command(kind, args)
    if command is None:
        return kind
    try:
        return describe_command(World(), command)
    except Exception:  # a description must never stop a list: the kind says enough
        return kind


def describe_damaged(kind: str, args: bytes) -> str:
    """A command row that failed its check, as far as it can be read: in a dispatcher's words
    if its kind is still one of ours, else only that it cannot be read."""
    if kind not in COMMANDS:
        return "a command that cannot be read"
    return describe_stored(kind, args)


@dataclass(frozen=True, slots=True)
class KeptCommand:
    """One command row: queued (``refusal`` None) or refused into Needs attention, with the
    server's (code, message, rejected_at)."""

    client_seq: int
    key: str
    kind: str
    args: bytes
    issued_at: float
    refusal: tuple[str, str, float] | None = None

    @property
    def check(self) -> int:
        return command_check(self.client_seq, self.key, self.kind, self.args, self.issued_at)


@dataclass(frozen=True, slots=True)
class ReadBack:
    """What `read_back` found in a kept file."""

    queued: list[KeptCommand]  # intact, client_seq order
    refused: list[KeptCommand]  # intact, client_seq order
    unverified: list[KeptCommand]  # failed the check: never queued again
    journal: list[tuple[float, str, str, str]]  # (at, key, action, detail)
    meta: dict[str, str]
    high_seq: int  # the highest client_seq the file shows was ever used
    complete: bool  # every table was read to its end


@dataclass(frozen=True, slots=True)
class Recovery:
    """A damaged database replaced by a fresh one: what the dispatcher and IT are told."""

    kept: Path  # the damaged file (its -wal and -shm beside it, if it had them)
    cause: str  # what SQLite said
    during_run: bool  # found while running (put back from memory) or at start (read back)
    queued: int  # commands queued again, under their own keys
    refused: int  # commands put back in Needs attention
    unverified: tuple[str, ...] = ()  # commands read back damaged, described: not queued
    complete: bool = True  # False: parts could not be read, commands may be missing


# --- the files -------------------------------------------------------------------------------


def sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def kept_files(path: Path) -> list[Path]:
    """The kept (damaged) files of the database at ``path``, oldest first."""
    found = []
    for candidate in path.parent.glob(f"{path.name}{DAMAGED}*"):
        stamp = candidate.name[len(path.name) + len(DAMAGED) :]
        match = re.fullmatch(r"(\d{8}T\d{6})(?:-(\d+))?", stamp)
        if match is not None:
            found.append((match.group(1), int(match.group(2) or 1), candidate))
    return [candidate for *_, candidate in sorted(found)]


def _free_name(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3``… whichever names no file (nor its sidecars)."""
    candidate, n = base, 1
    while candidate.exists() or any(sidecar(candidate, s).exists() for s in SIDECARS):
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def _stamp(now: float) -> str:
    return time.strftime("%Y%m%dT%H%M%S", time.localtime(now))


def _sync_directory(directory: Path) -> None:
    """Make renames in ``directory`` durable (POSIX; elsewhere renames are left to the OS)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def move_aside(path: Path, now: float) -> Path:
    """Rename the database at ``path`` and its sidecars aside (see the module docstring);
    returns the kept file's path. Raises OSError when the main file cannot be renamed."""
    kept = _free_name(path.with_name(f"{path.name}{DAMAGED}{_stamp(now)}"))
    path.rename(kept)
    for suffix in SIDECARS:
        if sidecar(path, suffix).exists():
            sidecar(path, suffix).rename(sidecar(kept, suffix))
    with contextlib.suppress(OSError):
        _sync_directory(path.parent)
    return kept


def finish_interrupted_move(path: Path, now: float) -> None:
    """Move sidecars left without their database onto the kept file they belong to."""
    if path.exists():
        return
    for suffix in SIDECARS:
        orphan = sidecar(path, suffix)
        if not orphan.exists():
            continue
        lacking = [k for k in kept_files(path) if not sidecar(k, suffix).exists()]
        if lacking:
            target = sidecar(lacking[-1], suffix)
        else:
            target = _free_name(orphan.with_name(f"{orphan.name}.orphan-{_stamp(now)}"))
        orphan.rename(target)
        log.warning("%s had no database beside it: kept as %s", orphan, target)


# --- reading a kept file back ----------------------------------------------------------------


def _connect_read_only(kept: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{kept.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
    conn.execute("PRAGMA query_only = ON")
    # tables whose pages are damaged are skipped instead of making the whole schema unreadable
    # (read-only: nothing is ever written through it)
    conn.execute("PRAGMA writable_schema = ON")
    return conn


def _both_ends(
    conn: sqlite3.Connection, table: str, columns: str, order: str
) -> tuple[list[tuple[Any, ...]], bool]:
    """Every readable row of ``table``, read by ``order`` (a unique column): forwards, and if
    a damaged page stops that, backwards as well. (rows in the order read, complete)."""
    rows: dict[tuple[Any, ...], None] = {}
    for direction in ("ASC", "DESC"):
        try:
            for row in conn.execute(f"SELECT {columns} FROM {table} ORDER BY {order} {direction}"):
                rows.setdefault(tuple(row), None)
        except sqlite3.Error as exc:
            log.warning("reading %s back: %s", table, exc)
            continue
        return list(rows), direction == "ASC"
    return list(rows), False


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})")}


def _command(row: Sequence[Any], refusal: tuple[str, str, float] | None) -> KeptCommand | None:
    """The command of a row (client_seq, key, kind, args, issued_at), or None when its values
    are not even of the right types."""
    seq, key, kind, args, issued_at = row[:5]
    if not (
        isinstance(seq, int)
        and isinstance(key, str)
        and isinstance(kind, str)
        and isinstance(args, bytes)
        and isinstance(issued_at, float)
    ):
        return None
    return KeptCommand(seq, key, kind, args, issued_at, refusal)


def _intact(command: KeptCommand, crc: object, checked: bool) -> bool:
    if checked:
        return crc == command.check
    return (  # written before checksums: it must at least be a command of a known kind
        _UUID.match(command.key) is not None
        and math.isfinite(command.issued_at)
        and read_command(command.kind, command.args) is not None
    )


def _describe_row(row: Sequence[Any]) -> KeptCommand:
    """A row that failed its check, as far as it can be read (for the dispatcher's list)."""
    kind = row[2] if isinstance(row[2], str) else "a command"
    args = row[3] if isinstance(row[3], bytes) else b""
    seq = row[0] if isinstance(row[0], int) else 0
    key = row[1] if isinstance(row[1], str) else ""
    issued = row[4] if isinstance(row[4], float) else 0.0
    return KeptCommand(seq, key, kind, args, issued)


def _commands(
    conn: sqlite3.Connection, table: str, extra: str, unverified: list[KeptCommand]
) -> tuple[list[KeptCommand], bool]:
    """The intact commands of ``table`` (``extra``: its columns after the command's)."""
    checked = "crc" in _columns(conn, table)
    columns = f"client_seq, key, kind, args, issued_at{extra}, {'crc' if checked else 'NULL'}"
    order = "client_seq" if table == "outbox" else "key"
    rows, complete = _both_ends(conn, table, columns, order)
    intact = []
    for row in rows:
        refusal = None
        if table == "needs_attention":
            code, message, rejected_at = row[5:8]
            if (
                isinstance(code, str)
                and isinstance(message, str)
                and isinstance(rejected_at, float)
            ):
                refusal = (code, message, rejected_at)
        command = _command(row, refusal)
        if command is None or (table == "needs_attention" and refusal is None):
            unverified.append(_describe_row(row))
        elif _intact(command, row[-1], checked):
            intact.append(command)
        else:
            unverified.append(command)
    return sorted(intact, key=lambda c: c.client_seq), complete


def read_back(kept: Path) -> ReadBack:
    """What can be read back from the kept file ``kept`` (see the module docstring); an
    unreadable file gives nothing, ``complete`` False. Never raises for a damaged file."""
    unverified: list[KeptCommand] = []
    queued: list[KeptCommand] = []
    refused: list[KeptCommand] = []
    journal: list[tuple[float, str, str, str]] = []
    meta: dict[str, str] = {}
    high_seq, complete = 0, True
    try:
        conn = _connect_read_only(kept)
    except sqlite3.Error as exc:
        log.warning("%s cannot be read back: %s", kept, exc)
        return ReadBack([], [], [], [], {}, 0, False)
    try:
        for read in ("outbox", "needs_attention", "journal", "meta", "sequence"):
            try:
                if read == "outbox":
                    queued, done = _commands(conn, "outbox", "", unverified)
                elif read == "needs_attention":
                    extra = ", code, message, rejected_at"
                    refused, done = _commands(conn, "needs_attention", extra, unverified)
                elif read == "journal":
                    rows, done = _both_ends(conn, "journal", "id, at, key, action, detail", "id")
                    journal = [
                        (r[1], r[2], r[3], r[4])
                        for r in sorted(rows, key=lambda r: r[0] if isinstance(r[0], int) else 0)
                        if isinstance(r[1], float) and _texts(r[2:])
                    ]
                elif read == "meta":
                    rows, done = _both_ends(conn, "meta", "k, v", "k")
                    meta = {r[0]: r[1] for r in rows if _texts(r)}
                else:
                    row = conn.execute(
                        "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"
                    ).fetchone()
                    high_seq, done = (row[0] if row and isinstance(row[0], int) else 0), True
            except sqlite3.Error as exc:  # the table's schema itself is unreadable
                log.warning("%s: %s cannot be read back: %s", kept, read, exc)
                done = False
            complete = complete and done
    finally:
        conn.close()
    seqs = [c.client_seq for c in queued + refused]
    return ReadBack(queued, refused, unverified, journal, meta, max([high_seq, *seqs]), complete)


def _texts(values: Iterable[object]) -> bool:
    return all(isinstance(v, str) for v in values)


# --- writing commands into a fresh database --------------------------------------------------


def put_back(
    conn: sqlite3.Connection,
    commands: Iterable[KeptCommand],
    high_seq: int,
    journal: Iterable[tuple[float, str, str, str]] = (),
) -> tuple[int, int]:
    """Write ``commands`` (inside the caller's transaction) with their own keys, client_seq
    and action time: queued ones into the outbox as possibly sent already (``attempts`` 1: a
    command recovered from a damage is never moved to another server), refused ones into
    Needs attention; a key held already is skipped. ``client_seq`` continues above
    ``high_seq``. Returns (queued, refused) written."""
    queued = refused = 0
    for c in commands:
        if c.refusal is None:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO outbox "
                "(client_seq, key, kind, args, issued_at, state, attempts, crc) "
                "VALUES (?, ?, ?, ?, ?, 'queued', 1, ?)",
                (c.client_seq, c.key, c.kind, c.args, c.issued_at, c.check),
            )
            queued += cursor.rowcount
        else:
            code, message, rejected_at = c.refusal
            cursor = conn.execute(
                "INSERT OR IGNORE INTO needs_attention (key, client_seq, kind, args, issued_at, "
                "code, message, rejected_at, crc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    c.key,
                    c.client_seq,
                    c.kind,
                    c.args,
                    c.issued_at,
                    code,
                    message,
                    rejected_at,
                    c.check,
                ),
            )
            refused += cursor.rowcount
        high_seq = max(high_seq, c.client_seq)
    conn.executemany(
        "INSERT INTO journal (at, key, action, detail) VALUES (?, ?, ?, ?)", list(journal)
    )
    raise_sequence(conn, high_seq)
    return queued, refused


def raise_sequence(conn: sqlite3.Connection, seq: int) -> None:
    """Make the outbox's next client_seq greater than ``seq`` (inside the caller's transaction)."""
    updated = conn.execute(
        "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'outbox'", (seq,)
    ).rowcount
    if not updated:
        conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)", (seq,))
