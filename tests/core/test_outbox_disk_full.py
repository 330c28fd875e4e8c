"""A full workstation disk (issue #17, deliverable 7): the command just issued is refused with
clear words and not queued (nor sent), nothing already queued is lost, and work goes on as soon
as there is space again, without a restart.

Each test runs on a real small filesystem filled until ENOSPC (a tmpfs; skipped where this
process may not mount one) and on SQLite's size cap (``max_page_count``): both give SQLite's
real SQLITE_FULL (`tests.support.storage_faults`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import LocationArgs
from desktop.localdb import DatabaseDamaged, DiskFull, LocalDatabase, LocalStorageError
from desktop.outbox import Outbox, OutboxEntry
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from desktop.storage_words import cannot_open, not_queued, not_recorded
from tests.support.storage_faults import FullDisk, full_disk  # noqa: F401  (fixture)

NOTE = b'{"incident_id":"i1","text":"%s"}'


def fill_until_full(outbox: Outbox, disk: FullDisk, db: LocalDatabase) -> DiskFull:
    """Fill the disk, then queue notes until one is refused (the WAL may still have room for a
    few): returns that refusal."""
    disk.fill(db)
    for n in range(2000):
        try:
            outbox.enqueue("incident.add_note", NOTE % (b"x" * 3000), 100.0 + n)
        except DiskFull as full:
            return full
    raise AssertionError("the disk never filled")


def on_disk(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [row[0] for row in conn.execute("SELECT key FROM outbox ORDER BY client_seq")]
    finally:
        conn.close()


def test_a_full_disk_refuses_the_command_and_loses_nothing_queued(full_disk: FullDisk) -> None:  # noqa: F811
    path = full_disk.directory / "ws.sqlite"
    db = LocalDatabase(path)
    outbox = Outbox(db)
    before = [outbox.enqueue("incident.add_note", NOTE % b"before", float(i)) for i in range(5)]
    full = fill_until_full(outbox, full_disk, db)

    assert "database or disk is full" in str(full)  # SQLite's own SQLITE_FULL
    assert isinstance(full.__cause__, sqlite3.OperationalError)
    assert full.__cause__.sqlite_errorname == "SQLITE_FULL"
    queued = [e.key for e in outbox.entries()]
    assert queued[:5] == [e.key for e in before]
    assert queued == on_disk(path)  # memory holds what the disk holds, nothing more
    assert len(Outbox(LocalDatabase(path))) == len(queued)  # ... even opened again while full

    full_disk.free()  # space again: the next write simply works, no restart
    after = outbox.enqueue("incident.add_note", NOTE % b"after", 999.0)
    assert [e.key for e in outbox.entries()] == [*queued, after.key] == on_disk(path)
    assert after.client_seq > max(e.client_seq for e in before)
    db.close()


def test_a_workstation_restarted_on_a_full_disk_opens_with_its_queue(full_disk: FullDisk) -> None:  # noqa: F811
    """Commands sent but unanswered before a crash are replayed as they are: the start does not
    need to write (it used to fail marking them queued again)."""
    path = full_disk.directory / "ws.sqlite"
    db = LocalDatabase(path)
    outbox = Outbox(db)
    sent = [outbox.enqueue("incident.add_note", NOTE % b"sent", float(i)) for i in range(3)]
    outbox.mark_sent(e.key for e in sent)
    fill_until_full(outbox, full_disk, db)
    db.close()
    for _ in range(2):  # and again, nothing moved aside or lost
        reopened = LocalDatabase(path)
        full_disk.fill(reopened)
        outbox = Outbox(reopened)
        assert [e.key for e in outbox.entries()][:3] == [e.key for e in sent]
        assert reopened.recoveries == [] and list(full_disk.directory.glob("*.damaged-*")) == []
        reopened.close()


@pytest.fixture
def service(full_disk: FullDisk) -> Iterator[DispatchService]:  # noqa: F811
    """A workstation (never started: offline) whose data directory is on ``full_disk``."""
    config = ServiceConfig(data_dir=full_disk.directory / "ws", url="ws://127.0.0.1:9")
    service = DispatchService(config, SignIn("ann", "pw"))
    yield service
    service.db.close()


def _incident(n: int, pad: int = 0) -> IncidentCreate:
    return IncidentCreate(
        incident_id=f"0193c1f2-0000-7000-8000-{n:012d}",
        type="FIRE",
        priority=1,
        location=LocationArgs(address=f"{n} Main"),
        note="x" * pad,
    )


def test_the_service_refuses_an_unqueueable_command_and_shows_no_effect_of_it(
    service: DispatchService,
    full_disk: FullDisk,  # noqa: F811
) -> None:
    """Refused, not sent directly: only the outbox row lets a command be replayed under its key
    after a cut, so an unqueued command sent while LIVE could be applied twice."""
    first = service.submit(_incident(1))
    full_disk.fill(service.db)
    refused: DiskFull | None = None
    for n in range(2, 2000):  # the WAL may still take a few
        try:
            service.submit(_incident(n, pad=3000))
        except DiskFull as full:
            refused = full
            break
    assert refused is not None, "the disk never filled"
    assert service.incident(_incident(n).incident_id) is None  # its forecast was dropped
    pending = [p.entry.key for p in service.pending()]
    assert pending[0] == first.key and pending == [e.key for e in service.outbox.entries()]
    assert len(pending) == n - 1
    assert "disk is full" in not_queued(refused)

    full_disk.free()  # space again: the same command goes through, no restart
    service.submit(_incident(n, pad=3000))
    assert service.incident(_incident(n).incident_id) is not None
    assert service.outbox.entries()[-1].args == msgspec.json.encode(_incident(n, pad=3000))


def test_the_words_say_what_happened_and_what_to_do() -> None:
    full = DiskFull("local database /x: database or disk is full")
    said = not_queued(full)
    assert said.startswith("The workstation's disk is full: this command was not queued")
    assert "Commands queued before it are safe" in said and "free space" in said
    assert "radio or phone" in said
    assert not_recorded(full).startswith("The workstation's disk is full: updates from the")
    assert "Nothing is lost" in not_recorded(full)
    assert "disk is full" in cannot_open(full) and "Nothing queued on it is lost" in cannot_open(
        full
    )
    other = LocalStorageError("local database /x: disk I/O error", detail="disk I/O error")
    assert "(disk I/O error)" in not_queued(other) and "not queued" in not_queued(other)
    damaged = DatabaseDamaged("local database /x: database disk image is malformed")
    assert "could not be replaced yet" in not_queued(damaged)


def test_an_entry_keeps_its_check(tmp_path: Path) -> None:
    """Every row carries the check of exactly what was queued (what a read back trusts)."""
    db = LocalDatabase(tmp_path / "ws.sqlite")
    outbox = Outbox(db)
    entry = outbox.enqueue("incident.add_note", NOTE % b"n", 5.0)
    refused = outbox.enqueue("incident.add_note", NOTE % b"r", 6.0)
    outcomes: list[LocalStorageError | None] = []  # as the link records it: written behind
    db.write_behind(lambda conn: outbox.reject(refused.key, "c", "m", 7.0), outcomes.append)
    db.wait_for_writes()
    assert outcomes == [None]
    rows = db.read("SELECT client_seq, key, kind, args, issued_at, crc FROM outbox")
    assert [OutboxEntry(*r[:3], bytes(r[3]), r[4]).check for r in rows] == [r[5] for r in rows]
    assert rows[0][5] == entry.check
    [row] = db.read("SELECT client_seq, key, kind, args, issued_at, crc FROM needs_attention")
    assert OutboxEntry(*row[:3], bytes(row[3]), row[4]).check == row[5] == refused.check
    db.close()
