"""What is already known about a place: active incidents a new call may duplicate, prior
incidents at the address, and the premise's hazard flags. Pure functions over a `World`; the
call-taking panel and the command line call them as soon as a location is verified.

Distances are equirectangular metres (`desktop.geo.projection`); addresses are compared by their
premise key (`desktop.domain.premises.premise_key`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from desktop.domain.premises import premise_key
from desktop.domain.types import Incident, IncidentStatus, Location, Premise
from desktop.domain.world import World
from desktop.geo.projection import EARTH_RADIUS_M

__all__ = [
    "DUPLICATE_RADIUS_M",
    "DUPLICATE_WINDOW_S",
    "PREMISE_RADIUS_M",
    "PRIOR_LIMIT",
    "Duplicate",
    "compatible_types",
    "duplicate_candidates",
    "metres_between",
    "premise_at",
    "prior_incidents",
    "type_family",
]

#: A new call within this distance of an active incident of a compatible type may be the same
#: emergency (the centre may configure both).
DUPLICATE_RADIUS_M = 150.0
#: ... if that incident was created within this many seconds.
DUPLICATE_WINDOW_S = 30 * 60.0
#: Prior incidents and premise flags within this distance of a point belong to its address.
PREMISE_RADIUS_M = 30.0
#: How many prior incidents are shown.
PRIOR_LIMIT = 5


def metres_between(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Equirectangular distance in metres (plain floats: cheap enough to call per incident)."""
    mean = math.radians((lat1 + lat2) / 2.0)
    dx = math.radians(lon2 - lon1) * math.cos(mean)
    dy = math.radians(lat2 - lat1)
    return EARTH_RADIUS_M * math.hypot(dx, dy)


def type_family(incident_type: str) -> str:
    """The family of an incident type: the part before the first ``-`` (``FIRE-STRUCTURE`` ->
    ``FIRE``), upper case."""
    return incident_type.split("-", 1)[0].strip().upper()


def compatible_types(new_type: str, other_type: str) -> bool:
    """Whether a call of ``new_type`` may report the incident of ``other_type``: the same
    family, or a type not chosen yet (``""``)."""
    return not new_type.strip() or type_family(new_type) == type_family(other_type)


@dataclass(frozen=True, slots=True)
class Duplicate:
    """An active incident a new call may be about, ``distance_m`` away."""

    incident: Incident
    distance_m: float


def _point(location: Location) -> tuple[float, float] | None:
    if location.lat is None or location.lon is None:
        return None
    return location.lat, location.lon


def duplicate_candidates(
    world: World,
    location: Location,
    incident_type: str,
    now: float,
    *,
    radius_m: float = DUPLICATE_RADIUS_M,
    window_s: float = DUPLICATE_WINDOW_S,
    exclude: str | None = None,
) -> list[Duplicate]:
    """Open incidents of a compatible type created within ``window_s`` before ``now`` and
    within ``radius_m`` of ``location`` (or at the same address when it has no point), the
    nearest first. ``exclude``: an incident id to leave out (the one being edited)."""
    point = _point(location)
    key = premise_key(location.address) if location.address else ""
    found: list[Duplicate] = []
    for incident in world.incidents.values():
        if incident.status is IncidentStatus.CLOSED or incident.id == exclude:
            continue
        if now - incident.times.get("created", now) > window_s:
            continue
        if not compatible_types(incident_type, incident.type):
            continue
        other = _point(incident.location)
        if point is not None and other is not None:
            distance = metres_between(*point, *other)
        elif key and premise_key(incident.location.address) == key:
            distance = 0.0
        else:
            continue
        if distance <= radius_m:
            found.append(Duplicate(incident, distance))
    found.sort(key=lambda d: (d.distance_m, -d.incident.times.get("created", 0.0)))
    return found


def _at(location: Location, lat: float | None, lon: float | None, address: str) -> bool:
    """Whether (``lat``, ``lon``, ``address``) is the place ``location`` names."""
    point = _point(location)
    if point is not None and lat is not None and lon is not None:
        return metres_between(*point, lat, lon) <= PREMISE_RADIUS_M or _same_address(
            location, address
        )
    return _same_address(location, address)


def _same_address(location: Location, address: str) -> bool:
    return bool(location.address) and premise_key(location.address) == premise_key(address)


def prior_incidents(
    world: World, location: Location, *, limit: int = PRIOR_LIMIT, exclude: str | None = None
) -> list[Incident]:
    """The last ``limit`` incidents at the place ``location`` names (same address, or within
    `PREMISE_RADIUS_M`), newest first, open or closed; ``exclude``: the incident itself."""
    here = [
        incident
        for incident in world.incidents.values()
        if incident.id != exclude
        and _at(location, incident.location.lat, incident.location.lon, incident.location.address)
    ]
    here.sort(key=lambda i: i.times.get("created", 0.0), reverse=True)
    return here[:limit]


def premise_at(world: World, location: Location) -> Premise | None:
    """The premise flagged at ``location``: by its key first, else the nearest within
    `PREMISE_RADIUS_M` of its point."""
    if location.address and (found := world.premises.get(premise_key(location.address))):
        return found
    point = _point(location)
    if point is None:
        return None
    best: tuple[float, Premise] | None = None
    for premise in world.premises.values():
        if premise.lat is None or premise.lon is None:
            continue
        distance = metres_between(*point, premise.lat, premise.lon)
        if distance <= PREMISE_RADIUS_M and (best is None or distance < best[0]):
            best = (distance, premise)
    return None if best is None else best[1]
