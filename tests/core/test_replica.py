"""The confirmed replica on disk: round trips, narratives appended not rewritten, snapshots."""

from __future__ import annotations

from pathlib import Path

from msgspec.structs import replace

from desktop.domain.types import Incident, Location, NarrativeEntry, Unit
from desktop.domain.world import World
from desktop.localdb import LocalDatabase
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
    rows = db.conn.execute("SELECT COUNT(*) FROM replica_narrative").fetchone()[0]
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
