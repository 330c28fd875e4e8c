"""Domain entities of dispatch v1: incidents, units and their status codes, and the strict forms
of the entity values commands carry (`LocationArgs`, `CallerArgs`).

These Structs are the state both the server and the client hold; they travel in events and
snapshots. Fields a later version adds must have defaults so older data still decodes.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import msgspec

from desktop.domain.caller_location import CallerLocation

__all__ = [
    "ASSIGNED_STATUSES",
    "AVAILABLE_STATUSES",
    "CLASSES_OF_SERVICE",
    "Acknowledgement",
    "Call",
    "CallStatus",
    "Caller",
    "CallerArgs",
    "EntityKind",
    "Incident",
    "IncidentLink",
    "IncidentStatus",
    "LinkRelation",
    "Location",
    "LocationArgs",
    "NarrativeEntry",
    "Position",
    "Premise",
    "RadioAlarm",
    "RadioEntry",
    "RadioMark",
    "RadioMarkKind",
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
    """Where an incident is. Civic text and/or a geodetic point with uncertainty.

    ``verified``: the address matched the city's street index (`desktop.geo.geocoder`).
    ``forced``: the call-taker kept an address the index could not verify; the incident is
    flagged for follow-up (`desktop.domain.calls.needs_follow_up`). The caller's own location
    (PIDF-LO) is kept apart, on the `Call`: it is where the phone is, not where help goes.
    """

    address: str = ""
    city: str = ""
    cross_street: str = ""
    lat: float | None = None
    lon: float | None = None
    uncertainty_m: float | None = None
    verified: bool = False
    forced: bool = False


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


#: How two incidents are linked (NENA EIDO link semantics), seen from the incident holding the
#: link: ``parent``/``child`` (a related incident), ``replacing``/``replaced`` (a merge: the
#: ``replaced`` one turned out to be the same emergency and is closed into the other).
LinkRelation = Literal["parent", "child", "replacing", "replaced"]


class IncidentLink(msgspec.Struct, kw_only=True, omit_defaults=True):
    """This incident is ``relation`` of incident ``incident_id`` since ``at``."""

    incident_id: str
    relation: LinkRelation
    at: float


#: What a timed radio prompt is: an elapsed-time announcement, or a personnel accountability
#: report (PAR) asked of the units on scene.
RadioMarkKind = Literal["elapsed", "par"]


class RadioMark(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A timed radio prompt of an incident and its answer: the prompt of ``kind`` fell due at
    ``due_at`` (`desktop.radio_clock`), ``actor`` answered it at ``at`` with ``answer`` (for a
    PAR: "all accounted for", or who is not)."""

    kind: RadioMarkKind
    due_at: float
    at: float
    actor: str
    answer: str = ""


