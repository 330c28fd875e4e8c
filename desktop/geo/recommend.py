"""Unit recommendation: rank available units by road ETA and fill a response plan.

:func:`recommend` runs one Dijkstra from the incident over the reversed road graph
(:meth:`RoadGraph.travel_to`), then reads every candidate's ETA by array indexing, so its cost
barely grows with the number of units. Each plan line (unit type and count) is filled with the
candidates of that type in ETA order; a unit fills at most one slot. A line may accept any of
several types (``"MEDIC|AMBULANCE": 1``): it is filled by the nearest candidates of any of them.

Where a unit is taken to be:

- its AVL fix (``Unit.position``), flagged *stale* when older than ``stale_after`` seconds (it is
  still used: a recent-ish fix usually beats a home station);
- without a fix, its home: its station's position (`desktop.geo.stations.home_position`, the
  shipped ``resources/geo/stations.json``), flagged "no AVL: home station";
- with neither, the unit is listed in :attr:`Recommendation.unlocated` and not ranked.

ETAs include the off-network allowance at both ends (:func:`desktop.geo.roads.offroad_seconds`):
beyond 15 m from the road centre line, the gap costs 2.5 m/s.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from desktop.domain.types import AVAILABLE_STATUSES, Unit
from desktop.domain.wording import ordinal
from desktop.geo.plan import ResponsePlan
from desktop.geo.stations import Stations, home_position

if TYPE_CHECKING:  # the graph is handed in: this module loads without scipy
    from desktop.geo.roads import RoadGraph

__all__ = [
    "Pick",
    "Recommendation",
    "Shortfall",
    "format_distance",
    "format_duration",
    "recommend",
]


@dataclass(frozen=True)
class Pick:
    """One recommended unit. ``eta_s``/``distance_m`` by road from its position to the incident;
    ``reason`` is for the dispatcher; ``stale`` is true for an AVL fix older than the limit;
    ``position_age_s`` is the age of the fix (``None`` when a fallback position was used)."""

    unit_id: str
    type: str
    eta_s: float
    distance_m: float
    reason: str
    stale: bool
    position_age_s: float | None


@dataclass(frozen=True)
class Shortfall:
    """A plan line not covered within the horizon: ``needed`` units of ``type``, ``available``
    candidates that can reach the incident at all, ``within_horizon`` of them in time."""

    type: str
    needed: int
    available: int
    within_horizon: int
    horizon_s: float

    @property
    def text(self) -> str:
        """E.g. ``needs 2 ENGINE, 1 available within 10 min`` (``MEDIC or AMBULANCE`` for an
        any-of line)."""
        text = (
            f"needs {self.needed} {_label(self.type)}, {self.within_horizon} available within "
            f"{format_duration(self.horizon_s)}"
        )
        if self.available > self.within_horizon:
            text += f", {self.available} in all"
        return text

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Recommendation:
    """The picks (plan order, then ETA), the shortfalls, and the candidates without a position."""

    picks: tuple[Pick, ...]
    shortfalls: tuple[Shortfall, ...]
    unlocated: tuple[str, ...] = ()
    incident_offroad_m: float = 0.0

    def unit_ids(self) -> list[str]:
        """Ids of the picked units, in pick order."""
        return [p.unit_id for p in self.picks]


def format_duration(seconds: float) -> str:
    """``45 s``, ``3 min``, ``3 min 10 s`` (rounded to the second)."""
    total = round(seconds)
    minutes, secs = divmod(total, 60)
    if not minutes:
        return f"{secs} s"
    return f"{minutes} min" if not secs else f"{minutes} min {secs} s"


def format_distance(metres: float) -> str:
    """``850 m`` (to 10 m) under a kilometre, ``1.4 km`` above."""
    if metres < 995:
        return f"{round(metres, -1):.0f} m"
    return f"{metres / 1000:.1f} km"


def _label(line: str) -> str:
    return " or ".join(ResponsePlan.alternatives(line))


def _age(seconds: float) -> str:
    return f"{round(seconds)} s" if seconds < 120 else f"{int(seconds // 60)} min"


def _ordinal(n: int) -> str:
    return "closest" if n == 1 else f"{ordinal(n)} closest"


def recommend(
    graph: RoadGraph,
    incident_lat: float,
    incident_lon: float,
    units: Iterable[Unit],
    plan: ResponsePlan,
    now: float,
    *,
    stale_after: float = 120.0,
    horizon: float = 600.0,
    positions_fallback: Mapping[str, tuple[float, float]] | None = None,
    stations: Stations | None = None,
) -> Recommendation:
    """Recommend units for an incident at (``incident_lat``, ``incident_lon``).

    Candidates: units whose status is in ``AVAILABLE_STATUSES`` and whose type is in ``plan``
    (``plan.unit_types``); lines are filled in plan order and a unit fills at most one line.
    ``Pick.type`` is the unit's own type (a ``MEDIC`` picked for a ``MEDIC|AMBULANCE`` line).
    ``now`` is the current time (seconds since the epoch, as ``Position.at``); fixes older than
    ``stale_after`` seconds are flagged. ``horizon`` (seconds) is the ETA within which a plan
    line counts as covered; units beyond it are still picked when nothing nearer exists (their
    reason says so), and the line is reported in :attr:`Recommendation.shortfalls`.
    A unit with no fix is placed at its home station (`home_position` in ``stations``, default
    the shipped positions); ``positions_fallback`` (unit id -> (lat, lon)) replaces that rule
    when given (``{}``: no fallback at all). Ties in ETA go to the smaller unit id.
    """
    wanted = plan.unit_types
    if stations is None and positions_fallback is None:
        stations = Stations.load_default()
    ids: list[str] = []
    kinds: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    ages: list[float] = []  # NaN: fallback position
    unlocated: list[str] = []
    for unit in sorted(units, key=lambda u: u.id):
        kind = unit.type.upper()
        if unit.status not in AVAILABLE_STATUSES or kind not in wanted:
            continue
        if unit.position is not None:
            lat, lon, age = unit.position.lat, unit.position.lon, max(0.0, now - unit.position.at)
        else:
            home = (
                home_position(unit, stations)
                if positions_fallback is None
                else positions_fallback.get(unit.id)
            )
            if home is None:
                unlocated.append(unit.id)
                continue
            (lat, lon), age = home, math.nan
        ids.append(unit.id)
        kinds.append(kind)
        lats.append(lat)
        lons.append(lon)
        ages.append(age)

    field = graph.travel_to(incident_lat, incident_lon)
    if ids:
        eta, dist, _ = field.from_points(np.asarray(lats), np.asarray(lons))
    else:
        eta = dist = np.zeros(0)
    kind_arr = np.asarray(kinds, dtype=object)
    free = np.isfinite(eta)  # reachable and not yet picked
    picks: list[Pick] = []
    shortfalls: list[Shortfall] = []
    for kind, needed in plan.needs:
        match = np.zeros(len(ids), dtype=bool)
        for option in ResponsePlan.alternatives(kind):
            match |= kind_arr == option
        rows = np.nonzero(match & free)[0]
        rows = rows[np.argsort(eta[rows], kind="stable")]  # ids are sorted: ties by id
        within = int(np.count_nonzero(eta[rows] <= horizon))
        free[rows[:needed]] = False
        for rank, row in enumerate(rows[:needed], start=1):
            e, d, age = float(eta[row]), float(dist[row]), ages[row]
            notes = [
                f"{_ordinal(rank)} {_label(kind)} by road: {format_duration(e)}, "
                f"{format_distance(d)}"
            ]
            stale = not math.isnan(age) and age > stale_after
            if math.isnan(age):
                notes.append("no AVL: home station")
            elif stale:
                notes.append(f"stale AVL ({_age(age)} old)")
            if e > horizon:
                notes.append(f"beyond {format_duration(horizon)}")
            picks.append(
                Pick(
                    ids[row],
                    kinds[row],
                    e,
                    d,
                    "; ".join(notes),
                    stale,
                    None if math.isnan(age) else age,
                )
            )
        if within < needed:
            shortfalls.append(Shortfall(kind, needed, int(rows.shape[0]), within, horizon))
    return Recommendation(
        tuple(picks), tuple(shortfalls), tuple(unlocated), float(field.target.offset_m[0])
    )
