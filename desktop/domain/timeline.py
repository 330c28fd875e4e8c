"""What an event means to an incident's timeline, in words a dispatcher reads.

`describe(world, data)` is called with the world *before* the event is applied (so it can say
"priority 3 → 1") and returns the incidents the event belongs to, each with a line of text.
Events about no incident (a unit added to the roster) return nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from desktop.domain.events import (
    AlertAcknowledged,
    EventData,
    IncidentClosed,
    IncidentCreated,
    IncidentNoteAdded,
    IncidentStatusChanged,
    IncidentUpdated,
    PlanOverridden,
    UnitDispatched,
    UnitStatusChanged,
)
from desktop.domain.types import ASSIGNED_STATUSES, Caller, Location

if TYPE_CHECKING:
    from desktop.domain.world import World

__all__ = ["describe", "ordinal"]

#: One (incident id, text) per incident whose timeline records the event.
Lines = list[tuple[str, str]]

_NOTE_PREVIEW = 120


def describe(world: World, data: EventData) -> Lines:
    """Timeline lines for ``data`` given ``world`` (a `World`) as it was before the event."""
    handler = _DESCRIBE.get(type(data))
    return [] if handler is None else handler(world, data)


def _created(world: World, data: IncidentCreated) -> Lines:
    incident = data.incident
    text = f"Created: {incident.type} P{incident.priority} at {_place(incident.location)}"
    if incident.caller is not None and (caller := _caller(incident.caller)):
        text += f"; caller {caller}"
    return [(incident.id, text)]


def _updated(world: World, data: IncidentUpdated) -> Lines:
    before = world.incidents.get(data.incident_id)
    parts = []
    if data.type is not None:
        parts.append(f"type {before.type if before else '?'} → {data.type}")
    if data.priority is not None:
        parts.append(f"priority {before.priority if before else '?'} → {data.priority}")
    if data.location is not None:
        parts.append(f"location → {_place(data.location)}")
    if data.caller is not None:
        parts.append(f"caller → {_caller(data.caller) or '(none)'}")
    if data.alarm is not None:
        was = ordinal(before.alarm) if before else "?"
        parts.append(f"{ordinal(data.alarm)} alarm (was {was})")
    return [(data.incident_id, "Changed " + "; ".join(parts))] if parts else []


def _note_added(world: World, data: IncidentNoteAdded) -> Lines:
    text = data.entry.text.replace("\n", " ")
    if len(text) > _NOTE_PREVIEW:
        text = text[: _NOTE_PREVIEW - 1] + "…"
    return [(data.incident_id, f"Note: {text}")]


def _status_changed(world: World, data: IncidentStatusChanged) -> Lines:
    before = world.incidents.get(data.incident_id)
    was = before.status.upper() if before is not None else "?"
    return [(data.incident_id, f"Incident {was} → {data.status.upper()}")]


def _closed(world: World, data: IncidentClosed) -> Lines:
    return [(data.incident_id, f"Closed: {data.disposition}")]


def _dispatched(world: World, data: UnitDispatched) -> Lines:
    return [(data.incident_id, f"{data.unit_id} dispatched")]


def _unit_status_changed(world: World, data: UnitStatusChanged) -> Lines:
    unit = world.units.get(data.unit_id)
    incident_id = data.incident_id or (unit.incident_id if unit is not None else None)
    if incident_id is None:
        return []
    change = f"{data.previous} → {data.status}"
    if data.status in ASSIGNED_STATUSES:
        return [(incident_id, f"{data.unit_id} {change}")]
    return [(incident_id, f"{data.unit_id} released ({change})")]


def _acknowledged(world: World, data: AlertAcknowledged) -> Lines:
    if data.incident_id is None:
        return []
    what = "incident" if data.entity == "incident" else data.entity_id
    text = f"Alert acknowledged ({what}): {data.reason}"
    if data.note:
        text += f" — {data.note}"
    return [(data.incident_id, text)]


def _plan_overridden(world: World, data: PlanOverridden) -> Lines:
    recommended = ", ".join(data.recommended) or "none"
    dispatched = ", ".join(data.dispatched)
    text = f"Recommendation overridden: recommended {recommended}; sent {dispatched}"
    if data.reason:
        text += f" — {data.reason}"
    return [(data.incident_id, text)]


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th... 11th, 12th, 13th... 21st."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _place(location: Location) -> str:
    if location.address:
        return location.address
    if location.lat is None or location.lon is None:
        return "(no location)"
    return f"{location.lat:.5f}, {location.lon:.5f}"


def _caller(caller: Caller) -> str:
    return " ".join(part for part in (caller.name, caller.callback) if part)


_DESCRIBE: dict[type[EventData], Callable[[World, Any], Lines]] = {
    IncidentCreated: _created,
    IncidentUpdated: _updated,
    IncidentNoteAdded: _note_added,
    IncidentStatusChanged: _status_changed,
    IncidentClosed: _closed,
    UnitDispatched: _dispatched,
    UnitStatusChanged: _unit_status_changed,
    AlertAcknowledged: _acknowledged,
    PlanOverridden: _plan_overridden,
}
