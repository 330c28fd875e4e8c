"""The checks every aggregate's rules share: field limits, and finding what a command names.

Each raises `DomainError` with a typed code and a message a dispatcher can act on.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, TypeVar

import msgspec

from desktop.domain.kinds import DomainError
from desktop.domain.types import ASSIGNED_STATUSES, Caller, Incident, IncidentStatus, Location, Unit
from desktop.domain.wording import incident_label
from desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from desktop.domain.world import World

__all__ = [
    "NAME_MAX",
    "PRIORITIES",
    "REASON_MAX",
    "TEXT_MAX",
    "UNIT_ID",
    "check_location",
    "check_name",
    "check_priority",
    "check_text",
    "committed_units",
    "find_incident",
    "find_unit",
    "open_incident",
    "plain",
]

TEXT_MAX = 4000
NAME_MAX = 64
REASON_MAX = 200
PRIORITIES = range(1, 6)  # 1 is the most urgent
UNIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,15}$")


def find_incident(world: World, incident_id: str) -> Incident:
    incident = world.incidents.get(incident_id)
    if incident is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no incident {incident_id}")
    return incident


def open_incident(world: World, incident_id: str) -> Incident:
    incident = find_incident(world, incident_id)
    if incident.status is IncidentStatus.CLOSED:
        raise DomainError(
            ErrorCode.INCIDENT_CLOSED,
            f"{incident_label(incident)} was closed ({incident.disposition or 'no disposition'})",
        )
    return incident


def committed_units(world: World, incident_id: str) -> list[str]:
    """The ids of the units committed to the incident (``DP`` ... ``AH``), sorted."""
    return sorted(
        unit.id
        for unit in world.units.values()
        if unit.incident_id == incident_id and unit.status in ASSIGNED_STATUSES
    )


def find_unit(world: World, unit_id: str) -> Unit:
    unit = world.units.get(unit_id)
    if unit is None:
        raise DomainError(ErrorCode.NOT_FOUND, f"no unit {unit_id} on the roster")
    return unit


def check_name(field: str, value: str) -> None:
    if not value.strip() or len(value) > NAME_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"{field} must be 1-{NAME_MAX} characters")


def check_text(text: str) -> None:
    if not text.strip() or len(text) > TEXT_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"text must be 1-{TEXT_MAX} characters")


def check_priority(priority: int) -> None:
    if priority not in PRIORITIES:
        raise DomainError(
            ErrorCode.INVALID_COMMAND,
            f"priority must be {PRIORITIES.start}-{PRIORITIES.stop - 1}, not {priority}",
        )


def check_location(location: Location) -> None:
    has_point = location.lat is not None and location.lon is not None
    if not location.address.strip() and not has_point:
        raise DomainError(ErrorCode.INVALID_COMMAND, "a location needs an address or lat/lon")
    if len(location.address) > 200:
        raise DomainError(ErrorCode.INVALID_COMMAND, "address must be at most 200 characters")
    if (location.lat is None) != (location.lon is None):
        raise DomainError(ErrorCode.INVALID_COMMAND, "give both lat and lon, or neither")
    if has_point and not (-90 <= location.lat <= 90 and -180 <= location.lon <= 180):  # type: ignore[operator]
        raise DomainError(ErrorCode.INVALID_COMMAND, "lat/lon out of range")


_Plain = TypeVar("_Plain", Location, Caller)


def plain(cls: type[_Plain], value: _Plain) -> _Plain:
    """A strict command argument (`LocationArgs`, `CallerArgs`) as the entity events hold."""
    return cls(**msgspec.structs.asdict(value))
