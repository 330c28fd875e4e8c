"""The confirmed replica on disk: the server's state as of ``last_seq``, so that a workstation
restarted during an outage still shows the floor.

The replica is a cache of the server's log, never a source of truth: if it is older than the
outbox (a crash between the two), resync fetches what is missing and the server's idempotency
keys keep replayed commands from applying twice.

An incident's narrative and timeline only grow, so they are kept apart, one row per entry, in
``replica_entries``: saving an incident writes its other fields and the entries added since the
last save, never a whole list again. Rows are appended, and a unique key on (incident, list,
entry number) makes it impossible to store an entry twice.

One `Replica` per workstation database: it remembers how many entries of each list are on disk
(read by `load`), so the reader (`DispatchService`) and the writer (`desktop.link.Link`) must
share the same object.

A database replaced because it was damaged (`LocalDatabase.generation` moved) starts with no
replica and no ``last_seq``: the next `save` writes the whole world instead of what changed
(never a partial replica under a recent ``last_seq``), and until then a restart resyncs from 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec
from msgspec.structs import replace as struct_replace

from desktop.domain.types import Incident, NarrativeEntry, TimelineEntry
from desktop.domain.world import COLLECTIONS, World, collection_of
from desktop.localdb import LocalDatabase, LocalStorageError

__all__ = ["Replica"]

_encode = msgspec.json.Encoder().encode
_decoders: dict[str, msgspec.json.Decoder[Any]] = {
    c.kind: msgspec.json.Decoder(c.type) for c in COLLECTIONS
}

#: The incident fields stored as entries, and how to decode an entry of each.
_GROWING: dict[str, msgspec.json.Decoder[Any]] = {
    "narrative": msgspec.json.Decoder(NarrativeEntry),
    "timeline": msgspec.json.Decoder(TimelineEntry),
}

#: (incident id, list, entry number, encoded entry) rows of ``replica_entries``.
Rows = list[tuple[str, str, int, bytes]]


class Replica:
    """Reads and writes the confirmed world and its ``last_seq``."""

    def __init__(self, db: LocalDatabase) -> None:
        self.db = db
        self._saved: dict[tuple[str, str], int] = {}  # (incident id, list) -> entries on disk
        self._generation = db.generation  # the database the replica on disk was written to

    def load(self) -> tuple[World, int]:
        """The stored world and the seq it reflects (an empty world and 0 on first use)."""
        world = World()
        lists: dict[str, dict[str, list[Any]]] = {}
        self._generation = self.db.generation
        for incident_id, name, data in self.db.read(
            "SELECT incident_id, list, data FROM replica_entries ORDER BY incident_id, list, n"
        ):
            decoder = _GROWING.get(name)
            if decoder is not None:
                lists.setdefault(incident_id, {}).setdefault(name, []).append(decoder.decode(data))
        self._saved = {
            (incident_id, name): len(entries)
            for incident_id, by_name in lists.items()
            for name, entries in by_name.items()
        }
        for kind, data in self.db.read("SELECT kind, data FROM replica"):
            collection, decoder = collection_of(kind), _decoders.get(kind)
            if collection is None or decoder is None:
                continue  # written by a newer version
            entity = decoder.decode(data)
            if isinstance(entity, Incident) and entity.id in lists:
                entity = struct_replace(entity, **lists[entity.id])
            world.holding(collection)[entity.id] = entity
        last_seq = int(self.db.get_meta("last_seq") or 0)
        return world, last_seq

    def save(self, world: World, touched: Iterable[tuple[str, str]], last_seq: int) -> None:
        """Write the touched entities and ``last_seq`` (inside the caller's transaction); the
        whole world when the database was replaced since the replica was last written whole."""
        if self._generation != self.db.generation:
            self.replace(world, last_seq)
            return
        rows = []
        gone: list[tuple[str, str]] = []
        entries: Rows = []
        rewrites: list[tuple[str, str]] = []
        for kind, entity_id in touched:
            collection = collection_of(kind)
            entity = None if collection is None else world.holding(collection).get(entity_id)
            if entity is None:
                gone.append((kind, entity_id))  # removed (a premise) or never held
            elif isinstance(entity, Incident):
                rows.append((kind, entity_id, self._encode_incident(entity, entries, rewrites)))
            else:
                rows.append((kind, entity_id, _encode(entity)))
        with self.db.transaction() as conn:
            conn.executemany("DELETE FROM replica WHERE kind = ? AND id = ?", gone)
            conn.executemany(
                "INSERT OR REPLACE INTO replica (kind, id, data) VALUES (?, ?, ?)", rows
            )
            conn.executemany(
                "DELETE FROM replica_entries WHERE incident_id = ? AND list = ?", rewrites
            )
            conn.executemany(
                "INSERT INTO replica_entries (incident_id, list, n, data) VALUES (?, ?, ?, ?)",
                entries,
            )
            self.db.set_meta("last_seq", str(last_seq))

    def replace(self, world: World, last_seq: int) -> None:
        """Replace the whole replica (after a snapshot), inside the caller's transaction."""
        self._saved = {}
        generation = self.db.generation
        entries: Rows = []
        rows = [
            (c.kind, entity.id, self._encode_incident(entity, entries, []))
            if isinstance(entity, Incident)
            else (c.kind, entity.id, _encode(entity))
            for c in COLLECTIONS
            for entity in world.holding(c).values()
        ]
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM replica")
            conn.execute("DELETE FROM replica_entries")
            conn.executemany("INSERT INTO replica (kind, id, data) VALUES (?, ?, ?)", rows)
            conn.executemany(
                "INSERT INTO replica_entries (incident_id, list, n, data) VALUES (?, ?, ?, ?)",
                entries,
            )
            self.db.set_meta("last_seq", str(last_seq))
            self.db.after_commit(lambda: setattr(self, "_generation", generation))

    def forget_saved(self) -> None:
        """A transaction with our writes failed (rolled back): count the entries on disk again
        (if they cannot be read, the next save writes everything)."""
        try:
            rows = self.db.read(
                "SELECT incident_id, list, COUNT(*) FROM replica_entries GROUP BY incident_id, list"
            )
        except LocalStorageError:
            self._saved, self._generation = {}, -1
            return
        self._saved = {(incident_id, name): count for incident_id, name, count in rows}

    def _encode_incident(
        self, incident: Incident, entries: Rows, rewrites: list[tuple[str, str]]
    ) -> bytes:
        """The incident without its growing lists; entries not on disk yet go to ``entries``."""
        for name in _GROWING:
            key = (incident.id, name)
            saved = self._saved.get(key, 0)
            values: list[Any] = getattr(incident, name)
            if len(values) < saved:  # events only add entries; anything else: write them all
                rewrites.append(key)
                saved = 0
            entries.extend(
                (incident.id, name, n, _encode(value))
                for n, value in enumerate(values[saved:], saved)
            )
            self._saved[key] = len(values)
        return _encode(struct_replace(incident, narrative=[], timeline=[]))
