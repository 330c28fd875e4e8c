"""The confirmed replica on disk: the server's state as of ``last_seq``, so that a workstation
restarted during an outage still shows the floor.

The replica is a cache of the server's log, never a source of truth: if it is older than the
outbox (a crash between the two), resync fetches what is missing and the server's idempotency
keys keep replayed commands from applying twice.

An incident's narrative and timeline only grow, so they are kept apart, one row per entry:
saving an incident writes its other fields and the entries added since the last save, never a
whole list again (a busy incident's lists would otherwise be rewritten at every save).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec.structs import replace as struct_replace

from desktop.domain.types import Incident, NarrativeEntry, TimelineEntry, Unit
from desktop.domain.world import World
from desktop.localdb import LocalDatabase

__all__ = ["Replica"]

_encode = msgspec.json.Encoder().encode
_incident_decoder = msgspec.json.Decoder(Incident)
_unit_decoder = msgspec.json.Decoder(Unit)

#: (incident id, entry number, encoded entry) rows of one growing list.
Rows = list[tuple[str, int, bytes]]


@dataclass(frozen=True, slots=True)
class _GrowingList:
    """An incident field that events only append to, stored one row per entry in ``table``."""

    field: str
    table: str
    decoder: msgspec.json.Decoder[Any]


_GROWING = (
    _GrowingList("narrative", "replica_narrative", msgspec.json.Decoder(NarrativeEntry)),
    _GrowingList("timeline", "replica_timeline", msgspec.json.Decoder(TimelineEntry)),
)


class Replica:
    """Reads and writes the confirmed world and its ``last_seq``."""

    def __init__(self, db: LocalDatabase) -> None:
        self._db = db
        # field -> incident id -> entries on disk
        self._saved: dict[str, dict[str, int]] = {g.field: {} for g in _GROWING}

    def load(self) -> tuple[World, int]:
        """The stored world and the seq it reflects (an empty world and 0 on first use)."""
        world = World()
        lists: dict[str, dict[str, list[Any]]] = {}
        for growing in _GROWING:
            by_incident: dict[str, list[Any]] = {}
            for incident_id, data in self._db.conn.execute(
                f"SELECT incident_id, data FROM {growing.table} ORDER BY incident_id, n"
            ):
                by_incident.setdefault(incident_id, []).append(growing.decoder.decode(data))
            lists[growing.field] = by_incident
            self._saved[growing.field] = {key: len(rows) for key, rows in by_incident.items()}
        for kind, data in self._db.conn.execute("SELECT kind, data FROM replica"):
            if kind == "incident":
                incident = _incident_decoder.decode(data)
                stored = {
                    field: by_incident[incident.id]
                    for field, by_incident in lists.items()
                    if incident.id in by_incident
                }
                if stored:
                    incident = struct_replace(incident, **stored)
                world.incidents[incident.id] = incident
            elif kind == "unit":
                unit = _unit_decoder.decode(data)
                world.units[unit.id] = unit
        last_seq = int(self._db.get_meta("last_seq") or 0)
        return world, last_seq

    def save(self, world: World, touched: Iterable[tuple[str, str]], last_seq: int) -> None:
        """Write the touched entities and ``last_seq`` (inside the caller's transaction)."""
        rows = []
        entries: dict[str, Rows] = {g.field: [] for g in _GROWING}
        rewrites: dict[str, list[tuple[str]]] = {g.field: [] for g in _GROWING}
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
            for growing in _GROWING:
                conn.executemany(
                    f"DELETE FROM {growing.table} WHERE incident_id = ?",
                    rewrites[growing.field],
                )
                conn.executemany(
                    f"INSERT OR REPLACE INTO {growing.table} (incident_id, n, data) "
                    "VALUES (?, ?, ?)",
                    entries[growing.field],
                )
            self._db.set_meta("last_seq", str(last_seq))

    def replace(self, world: World, last_seq: int) -> None:
        """Replace the whole replica (after a snapshot), inside the caller's transaction."""
        self.forget_saved()
        entries: dict[str, Rows] = {g.field: [] for g in _GROWING}
        no_rewrites: dict[str, list[tuple[str]]] = {g.field: [] for g in _GROWING}
        incidents = world.incidents.values()
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM replica")
            for growing in _GROWING:
                conn.execute(f"DELETE FROM {growing.table}")
            conn.executemany(
                "INSERT INTO replica (kind, id, data) VALUES (?, ?, ?)",
                [
                    ("incident", i.id, self._encode_incident(i, entries, no_rewrites))
                    for i in incidents
                ]
                + [("unit", u.id, _encode(u)) for u in world.units.values()],
            )
            for growing in _GROWING:
                conn.executemany(
                    f"INSERT INTO {growing.table} (incident_id, n, data) VALUES (?, ?, ?)",
                    entries[growing.field],
                )
            self._db.set_meta("last_seq", str(last_seq))

    def forget_saved(self) -> None:
        """A transaction with our writes failed: write whole lists again from now on."""
        for saved in self._saved.values():
            saved.clear()

    def _encode_incident(
        self,
        incident: Incident,
        entries: dict[str, Rows],
        rewrites: dict[str, list[tuple[str]]],
    ) -> bytes:
        """The incident without its growing lists; entries not on disk yet go to ``entries``."""
        for growing in _GROWING:
            saved_by_incident = self._saved[growing.field]
            saved = saved_by_incident.get(incident.id, 0)
            values: list[Any] = getattr(incident, growing.field)
            if len(values) < saved:  # events only add entries; anything else: write them all
                rewrites[growing.field].append((incident.id,))
                saved = 0
            entries[growing.field].extend(
                (incident.id, n, _encode(value)) for n, value in enumerate(values[saved:], saved)
            )
            saved_by_incident[incident.id] = len(values)
        return _encode(struct_replace(incident, narrative=[], timeline=[]))
