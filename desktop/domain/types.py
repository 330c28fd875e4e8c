"""Domain entities of dispatch v1: incidents, units and their status codes, and the strict forms
of the entity values commands carry (`LocationArgs`, `CallerArgs`).

These Structs are the state both the server and the client hold; they travel in events and
snapshots. Fields a later version adds must have defaults so older data still decodes.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

__all__ = [
    "ASSIGNED_STATUSES",
    "AVAILABLE_STATUSES",
    "Acknowledgement",
    "Caller",
    "CallerArgs",
    "EntityKind",
    "Incident",
    "IncidentStatus",
    "Location",
    "LocationArgs",
    "NarrativeEntry",
    "Position",
    "TimelineEntry",
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


class EntityKind(StrEnum):
    """What an alert (a status or pending timer) is about."""

    UNIT = "unit"
    INCIDENT = "incident"


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


class LocationArgs(Location, forbid_unknown_fields=True):
    """A `Location` given in a command: a misspelt field is rejected, never silently dropped."""


class CallerArgs(Caller, forbid_unknown_fields=True):
    """A `Caller` given in a command: a misspelt field is rejected, never silently dropped."""


class NarrativeEntry(msgspec.Struct, kw_only=True):
    """One timestamped, attributed line of an incident's narrative."""

    at: float
    author: str
    text: str


class TimelineEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of an incident's timeline: what an event did (``text``, for people), its event
    ``kind``, when the dispatcher acted (``at``, the action time) and by whom. ``recorded_at``
    is when the server recorded it, kept only for an entry made offline
    (`desktop.domain.action_time.entered_late`). Entries are derived from the log and never
    edited."""

    at: float
    actor: str
    kind: str
    text: str
    recorded_at: float | None = None


class Acknowledgement(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A user acknowledged one alert instance at ``at``.

    An alert instance is (``entity``, ``entity_id``, ``reason``, ``started_at``): the same timer
    running again later (a new ``started_at``) is a new instance that must be acknowledged again.
    ``actor`` is the user who acknowledged (the actor of the ``alert.acknowledged`` event).
    """

    entity: EntityKind
    entity_id: str
    reason: str
    started_at: float
    at: float
    actor: str
    note: str = ""


class Incident(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An incident. ``id`` is chosen by the client that creates it (a UUID) so that commands queued
    offline can refer to it; ``number`` (e.g. ``F2611-000123``) is assigned by the server.

    ``times`` holds NFORS-style interval timestamps: ``created``, ``first_dispatch``,
    ``first_enroute``, ``first_onscene``, ``closed`` (seconds since the epoch), and ``pending``:
    when the incident last became pending (at creation, and again whenever its last unit is
    released), which the pending timer runs from.
    ``timeline`` is every event about the incident, oldest first (`TimelineEntry`).
    ``alarm`` is the alarm level struck (1 = first alarm): which level of its run card applies.
    ``acknowledgements`` is the timeline of alerts acknowledged about the incident or about a
    unit while it was on the incident, oldest first.
    ``local_ref`` is how the workstation that created the incident names it until the server
    numbers it (``L17``: `desktop.domain.wording.local_reference`); only that workstation's
    optimistic view sets it, never the server, so it is never sent nor stored.
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
    acknowledgements: list[Acknowledgement] = msgspec.field(default_factory=list)
    timeline: list[TimelineEntry] = msgspec.field(default_factory=list)
    alarm: int = 1
    local_ref: str | None = None


class Position(msgspec.Struct, kw_only=True):
    """An AVL fix: where a unit was at ``at``."""

    lat: float
    lon: float
    at: float


class Unit(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A response unit (E12, M55, T3, B2...) on the roster.

    ``acknowledgements`` holds the alerts acknowledged about the unit's current status only
    (``started_at == status_at``); every status change empties it, so it stays small. The
    lasting record is on the incident (`Incident.acknowledgements`).
    ``radio_id`` is the id of the radio bound to the unit (its PTT id), "" when none; no two
    units share one.
    """

    id: str
    type: str
    station: str = ""
    capabilities: list[str] = msgspec.field(default_factory=list)
    radio_id: str = ""
    status: UnitStatus = UnitStatus.AQ
    incident_id: str | None = None
    status_at: float = 0.0
    position: Position | None = None
    acknowledgements: list[Acknowledgement] = msgspec.field(default_factory=list)
