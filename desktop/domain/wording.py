"""How the domain's things are said to a dispatcher: incident labels, places, callers, ordinals
and unit statuses. One home for each wording; the timeline, refusals, the command line and every
panel call these.
"""

from __future__ import annotations

from desktop.domain.types import Caller, Incident, Location, UnitStatus

__all__ = ["SHOWN_ID", "STATUS_WORDS", "caller_text", "incident_label", "ordinal", "place"]

#: Characters of an incident's id shown (and typed on the command line) while it has no number.
SHOWN_ID = 8

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


def incident_label(incident: Incident) -> str:
    """The number a dispatcher reads out (``F2612-000123``), or, until the server has numbered
    the incident, the start of its id (which the command line accepts) and "number pending"."""
    return incident.number or f"{incident.id[:SHOWN_ID]} (number pending)"


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


def caller_text(caller: Caller) -> str:
    """Name and callback number, whichever are known ("" for neither)."""
    return " ".join(part for part in (caller.name, caller.callback) if part)