class Incident(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An incident. ``id`` is chosen by the client that creates it (a UUID) so that commands queued
    offline can refer to it; ``number`` (e.g. ``F2611-000123``) is assigned by the server.

    ``times`` holds NFORS-style interval timestamps: ``call_received`` and ``call_answered``
    (of its first linked call), ``created``, ``first_dispatch``, ``first_enroute``,
    ``first_onscene``, ``cleared`` (when its last committed unit cleared, the latest time),
    ``closed`` (seconds since the epoch), and ``pending``: when the incident last became
    pending (at creation, and again whenever its last unit is released), which the pending
    timer runs from. ``calls`` are the ids of its linked calls, oldest first; ``links`` its
    links to other incidents (`IncidentLink`).
    ``timeline`` is every event about the incident, oldest first (`TimelineEntry`).
    ``alarm`` is the alarm level struck (1 = first alarm): which level of its run card applies.
    ``acknowledgements`` is the timeline of alerts acknowledged about the incident or about a
    unit while it was on the incident, oldest first.
    ``channel`` is the radio channel (talkgroup) assigned to the incident, "" when none;
    ``radio_marks`` its answered timed radio prompts (elapsed-time marks, PARs), oldest first.
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
    links: list[IncidentLink] = msgspec.field(default_factory=list)
    channel: str = ""
    radio_marks: list[RadioMark] = msgspec.field(default_factory=list)
    local_ref: str | None = None


class Position(msgspec.Struct, kw_only=True, omit_defaults=True):
    """An AVL fix: where a unit was at ``at`` (server clock, seconds since the epoch), and when
    the vehicle reported them its speed (m/s) and heading (degrees clockwise from north)."""

    lat: float
    lon: float
    at: float
    speed_mps: float | None = None
    heading_deg: float | None = None


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


#: Classes of service a call may have (the ALI/ADR "class of service", simplified for NG911).
CLASSES_OF_SERVICE: tuple[str, ...] = (
    "wireline",
    "wireless",
    "voip",
    "text",
    "telematics",
    "unknown",
)


class CallStatus(StrEnum):
    """ringing -> answered -> linked (to an incident) -> released; or abandoned: the caller hung
    up before anyone answered, or after the answer before the call was linked."""

    RINGING = "ringing"
    ANSWERED = "answered"
    LINKED = "linked"
    RELEASED = "released"
    ABANDONED = "abandoned"


class Call(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A 911 call offered to every call-taking position.

    ``id`` is chosen by the side that offers it (the SIP intake derives it from the SIP
    Call-ID, so a retransmitted INVITE is the same call). ``ani`` is the callback number.
    ``locations`` are the caller's locations as delivered (PIDF-LO: civic, shapes with
    uncertainty and confidence, references), in document order; ``location_error`` says why a
    location document could not be read (the call is offered without it). ``times``:
    ``received``, ``answered``, ``linked``, ``ended`` (released or abandoned) and
    ``called_back``, each set once. ``answered_by`` is the call-taker who won the answer;
    ``incident_id`` the incident it is linked to. An abandoned call stays on the callback list
    until ``called_back`` is set.
    """

    id: str
    ani: str = ""
    class_of_service: str = "unknown"
    caller_name: str = ""
    status: CallStatus = CallStatus.RINGING
    locations: list[CallerLocation] = msgspec.field(default_factory=list)
    location_error: str = ""
    source: str = ""
    sip_call_id: str = ""
    emergency_call_id: str = ""
    emergency_incident_id: str = ""
    times: dict[str, float] = msgspec.field(default_factory=dict)
    answered_by: str = ""
    incident_id: str | None = None
    callback_note: str = ""


class Premise(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Hazard flags at an address, managed by admins (``dispatch-server premise``) and shown to
    every call-taker as soon as the address is verified. ``id`` is the premise's key: the
    address as the street index names it (``"1200 MARKET ST"``), upper case."""

    id: str
    address: str
    lat: float | None = None
    lon: float | None = None
    hazards: list[str] = msgspec.field(default_factory=list)
    note: str = ""
    updated_at: float = 0.0
    updated_by: str = ""


class RadioAlarm(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A radio's emergency button was pressed (`desktop.domain.radio`).

    ``id`` is chosen by the radio gateway that reported it. ``unit_id`` is the unit the radio
    was bound to then ("" when the radio is on no unit: the alarm is raised all the same),
    ``incident_id`` the incident that unit was on, ``position`` its last AVL position then.
    ``raised_at`` is when the radio was activated. An alarm is *active* until cleared; it is
    acknowledged once (``acknowledged_at``/``_by``); a cleared alarm says why
    (``clear_reason``) and whether the activation was false.
    """

    id: str
    radio_id: str
    channel: str = ""
    unit_id: str = ""
    incident_id: str | None = None
    position: Position | None = None
    raised_at: float = 0.0
    acknowledged_at: float | None = None
    acknowledged_by: str = ""
    cleared_at: float | None = None
    cleared_by: str = ""
    clear_reason: str = ""
    false_activation: bool = False


class RadioEntry(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line of the radio log: radio traffic ``text`` heard from ``unit_id`` ("" when
    the speaker is not a unit) on ``channel``, about ``incident_id``, entered by ``actor`` at
    ``at``. ``id`` is chosen by the workstation that logs it."""

    id: str
    at: float
    actor: str
    text: str
    unit_id: str = ""
    channel: str = ""
    incident_id: str | None = None
