"""What is known about a place, looked up once a call-taker has a location: active incidents the
call may duplicate, prior incidents at the address and the premise's hazard flags, with their
one wording (the Call-taking panel and Incident detail both show it).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from desktop.domain.caller_location import describe_caller_location
from desktop.domain.calls import needs_follow_up
from desktop.domain.links import LINK_WORDS
from desktop.domain.types import Incident, Location, Premise
from desktop.domain.wording import call_label, incident_label
from desktop.domain.world import World
from desktop.geo.nearby import (
    DUPLICATE_RADIUS_M,
    DUPLICATE_WINDOW_S,
    Duplicate,
    duplicate_candidates,
    premise_at,
    prior_incidents,
)

__all__ = [
    "DuplicateRule",
    "PlaceInfo",
    "call_facts",
    "duplicate_text",
    "hazard_text",
    "look_up",
    "prior_text",
]


@dataclass(frozen=True, slots=True)
class DuplicateRule:
    """When a new call may be a duplicate: an open incident of a compatible type within
    ``radius_m`` created at most ``window_s`` ago (the workstation configuration's
    ``calltaking.duplicate_radius_m`` and ``calltaking.duplicate_window_min``)."""

    radius_m: float = DUPLICATE_RADIUS_M
    window_s: float = DUPLICATE_WINDOW_S


@dataclass(frozen=True, slots=True)
class PlaceInfo:
    """What the call-taker must see about a place before saving."""

    premise: Premise | None = None
    prior: list[Incident] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.premise or self.prior or self.duplicates)


def look_up(
    world: World,
    location: Location,
    incident_type: str,
    now: float,
    rule: DuplicateRule = DuplicateRule(),
    *,
    exclude: str | None = None,
) -> PlaceInfo:
    """The `PlaceInfo` of ``location`` for a call of ``incident_type`` ("" not chosen yet) at
    ``now``; ``exclude``: the incident being shown (not its own duplicate or prior)."""
    return PlaceInfo(
        premise=premise_at(world, location),
        prior=prior_incidents(world, location, exclude=exclude),
        duplicates=duplicate_candidates(
            world,
            location,
            incident_type,
            now,
            radius_m=rule.radius_m,
            window_s=rule.window_s,
            exclude=exclude,
        ),
    )


def hazard_text(premise: Premise) -> str:
    """``HAZARDS at 1200 MARKET ST: dog on premises; oxygen in use — note``."""
    text = f"HAZARDS at {premise.address}: {'; '.join(premise.hazards)}"
    return f"{text} — {premise.note}" if premise.note else text


def prior_text(incident: Incident) -> str:
    """One prior incident: ``2026-11-30 14:02 FIRE-ALARM P3 F2611-000120 (closed: False
    alarm)``, in the workstation's local time."""
    created = incident.times.get("created")
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(created)) if created else "(no date)"
    state = incident.status.value
    if incident.disposition:
        state += f": {incident.disposition}"
    return f"{when} {incident.type} P{incident.priority} {incident_label(incident)} ({state})"


def duplicate_text(duplicate: Duplicate, now: float) -> str:
    """``F2612-000123 FIRE-STRUCTURE P1 at 1200 MARKET ST, 40 m away, created 6 min ago``."""
    incident = duplicate.incident
    minutes = max(0, round((now - incident.times.get("created", now)) / 60))
    where = incident.location.address or "its point"
    return (
        f"{incident_label(incident)} {incident.type} P{incident.priority} at {where}, "
        f"{duplicate.distance_m:.0f} m away, created {minutes} min ago"
    )


def call_facts(world: World, incident: Incident) -> list[str]:
    """What Incident detail says about an incident's calls, links and address: the follow-up
    flag of a forced address, each linked call (number, service, where the caller was), each
    linked incident."""
    facts = []
    if needs_follow_up(incident):
        facts.append("FOLLOW UP: the address was kept without verification")
    for call_id in incident.calls:
        call = world.calls.get(call_id)
        if call is None:
            continue
        text = f"Call: {call_label(call)}"
        if call.locations:
            text += f" · caller at {describe_caller_location(call.locations[0])}"
        facts.append(text)
    for link in incident.links:
        other = world.incidents.get(link.incident_id)
        name = incident_label(other) if other is not None else link.incident_id[:8]
        facts.append(LINK_WORDS[link.relation].format(other=name))
    return facts
