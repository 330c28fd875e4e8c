"""The unit aggregate: the roster, dispatching units to incidents, and their status changes.

Commands: ``unit.add``, ``unit.update``, ``unit.dispatch``, ``unit.set_status``. Events:
``unit.added``, ``unit.updated``, ``unit.dispatched``, ``unit.status_changed``, and
``incident.plan_overridden`` (a dispatch that departed from the recommendation). Each is one
record in ``COMMANDS`` or ``EVENTS`` (`desktop.domain.kinds`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec.structs import replace

from desktop.domain.checks import (
    REASON_MAX,
    UNIT_ID,
    check_name,
    find_unit,
    open_incident,
)
from desktop.domain.incidents import IncidentStatusChanged, with_first
from desktop.domain.kinds import (
    CommandArgs,
    CommandKind,
    DecisionContext,
    DomainError,
    EventData,
    EventKind,
    Lines,
    no_lines,
)
from desktop.domain.types import (
    ASSIGNED_STATUSES,
    AVAILABLE_STATUSES,
    Incident,
    IncidentStatus,
    Unit,
    UnitStatus,
)
from desktop.domain.wording import STATUS_WORDS, incident_label
from desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from desktop.domain.world import Touched, World

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CAPABILITIES_MAX",
    "COMMANDS",
    "DISPATCH_UNDONE",
    "EVENTS",
    "MAX_UNITS_PER_DISPATCH",
    "ROSTER_TOKEN_MAX",
    "UNDO_DISPATCH_S",
    "PlanOverridden",
    "UnitAdd",
    "UnitAdded",
    "UnitDispatch",
    "UnitDispatched",
    "UnitSetStatus",
    "UnitStatusChanged",
    "UnitUpdate",
    "UnitUpdated",
    "check_capabilities",
    "check_radio_id",
    "check_station",
    "check_unit_id",
    "is_override",
    "radio_holder",
    "undo_dispatch",
]

MAX_UNITS_PER_DISPATCH = 50
#: How long after a dispatch its undo is offered (seconds), and the reason the undo records.
UNDO_DISPATCH_S = 10.0
DISPATCH_UNDONE = "dispatched in error (undone)"
#: Longest station label, capability or radio id on the roster.
ROSTER_TOKEN_MAX = 32
#: Most capabilities one unit may list.
CAPABILITIES_MAX = 32
#: A station label, a capability or a radio id: printable, no spaces, no ``;`` or ``,`` (the
#: roster CSV's separators).
_ROSTER_TOKEN = re.compile(r"^[^\s;,]+$")

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

_FIRST_TIME_OF_STATUS = {
    UnitStatus.DP: "first_dispatch",
    UnitStatus.ER: "first_enroute",
    UnitStatus.OS: "first_onscene",
}


def is_override(recommended: Sequence[str] | None, dispatched: Sequence[str]) -> bool:
    """Whether sending ``dispatched`` departs from the recommendation ``recommended`` (None: the
    dispatcher worked from none, so there is nothing to override). Order does not matter."""
    return recommended is not None and sorted(recommended) != sorted(dispatched)


# --- commands ----------------------------------------------------------------------------------


class UnitAdd(CommandArgs):
    """Add a unit to the roster. ``radio_id``: the radio bound to it ("" for none), which no
    other unit may hold."""

    unit_id: str
    type: str
    station: str = ""
    capabilities: list[str] = msgspec.field(default_factory=list)
    status: UnitStatus = UnitStatus.AQ
    radio_id: str = ""


class UnitUpdate(CommandArgs):
    """Change a unit's roster fields; ``None`` leaves a field as it is, ``""`` (station, radio
    id) or ``[]`` (capabilities) clears it."""

    unit_id: str
    type: str | None = None
    station: str | None = None
    capabilities: list[str] | None = None
    radio_id: str | None = None


class UnitDispatch(CommandArgs):
    """Dispatch every unit in ``unit_ids`` to the incident; all or none.

    ``recommended``: the units the recommendation offered, when the dispatcher worked from one;
    if they differ from ``unit_ids`` (`is_override`) the override is recorded in the incident's
    timeline with ``override_reason``.
    """

    incident_id: str
    unit_ids: list[str]
    recommended: list[str] | None = None
    override_reason: str = ""


class UnitSetStatus(CommandArgs):
    """Change a unit's status; the transitions allowed are `ALLOWED_TRANSITIONS`. ``reason``:
    why, recorded in the incident's timeline (e.g. a dispatch undone, `undo_dispatch`)."""

    unit_id: str
    status: UnitStatus
    reason: str = ""


