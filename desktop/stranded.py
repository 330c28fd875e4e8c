"""Queued work left in other profiles: found at start, then sent where it was meant to go or
moved to the server signed in to now (Qt-free; the workstation's dialogs call it).

A profile is one (server, user) (`desktop.profiles`). Commands queued in a profile are sent only
while that profile is signed in, so a dispatcher who signed in once with a wrong server address
(the server never answered; the password was never checked) and queued a P1 would never see
it again under the right address. Nothing queued may be out of sight:

- `find_queued_work(data_dir)` opens every profile's ``workstation.sqlite`` **read-only**
  (SQLite ``mode=ro``: nothing is recovered, checkpointed or written; a profile in use by
  another run is read as it is) and lists those holding queued commands or commands refused
  into Needs attention, with their server, user and what the commands ask for.
- **Send to the server it was meant for** (`send_queued`): run that profile's own
  `DispatchService` (its URL, its user; the password, or the token remembered in the keyring)
  until its queue has drained. The server deduplicates by idempotency key, so a command it had
  already applied before a crash is not applied again. Refused commands stay in that profile
  (the server already answered them); they are listed again at the next start until moved
  here or resolved by signing in to that profile.
- **Move to this server** (`move_here`): the rule is that a command moves *with its own
  idempotency key and its own action time* (``issued_at``) into the current profile's outbox,
  at the end of its queue, and is then deleted from the old profile: first the new profile's
  transaction commits, then the old one's, each durable. Interrupted between the two, the
  command is in both; the next move skips the key already held (`Outbox.adopt`) and only
  deletes it from the old profile, so it is never queued twice here.
  **Only commands never sent may move** (``attempts = 0``): one that went out to its own
  server may have been applied there (the answer lost in an outage), and sending it to another
  server could apply it twice; such commands stay and can only be sent to their own server.
  **Refused commands move into this profile's Needs attention** with their reason, not into
  the queue: the dispatcher retries (under a new key), edits or discards them here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from desktop.link import SERVER_ID_META, LinkPhase, LinkStatus
from desktop.outbox import OutboxEntry, Rejection
from desktop.profiles import PROFILE_URL, PROFILE_USER, PROFILES, profile_dir
from desktop.salvage import describe_stored
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn

__all__ = [
    "DATABASE",
    "MoveResult",
    "QueuedWork",
    "SendResult",
    "find_queued_work",
    "move_here",
    "read_queued_work",
    "send_queued",
]

log = logging.getLogger("dispatch.stranded")

#: The database file of a profile.
DATABASE = "workstation.sqlite"
#: At most this many commands are described per profile (the rest are counted).
DESCRIBED = 5


@dataclass(frozen=True, slots=True)
class QueuedWork:
    """What one profile holds that no server has answered yet, or that was refused."""

    profile: Path  # the profile directory
    user: str
    url: str | None  # None: an old profile that does not name its server, and none matched
    queued: int  # commands not answered yet
    unsent: int  # of those, never sent: these may be moved to another server
    refused: int  # commands the server refused, in Needs attention
    oldest_issued_at: float | None
    ever_connected: bool  # the profile's server welcomed it at least once
    commands: tuple[str, ...]  # the first few, in a dispatcher's words, oldest first

    @property
    def movable(self) -> int:
        """Commands that may be moved to another server (never sent, or refused)."""
        return self.unsent + self.refused

    def where(self) -> str:
        """``ann on ws://cad:8765`` (or on an unknown server)."""
        return f"{self.user} on {self.url or 'an unknown server'}"


