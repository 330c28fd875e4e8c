"""Road routes: the drive behind an ETA, as a polyline with the time and distance along it.

`route_along` follows the shortest-path tree of a :class:`desktop.geo.roads.TravelField` (one
Dijkstra towards the target, with its predecessors) from a start point, with the same snapping
and the same choices as :meth:`TravelField.from_points`, so a route's ``seconds`` and
``metres`` are the ETA and distance the recommendation gives for that start:

- the start point, then its foot on its nearest road segment (the off-network gap: the first
  15 m free, the rest at 2.5 m/s, `desktop.geo.roads.offroad_seconds`);
- along that segment to the end the fastest drive leaves it by (or straight along it to the
  target's foot when both are on the same segment and that is faster);
- node by node along the roads to the target's segment and the target's foot on it;
- the target point itself (its off-network gap).

Consecutive repeated points are dropped. :meth:`Route.where` gives the position, speed and
heading a vehicle driving it at the road class speeds has after some seconds (the AVL
simulator drives it; the map may draw it).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from desktop.geo.roads import TravelField

__all__ = ["Route", "RoutePoint", "route_along"]


@dataclass(frozen=True, slots=True)
class RoutePoint:
    """Where a vehicle on a route is: degrees, m/s and degrees clockwise from north."""

    lat: float
    lon: float
    speed_mps: float
    heading_deg: float


@dataclass(frozen=True)
class Route:
    """A drive: ``points`` (lat, lon) from the start to the target, ``elapsed_s[i]`` and
    ``along_m[i]`` the seconds and metres from the start to point ``i``; ``seconds`` and
    ``metres`` the whole drive (the ETA and distance of the recommendation)."""

    points: tuple[tuple[float, float], ...]
    elapsed_s: tuple[float, ...]
    along_m: tuple[float, ...]
    seconds: float
    metres: float

    @property
    def start(self) -> tuple[float, float]:
        return self.points[0]

    @property
    def end(self) -> tuple[float, float]:
        return self.points[-1]

    def where(self, seconds: float) -> RoutePoint:
        """The position ``seconds`` into the drive (clamped to the start and the end), with
        the speed and heading of the piece of road it is on (0 and the last heading at the
        end)."""
        elapsed = self.elapsed_s
        if len(self.points) == 1:
            lat, lon = self.points[0]
            return RoutePoint(lat, lon, 0.0, 0.0)
        t = min(max(seconds, 0.0), elapsed[-1])
        i = min(max(bisect.bisect_right(elapsed, t) - 1, 0), len(elapsed) - 2)
        (lat0, lon0), (lat1, lon1) = self.points[i], self.points[i + 1]
        span = elapsed[i + 1] - elapsed[i]
        frac = 1.0 if span <= 0 else (t - elapsed[i]) / span
        lat, lon = lat0 + frac * (lat1 - lat0), lon0 + frac * (lon1 - lon0)
        moving = t < elapsed[-1] and span > 0
        speed = (self.along_m[i + 1] - self.along_m[i]) / span if moving else 0.0
        return RoutePoint(lat, lon, speed, _heading(lat0, lon0, lat1, lon1))


def _heading(lat0: float, lon0: float, lat1: float, lon1: float) -> float:
    """Degrees clockwise from north from one point to the next (0 for the same point)."""
    north = lat1 - lat0
    east = (lon1 - lon0) * math.cos(math.radians((lat0 + lat1) / 2))
    if north == 0 and east == 0:
        return 0.0
    return math.degrees(math.atan2(east, north)) % 360.0


def route_along(field: TravelField, lat: float, lon: float) -> Route | None:
    """The fastest drive from (``lat``, ``lon``) to ``field``'s target, or None when there is
    none (module docstring). ``field`` must have been made with its predecessors
    (:meth:`desktop.geo.roads.RoadGraph.travel_to` does)."""
    graph = field.graph
    seg = graph.segments
    pred = field.next_node
    if pred is None:
        raise ValueError("the travel field was made without its predecessors")
    eta, dist, _ = field.from_points(np.asarray([lat]), np.asarray([lon]))
    if not math.isfinite(float(eta[0])):
        return None
    from desktop.geo.roads import _leg, offroad_seconds

    start = graph.locate(lat, lon)
    k, t = int(start.segment[0]), float(start.t[0])
    a, b = int(seg.a[k]), int(seg.b[k])
    secs_ab, secs_ba = float(seg.time[k, 0]), float(seg.time[k, 1])
    seg_m = float(seg.metres[k])
    target = field.target
    tk, tt = int(target.segment[0]), float(target.t[0])
    ta, tb = int(seg.a[tk]), int(seg.b[tk])

    points: list[tuple[float, float]] = []
    elapsed: list[float] = []
    along: list[float] = []

    def add(point: tuple[float, float], secs: float, metres: float) -> None:
        if points and point == points[-1]:
            return
        points.append(point)
        elapsed.append(elapsed[-1] + secs if elapsed else secs)
        along.append(along[-1] + metres if along else metres)

    def node(v: int) -> tuple[float, float]:
        return float(graph.lat[v]), float(graph.lon[v])

    def foot(u: int, v: int, frac: float) -> tuple[float, float]:
        (lat_u, lon_u), (lat_v, lon_v) = node(u), node(v)
        return lat_u + frac * (lat_v - lat_u), lon_u + frac * (lon_v - lon_u)

    start_offset = float(start.offset_m[0])
    add((lat, lon), 0.0, 0.0)
    add(foot(a, b, t), float(offroad_seconds(np.asarray(start_offset))), start_offset)
    via_b = float(_leg(1.0 - t, secs_ab)) + float(field.seconds[b])
    via_a = float(_leg(t, secs_ba)) + float(field.seconds[a])
    on_road = min(via_a, via_b)
    direct = math.inf
    if k == tk:
        direct = float(_leg(abs(tt - t), secs_ab if t <= tt else secs_ba))
    if direct < on_road:
        add(foot(ta, tb, tt), direct, abs(tt - t) * seg_m)
    else:
        u = b if via_b <= via_a else a
        frac = 1.0 - t if u == b else t
        add(node(u), float(_leg(frac, secs_ab if u == b else secs_ba)), frac * seg_m)
        n = graph.n_nodes
        while int(pred[u]) != n:
            w = int(pred[u])
            add(node(w), float(graph.edge_seconds(u, w)), float(graph.edge_metres(u, w)))
            u = w
        if u == ta:
            last, last_m = float(_leg(tt, seg.time[tk, 0])), tt * float(seg.metres[tk])
        else:
            last = float(_leg(1.0 - tt, seg.time[tk, 1]))
            last_m = (1.0 - tt) * float(seg.metres[tk])
        add(foot(ta, tb, tt), last, last_m)
    target_offset = float(target.offset_m[0])
    target_point = (field.target_lat, field.target_lon)
    add(target_point, float(offroad_seconds(np.asarray(target_offset))), target_offset)
    return Route(tuple(points), tuple(elapsed), tuple(along), float(eta[0]), float(dist[0]))