# --- events ------------------------------------------------------------------------------------


class UnitAdded(EventData):
    unit: Unit


class UnitUpdated(EventData):
    """The fields that changed (``None``: unchanged)."""

    unit_id: str
    type: str | None = None
    station: str | None = None
    capabilities: list[str] | None = None
    radio_id: str | None = None


class UnitDispatched(EventData):
    unit_id: str
    incident_id: str


class UnitStatusChanged(EventData):
    """``incident_id`` is the incident the unit is on after the change (None when it cleared)."""

    unit_id: str
    status: UnitStatus
    previous: UnitStatus
    incident_id: str | None = None
    reason: str = ""


class PlanOverridden(EventData):
    """The dispatcher sent other units than the recommendation offered (``recommended``);
    ``dispatched`` is what was sent, ``reason`` what they said about it (may be empty)."""

    incident_id: str
    recommended: list[str]
    dispatched: list[str]
    reason: str = ""


# --- roster checks (the rules below and the roster import share them) ---------------------------


def check_unit_id(unit_id: str) -> None:
    """A unit id is 1-16 letters, digits, ``-`` or ``_``, starting with a letter or digit."""
    if not UNIT_ID.match(unit_id):
        raise DomainError(
            ErrorCode.INVALID_COMMAND,
            f"unit id {unit_id!r} must be 1-16 letters, digits, '-' or '_'",
        )


def _check_token(field: str, value: str) -> None:
    if len(value) > ROSTER_TOKEN_MAX or not value.isprintable() or not _ROSTER_TOKEN.match(value):
        raise DomainError(
            ErrorCode.INVALID_COMMAND,
            f"{field} {value!r} must be 1-{ROSTER_TOKEN_MAX} printable characters without "
            "spaces, ';' or ','",
        )


def check_station(station: str) -> None:
    """A station label ("" for none): at most 32 printable characters, no spaces, ``;``, ``,``.
    Whether the station is known (has a position) is the roster tools' question, not a rule:
    the server takes any label."""
    if station:
        _check_token("station", station)


def check_capabilities(capabilities: Sequence[str]) -> None:
    """At most 32 capabilities, each a label like `check_station`'s, none twice."""
    if len(capabilities) > CAPABILITIES_MAX:
        raise DomainError(
            ErrorCode.INVALID_COMMAND, f"at most {CAPABILITIES_MAX} capabilities per unit"
        )
    for capability in capabilities:
        _check_token("capability", capability)
    if len(set(capabilities)) != len(capabilities):
        raise DomainError(ErrorCode.INVALID_COMMAND, "a capability is listed twice")


def check_radio_id(radio_id: str) -> None:
    """A radio id ("" for none): a label like `check_station`'s."""
    if radio_id:
        _check_token("radio id", radio_id)


def radio_holder(world: World, radio_id: str) -> str | None:
    """The id of the unit the radio ``radio_id`` is bound to (None: none, or ``radio_id`` is
    "")."""
    if not radio_id:
        return None
    for unit in world.units.values():
        if unit.radio_id == radio_id:
            return unit.id
    return None


def _check_radio_free(world: World, radio_id: str, unit_id: str) -> None:
    holder = radio_holder(world, radio_id)
    if holder is not None and holder != unit_id:
        raise DomainError(
            ErrorCode.ALREADY_EXISTS, f"radio {radio_id} is already bound to {holder}"
        )


# --- rules -------------------------------------------------------------------------------------


def _add(world: World, args: UnitAdd, ctx: DecisionContext) -> list[EventData]:
    check_unit_id(args.unit_id)
    if args.unit_id in world.units:
        raise DomainError(ErrorCode.ALREADY_EXISTS, f"unit {args.unit_id} is already on the roster")
    check_name("type", args.type)
    check_station(args.station)
    check_capabilities(args.capabilities)
    check_radio_id(args.radio_id)
    _check_radio_free(world, args.radio_id, args.unit_id)
    if args.status not in (UnitStatus.AV, UnitStatus.AQ, UnitStatus.OOS):
        raise DomainError(ErrorCode.INVALID_COMMAND, "a new unit starts AV, AQ or OOS")
    unit = Unit(
        id=args.unit_id,
        type=args.type,
        station=args.station,
        capabilities=list(args.capabilities),
        radio_id=args.radio_id,
        status=args.status,
        status_at=ctx.now,
    )
    return [UnitAdded(unit=unit)]


