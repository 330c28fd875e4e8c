"""The confirmed replica on disk: round trips, narratives appended not rewritten, snapshots."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from msgspec.structs import replace

from desktop.domain.types import Incident, Location, NarrativeEntry, Unit
from desktop.domain.world import World
from desktop.localdb import LocalDatabase
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
    assert db.get_meta("schema_version") == "2"
    world, last_seq = Replica(db).load()
    assert (world.incidents, world.units, last_seq) == ({}, {}, 0)
    assert [e.key for e in Outbox(db).entries()] == [queued.key]
