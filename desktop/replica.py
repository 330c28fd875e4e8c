"""The confirmed replica on disk: the server's state as of ``last_seq``, so that a workstation
restarted during an outage still shows the floor.

The replica is a cache of the server's log, never a source of truth: if it is older than the
outbox (a crash between the two), resync fetches what is missing and the server's idempotency
keys keep replayed commands from applying twice.

An incident's narrative only grows, so it is kept apart, one row per entry: saving an incident
writes its other fields and the entries added since the last save, never the whole narrative
again (a busy incident's narrative would otherwise be rewritten at every save).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
from msgspec.structs import replace as struct_replace

from desktop.domain.types import Incident, NarrativeEntry, Unit
from desktop.domain.world import World
from desktop.localdb import LocalDatabase

__all__ = ["Replica"]

_encode = msgspec.json.Encoder().encode
_incident_decoder = msgspec.json.Decoder(Incident)
_unit_decoder = msgspec.json.Decoder(Unit)
_entry_decoder = msgspec.json.Decoder(NarrativeEntry)


class Replica:
    """Reads and writes the confirmed world and its ``last_seq``."""

    def __init__(self, db: LocalDatabase) -> None:
        self._db = db
        self._saved_entries: dict[str, int] = {}  # incident id -> narrative entries on disk

    def load(self) -> tuple[World, int]:
        """The stored world and the seq it reflects (an empty world and 0 on first use)."""
        world = World()
        narratives: dict[str, list[NarrativeEntry]] = {}
        for incident_id, data in self._db.conn.execute(
            "SELECT incident_id, data FROM replica_narrative ORDER BY incident_id, n"
        ):
            narratives.setdefault(incident_id, []).append(_entry_decoder.decode(data))
        self._saved_entries = {key: len(entries) for key, entries in narratives.items()}
        for kind, data in self._db.conn.execute("SELECT kind, data FROM replica"):
            if kind == "incident":
                incident = _incident_decoder.decode(data)
                if incident.id in narratives:
                    incident = struct_replace(incident, narrative=narratives[incident.id])
                world.incidents[incident.id] = incident
            elif kind == "unit":
                unit = _unit_decoder.decode(data)
                world.units[unit.id] = unit
        last_seq = int(self._db.get_meta("last_seq") or 0)
        return world, last_seq

    def save(self, world: World, touched: Iterable[tuple[str, str]], last_seq: int) -> None:
        """Write the touched entities and ``last_seq`` (inside the caller's transaction)."""
        rows = []
        entries: list[tuple[str, int, bytes]] = []
        rewrites: list[tuple[str]] = []
        for kind, entity_id in touched:
            if kind == "incident":
                incident = world.incidents.get(entity_id)
                if incident is None:
                    continue
                rows.append((kind, entity_id, self._encode_incident(incident, entries, rewrites)))
            elif (unit := world.units.get(entity_id)) is not None:
                rows.append((kind, entity_id, _encode(unit)))
        with self._db.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO replica (kind, id, data) VALUES (?, ?, ?)", rows
            )
            conn.executemany("DELETE FROM replica_narrative WHERE incident_id = ?", rewrites)
            conn.executemany(
                "INSERT OR REPLACE INTO replica_narrative (incident_id, n, data) VALUES (?, ?, ?)",
                entries,
            )
            self._db.set_meta("last_seq", str(last_seq))

    def replace(self, world: World, last_seq: int) -> None:
        """Replace the whole replica (after a snapshot), inside the caller's transaction."""
        self._saved_entries = {}
        entries: list[tuple[str, int, bytes]] = []
        incidents = world.incidents.values()
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM replica")
            conn.execute("DELETE FROM replica_narrative")
            conn.executemany(
                "INSERT INTO replica (kind, id, data) VALUES (?, ?, ?)",
                [("incident", i.id, self._encode_incident(i, entries, [])) for i in incidents]
                + [("unit", u.id, _encode(u)) for u in world.units.values()],
            )
            conn.executemany(
                "INSERT INTO replica_narrative (incident_id, n, data) VALUES (?, ?, ?)", entries
            )
            self._db.set_meta("last_seq", str(last_seq))

    def forget_saved(self) -> None:
        """A transaction with our writes failed: write whole narratives again from now on."""
        self._saved_entries.clear()

    def _encode_incident(
        self,
        incident: Incident,
        entries: list[tuple[str, int, bytes]],
        rewrites: list[tuple[str]],
    ) -> bytes:
        """The incident without its narrative; the entries not on disk yet go to ``entries``."""
        saved = self._saved_entries.get(incident.id, 0)
        narrative = incident.narrative
        if len(narrative) < saved:  # events only add entries; anything else: write them all
            rewrites.append((incident.id,))
            saved = 0
        entries.extend(
            (incident.id, n, _encode(entry)) for n, entry in enumerate(narrative[saved:], saved)
        )
        self._saved_entries[incident.id] = len(narrative)
        return _encode(struct_replace(incident, narrative=[]))