def _update(world: World, args: UnitUpdate, ctx: DecisionContext) -> list[EventData]:
    unit = find_unit(world, args.unit_id)
    changes: dict[str, Any] = {}
    if args.type is not None and args.type != unit.type:
        check_name("type", args.type)
        changes["type"] = args.type
    if args.station is not None and args.station != unit.station:
        check_station(args.station)
        changes["station"] = args.station
    if args.capabilities is not None and args.capabilities != unit.capabilities:
        check_capabilities(args.capabilities)
        changes["capabilities"] = list(args.capabilities)
    if args.radio_id is not None and args.radio_id != unit.radio_id:
        check_radio_id(args.radio_id)
        _check_radio_free(world, args.radio_id, unit.id)
        changes["radio_id"] = args.radio_id
    if not changes:
        raise DomainError(ErrorCode.NO_CHANGE, f"{unit.id}: nothing to change")
    return [UnitUpdated(unit_id=unit.id, **changes)]


def _dispatch(world: World, args: UnitDispatch, ctx: DecisionContext) -> list[EventData]:
    incident = open_incident(world, args.incident_id)
    if not args.unit_ids:
        raise DomainError(ErrorCode.INVALID_COMMAND, "name at least one unit to dispatch")
    if len(args.unit_ids) > MAX_UNITS_PER_DISPATCH:
        raise DomainError(
            ErrorCode.INVALID_COMMAND, f"at most {MAX_UNITS_PER_DISPATCH} units per dispatch"
        )
    if len(set(args.unit_ids)) != len(args.unit_ids):
        raise DomainError(ErrorCode.INVALID_COMMAND, "a unit is named twice")
    units = [find_unit(world, unit_id) for unit_id in args.unit_ids]
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
    if len(recommended) > MAX_UNITS_PER_DISPATCH or not all(map(UNIT_ID.match, recommended)):
        raise DomainError(ErrorCode.INVALID_COMMAND, "recommended must list unit ids")
    if not is_override(recommended, args.unit_ids):
        return None
    return PlanOverridden(
        incident_id=incident.id,
        recommended=list(recommended),
        dispatched=list(args.unit_ids),
        reason=args.override_reason.strip(),
    )


def _set_status(world: World, args: UnitSetStatus, ctx: DecisionContext) -> list[EventData]:
    unit = find_unit(world, args.unit_id)
    target = args.status
    if len(args.reason) > REASON_MAX:
        raise DomainError(
            ErrorCode.INVALID_COMMAND, f"reason must be at most {REASON_MAX} characters"
        )
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
            unit_id=unit.id,
            status=target,
            previous=unit.status,
            incident_id=incident_id,
            reason=args.reason.strip(),
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


def _busy_reason(world: World, unit: Unit) -> str:
    if unit.incident_id is not None and (incident := world.incidents.get(unit.incident_id)):
        return f"{unit.id} is {unit.status} on {incident_label(incident)}"
    return f"{unit.id} is {unit.status}"


def undo_dispatch(
    world: World, unit_id: str, incident_id: str, previous: UnitStatus
) -> UnitSetStatus:
    """The command that undoes dispatching ``unit_id`` to ``incident_id`` (it was ``previous``
    before): a release back to ``previous`` that records `DISPATCH_UNDONE` as the reason.
    Raises `DomainError` once the unit has moved on (en route, elsewhere): then it is a
    release the dispatcher decides, not an undo."""
    unit = find_unit(world, unit_id)
    if unit.status is not UnitStatus.DP or unit.incident_id != incident_id:
        raise DomainError(
            ErrorCode.INVALID_TRANSITION,
            f"{unit.id} is {unit.status} now: the dispatch can no longer be undone",
        )
    return UnitSetStatus(unit_id=unit.id, status=previous, reason=DISPATCH_UNDONE)


# --- what commands ask for, in words -----------------------------------------------------------


def _add_words(world: World, args: UnitAdd) -> str:
    return f"add {args.unit_id} ({args.type}) to the roster"


def _update_words(world: World, args: UnitUpdate) -> str:
    return f"change {args.unit_id} on the roster"


def _dispatch_words(world: World, args: UnitDispatch) -> str:
    incident = world.incidents.get(args.incident_id)
    to = incident_label(incident) if incident is not None else f"incident {args.incident_id[:8]}"
    return f"dispatch {', '.join(args.unit_ids)} to {to}"


def _set_status_words(world: World, args: UnitSetStatus) -> str:
    return f"{args.unit_id} {STATUS_WORDS[args.status]} ({args.status})"


# --- effects -----------------------------------------------------------------------------------


def _added(world: World, data: UnitAdded, at: float) -> Touched:
    world.units[data.unit.id] = replace(data.unit, status_at=data.unit.status_at or at)
    return [("unit", data.unit.id)]


