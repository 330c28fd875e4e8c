"""The confirmed replica on disk: the server's state as of ``last_seq``, so that a workstation
restarted during an outage still shows the floor.

The replica is a cache of the server's log, never a source of truth: if it is older than the
outbox (a crash between the two), resync fetches what is missing and the server's idempotency
keys keep replayed commands from applying twice.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from desktop.domain.types import Incident, Unit
from desktop.domain.world import World
from desktop.localdb import LocalDatabase

__all__ = ["Replica"]

_encode = msgspec.json.Encoder().encode
_incident_decoder = msgspec.json.Decoder(Incident)
_unit_decoder = msgspec.json.Decoder(Unit)


class Replica:
    """Reads and writes the confirmed world and its ``last_seq``."""

    def __init__(self, db: LocalDatabase) -> None:
        self._db = db

    def load(self) -> tuple[World, int]:
        """The stored world and the seq it reflects (an empty world and 0 on first use)."""
        world = World()
        for kind, data in self._db.conn.execute("SELECT kind, data FROM replica"):
            if kind == "incident":
                incident = _incident_decoder.decode(data)
                world.incidents[incident.id] = incident
            elif kind == "unit":
                unit = _unit_decoder.decode(data)
                world.units[unit.id] = unit
        last_seq = int(self._db.get_meta("last_seq") or 0)
        return world, last_seq

    def save(self, world: World, touched: Iterable[tuple[str, str]], last_seq: int) -> None:
        """Write the touched entities and ``last_seq`` (inside the caller's transaction)."""
        rows = []
        for kind, entity_id in touched:
            entity = (
                world.incidents.get(entity_id) if kind == "incident" else world.units.get(entity_id)
            )
            if entity is not None:
                rows.append((kind, entity_id, _encode(entity)))
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO replica (kind, id, data) VALUES (?, ?, ?)", rows
            )
            self._db.set_meta("last_seq", str(last_seq))

    def replace(self, world: World, last_seq: int) -> None:
        """Replace the whole replica (after a snapshot), inside the caller's transaction."""
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM replica")
            conn.executemany(
                "INSERT INTO replica (kind, id, data) VALUES (?, ?, ?)",
                [("incident", i.id, _encode(i)) for i in world.incidents.values()]
                + [("unit", u.id, _encode(u)) for u in world.units.values()],
            )
            self._db.set_meta("last_seq", str(last_seq))
