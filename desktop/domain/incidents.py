"""The incident aggregate: opening, changing, noting and closing incidents.

Commands: ``incident.create``, ``incident.update``, ``incident.add_note``, ``incident.close``.
Events: ``incident.created``, ``incident.updated``, ``incident.note_added``,
``incident.status_changed``, ``incident.closed``. Each is one record in ``COMMANDS`` or
``EVENTS`` (`desktop.domain.kinds`): its arguments or data, its rule or effect, its wording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from desktop.domain.calls import check_linkable, link_events
from desktop.domain.checks import (
    check_location,
    check_name,
    check_priority,
    check_text,
    committed_units,
    find_incident,
    open_incident,
    plain,
)
from desktop.domain.kinds import (
    CommandArgs,
    CommandKind,
    DecisionContext,
    DomainError,
    EventData,
    EventKind,
    Lines,
)
from desktop.domain.types import (
    Caller,
    CallerArgs,
    Incident,
    IncidentStatus,
    Location,
    LocationArgs,
    NarrativeEntry,
)
from desktop.domain.wording import caller_text, incident_label, located, ordinal, place
from desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from desktop.domain.world import Touched, World

__all__ = [
    "ALARMS",
    "COMMANDS",
    "EVENTS",
    "IncidentAddNote",
    "IncidentClose",
    "IncidentClosed",
    "IncidentCreate",
    "IncidentCreated",
    "IncidentNoteAdded",
    "IncidentStatusChanged",
    "IncidentUpdate",
    "IncidentUpdated",
    "pending_since",
]

ALARMS = range(1, 6)  # 1st to 5th alarm
_NOTE_PREVIEW = 120


def pending_since(incident: Incident) -> float:
    """When ``incident`` last became pending: at creation, and again whenever its last unit was
    released (``times["pending"]``; ``created`` for older data; 0 when unknown). The pending
    timer, the board's order and Incident detail all count from it."""
    times = incident.times
    return times.get("pending", times.get("created", 0.0))


# --- commands ----------------------------------------------------------------------------------


class IncidentCreate(CommandArgs):
    """Open an incident. ``incident_id`` is a client-chosen UUID; the server adds the number.
    ``call_id``: the answered call it is created from, linked to it in the same step."""

    incident_id: str
    type: str
    priority: int
    location: LocationArgs
    caller: CallerArgs | None = None
    note: str = ""
    call_id: str | None = None


class IncidentUpdate(CommandArgs):
    """Change type, priority, location, caller or alarm level; omitted fields stay as they
    are."""

    incident_id: str
    type: str | None = None
    priority: int | None = None
    location: LocationArgs | None = None
    caller: CallerArgs | None = None
    alarm: int | None = None


class IncidentAddNote(CommandArgs):
    incident_id: str
    text: str


class IncidentClose(CommandArgs):
    incident_id: str
    disposition: str


# --- events ------------------------------------------------------------------------------------


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


_UPDATABLE = ("type", "priority", "location", "caller", "alarm")


# --- rules -------------------------------------------------------------------------------------


def _create(world: World, args: IncidentCreate, ctx: DecisionContext) -> list[EventData]:
    check_name("incident_id", args.incident_id)
    if args.incident_id in world.incidents:
        raise DomainError(ErrorCode.ALREADY_EXISTS, f"incident {args.incident_id} already exists")
    check_name("type", args.type)
    check_priority(args.priority)
    check_location(args.location)
    call = None if args.call_id is None else check_linkable(world, args.call_id, None)
    narrative = []
    if args.note:
        check_text(args.note)
        narrative.append(NarrativeEntry(at=ctx.now, author=ctx.actor, text=args.note))
    incident = Incident(
        id=args.incident_id,
        number=ctx.number_incident(),
        type=args.type,
        priority=args.priority,
        location=plain(Location, args.location),
        caller=None if args.caller is None else plain(Caller, args.caller),
        narrative=narrative,
        created_by=ctx.actor,
        times={"created": ctx.now},
    )
    created: list[EventData] = [IncidentCreated(incident=incident)]
    return created if call is None else created + link_events(call, incident.id)


