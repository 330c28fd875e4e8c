"""Business rules: what a command does to the world, as pure functions.

`decide(world, kind, args, ctx)` validates a command against the current state and returns the
events that record its effect, or raises `DomainError` with a typed code and a message a
dispatcher can act on. It never mutates ``world``. The server calls it authoritatively (with
numbering); the client calls it to show a pending command's effect before the server confirms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec

from desktop.domain.commands import (
    AlertAcknowledge,
    CommandArgs,
    IncidentAddNote,
    IncidentClose,
    IncidentCreate,
    IncidentUpdate,
    UnitAdd,
    UnitDispatch,
    UnitSetStatus,
    UnitUpdate,
)
from desktop.domain.events import (
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
from desktop.domain.types import (
    ASSIGNED_STATUSES,
    AVAILABLE_STATUSES,
    Caller,
    EntityKind,
    Incident,
    IncidentStatus,
    Location,
    NarrativeEntry,
    Unit,
    UnitStatus,
)
from desktop.domain.world import World
from desktop.protocol.errors import ErrorCode

__all__ = ["ALLOWED_TRANSITIONS", "DecisionContext", "DomainError", "decide"]

TEXT_MAX = 4000
NAME_MAX = 64
REASON_MAX = 200
MAX_UNITS_PER_DISPATCH = 50
PRIORITIES = range(1, 6)  # 1 is the most urgent
ALARMS = range(1, 6)  # 1st to 5th alarm
_UNIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")

#: Status -> statuses a unit may move to by a status change (DP only through a dispatch).
ALLOWED_TRANSITIONS: dict[UnitStatus, frozenset[UnitStatus]] = {
    UnitStatus.AV: frozenset({UnitStatus.AQ, UnitStatus.OOS}),
    UnitStatus.AQ: frozenset({UnitStatus.AV, UnitStatus.OOS}),
    UnitStatus.DP: frozenset({UnitStatus.ER, UnitStatus.OS, UnitStatus.AV, UnitStatus.AQ}),
    UnitStatus.ER: frozenset({UnitStatus.OS, UnitStatus.AV, UnitStatus.AQ}),
    UnitStatus.OS: frozenset({UnitStatus.TR, UnitStatus.AV, UnitStatus.AQ}),
    UnitStatus.TR: frozenset({UnitStatus.AH, UnitStatus.AV, UnitStatus.AQ}),
    UnitStatus.AH: frozenset({UnitStatus.AV, UnitStatus.AQ}),
    UnitStatus.OOS: frozenset({UnitStatus.AV, UnitStatus.AQ}),
}

_WHY_NOT: dict[UnitStatus, str] = {
    UnitStatus.DP: "a unit is dispatched with DISP, not by a status change",
    UnitStatus.ER: "en route needs a dispatch first (DP)",
    UnitStatus.OS: "on scene needs DP or ER first",
    UnitStatus.TR: "transporting needs OS first",
    UnitStatus.AH: "at hospital needs TR first",
    UnitStatus.OOS: "a unit committed to an incident must clear before going out of service",
}


class DomainError(Exception):
    """A command the rules refuse; ``code`` is an `ErrorCode`, ``message`` for the dispatcher."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """Who issues the command and when; ``number_incident`` returns the next incident number
    (the server's allocator) or None where numbers are not known (the client's forecast)."""

    actor: str
    now: float
    number_incident: Callable[[], str | None] = lambda: None


def decide(world: World, args: CommandArgs, ctx: DecisionContext) -> list[EventData]:
    """Events recording the effect of ``args`` on ``world``; raises `DomainError` if refused."""
    handler = _DECIDE.get(type(args))
    if handler is None:
        raise DomainError(ErrorCode.UNKNOWN_KIND, f"no rule for {type(args).__name__}")
    return handler(world, args, ctx)


# --- incidents -----------------------------------------------------------------------------


def _incident_create(world: World, args: IncidentCreate, ctx: DecisionContext) -> list[EventData]:
    _check_name("incident_id", args.incident_id)
    if args.incident_id in world.incidents:
        raise DomainError(ErrorCode.ALREADY_EXISTS, f"incident {args.incident_id} already exists")
    _check_name("type", args.type)
    _check_priority(args.priority)
    _check_location(args.location)
    narrative = []
    if args.note:
        _check_text(args.note)
        narrative.append(NarrativeEntry(at=ctx.now, author=ctx.actor, text=args.note))
    incident = Incident(
        id=args.incident_id,
        number=ctx.number_incident(),
        type=args.type,
        priority=args.priority,
        location=_plain(Location, args.location),
        caller=None if args.caller is None else _plain(Caller, args.caller),
        narrative=narrative,
        created_by=ctx.actor,
        times={"created": ctx.now},
    )
    return [IncidentCreated(incident=incident)]


def _incident_update(world: World, args: IncidentUpdate, ctx: DecisionContext) -> list[EventData]:
    incident = _open_incident(world, args.incident_id)
    changes: dict[str, Any] = {}
    if args.type is not None and args.type != incident.type:
        _check_name("type", args.type)
        changes["type"] = args.type
    if args.priority is not None and args.priority != incident.priority:
        _check_priority(args.priority)
        changes["priority"] = args.priority
    location = None if args.location is None else _plain(Location, args.location)
    if location is not None and location != incident.location:
        _check_location(location)
        changes["location"] = location
    caller = None if args.caller is None else _plain(Caller, args.caller)
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
        raise DomainError(ErrorCode.NO_CHANGE, f"{_label(incident)}: nothing to change")
    return [IncidentUpdated(incident_id=incident.id, **changes)]


def _incident_add_note(
    world: World, args: IncidentAddNote, ctx: DecisionContext
) -> list[EventData]:
    incident = _incident(world, args.incident_id)
    _check_text(args.text)
    entry = NarrativeEntry(at=ctx.now, author=ctx.actor, text=args.text)
    return [IncidentNoteAdded(incident_id=incident.id, entry=entry)]


def _incident_close(world: World, args: IncidentClose, ctx: DecisionContext) -> list[EventData]:
    incident = _open_incident(world, args.incident_id)
    _check_name("disposition", args.disposition)
    committed = sorted(
        unit.id
        for unit in world.units.values()
        if unit.incident_id == incident.id and unit.status in ASSIGNED_STATUSES
    )
    if committed:
        raise DomainError(
            ErrorCode.UNITS_STILL_ASSIGNED,
            f"{_label(incident)} still has {', '.join(committed)} assigned; clear them first",
        )
    return [IncidentClosed(incident_id=incident.id, disposition=args.disposition)]


# --- units ---------------------------------------------------------------------------------


def _unit_add(world: World, args: UnitAdd, ctx: DecisionContext) -> list[EventData]:
    if not _UNIT_ID.match(args.unit_id):
        raise DomainError(
            ErrorCode.INVALID_COMMAND,
            f"unit id {args.unit_id!r} must be 1-16 letters, digits, '-' or '_'",
        )
    if args.unit_id in world.units:
        raise DomainError(ErrorCode.ALREADY_EXISTS, f"unit {args.unit_id} is already on the roster")
    _check_name("type", args.type)
    if args.status not in (UnitStatus.AV, UnitStatus.AQ, UnitStatus.OOS):
        raise DomainError(ErrorCode.INVALID_COMMAND, "a new unit starts AV, AQ or OOS")
    unit = Unit(
        id=args.unit_id,
        type=args.type,
        station=args.station,
        capabilities=list(args.capabilities),
        status=args.status,
        status_at=ctx.now,
    )
    return [UnitAdded(unit=unit)]


def _unit_update(world: World, args: UnitUpdate, ctx: DecisionContext) -> list[EventData]:
    unit = _unit(world, args.unit_id)
    changes: dict[str, Any] = {}
    if args.type is not None and args.type != unit.type:
        _check_name("type", args.type)
        changes["type"] = args.type
    if args.station is not None and args.station != unit.station:
        changes["station"] = args.station
    if args.capabilities is not None and args.capabilities != unit.capabilities:
        changes["capabilities"] = list(args.capabilities)
    if not changes:
        raise DomainError(ErrorCode.NO_CHANGE, f"{unit.id}: nothing to change")
    return [UnitUpdated(unit_id=unit.id, **changes)]


def _unit_dispatch(world: World, args: UnitDispatch, ctx: DecisionContext) -> list[EventData]:
    incident = _open_incident(world, args.incident_id)
    if not args.unit_ids:
        raise DomainError(ErrorCode.INVALID_COMMAND, "name at least one unit to dispatch")
    if len(args.unit_ids) > MAX_UNITS_PER_DISPATCH:
        raise DomainError(
            ErrorCode.INVALID_COMMAND, f"at most {MAX_UNITS_PER_DISPATCH} units per dispatch"
        )
    if len(set(args.unit_ids)) != len(args.unit_ids):
        raise DomainError(ErrorCode.INVALID_COMMAND, "a unit is named twice")
    units = [_unit(world, unit_id) for unit_id in args.unit_ids]
    busy = [unit for unit in units if unit.status not in AVAILABLE_STATUSES]
    if busy:
        raise DomainError(
            ErrorCode.UNIT_UNAVAILABLE, "; ".join(_busy_reason(world, unit) for unit in busy)
        )
    events: list[EventData] = []
    override = _plan_override(incident, args)
    if override is not None:
        events.append(override)
    events.extend(UnitDispatched(unit_id=unit.id, incident_id=incident.id) for unit in units)
    if incident.status is IncidentStatus.PENDING:
        events.append(
            IncidentStatusChanged(incident_id=incident.id, status=IncidentStatus.DISPATCHED)
        )
    return events


def _plan_override(incident: Incident, args: UnitDispatch) -> PlanOverridden | None:
    """The record of an override when the units sent differ from the ones recommended."""
    recommended = args.recommended
    if len(args.override_reason) > REASON_MAX:
        raise DomainError(
            ErrorCode.INVALID_COMMAND, f"override reason must be at most {REASON_MAX} characters"
        )
    if recommended is None:
        return None
    if len(recommended) > MAX_UNITS_PER_DISPATCH or not all(map(_UNIT_ID.match, recommended)):
        raise DomainError(ErrorCode.INVALID_COMMAND, "recommended must list unit ids")
    if sorted(recommended) == sorted(args.unit_ids):
        return None
    return PlanOverridden(
        incident_id=incident.id,
        recommended=list(recommended),
        dispatched=list(args.unit_ids),
        reason=args.override_reason.strip(),
    )


def _unit_set_status(world: World, args: UnitSetStatus, ctx: DecisionContext) -> list[EventData]:
    unit = _unit(world, args.unit_id)
    target = args.status
    if target == unit.status:
        raise DomainError(ErrorCode.NO_CHANGE, f"{unit.id} is already {target}")
    if target not in ALLOWED_TRANSITIONS[unit.status]:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"{unit.id} cannot go {unit.status} -> {target}: {_WHY_NOT.get(target, 'not allowed')}",
        )
    keeps_incident = target in ASSIGNED_STATUSES
    incident_id = unit.incident_id if keeps_incident else None
    events: list[EventData] = [
        UnitStatusChanged(
            unit_id=unit.id, status=target, previous=unit.status, incident_id=incident_id
        )
    ]
    incident = world.incidents.get(unit.incident_id or "")
    if incident is None or incident.status is IncidentStatus.CLOSED:
        return events
    if target is UnitStatus.OS and incident.status is not IncidentStatus.ACTIVE:
        events.append(IncidentStatusChanged(incident_id=incident.id, status=IncidentStatus.ACTIVE))
    elif not keeps_incident and incident.status is IncidentStatus.DISPATCHED:
        still_committed = any(
            other.incident_id == incident.id and other.status in ASSIGNED_STATUSES
            for other in world.units.values()
            if other.id != unit.id
        )
        if not still_committed:
            events.append(
                IncidentStatusChanged(incident_id=incident.id, status=IncidentStatus.PENDING)
            )
    return events


# --- alerts --------------------------------------------------------------------------------


def _alert_acknowledge(
    world: World, args: AlertAcknowledge, ctx: DecisionContext
) -> list[EventData]:
    """The entity must exist; closed incidents and idle units may still be acknowledged (an
    acknowledgement racing a status change is recorded, not refused). A unit's acknowledgement
    is recorded on the incident it is on now, if any."""
    if not args.reason.strip() or len(args.reason) > REASON_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"reason must be 1-{REASON_MAX} characters")
    if len(args.note) > TEXT_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"note must be at most {TEXT_MAX} characters")
    if not math.isfinite(args.started_at) or args.started_at < 0:
        raise DomainError(ErrorCode.INVALID_COMMAND, "started_at must be a time (seconds)")
    if args.entity is EntityKind.UNIT:
        unit = _unit(world, args.entity_id)
        incident_id = unit.incident_id if unit.incident_id in world.incidents else None
    else:
        incident_id = _incident(world, args.entity_id).id
    return [
        AlertAcknowledged(
            entity=args.entity,
            entity_id=args.entity_id,
            reason=args.reason,
            started_at=args.started_at,
            actor=ctx.actor,
            note=args.note,
            incident_id=incident_id,
        )
    ]


# --- helpers -------------------------------------------------------------------------------


def _incident(world: World, incident_id: str) -> Incident:
    incident = world.incidents.get(incident_id)
    if incident is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no incident {incident_id}")
    return incident


def _open_incident(world: World, incident_id: str) -> Incident:
    incident = _incident(world, incident_id)
    if incident.status is IncidentStatus.CLOSED:
        raise DomainError(
            ErrorCode.INCIDENT_CLOSED,
            f"{_label(incident)} was closed ({incident.disposition or 'no disposition'})",
        )
    return incident


def _unit(world: World, unit_id: str) -> Unit:
    unit = world.units.get(unit_id)
    if unit is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no unit {unit_id} on the roster")
    return unit


def _busy_reason(world: World, unit: Unit) -> str:
    if unit.incident_id is not None and (incident := world.incidents.get(unit.incident_id)):
        return f"{unit.id} is {unit.status} on {_label(incident)}"
    return f"{unit.id} is {unit.status}"


def _label(incident: Incident) -> str:
    return incident.number or f"incident {incident.id[:8]} (number pending)"


_Plain = TypeVar("_Plain", Location, Caller)


def _plain(cls: type[_Plain], value: _Plain) -> _Plain:
    """A strict command argument (`LocationArgs`, `CallerArgs`) as the entity events hold."""
    return cls(**msgspec.structs.asdict(value))


def _check_name(field: str, value: str) -> None:
    if not value.strip() or len(value) > NAME_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"{field} must be 1-{NAME_MAX} characters")


def _check_text(text: str) -> None:
    if not text.strip() or len(text) > TEXT_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"text must be 1-{TEXT_MAX} characters")


def _check_priority(priority: int) -> None:
    if priority not in PRIORITIES:
        raise DomainError(
            ErrorCode.INVALID_COMMAND,
            f"priority must be {PRIORITIES.start}-{PRIORITIES.stop - 1}, not {priority}",
        )


def _check_location(location: Location) -> None:
    has_point = location.lat is not None and location.lon is not None
    if not location.address.strip() and not has_point:
        raise DomainError(ErrorCode.INVALID_COMMAND, "a location needs an address or lat/lon")
    if len(location.address) > 200:
        raise DomainError(ErrorCode.INVALID_COMMAND, "address must be at most 200 characters")
    if (location.lat is None) != (location.lon is None):
        raise DomainError(ErrorCode.INVALID_COMMAND, "give both lat and lon, or neither")
    if has_point and not (-90 <= location.lat <= 90 and -180 <= location.lon <= 180):  # type: ignore[operator]
        raise DomainError(ErrorCode.INVALID_COMMAND, "lat/lon out of range")


_DECIDE: dict[type[CommandArgs], Callable[[World, Any, DecisionContext], list[EventData]]] = {
    IncidentCreate: _incident_create,
    IncidentUpdate: _incident_update,
    IncidentAddNote: _incident_add_note,
    IncidentClose: _incident_close,
    UnitAdd: _unit_add,
    UnitUpdate: _unit_update,
    UnitDispatch: _unit_dispatch,
    UnitSetStatus: _unit_set_status,
    AlertAcknowledge: _alert_acknowledge,
}
