"""`World`: the dispatch state (incidents and units) and how events change it.

The same class holds the server's authoritative state and the client's confirmed replica and
optimistic view. `apply` never mutates an entity in place: each event kind's effect
(`desktop.domain.kinds.EventKind.apply`) replaces an entity with a changed copy, so `fork` (a
shallow copy of the maps) is cheap and a fork can be changed without touching its parent.
"""

from __future__ import annotations

from msgspec.structs import replace

from desktop.domain.action_time import entered_late
from desktop.domain.catalog import event_kind_or_none
from desktop.domain.kinds import EventData
from desktop.domain.types import Incident, TimelineEntry, Unit

__all__ = ["Touched", "World"]

#: What an applied event changed: ("incident" | "unit", entity id) pairs.
Touched = list[tuple[str, str]]


class World:
    """Incidents and units by id. Mutate only through `apply`."""

    __slots__ = ("incidents", "units")

    def __init__(
        self, incidents: dict[str, Incident] | None = None, units: dict[str, Unit] | None = None
    ) -> None:
        self.incidents: dict[str, Incident] = incidents if incidents is not None else {}
        self.units: dict[str, Unit] = units if units is not None else {}

    def fork(self) -> World:
        """A copy that can be changed without changing this world (entities are shared)."""
        return World(dict(self.incidents), dict(self.units))

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
