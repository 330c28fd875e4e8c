"""`World`: the dispatch state (incidents and units) and how events change it.

The same class holds the server's authoritative state and the client's confirmed replica and
optimistic view. `apply` never mutates an entity in place: it replaces it with a changed copy, so
`fork` (a shallow copy of the maps) is cheap and a fork can be changed without touching its parent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msgspec.structs import replace

from desktop.domain.events import (
    EVENT_KIND,
    AlertAcknowledged,
    EventData,
    IncidentClosed,
    IncidentCreated,
    IncidentNoteAdded,
    IncidentStatusChanged,
    IncidentUpdated,
    PlanOverridden,
    UnitAdded,
    UnitDispatched,
    UnitStatusChanged,
    UnitUpdated,
)
from desktop.domain.timeline import describe
from desktop.domain.types import (
    Acknowledgement,
    EntityKind,
    Incident,
    IncidentStatus,
    TimelineEntry,
    Unit,
    UnitStatus,
)

__all__ = ["Touched", "World"]

#: What an applied event changed: ("incident" | "unit", entity id) pairs.
Touched = list[tuple[str, str]]

_FIRST_TIME_OF_STATUS = {
    UnitStatus.DP: "first_dispatch",
    UnitStatus.ER: "first_enroute",
    UnitStatus.OS: "first_onscene",
}


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

    def apply(self, data: EventData, at: float, actor: str = "") -> Touched:
        """Apply one event's data recorded at time ``at`` by ``actor``; return what it touched.

        Every incident the event is about gets a `TimelineEntry`. Events come from the server's
        log and are trusted to be consistent with it; an event about an entity this world does
        not hold is ignored (returns no touch).
        """
        handler = _APPLY.get(type(data))
        if handler is None:
            return []
        lines = describe(self, data)
        touched = handler(self, data, at)
        if not touched:  # about an entity this world does not hold
            return touched
        for incident_id, text in lines:
            incident = self.incidents.get(incident_id)
            if incident is None:
                continue
            entry = TimelineEntry(at=at, actor=actor, kind=EVENT_KIND[type(data)], text=text)
            self.incidents[incident_id] = replace(incident, timeline=[*incident.timeline, entry])
            if ("incident", incident_id) not in touched:
                touched.append(("incident", incident_id))
        return touched

    # --- incidents -------------------------------------------------------------------------

    def _incident_created(self, data: IncidentCreated, at: float) -> Touched:
        incident = data.incident
        times = dict(incident.times)
        times.setdefault("created", at)
        times.setdefault("pending", times["created"])
        self.incidents[incident.id] = replace(incident, times=times)
        return [("incident", incident.id)]

    def _incident_updated(self, data: IncidentUpdated, at: float) -> Touched:
        incident = self.incidents.get(data.incident_id)
        if incident is None:
            return []
        changes: dict[str, Any] = {
            name: value
            for name in ("type", "priority", "location", "caller", "alarm")
            if (value := getattr(data, name)) is not None
        }
        self.incidents[incident.id] = replace(incident, **changes)
        return [("incident", incident.id)]

    def _incident_note_added(self, data: IncidentNoteAdded, at: float) -> Touched:
        incident = self.incidents.get(data.incident_id)
        if incident is None:
            return []
        self.incidents[incident.id] = replace(incident, narrative=[*incident.narrative, data.entry])
        return [("incident", incident.id)]

    def _incident_status_changed(self, data: IncidentStatusChanged, at: float) -> Touched:
        incident = self.incidents.get(data.incident_id)
        if incident is None:
            return []
        times = incident.times
        if data.status is IncidentStatus.PENDING and incident.status is not IncidentStatus.PENDING:
            times = {**times, "pending": at}  # its units were released: pending again from now
        self.incidents[incident.id] = replace(incident, status=data.status, times=times)
        return [("incident", incident.id)]

    def _incident_closed(self, data: IncidentClosed, at: float) -> Touched:
        incident = self.incidents.get(data.incident_id)
        if incident is None:
            return []
        times = _with_first(incident.times, "closed", at)
        self.incidents[incident.id] = replace(
            incident, status=IncidentStatus.CLOSED, disposition=data.disposition, times=times
        )
        return [("incident", incident.id)]

    # --- units -----------------------------------------------------------------------------

    def _unit_added(self, data: UnitAdded, at: float) -> Touched:
        self.units[data.unit.id] = replace(data.unit, status_at=data.unit.status_at or at)
        return [("unit", data.unit.id)]

    def _unit_updated(self, data: UnitUpdated, at: float) -> Touched:
        unit = self.units.get(data.unit_id)
        if unit is None:
            return []
        changes: dict[str, Any] = {
            name: value
            for name in ("type", "station", "capabilities")
            if (value := getattr(data, name)) is not None
        }
        self.units[unit.id] = replace(unit, **changes)
        return [("unit", unit.id)]

    def _unit_dispatched(self, data: UnitDispatched, at: float) -> Touched:
        unit = self.units.get(data.unit_id)
        if unit is None:
            return []
        touched: Touched = [("unit", unit.id)]
        self.units[unit.id] = replace(
            unit,
            status=UnitStatus.DP,
            incident_id=data.incident_id,
            status_at=at,
            acknowledgements=[],
        )
        incident = self.incidents.get(data.incident_id)
        if incident is not None:
            units = incident.units if unit.id in incident.units else [*incident.units, unit.id]
            times = _with_first(incident.times, "first_dispatch", at)
            self.incidents[incident.id] = replace(incident, units=units, times=times)
            touched.append(("incident", incident.id))
        return touched

    def _unit_status_changed(self, data: UnitStatusChanged, at: float) -> Touched:
        unit = self.units.get(data.unit_id)
        if unit is None:
            return []
        touched: Touched = [("unit", unit.id)]
        left = unit.incident_id if unit.incident_id != data.incident_id else None
        self.units[unit.id] = replace(
            unit,
            status=data.status,
            incident_id=data.incident_id,
            status_at=at,
            acknowledgements=[],
        )
        if left is not None and (incident := self.incidents.get(left)) is not None:
            units = [u for u in incident.units if u != unit.id]
            self.incidents[left] = replace(incident, units=units)
            touched.append(("incident", left))
        if data.incident_id is not None and (incident := self.incidents.get(data.incident_id)):
            first = _FIRST_TIME_OF_STATUS.get(data.status)
            if first is not None and first not in incident.times:
                times = _with_first(incident.times, first, at)
                self.incidents[incident.id] = replace(incident, times=times)
                touched.append(("incident", incident.id))
        return touched

    # --- alerts ----------------------------------------------------------------------------

    def _alert_acknowledged(self, data: AlertAcknowledged, at: float) -> Touched:
        """Record the acknowledgement in the incident's timeline and, while the unit is still in
        the status whose timer alerted (``started_at == status_at``), on the unit."""
        ack = Acknowledgement(
            entity=data.entity,
            entity_id=data.entity_id,
            reason=data.reason,
            started_at=data.started_at,
            at=at,
            actor=data.actor,
            note=data.note,
        )
        touched: Touched = []
        unit = self.units.get(data.entity_id) if data.entity is EntityKind.UNIT else None
        if unit is not None and data.started_at == unit.status_at:
            current = [a for a in unit.acknowledgements if a.started_at == unit.status_at]
            self.units[unit.id] = replace(unit, acknowledgements=[*current, ack])
            touched.append(("unit", unit.id))
        incident_id = data.incident_id
        if incident_id is None and data.entity is EntityKind.INCIDENT:
            incident_id = data.entity_id
        if incident_id is not None and (incident := self.incidents.get(incident_id)):
            acks = [*incident.acknowledgements, ack]
            self.incidents[incident.id] = replace(incident, acknowledgements=acks)
            touched.append(("incident", incident.id))
        return touched

    def _plan_overridden(self, data: PlanOverridden, at: float) -> Touched:
        """Recorded in the timeline only (by `apply`)."""
        return [("incident", data.incident_id)] if data.incident_id in self.incidents else []


def _with_first(times: dict[str, float], name: str, at: float) -> dict[str, float]:
    return times if name in times else {**times, name: at}


_APPLY: dict[type[EventData], Callable[[World, Any, float], Touched]] = {
    IncidentCreated: World._incident_created,
    IncidentUpdated: World._incident_updated,
    IncidentNoteAdded: World._incident_note_added,
    IncidentStatusChanged: World._incident_status_changed,
    IncidentClosed: World._incident_closed,
    UnitAdded: World._unit_added,
    UnitUpdated: World._unit_updated,
    UnitDispatched: World._unit_dispatched,
    UnitStatusChanged: World._unit_status_changed,
    AlertAcknowledged: World._alert_acknowledged,
    PlanOverridden: World._plan_overridden,
}