def _open_read_only(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    conn.execute("PRAGMA query_only = ON")
    return conn


def read_queued_work(profile: Path, known_urls: Iterable[str] = ()) -> QueuedWork | None:
    """What ``profile`` holds (read-only), or None when it holds nothing (or cannot be read:
    a damaged file is dealt with when the profile is signed in to, and kept)."""
    path = profile / DATABASE
    if not path.is_file():
        return None
    try:
        conn = _open_read_only(path)
    except sqlite3.Error as exc:
        log.warning("cannot read %s: %s", path, exc)
        return None
    try:
        rows = conn.execute(
            "SELECT kind, args, issued_at, attempts FROM outbox ORDER BY client_seq"
        ).fetchall()
        refused = conn.execute(
            "SELECT kind, args, issued_at FROM needs_attention ORDER BY client_seq"
        ).fetchall()
        meta = dict(conn.execute("SELECT k, v FROM meta").fetchall())
    except sqlite3.Error as exc:
        log.warning("cannot read %s: %s", path, exc)
        return None
    finally:
        conn.close()
    if not rows and not refused:
        return None
    user = str(meta.get(PROFILE_USER) or profile.name.rsplit("-", 1)[0])
    url = meta.get(PROFILE_URL)
    if url is None:  # an older profile: recognised from a URL the workstation knows
        data_dir = profile.parent.parent
        url = next((u for u in known_urls if profile_dir(data_dir, u, user) == profile), None)
    issued = [r[2] for r in rows] + [r[2] for r in refused]
    described = [describe_stored(r[0], bytes(r[1])) for r in rows[:DESCRIBED]]
    described += [
        f"{describe_stored(r[0], bytes(r[1]))} (refused)"
        for r in refused[: DESCRIBED - len(described)]
    ]
    return QueuedWork(
        profile=profile,
        user=user,
        url=None if url is None else str(url),
        queued=len(rows),
        unsent=sum(1 for r in rows if r[3] == 0),
        refused=len(refused),
        oldest_issued_at=min(issued),
        ever_connected=SERVER_ID_META in meta,
        commands=tuple(described),
    )


def find_queued_work(
    data_dir: Path, *, known_urls: Iterable[str] = (), exclude: Path | None = None
) -> list[QueuedWork]:
    """Every profile under ``data_dir`` (but ``exclude``) with queued or refused commands,
    oldest work first. Opens each database read-only and changes nothing."""
    root = data_dir / PROFILES
    if not root.is_dir():
        return []
    urls = list(known_urls)
    found = []
    for profile in sorted(root.iterdir()):
        if exclude is not None and profile.resolve() == exclude.resolve():
            continue
        if (work := read_queued_work(profile, urls)) is not None:
            found.append(work)
    return sorted(found, key=lambda w: w.oldest_issued_at or 0.0)


@dataclass(frozen=True, slots=True)
class MoveResult:
    queued: int  # commands now queued here
    refused: int  # refused commands now in Needs attention here
    left: int  # commands that went out to their own server once: they stay there


def move_here(source: Path, service: DispatchService) -> MoveResult:
    """Move the never-sent and the refused commands of profile ``source`` into ``service``'s
    profile under their own keys (the rule: module docstring), then delete them from
    ``source``. Raises `sqlite3.Error` or `desktop.localdb.LocalStorageError` when a database
    cannot be written (nothing is lost: at worst a command is in both, and moving again
    resolves it)."""
    path = source / DATABASE
    conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
    try:
        conn.execute("PRAGMA synchronous = FULL")
        rows = conn.execute(
            "SELECT client_seq, key, kind, args, issued_at, attempts FROM outbox "
            "ORDER BY client_seq"
        ).fetchall()
        refused_rows = conn.execute(
            "SELECT client_seq, key, kind, args, issued_at, code, message, rejected_at "
            "FROM needs_attention ORDER BY client_seq"
        ).fetchall()
        entries = [OutboxEntry(r[0], r[1], r[2], bytes(r[3]), r[4]) for r in rows if r[5] == 0]
        refused = [
            Rejection(OutboxEntry(r[0], r[1], r[2], bytes(r[3]), r[4]), r[5], r[6], r[7])
            for r in refused_rows
        ]
        origin = f"{source.name} ({_url_of(conn) or 'unknown server'})"
        added, kept = service.adopt(entries, refused, origin)
        here = f"{service.config.url} ({service.config.data_dir.name})"
        now = time.time()
        moved = [e.key for e in entries] + [r.entry.key for r in refused]
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("DELETE FROM outbox WHERE key = ?", ((e.key,) for e in entries))
            conn.executemany(
                "DELETE FROM needs_attention WHERE key = ?", ((r.entry.key,) for r in refused)
            )
            conn.executemany(
                "INSERT INTO journal (at, key, action, detail) VALUES (?, ?, 'moved', ?)",
                ((now, key, f"moved to {here}") for key in moved),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()
    log.info(
        "moved %d queued and %d refused commands from %s to %s (%d stay: sent before)",
        len(added),
        len(kept),
        source,
        service.config.data_dir,
        len(rows) - len(entries),
    )
    return MoveResult(len(entries), len(refused), len(rows) - len(entries))


def _url_of(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT v FROM meta WHERE k = ?", (PROFILE_URL,)).fetchone()
    return None if row is None else str(row[0])


@dataclass(frozen=True, slots=True)
class SendResult:
    sent: int  # commands the server answered (applied, or refused into Needs attention)
    left: int  # still queued (stopped before the queue drained)
    refused: int  # in that profile's Needs attention now
    phase: LinkPhase  # how the link was when it stopped (SIGNED_OUT: the password was refused)
    detail: str


async def send_queued(
    work: QueuedWork,
    signin: SignIn,
    *,
    on_status: Callable[[LinkStatus], None] | None = None,
    config: ServiceConfig | None = None,
    close_within: float = 3.0,
) -> SendResult:
    """Run the profile of ``work`` (its own server and user) until its queue has drained, the
    server refuses the sign-in, or the task is cancelled; then stop it. ``config`` overrides
    the service's settings (tests: faster heartbeats); its data_dir and url must be the
    profile's."""
    if work.url is None:
        raise ValueError(f"{work.profile} does not name its server")
    config = config or ServiceConfig(data_dir=work.profile, url=work.url)
    done = asyncio.Event()

    def status(now: LinkStatus) -> None:
        if on_status is not None:
            on_status(now)
        drained = now.phase is LinkPhase.LIVE and now.queued == 0
        if drained or now.phase is LinkPhase.SIGNED_OUT:
            done.set()

    service = DispatchService(config, signin, on_status=status)
    before = len(service.outbox)
    try:
        service.start()
        if not service.outbox.entries() and service.status.phase is LinkPhase.LIVE:
            done.set()
        await done.wait()
    finally:
        last = service.status
        left = len(service.outbox)
        refused = len(service.needs_attention())
        with contextlib.suppress(Exception):
            await service.stop(close_within=close_within)
    return SendResult(before - left, left, refused, last.phase, last.detail)
