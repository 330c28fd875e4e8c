"""How the domain's things are said to a dispatcher: incident labels, places, callers, ordinals
and unit statuses. One home for each wording; the timeline, refusals, the command line and every
panel call these.
"""

from __future__ import annotations

import re

from desktop.domain.caller_location import describe_caller_location
from desktop.domain.types import Call, Caller, Incident, Location, UnitStatus

__all__ = [
    "CLASS_OF_SERVICE_WORDS",
    "LOCAL_PREFIX",
    "SHOWN_ID",
    "STATUS_WORDS",
    "ani_text",
    "call_label",
    "caller_location_text",
    "caller_text",
    "incident_label",
    "incident_reference",
    "local_reference",
    "located",
    "ordinal",
    "place",
    "service_text",
]

#: Characters of an incident's id shown (and typed on the command line) while it has no number
#: and no local reference (created on another workstation, or by an older version).
SHOWN_ID = 8
#: How a local reference starts: ``L`` and the creating command's place in the outbox.
LOCAL_PREFIX = "L"

#: What each unit status means, in words ("E12 en route").
STATUS_WORDS: dict[UnitStatus, str] = {
    UnitStatus.AV: "available",
    UnitStatus.AQ: "in quarters",
    UnitStatus.DP: "dispatched",
    UnitStatus.ER: "en route",
    UnitStatus.OS: "on scene",
    UnitStatus.TR: "transporting",
    UnitStatus.AH: "at hospital",
    UnitStatus.OOS: "out of service",
}


def local_reference(client_seq: int) -> str:
    """The workstation's own name for an incident it created and the server has not numbered
    yet: ``L`` and the ``client_seq`` of the creating command (``L17``). Unique on this
    workstation (client_seq is never reused) and the same after a restart (the command is in
    the outbox until the server answers it)."""
    return f"{LOCAL_PREFIX}{client_seq}"


def incident_reference(incident: Incident) -> str:
    """What a dispatcher types or reads to name ``incident``: its number, else its local
    reference (``L17``), else the start of its id. The command line accepts each of them."""
    return incident.number or incident.local_ref or incident.id[:SHOWN_ID]


def incident_label(incident: Incident) -> str:
    """The number a dispatcher reads out (``F2612-000123``), or, until the server has numbered
    the incident, its `incident_reference` (``L17``) and "number pending"."""
    if incident.number:
        return incident.number
    return f"{incident_reference(incident)} (number pending)"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th... 11th, 12th, 13th... 21st."""
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def place(location: Location) -> str:
    """The address, else the coordinates, else "(no location)"."""
    if location.address:
        return location.address
    if location.lat is None or location.lon is None:
        return "(no location)"
    return f"{location.lat:.5f}, {location.lon:.5f}"


def located(location: Location) -> str:
    """`place`, with the coordinates too when the location has both an address and a point
    (a change of either then shows in the timeline)."""
    text = place(location)
    if location.address and location.lat is not None and location.lon is not None:
        text += f" ({location.lat:.5f}, {location.lon:.5f})"
    return text


def caller_text(caller: Caller) -> str:
    """Name and callback number, whichever are known ("" for neither)."""
    return " ".join(part for part in (caller.name, caller.callback) if part)


#: Each class of service as a call-taker reads it.
CLASS_OF_SERVICE_WORDS: dict[str, str] = {
    "wireline": "Wireline",
    "wireless": "Wireless",
    "voip": "VoIP",
    "text": "Text",
    "telematics": "Telematics",
    "unknown": "Unknown service",
}

_NANP = re.compile(r"^(?:\+?1)?(\d{3})(\d{3})(\d{4})$")


def ani_text(ani: str) -> str:
    """A callback number as read aloud: ``(415) 555-0134`` for a North American number (with
    or without ``+1``, ``tel:`` or separators), else as given; "no callback number" for none."""
    raw = ani.strip().removeprefix("tel:").removeprefix("sip:").split("@")[0].split(";")[0]
    digits = re.sub(r"[\s().-]", "", raw)
    match = _NANP.match(digits)
    if match:
        return f"({match[1]}) {match[2]}-{match[3]}"
    return raw or "no callback number"


def call_label(call: Call) -> str:
    """How a call is named in a timeline or a message: callback number and class of service
    ("(415) 555-0134 wireless")."""
    return f"{ani_text(call.ani)} {service_text(call).lower()}"


def service_text(call: Call) -> str:
    """The call's class of service as a call-taker reads it ("Wireless", "VoIP")."""
    return CLASS_OF_SERVICE_WORDS.get(call.class_of_service, call.class_of_service)


def caller_location_text(call: Call) -> str:
    """Where the caller is as the network said it, each location with its uncertainty; or
    why there is none and what to do."""
    shapes = [describe_caller_location(loc) for loc in call.locations]
    if shapes:
        return " | ".join(shapes)
    if call.location_error:
        return f"Caller location unreadable ({call.location_error}); ask where they are"
    return "No caller location: ask where they are"
