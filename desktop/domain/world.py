"""`World`: the dispatch state (incidents, units, calls, premises, radio alarms and log) and
how events change it.

The same class holds the server's authoritative state and the client's confirmed replica and
optimistic view. `apply` never mutates an entity in place: each event kind's effect
(`desktop.domain.kinds.EventKind.apply`) replaces an entity with a changed copy, so `fork` (a
shallow copy of the maps) is cheap and a fork can be changed without touching its parent.

`COLLECTIONS` is the one list of what a world holds: the snapshot frames, the workstation's
replica on disk and the forks all iterate over it, so a new kind of entity is one line there
and one attribute here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec.structs import replace

from desktop.domain.action_time import entered_late
from desktop.domain.catalog import event_kind_or_none
from desktop.domain.kinds import EventData
from desktop.domain.types import (
    Call,
    Incident,
    Premise,
    RadioAlarm,
    RadioEntry,
    TimelineEntry,
    Unit,
)

__all__ = [
    "COLLECTIONS",
    "Collection",
    "Touched",
    "World",
    "collection_of",
    "snapshot_lists",
    "world_from_lists",
]

#: What an applied event changed: (`Collection.kind`, entity id) pairs.
Touched = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Collection:
    """One kind of entity a world holds: ``kind`` is how `Touched` and the replica name it,
    ``field`` the `World` attribute and the snapshot field holding them, ``type`` their Struct
    (each has an ``id``)."""

    kind: str
    field: str
    type: type[msgspec.Struct]


COLLECTIONS: tuple[Collection, ...] = (
    Collection("incident", "incidents", Incident),
    Collection("unit", "units", Unit),
    Collection("call", "calls", Call),
    Collection("premise", "premises", Premise),
    Collection("alarm", "alarms", RadioAlarm),
    Collection("radio_entry", "radio_log", RadioEntry),
)
_BY_KIND = {c.kind: c for c in COLLECTIONS}
_LIST_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    c.field: msgspec.json.Decoder(list.__class_getitem__(c.type)) for c in COLLECTIONS
}


def collection_of(kind: str) -> Collection | None:
    """The collection named ``kind`` ("incident", "unit", "call", "premise"), or None."""
    return _BY_KIND.get(kind)


def snapshot_lists(body: object) -> dict[str, bytes]:
    """The JSON list of each collection in one snapshot part (a `SnapshotBody`), by field;
    a collection the part does not carry (an older server) is an empty list."""
    return {c.field: bytes(getattr(body, c.field, b"[]")) for c in COLLECTIONS}


def world_from_lists(lists: Mapping[str, Iterable[bytes]]) -> World:
    """A world from JSON lists of entities by collection field (snapshot parts, in order)."""
    world = World()
    for collection in COLLECTIONS:
        table = world.holding(collection)
        decoder = _LIST_DECODERS[collection.field]
        for blob in lists.get(collection.field, ()):
            table.update((entity.id, entity) for entity in decoder.decode(blob))
    return world


class World:
    """Incidents, units, calls, premises, radio alarms and the radio log by id. Mutate only
    through `apply`."""

    __slots__ = ("alarms", "calls", "incidents", "premises", "radio_log", "units")

    def __init__(
        self,
        incidents: dict[str, Incident] | None = None,
        units: dict[str, Unit] | None = None,
        calls: dict[str, Call] | None = None,
        premises: dict[str, Premise] | None = None,
        alarms: dict[str, RadioAlarm] | None = None,
        radio_log: dict[str, RadioEntry] | None = None,
    ) -> None:
        self.incidents: dict[str, Incident] = incidents if incidents is not None else {}
        self.units: dict[str, Unit] = units if units is not None else {}
        self.calls: dict[str, Call] = calls if calls is not None else {}
        self.premises: dict[str, Premise] = premises if premises is not None else {}
        self.alarms: dict[str, RadioAlarm] = alarms if alarms is not None else {}
        self.radio_log: dict[str, RadioEntry] = radio_log if radio_log is not None else {}

    def fork(self) -> World:
        """A copy that can be changed without changing this world (entities are shared)."""
        return World(
            dict(self.incidents),
            dict(self.units),
            dict(self.calls),
            dict(self.premises),
            dict(self.alarms),
            dict(self.radio_log),
        )

    def holding(self, collection: Collection) -> dict[str, Any]:
        """The entities of ``collection`` by id (the live map: change it only in effects)."""
        table: dict[str, Any] = getattr(self, collection.field)
        return table

    def apply(
        self, data: EventData, at: float, actor: str = "", recorded_at: float | None = None
    ) -> Touched:
        """Apply one event's data, acted at ``at`` by ``actor`` and recorded by the server at
        ``recorded_at`` (None: at ``at``); return what it touched.

        The effect and the timeline use the action time ``at``
        (`desktop.domain.action_time`). Every incident the event is about gets a
        `TimelineEntry` worded by the event's kind from the world as it was before, marked
        with ``recorded_at`` when it was entered offline. Events come from the server's log
        and are trusted to be consistent with it; an event about an entity this world does not
        hold, or of a kind this version does not know, is ignored (returns no touch).
        """
        kind = event_kind_or_none(data)
        if kind is None:
            return []
        lines = kind.describe(self, data)
        touched = kind.apply(self, data, at)
        if not touched:  # about an entity this world does not hold
            return touched
        late = recorded_at if entered_late(at, recorded_at) else None
        for incident_id, text in lines:
            incident = self.incidents.get(incident_id)
            if incident is None:
                continue
            entry = TimelineEntry(at=at, actor=actor, kind=kind.name, text=text, recorded_at=late)
            self.incidents[incident_id] = replace(incident, timeline=[*incident.timeline, entry])
            if ("incident", incident_id) not in touched:
                touched.append(("incident", incident_id))
        return touched
