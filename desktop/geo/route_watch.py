"""The route a dispatcher asked to see: one unit's drive to one incident (or a point), kept
current as the unit moves and the incident is relocated. Qt-free.

`RouteWatch.follow` sets what is watched; `RouteWatch.update` works the route out again from
the world when the unit's start or the target moved, and says what to draw (`RouteShown`).

- The unit starts where the recommendation takes it to be (`unit_origin`): its AVL fix, else its
  home station; so the ETA drawn is the ETA Incident detail gives for that unit.
- The target is the incident's location while it has coordinates and is not closed; a point
  target stays where it was asked for.
- The travel field towards a target (one Dijkstra, ~10 ms on the city's graph) is kept while the
  target stays put; each move of the unit then costs a walk of its shortest-path tree, well under
  a millisecond, so a route follows every AVL fix.
- A unit that moved less than `REROUTE_M` keeps its route (AVL jitter does not redraw it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop.domain.types import IncidentStatus, Unit
from desktop.domain.wording import incident_label
from desktop.domain.world import World
from desktop.geo.nearby import metres_between
from desktop.geo.recommend import format_distance, format_duration
from desktop.geo.stations import Stations, home_position

if TYPE_CHECKING:
    from desktop.geo.roads import RoadGraph, Route, TravelField

__all__ = ["REROUTE_M", "RouteShown", "RouteWatch", "unit_origin"]

#: A unit's start must move this far (metres) before its route is worked out again.
REROUTE_M = 10.0


def unit_origin(unit: Unit, stations: Stations | None = None) -> tuple[float, float] | None:
    """Where a drive of ``unit`` starts, as the recommendation places it: its AVL fix, else its
    home station (`home_position`); None when it has neither."""
    if unit.position is not None:
        return unit.position.lat, unit.position.lon
    return home_position(unit, stations)


@dataclass(frozen=True, slots=True)
class RouteShown:
    """What to draw: ``points`` (lat, lon; empty: nothing) and the line that says it."""

    points: tuple[tuple[float, float], ...]
    text: str
    ok: bool


@dataclass(frozen=True, slots=True)
class _Target:
    unit_id: str
    incident_id: str | None
    point: tuple[float, float]


class RouteWatch:
    """The one watched route (module docstring). ``graph`` gives the road graph, or None while
    it is still loading."""

    def __init__(
        self, graph: Callable[[], RoadGraph | None], stations: Stations | None = None
    ) -> None:
        self._graph = graph
        self._stations = stations
        self._target: _Target | None = None
        self._field: TravelField | None = None
        self._field_at: tuple[float, float] | None = None
        self._origin: tuple[float, float] | None = None
        self.route: Route | None = None

    @property
    def unit_id(self) -> str | None:
        return self._target.unit_id if self._target is not None else None

    @property
    def incident_id(self) -> str | None:
        return self._target.incident_id if self._target is not None else None

    def follow(self, unit_id: str, incident_id: str | None, point: tuple[float, float]) -> None:
        """Watch ``unit_id``'s drive to ``incident_id`` (else to ``point``, lat lon)."""
        self._target = _Target(unit_id, incident_id, point)
        self._field = self._field_at = self._origin = None
        self.route = None

    def clear(self) -> RouteShown:
        self._target = None
        self._field = self._field_at = self._origin = None
        self.route = None
        return RouteShown((), "Route cleared", True)

    def concerns(self, ids: set[str]) -> bool:
        """Whether a change to the units and incidents ``ids`` may move the route."""
        target = self._target
        return target is not None and (target.unit_id in ids or target.incident_id in ids)

    def update(self, world: World) -> RouteShown | None:
        """Work the route out again if its unit or target moved; None when nothing changed (or
        nothing is watched)."""
        target = self._target
        if target is None:
            return None
        unit = world.units.get(target.unit_id)
        if unit is None:
            return self._lost(f"{target.unit_id} is no longer on the roster")
        origin = unit_origin(unit, self._stations)
        if origin is None:
            return self._lost(f"{unit.id} has no AVL position and no home station")
        to, where = self._destination(world, target)
        if to is None:
            return self._lost(where)
        graph = self._graph()
        if graph is None:
            return self._lost("Route: the road graph is still loading", keep=True)
        if self._field is None or self._field_at != to:
            self._field, self._field_at = graph.travel_to(*to), to
        elif (
            self.route is not None
            and self._origin is not None
            and metres_between(*self._origin, *origin) < REROUTE_M
        ):
            return None
        self._origin = origin
        self.route = self._field.route_from(*origin)
        if self.route is None:
            return RouteShown((), f"No road route from {unit.id} to {where}", False)
        text = (
            f"{unit.id} to {where}: {format_duration(self.route.seconds)} by road, "
            f"{format_distance(self.route.metres)}"
        )
        return RouteShown(self.route.points, text, True)

    def _destination(self, world: World, target: _Target) -> tuple[tuple[float, float] | None, str]:
        """Where the drive ends and how it is named; (None, why) when it has no end now."""
        if target.incident_id is None:
            return target.point, f"{target.point[0]:.5f}, {target.point[1]:.5f}"
        incident = world.incidents.get(target.incident_id)
        if incident is None or incident.status is IncidentStatus.CLOSED:
            return None, f"{target.incident_id} is closed: route cleared"
        label = incident_label(incident)
        lat, lon = incident.location.lat, incident.location.lon
        if lat is None or lon is None:
            return None, f"{label} has no coordinates: no route"
        return (lat, lon), label

    def _lost(self, text: str, *, keep: bool = False) -> RouteShown:
        """Nothing to draw, said; ``keep``: go on watching (it may come right)."""
        if not keep:
            self._target = None
        self._field = self._field_at = self._origin = None
        self.route = None
        return RouteShown((), text, False)
