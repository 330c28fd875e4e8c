"""Domain entities of dispatch v1: incidents, units and their status codes.

These Structs are the state both the server and the client hold; they travel in events and
snapshots. Fields a later version adds must have defaults so older data still decodes.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

__all__ = [
    "ASSIGNED_STATUSES",
    "AVAILABLE_STATUSES",
    "Caller",
    "Incident",
    "IncidentStatus",
    "Location",
    "NarrativeEntry",
    "Position",
    "Unit",
    "UnitStatus",
]


class UnitStatus(StrEnum):
    """Unit status codes (CAD convention)."""

    AV = "AV"  # available, in service (on the road)
    AQ = "AQ"  # available in quarters
    DP = "DP"  # dispatched
    ER = "ER"  # en route
    OS = "OS"  # on scene
    TR = "TR"  # transporting a patient
    AH = "AH"  # at hospital
    OOS = "OOS"  # out of service


#: Statuses in which a unit may be dispatched.
AVAILABLE_STATUSES = frozenset({UnitStatus.AV, UnitStatus.AQ})
#: Statuses in which a unit is committed to an incident.
ASSIGNED_STATUSES = frozenset(
    {UnitStatus.DP, UnitStatus.ER, UnitStatus.OS, UnitStatus.TR, UnitStatus.AH}
)


class IncidentStatus(StrEnum):
    PENDING = "pending"  # no unit assigned yet
    DISPATCHED = "dispatched"  # units dispatched or en route
    ACTIVE = "active"  # a unit has arrived
    CLOSED = "closed"


class Location(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where an incident is. Civic text and/or a geodetic point with uncertainty (PIDF-LO)."""

    address: str = ""
    city: str = ""
    cross_street: str = ""
    lat: float | None = None
    lon: float | None = None
    uncertainty_m: float | None = None
    verified: bool = False


class Caller(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The reporting party; ``callback`` is the ANI (callback number)."""

    name: str = ""
    callback: str = ""


class NarrativeEntry(msgspec.Struct, kw_only=True):
    """One timestamped, attributed line of an incident's narrative."""

    at: float
    author: str
    text: str


class Incident(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An incident. ``id`` is chosen by the client that creates it (a UUID) so that commands queued
    offline can refer to it; ``number`` (e.g. ``F2611-000123``) is assigned by the server.

    ``times`` holds NFORS-style interval timestamps: ``created``, ``first_dispatch``,
    ``first_enroute``, ``first_onscene``, ``closed`` (seconds since the epoch).
    """

    id: str
    type: str
    priority: int
    location: Location
    status: IncidentStatus = IncidentStatus.PENDING
    number: str | None = None
    caller: Caller | None = None
    narrative: list[NarrativeEntry] = msgspec.field(default_factory=list)
    units: list[str] = msgspec.field(default_factory=list)
    disposition: str | None = None
    times: dict[str, float] = msgspec.field(default_factory=dict)
    calls: list[str] = msgspec.field(default_factory=list)
    created_by: str = ""


class Position(msgspec.Struct, kw_only=True):
    """An AVL fix: where a unit was at ``at``."""

    lat: float
    lon: float
    at: float


class Unit(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A response unit (E12, M55, T3, B2...) on the roster."""

    id: str
    type: str
    station: str = ""
    capabilities: list[str] = msgspec.field(default_factory=list)
    status: UnitStatus = UnitStatus.AQ
    incident_id: str | None = None
    status_at: float = 0.0
    position: Position | None = None
