"""The confirmed replica on disk: round trips, narratives appended not rewritten, snapshots."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from msgspec.structs import replace

from desktop.domain.types import Call, Incident, Location, NarrativeEntry, Premise, Unit
from desktop.domain.world import World
from desktop.localdb import SCHEMA_VERSION, LocalDatabase, LocalStorageError
from desktop.outbox import Outbox
from desktop.replica import Replica


def _incident(notes: int) -> Incident:
    narrative = [NarrativeEntry(at=float(n), author="ann", text=f"note {n}") for n in range(notes)]
    return Incident(
        id="i1", type="FIRE", priority=1, location=Location(address="1 Main"), narrative=narrative
    )


def test_round_trip_and_narratives_grow_by_appending(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    replica = Replica(db)
    world = World({"i1": _incident(2)}, {"E1": Unit(id="E1", type="ENGINE")})
    replica.save(world, [("incident", "i1"), ("unit", "E1")], 7)
    world.incidents["i1"] = _incident(3)
    replica.save(world, [("incident", "i1")], 8)
    rows = db.conn.execute(
        "SELECT COUNT(*) FROM replica_entries WHERE list = 'narrative'"
    ).fetchone()[0]
    assert rows == 3  # entries 0 and 1 were not written twice
    loaded, last_seq = Replica(LocalDatabase(tmp_path / "ws.sqlite")).load()
    assert last_seq == 8
    assert loaded.incidents["i1"] == world.incidents["i1"]
    assert loaded.units["E1"] == world.units["E1"]


def test_a_shorter_narrative_is_rewritten_and_snapshots_replace_everything(
    tmp_path: Path,
) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    replica = Replica(db)
    world = World({"i1": _incident(3)}, {})
    replica.save(world, [("incident", "i1")], 1)
    world.incidents["i1"] = replace(_incident(1))
    replica.save(world, [("incident", "i1")], 2)
    assert Replica(db).load()[0].incidents["i1"] == _incident(1)
    replica.replace(World({}, {"E9": Unit(id="E9", type="MEDIC")}), 40)
    loaded, last_seq = Replica(db).load()
    assert (last_seq, set(loaded.incidents), set(loaded.units)) == (40, set(), {"E9"})


def test_after_a_failed_write_whole_narratives_are_written_again(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    replica = Replica(db)
    world = World({"i1": _incident(2)}, {})
    replica.save(world, [("incident", "i1")], 1)
    world.incidents["i1"] = _incident(4)
    try:
        with db.transaction():
            replica.save(world, [("incident", "i1")], 2)
            raise RuntimeError("disk trouble after the writes")
    except RuntimeError:
        replica.forget_saved()
    replica.save(world, [("incident", "i1")], 2)
    assert Replica(db).load()[0].incidents["i1"] == _incident(4)


def test_a_schema_1_database_keeps_its_outbox_and_fetches_the_replica_again(
    tmp_path: Path,
) -> None:
    """Version 1 kept narratives in ``replica_narrative``; opening it empties the replica and
    its ``last_seq`` (the next connection fetches them again) and keeps every queued command."""
    path = tmp_path / "ws.sqlite"
    db = LocalDatabase(path)  # today's schema, a queued command, then made to look like v1
    queued = Outbox(db).enqueue("unit.set_status", b'{"unit_id":"E1","status":"AV"}', 1.0)
    db.conn.close()
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(
        """
        CREATE TABLE replica_narrative (incident_id TEXT NOT NULL, n INTEGER NOT NULL,
            data BLOB NOT NULL, PRIMARY KEY (incident_id, n)) WITHOUT ROWID;
        INSERT INTO replica_narrative VALUES ('i1', 0, x'7b7d');
        INSERT INTO replica (kind, id, data) VALUES ('unit', 'E1', '{"id":"E1","type":"E"}');
        UPDATE meta SET v = '1' WHERE k = 'schema_version';
        INSERT INTO meta (k, v) VALUES ('last_seq', '50');
        """
    )
    old.close()

    db = LocalDatabase(path)
    tables = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "replica_narrative" not in tables and "replica_entries" in tables
    assert db.get_meta("schema_version") == str(SCHEMA_VERSION)
    world, last_seq = Replica(db).load()
    assert (world.incidents, world.units, last_seq) == ({}, {}, 0)
    assert [e.key for e in Outbox(db).entries()] == [queued.key]


def test_a_replica_loaded_from_disk_appends_only_new_entries(tmp_path: Path) -> None:
    """A restarted workstation: the replica that loads the world knows what is on disk, so the
    next save appends the new note only (the bug was a second, empty replica that appended
    every entry again: n1, n1, n2)."""
    path = tmp_path / "ws.sqlite"
    Replica(LocalDatabase(path)).save(World({"i1": _incident(1)}, {}), [("incident", "i1")], 1)
    replica = Replica(LocalDatabase(path))
    world, _ = replica.load()
    world.incidents["i1"] = _incident(2)
    replica.save(world, [("incident", "i1")], 2)
    loaded, _ = Replica(LocalDatabase(path)).load()
    assert [e.text for e in loaded.incidents["i1"].narrative] == ["note 0", "note 1"]


def test_the_database_refuses_an_entry_stored_twice(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    Replica(db).save(World({"i1": _incident(1)}, {}), [("incident", "i1")], 1)
    with pytest.raises(LocalStorageError), db.transaction() as conn:
        conn.execute(
            "INSERT INTO replica_entries (incident_id, list, n, data) "
            "SELECT incident_id, list, n, data FROM replica_entries"
        )
    blind = Replica(db)  # a replica that never loaded: it believes nothing is on disk
    with pytest.raises(LocalStorageError):
        blind.save(World({"i1": _incident(2)}, {}), [("incident", "i1")], 2)
    blind.forget_saved()  # what the link does after a failed flush: count what is on disk
    blind.save(World({"i1": _incident(2)}, {}), [("incident", "i1")], 2)
    loaded, _ = Replica(db).load()
    assert [e.text for e in loaded.incidents["i1"].narrative] == ["note 0", "note 1"]


def test_a_schema_2_database_with_doubled_entries_is_fetched_again(tmp_path: Path) -> None:
    """Version 2 had no key on entries, and restarted workstations doubled their notes: the
    upgrade empties the replica (fetched again from the server) and keeps the outbox."""
    path = tmp_path / "ws.sqlite"
    db = LocalDatabase(path)
    queued = Outbox(db).enqueue("unit.set_status", b'{"unit_id":"E1","status":"AV"}', 1.0)
    Replica(db).save(World({"i1": _incident(1)}, {}), [("incident", "i1")], 9)
    db.conn.close()
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(
        """
        DROP INDEX replica_entries_key;
        INSERT INTO replica_entries SELECT * FROM replica_entries;
        UPDATE meta SET v = '2' WHERE k = 'schema_version';
        """
    )
    old.close()
    db = LocalDatabase(path)
    assert db.get_meta("schema_version") == str(SCHEMA_VERSION)
    world, last_seq = Replica(db).load()
    assert (world.incidents, last_seq) == ({}, 0)
    assert [e.key for e in Outbox(db).entries()] == [queued.key]
    indexes = {r[0] for r in db.conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "replica_entries_key" in indexes


def test_calls_and_premises_are_kept_and_a_removed_premise_is_forgotten(tmp_path: Path) -> None:
    db = LocalDatabase(tmp_path / "ws.sqlite")
    replica = Replica(db)
    world = World(
        calls={"c1": Call(id="c1", ani="4155550134", times={"received": 1.0})},
        premises={"1 MAIN ST": Premise(id="1 MAIN ST", address="1 MAIN ST", hazards=["dog"])},
    )
    replica.save(world, [("call", "c1"), ("premise", "1 MAIN ST")], 3)
    loaded, _ = Replica(LocalDatabase(tmp_path / "ws.sqlite")).load()
    assert loaded.calls == world.calls and loaded.premises == world.premises
    del world.premises["1 MAIN ST"]
    replica.save(world, [("premise", "1 MAIN ST")], 4)
    loaded, last_seq = Replica(LocalDatabase(tmp_path / "ws.sqlite")).load()
    assert loaded.premises == {} and loaded.calls == world.calls and last_seq == 4
    replica.replace(World(), 5)
    assert Replica(LocalDatabase(tmp_path / "ws.sqlite")).load()[0].calls == {}