def _update(world: World, args: IncidentUpdate, ctx: DecisionContext) -> list[EventData]:
    incident = open_incident(world, args.incident_id)
    changes: dict[str, Any] = {}
    if args.type is not None and args.type != incident.type:
        check_name("type", args.type)
        changes["type"] = args.type
    if args.priority is not None and args.priority != incident.priority:
        check_priority(args.priority)
        changes["priority"] = args.priority
    location = None if args.location is None else plain(Location, args.location)
    if location is not None and location != incident.location:
        check_location(location)
        changes["location"] = location
    caller = None if args.caller is None else plain(Caller, args.caller)
    if caller is not None and caller != incident.caller:
        changes["caller"] = caller
    if args.alarm is not None and args.alarm != incident.alarm:
        if args.alarm not in ALARMS:
            raise DomainError(
                ErrorCode.INVALID_COMMAND,
                f"alarm must be {ALARMS.start}-{ALARMS.stop - 1}, not {args.alarm}",
            )
        changes["alarm"] = args.alarm
    if not changes:
        raise DomainError(ErrorCode.NO_CHANGE, f"{incident_label(incident)}: nothing to change")
    return [IncidentUpdated(incident_id=incident.id, **changes)]


def _add_note(world: World, args: IncidentAddNote, ctx: DecisionContext) -> list[EventData]:
    incident = find_incident(world, args.incident_id)
    check_text(args.text)
    entry = NarrativeEntry(at=ctx.now, author=ctx.actor, text=args.text)
    return [IncidentNoteAdded(incident_id=incident.id, entry=entry)]


def _close(world: World, args: IncidentClose, ctx: DecisionContext) -> list[EventData]:
    incident = open_incident(world, args.incident_id)
    check_name("disposition", args.disposition)
    committed = committed_units(world, incident.id)
    if committed:
        raise DomainError(
            ErrorCode.UNITS_STILL_ASSIGNED,
            f"{incident_label(incident)} still has {', '.join(committed)} assigned; "
            "clear them first",
        )
    return [IncidentClosed(incident_id=incident.id, disposition=args.disposition)]


# --- what commands ask for, in words -----------------------------------------------------------


def _named(world: World, incident_id: str) -> str:
    incident = world.incidents.get(incident_id)
    return incident_label(incident) if incident is not None else f"incident {incident_id[:8]}"


def _create_words(world: World, args: IncidentCreate) -> str:
    return f"new {args.type} P{args.priority} at {place(args.location)}"


def _update_words(world: World, args: IncidentUpdate) -> str:
    parts = []
    if args.type is not None:
        parts.append(f"type {args.type}")
    if args.priority is not None:
        parts.append(f"priority {args.priority}")
    if args.location is not None:
        parts.append(f"location {place(args.location)}")
    if args.caller is not None:
        parts.append(f"caller {caller_text(args.caller) or '(none)'}")
    if args.alarm is not None:
        parts.append(f"{ordinal(args.alarm)} alarm")
    return f"change {_named(world, args.incident_id)}: {', '.join(parts) or 'nothing'}"


def _note_words(world: World, args: IncidentAddNote) -> str:
    return f"note on {_named(world, args.incident_id)}"


def _close_words(world: World, args: IncidentClose) -> str:
    return f"close {_named(world, args.incident_id)} ({args.disposition})"


# --- effects -----------------------------------------------------------------------------------


def _created(world: World, data: IncidentCreated, at: float) -> Touched:
    incident = data.incident
    times = dict(incident.times)
    times.setdefault("created", at)
    times.setdefault("pending", times["created"])
    world.incidents[incident.id] = replace(incident, times=times)
    return [("incident", incident.id)]


def _updated(world: World, data: IncidentUpdated, at: float) -> Touched:
    incident = world.incidents.get(data.incident_id)
    if incident is None:
        return []
    changes = {name: value for name in _UPDATABLE if (value := getattr(data, name)) is not None}
    world.incidents[incident.id] = replace(incident, **changes)
    return [("incident", incident.id)]


