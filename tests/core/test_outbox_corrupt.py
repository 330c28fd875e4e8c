"""A damaged workstation database (issue #17, deliverable 7): the file is moved aside and kept
(with its -wal and -shm, under a timestamped name never overwritten), a fresh one is started,
the commands that can be read back *intact* are queued again under their original keys (the
server dedups them: nothing applied twice), the others are named, and the replica resyncs.

Real SQLite files, damaged on disk: garbage over pages, truncated, a wrong header, bytes of a
command changed (SQLite cannot tell), damage found while running, a crash between renames.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
from pathlib import Path

import msgspec
import pytest

from desktop import salvage
from desktop.domain.incidents import IncidentAddNote
from desktop.domain.types import Incident, Location, NarrativeEntry, Unit
from desktop.domain.world import World
from desktop.localdb import DatabaseDamaged, DiskFull, LocalDatabase, LocalStorageError, Recovery
from desktop.outbox import Outbox, OutboxEntry
from desktop.replica import Replica
from desktop.storage_words import not_queued, recovered
from tests.support.storage_faults import PAGE, checkpointed, damage_page, page_of

CLIENT_ID = "0193c1f2-0000-7000-8000-00000000c1d0"


def note(n: int) -> bytes:
    return msgspec.json.encode(IncidentAddNote(incident_id="i1", text=f"note {n} " + "x" * 60))


def filled(path: Path, queued: int = 200, refused: int = 3) -> tuple[list[OutboxEntry], list[str]]:
    """A closed workstation database with ``queued`` commands, ``refused`` in Needs attention,
    a journal, who it is and a replica: (the queued entries, the refused keys)."""
    db = LocalDatabase(path)
    outbox = Outbox(db)
    db.set_meta("client_id", CLIENT_ID)
    db.set_meta("profile_url", "ws://cad:8765")
    Replica(db).save(World({}, {"E1": Unit(id="E1", type="ENGINE")}), [("unit", "E1")], 77)
    refused_keys = []
    for n in range(refused):
        entry = outbox.enqueue("incident.add_note", note(1000 + n), 10.0 + n)
        outbox.reject(entry.key, "incident_closed", "F1 is closed", 20.0)
        refused_keys.append(entry.key)
    entries = [outbox.enqueue("incident.add_note", note(n), 100.0 + n) for n in range(queued)]
    if refused_keys:
        outbox.discard(refused_keys.pop(), 31.0, "duplicate")
    db.close()
    return entries, refused_keys


def kept_files(path: Path) -> list[Path]:
    return salvage.kept_files(path)


def assert_only_originals(outbox: Outbox, originals: list[OutboxEntry]) -> None:
    """Every command put back is exactly one that was queued: same key, seq, args, time."""
    by_key = {e.key: e for e in originals}
    for entry in outbox.entries():
        assert entry == by_key[entry.key]
    seqs = [e.client_seq for e in outbox.entries()]
    assert seqs == sorted(seqs)


# --- damaged between runs ---------------------------------------------------------------------


def test_a_wrong_header_is_kept_aside_and_a_fresh_database_started(tmp_path: Path) -> None:
    path = tmp_path / "ws.sqlite"
    filled(path)
    original = path.read_bytes()
    damaged = b"this is not a database".ljust(100, b"!") + original[100:]
    path.write_bytes(damaged)

    db = LocalDatabase(path)
    [recovery] = db.recoveries
    assert recovery.kept.read_bytes() == damaged  # kept as it was, never deleted
    assert recovery.kept.name.startswith("ws.sqlite.damaged-")
    assert not recovery.during_run and not recovery.complete  # nothing could be read
    assert (recovery.queued, recovery.refused) == (0, 0)
    assert "file is not a database" in recovery.cause
    said = recovered(recovery)
    assert str(recovery.kept) in said and "could not be read" in said
    assert "fetched again from the server" in said
    Outbox(db).enqueue("incident.add_note", note(1), 1.0)  # the fresh database works
    world, last_seq = Replica(db).load()  # no replica: the link resyncs from 0
    assert (world.incidents, world.units, last_seq) == ({}, {}, 0)
    db.close()


@pytest.mark.parametrize("damage", ["garbage over a page", "truncated"])
def test_intact_commands_are_read_back_under_their_own_keys(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "ws.sqlite"
    entries, _ = filled(path)
    size = path.stat().st_size
    if damage == "truncated":
        os.truncate(path, size // 2 + PAGE // 2)  # half a page too: rows end in the middle
    else:
        leaf = path.read_bytes().index(b"note 100 ") // PAGE + 1  # a leaf of the outbox
        damage_page(path, leaf)

    db = LocalDatabase(path)
    outbox = Outbox(db)
    [recovery] = db.recoveries
    assert recovery.kept.exists() and not recovery.complete
    assert 0 < recovery.queued < len(entries)  # some are lost with the damaged page
    assert len(outbox) == recovery.queued
    assert_only_originals(outbox, entries)
    # the ones put back are still replayed as possibly sent: never moved to another server
    assert {r[0] for r in db.read("SELECT attempts FROM outbox")} == {1}
    # client_seq goes on above every one ever given (local references stay unique)
    assert outbox.enqueue("incident.add_note", note(9), 9.0).client_seq > entries[-1].client_seq
    assert db.get_meta("client_id") == CLIENT_ID and db.get_meta("last_seq") is None
    # commands read back damaged are named for the dispatcher, never queued
    for words in recovery.unverified:
        assert words in ("note on incident i1", "a command that cannot be read"), words
    db.close()


def test_a_command_changed_on_disk_is_never_sent(tmp_path: Path) -> None:
    """Bytes of one command changed in a sound page: SQLite's check passes, the row's does not.
    The database counts as damaged; every other command is put back, that one is named."""
    path = tmp_path / "ws.sqlite"
    entries, _ = filled(path, refused=0)
    data = bytearray(path.read_bytes())
    at = data.index(b"note 150 ")
    data[at + 5 : at + 8] = b"999"  # "note 999": a different command, same length
    path.write_bytes(bytes(data))
    assert sqlite3.connect(path).execute("PRAGMA quick_check").fetchone()[0] == "ok"

    db = LocalDatabase(path)
    outbox = Outbox(db)
    [recovery] = db.recoveries
    assert recovery.complete and recovery.queued == len(entries) - 1
    assert recovery.unverified == ("note on incident i1",)
    assert entries[150].key not in outbox
    assert_only_originals(outbox, entries)
    said = recovered(recovery)
    assert "1 command could not be read back intact and was NOT queued again" in said
    assert "(as far as can be read: note on incident i1)" in said
    db.close()


def test_refused_commands_and_the_journal_are_read_back(tmp_path: Path) -> None:
    path = tmp_path / "ws.sqlite"
    _, refused = filled(path, queued=5, refused=3)
    damage_page(path, page_of(path, "replica"))  # the replica is damaged, the rest is sound
    db = LocalDatabase(path)
    outbox = Outbox(db)
    [recovery] = db.recoveries
    assert (recovery.queued, recovery.refused, recovery.complete) == (5, 2, True)
    assert [r.entry.key for r in outbox.needs_attention()] == refused
    assert [r.code for r in outbox.needs_attention()] == ["incident_closed"] * 2
    assert [a for _, _, a, _ in outbox.journal()] == ["discard"]
    said = recovered(recovery)
    assert "none is applied twice: 5 queued commands and 2 commands in Needs attention." in said
    db.close()


def test_a_kept_file_is_read_back_once_even_after_a_crash_before(tmp_path: Path) -> None:
    """Moved aside, then the power went before its commands were read back: the next start
    reads it back; the one after does not read it again."""
    path = tmp_path / "ws.sqlite"
    entries, _ = filled(path, queued=4, refused=0)
    kept = salvage.move_aside(path, 0.0)  # what the interrupted start had done
    db = LocalDatabase(path)
    assert [r.kept for r in db.recoveries] == [kept]
    assert [e.key for e in Outbox(db).entries()] == [e.key for e in entries]
    db.close()
    again = LocalDatabase(path)
    assert again.recoveries == [] and len(Outbox(again)) == 4
    again.close()


def test_a_crash_between_the_renames_keeps_the_wal_with_its_file(tmp_path: Path) -> None:
    """The main file was renamed, its -wal not yet: SQLite would wipe that WAL (the newest
    commands) when creating a fresh database beside it. It is moved onto its kept file."""
    work, crashed = tmp_path / "live", tmp_path / "crashed"
    work.mkdir()
    crashed.mkdir()
    db = LocalDatabase(work / "ws.sqlite")
    outbox = Outbox(db)
    entries = [outbox.enqueue("incident.add_note", note(n), float(n)) for n in range(30)]
    for name in ("ws.sqlite", "ws.sqlite-wal", "ws.sqlite-shm"):  # the files as at a kill -9
        shutil.copy(work / name, crashed / name)
    db.close()
    path = crashed / "ws.sqlite"
    assert (crashed / "ws.sqlite-wal").stat().st_size > 0
    path.rename(crashed / "ws.sqlite.damaged-20250101T000000")  # the rename that was done

    fresh = LocalDatabase(path)
    assert len(fresh.recoveries) == 1
    assert (crashed / "ws.sqlite.damaged-20250101T000000-wal").exists()
    assert [e.key for e in Outbox(fresh).entries()] == [e.key for e in entries]
    fresh.close()


def test_kept_names_never_overwrite_each_other(tmp_path: Path) -> None:
    path = tmp_path / "ws.sqlite"
    kept = []
    for n in range(3):
        path.write_bytes(b"damaged %d" % n * 100)
        kept.append(salvage.move_aside(path, 1_700_000_000.0))  # the same second each time
    assert len(set(kept)) == 3
    assert [k.read_bytes()[:9] for k in kept] == [b"damaged 0", b"damaged 1", b"damaged 2"]
    assert salvage.kept_files(path) == kept


def test_a_locked_database_is_not_taken_for_a_damaged_one(tmp_path: Path) -> None:
    """It used to be: another process holding the write lock (a second copy of the
    application) made the start move a sound database aside and drop its queue."""
    path = tmp_path / "ws.sqlite"
    filled(path, queued=2, refused=0)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO meta (k, v) VALUES ('lock', '1')")
    release = threading.Timer(6.0, other.rollback)  # longer than the 5 s busy timeout
    release.start()
    try:
        with pytest.raises(LocalStorageError, match="locked") as refused:
            LocalDatabase(path)
        assert not isinstance(refused.value, DatabaseDamaged)
    finally:
        release.cancel()
        other.rollback()
        other.close()
    assert kept_files(path) == []
    db = LocalDatabase(path)
    assert db.recoveries == [] and len(Outbox(db)) == 2
    db.close()


def test_a_file_written_before_checksums_is_read_back_by_its_commands_form(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE outbox (client_seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT, "
        "kind TEXT, args BLOB, issued_at REAL, state TEXT, attempts INTEGER);"
    )
    good = "0193c1f2-0000-7000-8000-000000000001"
    conn.executemany(
        "INSERT INTO outbox (client_seq, key, kind, args, issued_at) VALUES (?, ?, ?, ?, ?)",
        [
            (1, good, "incident.add_note", note(1), 1.0),
            (2, "0193c1f2-0000-7000-8000-000000000002", "incident.add_note", b"{not json", 2.0),
            (3, "not a key", "incident.add_note", note(3), 3.0),
        ],
    )
    conn.commit()
    conn.close()
    found = salvage.read_back(path)
    assert [c.key for c in found.queued] == [good]
    assert len(found.unverified) == 2 and found.high_seq == 3


# --- damaged while running --------------------------------------------------------------------


def damage_under(db: LocalDatabase, table: str) -> None:
    """Damage ``table``'s root page in the file under a running database; another writer's
    commit makes SQLite drop its page cache (it reads the damage next time)."""
    checkpointed(db)
    damage_page(db.path, page_of(db.path, table))
    db._relaxed.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('poke', '1')")


def test_damage_found_while_running_replaces_the_database_from_memory(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    outbox = Outbox(db)
    db.set_meta("client_id", CLIENT_ID)
    told: list[Recovery] = []
    db.on_recovery(told.append)
    entries = [outbox.enqueue("incident.add_note", note(n), float(n)) for n in range(50)]
    outbox.reject(entries[0].key, "incident_closed", "closed", 60.0)
    last = outbox.enqueue("incident.add_note", note(99), 99.0)
    outbox.ack(last.key)  # answered: its client_seq is still never given again
    damage_under(db, "outbox")

    new = outbox.enqueue("incident.add_note", note(100), 100.0)  # done again on the fresh one

    [recovery] = told
    assert recovery.during_run and recovery.complete and recovery.unverified == ()
    assert (recovery.queued, recovery.refused) == (49, 1)
    assert recovery.kept.exists() and db.generation == 1
    assert new.client_seq > last.client_seq
    assert [e.key for e in outbox.entries()] == [e.key for e in entries[1:]] + [new.key]
    reopened = LocalDatabase(db.path)  # what is on disk now, as a restart reads it
    again = Outbox(reopened)
    assert again.entries() == outbox.entries()
    assert [r.entry.key for r in again.needs_attention()] == [entries[0].key]
    assert reopened.get_meta("client_id") == CLIENT_ID
    assert reopened.recoveries == []  # the kept file is recorded as read back
    reopened.close()
    assert "while in use" in recovered(recovery) and str(recovery.kept) in recovered(recovery)
    db.close()


def test_damage_found_by_a_write_behind_is_replaced_before_it_is_answered(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    outbox = Outbox(db)
    entries = [outbox.enqueue("incident.add_note", note(n), float(n)) for n in range(20)]
    damage_under(db, "outbox")
    outcomes: list[LocalStorageError | None] = []
    assert db.write_behind(lambda conn: outbox.ack(entries[0].key), outcomes.append)
    db.wait_for_writes()
    [error] = outcomes
    assert isinstance(error, DatabaseDamaged) and error.recovery is not None
    assert len(outbox) == 20  # the ack was not recorded: the server answers the key again
    assert db.write_behind(lambda conn: outbox.ack(entries[0].key), outcomes.append)
    db.wait_for_writes()
    assert outcomes[-1] is None and len(outbox) == 19
    assert len(Outbox(LocalDatabase(db.path))) == 19
    db.close()


def test_a_replacement_that_cannot_be_written_waits_for_space(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Damage found while the disk is also full: the fresh database cannot be filled yet; the
    dispatcher is told the disk is full, memory keeps everything, and the first try after
    space is freed finishes the replacement."""
    db = LocalDatabase(tmp_path / "ws.sqlite")
    outbox = Outbox(db)
    entries = [outbox.enqueue("incident.add_note", note(n), float(n)) for n in range(10)]
    damage_under(db, "outbox")
    real_put_back = salvage.put_back
    full = {"on": True}

    def put_back(conn: sqlite3.Connection, *args: object, **kw: object) -> tuple[int, int]:
        if full["on"]:
            raise sqlite3.OperationalError("database or disk is full")
        return real_put_back(conn, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(salvage, "put_back", put_back)
    monkeypatch.setattr("desktop.outbox.put_back", put_back)
    with pytest.raises(DatabaseDamaged) as first:
        outbox.enqueue("incident.add_note", note(50), 50.0)
    assert first.value.recovery is None
    assert "could not be replaced yet" in not_queued(first.value)
    with pytest.raises(DiskFull):  # the next try: still no space
        outbox.enqueue("incident.add_note", note(51), 51.0)
    assert len(outbox) == 10

    full["on"] = False
    new = outbox.enqueue("incident.add_note", note(52), 52.0)
    [recovery] = db.recoveries
    assert recovery.queued == 10
    on_disk = Outbox(LocalDatabase(db.path)).entries()
    assert [e.key for e in on_disk] == [e.key for e in entries] + [new.key]
    db.close()


def test_the_replica_of_a_replaced_database_is_written_whole(tmp_path: Path) -> None:
    """Never a partial replica under a recent last_seq: the first save after a replacement
    writes every entity, so a restart shows the whole floor from there."""
    db = LocalDatabase(tmp_path / "ws.sqlite")
    replica = Replica(db)
    Outbox(db)
    narrative = [NarrativeEntry(at=1.0, author="ann", text="first")]
    world = World(
        {
            "i1": Incident(
                id="i1", type="FIRE", priority=1, location=Location(), narrative=narrative
            )
        },
        {"E1": Unit(id="E1", type="ENGINE"), "M2": Unit(id="M2", type="MEDIC")},
    )
    replica.save(world, [("incident", "i1"), ("unit", "E1"), ("unit", "M2")], 10)
    damage_under(db, "replica")
    fresh, last_seq = Replica(db).load()  # the fresh database: resync from 0
    assert (fresh.incidents, fresh.units, last_seq) == ({}, {}, 0)
    world.units["E1"] = Unit(id="E1", type="ENGINE", station="S1")
    replica.save(world, [("unit", "E1")], 11)  # only E1 touched: everything is written
    loaded, last_seq = Replica(LocalDatabase(db.path)).load()
    assert last_seq == 11
    assert (loaded.incidents, loaded.units) == (world.incidents, world.units)
    db.close()
