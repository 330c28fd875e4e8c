"""`IncidentDraft`: the incident a call-taker is writing up from a call, and the commands that
save it. Pure: the Call-taking panel holds one and calls `commands` when the call-taker saves.

A draft has a location (an address the street index verified, an address kept unverified on
purpose — *forced*, flagged for follow-up — or the caller's own point), an incident type and a
priority (the type's most urgent run-card priority unless the call-taker chose one). Saving
creates the incident linked to the call in one command; when the call-taker chose to, the new
incident is also linked as a child of a duplicate, or the call joins the duplicate instead.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from desktop.domain.caller_location import CallerLocation, Geodetic, civic_text
from desktop.domain.calls import CallLink
from desktop.domain.incidents import IncidentCreate
from desktop.domain.kinds import CommandArgs
from desktop.domain.links import IncidentLinkTo
from desktop.domain.types import Call, CallerArgs, LocationArgs
from desktop.ids import uuid7
from desktop.runcards import RunCards

__all__ = [
    "DEFAULT_PRIORITY",
    "IncidentDraft",
    "SaveChoice",
    "best_geodetic",
    "caller_civic",
    "default_priority",
    "references",
]

#: The priority of a type whose run cards name none.
DEFAULT_PRIORITY = 2

#: How a save treats a possible duplicate: ``new`` incident, ``child`` (a new incident linked
#: as a child of it), ``join`` (no new incident: the call is linked to the duplicate).
SaveChoice = Literal["new", "child", "join"]


def default_priority(runcards: RunCards, incident_type: str) -> int:
    """The most urgent priority the run cards list for ``incident_type``, else
    `DEFAULT_PRIORITY`."""
    listed = runcards.priorities(incident_type)
    return min(listed) if listed else DEFAULT_PRIORITY


def best_geodetic(call: Call) -> Geodetic | None:
    """The caller's most precise geodetic location (the smallest uncertainty; a point with none
    counts as the least precise), or None."""
    shapes = [loc.geodetic for loc in call.locations if loc.geodetic is not None]
    if not shapes:
        return None
    return min(shapes, key=lambda g: g.uncertainty_m if g.uncertainty_m is not None else 1e9)


def caller_civic(call: Call) -> str:
    """The caller's civic address as one line ("" when the network gave none)."""
    for loc in call.locations:
        if loc.civic is not None and (text := civic_text(loc.civic)):
            return text
    return ""


def references(call: Call) -> list[CallerLocation]:
    """The caller's locations given by reference (a URI to fetch them from)."""
    return [loc for loc in call.locations if loc.reference]


@dataclass(frozen=True, slots=True)
class IncidentDraft:
    """An incident being written up. ``location`` is what will be saved; ``verified_as`` the
    street index's name of it ("" unless verified)."""

    location: LocationArgs | None = None
    verified_as: str = ""
    incident_type: str = ""
    priority: int | None = None
    caller_name: str = ""

    def with_location(self, location: LocationArgs | None, verified_as: str = "") -> IncidentDraft:
        return replace(self, location=location, verified_as=verified_as)

    def with_type(self, incident_type: str) -> IncidentDraft:
        return replace(self, incident_type=incident_type.strip().upper())

    def with_priority(self, priority: int | None) -> IncidentDraft:
        return replace(self, priority=priority)

    def missing(self) -> str:
        """What must still be given before saving, in words ("" when ready)."""
        wanted = [
            what
            for what, given in (("a location", self.location), ("a type", self.incident_type))
            if not given
        ]
        return " and ".join(wanted)

    def commands(
        self,
        call: Call | None,
        runcards: RunCards,
        *,
        choice: SaveChoice = "new",
        duplicate_id: str | None = None,
        note: str = "",
    ) -> list[CommandArgs]:
        """The commands that save this draft: ``join`` links ``call`` to the duplicate (the
        draft itself is not saved); ``new`` and ``child`` create the incident, linked to
        ``call``, with ``note`` as its first narrative entry. Raises ValueError when `missing`
        is not empty (``new``, ``child``), or a choice needs a duplicate (or a call) and none
        is given."""
        if choice != "new" and duplicate_id is None:
            raise ValueError("no duplicate to link to")
        if choice == "join":
            if call is None:
                raise ValueError("no call to join to the incident")
            return [CallLink(call_id=call.id, incident_id=duplicate_id or "")]
        if self.missing() or self.location is None:
            raise ValueError(f"give {self.missing()} first")
        priority = self.priority or default_priority(runcards, self.incident_type)
        callback = call.ani if call is not None else ""
        name = self.caller_name or (call.caller_name if call is not None else "")
        caller = CallerArgs(name=name, callback=callback) if (name or callback) else None
        incident_id = str(uuid7())
        create = IncidentCreate(
            incident_id=incident_id,
            type=self.incident_type,
            priority=priority,
            location=self.location,
            caller=caller,
            note=note,
            call_id=call.id if call is not None else None,
        )
        if choice == "child":
            link = IncidentLinkTo(
                incident_id=incident_id, target_id=duplicate_id or "", relation="child"
            )
            return [create, link]
        return [create]