def _note_added(world: World, data: IncidentNoteAdded, at: float) -> Touched:
    incident = world.incidents.get(data.incident_id)
    if incident is None:
        return []
    world.incidents[incident.id] = replace(incident, narrative=[*incident.narrative, data.entry])
    return [("incident", incident.id)]


def _status_changed(world: World, data: IncidentStatusChanged, at: float) -> Touched:
    incident = world.incidents.get(data.incident_id)
    if incident is None:
        return []
    times = incident.times
    if data.status is IncidentStatus.PENDING and incident.status is not IncidentStatus.PENDING:
        times = {**times, "pending": at}  # its units were released: pending again from now
    world.incidents[incident.id] = replace(incident, status=data.status, times=times)
    return [("incident", incident.id)]


def _closed(world: World, data: IncidentClosed, at: float) -> Touched:
    incident = world.incidents.get(data.incident_id)
    if incident is None:
        return []
    times = with_first(incident.times, "closed", at)
    world.incidents[incident.id] = replace(
        incident, status=IncidentStatus.CLOSED, disposition=data.disposition, times=times
    )
    return [("incident", incident.id)]


def with_first(times: dict[str, float], name: str, at: float) -> dict[str, float]:
    """``times`` with ``name`` set to ``at`` unless it is set already (first-time stamps)."""
    return times if name in times else {**times, name: at}


# --- what events did, in the timeline's words --------------------------------------------------


def _created_lines(world: World, data: IncidentCreated) -> Lines:
    incident = data.incident
    text = f"Created: {incident.type} P{incident.priority} at {place(incident.location)}"
    if incident.caller is not None and (caller := caller_text(incident.caller)):
        text += f"; caller {caller}"
    return [(incident.id, text)]


def _updated_lines(world: World, data: IncidentUpdated) -> Lines:
    before = world.incidents.get(data.incident_id)
    parts = []
    if data.type is not None:
        parts.append(f"type {before.type if before else '?'} → {data.type}")
    if data.priority is not None:
        parts.append(f"priority {before.priority if before else '?'} → {data.priority}")
    if data.location is not None:
        was = located(before.location) if before else "?"
        parts.append(f"location {was} → {located(data.location)}")
    if data.caller is not None:
        parts.append(f"caller → {caller_text(data.caller) or '(none)'}")
    if data.alarm is not None:
        was = ordinal(before.alarm) if before else "?"
        parts.append(f"{ordinal(data.alarm)} alarm (was {was})")
    return [(data.incident_id, "Changed " + "; ".join(parts))] if parts else []


def _note_lines(world: World, data: IncidentNoteAdded) -> Lines:
    text = data.entry.text.replace("\n", " ")
    if len(text) > _NOTE_PREVIEW:
        text = text[: _NOTE_PREVIEW - 1] + "…"
    return [(data.incident_id, f"Note: {text}")]


def _status_lines(world: World, data: IncidentStatusChanged) -> Lines:
    before = world.incidents.get(data.incident_id)
    was = before.status.upper() if before is not None else "?"
    return [(data.incident_id, f"Incident {was} → {data.status.upper()}")]


def _closed_lines(world: World, data: IncidentClosed) -> Lines:
    return [(data.incident_id, f"Closed: {data.disposition}")]


# --- the kinds ---------------------------------------------------------------------------------

COMMANDS: tuple[CommandKind[Any], ...] = (
    CommandKind("incident.create", IncidentCreate, "calltaker", _create, _create_words),
    CommandKind("incident.update", IncidentUpdate, "calltaker", _update, _update_words),
    CommandKind("incident.add_note", IncidentAddNote, "calltaker", _add_note, _note_words),
    CommandKind("incident.close", IncidentClose, "dispatcher", _close, _close_words),
)

EVENTS: tuple[EventKind[Any], ...] = (
    EventKind("incident.created", IncidentCreated, _created, _created_lines),
    EventKind("incident.updated", IncidentUpdated, _updated, _updated_lines),
    EventKind("incident.note_added", IncidentNoteAdded, _note_added, _note_lines),
    EventKind("incident.status_changed", IncidentStatusChanged, _status_changed, _status_lines),
    EventKind("incident.closed", IncidentClosed, _closed, _closed_lines),
)
