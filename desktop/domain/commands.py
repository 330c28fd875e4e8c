"""Command kinds of protocol v1: their argument schemas and which roles may issue them.

A command is ``kind`` + ``args``. The server decodes ``args`` with ``COMMAND_ARGS[kind]`` (strict:
unknown fields and wrong types are rejected) and checks ``ALLOWED_ROLES[kind]``.
"""

from __future__ import annotations

import msgspec

from desktop.domain.types import Caller, EntityKind, Location, UnitStatus

__all__ = [
    "ALLOWED_ROLES",
    "COMMAND_ARGS",
    "AlertAcknowledge",
    "CallerArgs",
    "CommandArgs",
    "IncidentAddNote",
    "IncidentClose",
    "IncidentCreate",
    "IncidentUpdate",
    "LocationArgs",
    "UnitAdd",
    "UnitDispatch",
    "UnitSetStatus",
    "UnitUpdate",
]


class CommandArgs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every command's arguments."""


class LocationArgs(Location, forbid_unknown_fields=True):
    """A `Location` given in a command: a misspelt field is rejected, never silently dropped."""


class CallerArgs(Caller, forbid_unknown_fields=True):
    """A `Caller` given in a command: a misspelt field is rejected, never silently dropped."""


class IncidentCreate(CommandArgs):
    """Open an incident. ``incident_id`` is a client-chosen UUID; the server adds the number."""

    incident_id: str
    type: str
    priority: int
    location: LocationArgs
    caller: CallerArgs | None = None
    note: str = ""


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


class UnitAdd(CommandArgs):
    """Add a unit to the roster."""

    unit_id: str
    type: str
    station: str = ""
    capabilities: list[str] = msgspec.field(default_factory=list)
    status: UnitStatus = UnitStatus.AQ


class UnitUpdate(CommandArgs):
    unit_id: str
    type: str | None = None
    station: str | None = None
    capabilities: list[str] | None = None


class UnitDispatch(CommandArgs):
    """Dispatch every unit in ``unit_ids`` to the incident; all or none.

    ``recommended``: the units the recommendation offered, when the dispatcher worked from one;
    if they differ from ``unit_ids`` the override is recorded in the incident's timeline with
    ``override_reason``.
    """

    incident_id: str
    unit_ids: list[str]
    recommended: list[str] | None = None
    override_reason: str = ""


class UnitSetStatus(CommandArgs):
    """Change a unit's status; the transition rules are in `desktop.domain.rules`."""

    unit_id: str
    status: UnitStatus


class AlertAcknowledge(CommandArgs):
    """Acknowledge one alert instance: the timer of ``entity`` ``entity_id`` that started at
    ``started_at`` and alerted for ``reason`` (`desktop.timers.TimerState` gives all four)."""

    entity: EntityKind
    entity_id: str
    reason: str
    started_at: float
    note: str = ""


COMMAND_ARGS: dict[str, type[CommandArgs]] = {
    "incident.create": IncidentCreate,
    "incident.update": IncidentUpdate,
    "incident.add_note": IncidentAddNote,
    "incident.close": IncidentClose,
    "unit.add": UnitAdd,
    "unit.update": UnitUpdate,
    "unit.dispatch": UnitDispatch,
    "unit.set_status": UnitSetStatus,
    "alert.acknowledge": AlertAcknowledge,
}

_INCIDENT_ENTRY = frozenset({"calltaker", "dispatcher", "admin"})
_DISPATCH = frozenset({"dispatcher", "admin"})

#: Roles allowed to issue each command. ``supervisor`` (monitoring) may issue none.
ALLOWED_ROLES: dict[str, frozenset[str]] = {
    "incident.create": _INCIDENT_ENTRY,
    "incident.update": _INCIDENT_ENTRY,
    "incident.add_note": _INCIDENT_ENTRY,
    "incident.close": _DISPATCH,
    "unit.add": _DISPATCH,
    "unit.update": _DISPATCH,
    "unit.dispatch": _DISPATCH,
    "unit.set_status": _DISPATCH,
    "alert.acknowledge": _INCIDENT_ENTRY,
}
