"""Event kinds of protocol v1 and the schema of each one's ``data``.

Events are facts the server has recorded; `desktop.domain.world.World.apply` turns them into state.
A client meeting an event kind it does not know (a newer server) skips it and keeps its seq.
"""

from __future__ import annotations

import msgspec

from desktop.domain.types import (
    Caller,
    EntityKind,
    Incident,
    IncidentStatus,
    Location,
    NarrativeEntry,
    Unit,
    UnitStatus,
)

__all__ = [
    "EVENT_DATA",
    "AlertAcknowledged",
    "EventData",
    "IncidentClosed",
    "IncidentCreated",
    "IncidentNoteAdded",
    "IncidentStatusChanged",
    "IncidentUpdated",
    "PlanOverridden",
    "UnitAdded",
    "UnitDispatched",
    "UnitStatusChanged",
    "UnitUpdated",
]


class EventData(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every event's data."""


class IncidentCreated(EventData):
    incident: Incident


class IncidentUpdated(EventData):
    """Only the fields that changed are present."""

    incident_id: str
    type: str | None = None
    priority: int | None = None
    location: Location | None = None
    caller: Caller | None = None
    alarm: int | None = None


class IncidentNoteAdded(EventData):
    incident_id: str
    entry: NarrativeEntry


class IncidentStatusChanged(EventData):
    incident_id: str
    status: IncidentStatus


class IncidentClosed(EventData):
    incident_id: str
    disposition: str


class UnitAdded(EventData):
    unit: Unit


class UnitUpdated(EventData):
    unit_id: str
    type: str | None = None
    station: str | None = None
    capabilities: list[str] | None = None


class UnitDispatched(EventData):
    unit_id: str
    incident_id: str


class UnitStatusChanged(EventData):
    """``incident_id`` is the incident the unit is on after the change (None when it cleared)."""

    unit_id: str
    status: UnitStatus
    previous: UnitStatus
    incident_id: str | None = None


class AlertAcknowledged(EventData):
    """An alert instance was acknowledged. ``actor`` is the user (the event's actor);
    ``incident_id`` is the incident whose timeline records it: the incident itself, or the
    incident the unit was on (absent when the unit was on none)."""

    entity: EntityKind
    entity_id: str
    reason: str
    started_at: float
    actor: str
    note: str = ""
    incident_id: str | None = None


class PlanOverridden(EventData):
    """The dispatcher sent other units than the recommendation offered (``recommended``);
    ``dispatched`` is what was sent, ``reason`` what they said about it (may be empty)."""

    incident_id: str
    recommended: list[str]
    dispatched: list[str]
    reason: str = ""


EVENT_DATA: dict[str, type[EventData]] = {
    "incident.created": IncidentCreated,
    "incident.updated": IncidentUpdated,
    "incident.note_added": IncidentNoteAdded,
    "incident.status_changed": IncidentStatusChanged,
    "incident.closed": IncidentClosed,
    "unit.added": UnitAdded,
    "unit.updated": UnitUpdated,
    "unit.dispatched": UnitDispatched,
    "unit.status_changed": UnitStatusChanged,
    "alert.acknowledged": AlertAcknowledged,
    "incident.plan_overridden": PlanOverridden,
}

#: The kind of each event data class (inverse of EVENT_DATA).
EVENT_KIND: dict[type[EventData], str] = {cls: kind for kind, cls in EVENT_DATA.items()}