def _updated(world: World, data: UnitUpdated, at: float) -> Touched:
    unit = world.units.get(data.unit_id)
    if unit is None:
        return []
    changes: dict[str, Any] = {
        name: value
        for name in ("type", "station", "capabilities", "radio_id")
        if (value := getattr(data, name)) is not None
    }
    world.units[unit.id] = replace(unit, **changes)
    return [("unit", unit.id)]


def _dispatched(world: World, data: UnitDispatched, at: float) -> Touched:
    unit = world.units.get(data.unit_id)
    if unit is None:
        return []
    touched: Touched = [("unit", unit.id)]
    world.units[unit.id] = replace(
        unit,
        status=UnitStatus.DP,
        incident_id=data.incident_id,
        status_at=at,
        acknowledgements=[],
    )
    incident = world.incidents.get(data.incident_id)
    if incident is not None:
        units = incident.units if unit.id in incident.units else [*incident.units, unit.id]
        times = with_first(incident.times, "first_dispatch", at)
        world.incidents[incident.id] = replace(incident, units=units, times=times)
        touched.append(("incident", incident.id))
    return touched


def _status_changed(world: World, data: UnitStatusChanged, at: float) -> Touched:
    unit = world.units.get(data.unit_id)
    if unit is None:
        return []
    touched: Touched = [("unit", unit.id)]
    left = unit.incident_id if unit.incident_id != data.incident_id else None
    world.units[unit.id] = replace(
        unit,
        status=data.status,
        incident_id=data.incident_id,
        status_at=at,
        acknowledgements=[],
    )
    if left is not None and (incident := world.incidents.get(left)) is not None:
        units = [u for u in incident.units if u != unit.id]
        times = incident.times if units else {**incident.times, "cleared": at}
        world.incidents[left] = replace(incident, units=units, times=times)
        touched.append(("incident", left))
    if data.incident_id is not None and (incident := world.incidents.get(data.incident_id)):
        first = _FIRST_TIME_OF_STATUS.get(data.status)
        if first is not None and first not in incident.times:
            times = with_first(incident.times, first, at)
            world.incidents[incident.id] = replace(incident, times=times)
            touched.append(("incident", incident.id))
    return touched


def _plan_overridden(world: World, data: PlanOverridden, at: float) -> Touched:
    """Recorded in the timeline only (by `desktop.domain.world.World.apply`)."""
    return [("incident", data.incident_id)] if data.incident_id in world.incidents else []


# --- what events did, in the timeline's words --------------------------------------------------


def _dispatched_lines(world: World, data: UnitDispatched) -> Lines:
    return [(data.incident_id, f"{data.unit_id} dispatched")]


def _status_lines(world: World, data: UnitStatusChanged) -> Lines:
    unit = world.units.get(data.unit_id)
    incident_id = data.incident_id or (unit.incident_id if unit is not None else None)
    if incident_id is None:
        return []
    change = f"{data.previous} → {data.status}"
    why = f" — {data.reason}" if data.reason else ""
    if data.status in ASSIGNED_STATUSES:
        return [(incident_id, f"{data.unit_id} {change}{why}")]
    return [(incident_id, f"{data.unit_id} released ({change}){why}")]


def _overridden_lines(world: World, data: PlanOverridden) -> Lines:
    recommended = ", ".join(data.recommended) or "none"
    dispatched = ", ".join(data.dispatched)
    text = f"Recommendation overridden: recommended {recommended}; sent {dispatched}"
    if data.reason:
        text += f" — {data.reason}"
    return [(data.incident_id, text)]


# --- the kinds ---------------------------------------------------------------------------------

COMMANDS: tuple[CommandKind[Any], ...] = (
    CommandKind("unit.add", UnitAdd, "dispatcher", _add, _add_words),
    CommandKind("unit.update", UnitUpdate, "dispatcher", _update, _update_words),
    CommandKind("unit.dispatch", UnitDispatch, "dispatcher", _dispatch, _dispatch_words),
    CommandKind("unit.set_status", UnitSetStatus, "dispatcher", _set_status, _set_status_words),
)

EVENTS: tuple[EventKind[Any], ...] = (
    EventKind("unit.added", UnitAdded, _added, no_lines),
    EventKind("unit.updated", UnitUpdated, _updated, no_lines),
    EventKind("unit.dispatched", UnitDispatched, _dispatched, _dispatched_lines),
    EventKind("unit.status_changed", UnitStatusChanged, _status_changed, _status_lines),
    EventKind("incident.plan_overridden", PlanOverridden, _plan_overridden, _overridden_lines),
)
