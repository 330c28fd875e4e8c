"""The street data the address index is derived from, as the derivation's steps read it.

DataSF's street blocks (:class:`Block`, :class:`StreetData`: what ``server/geocode_cli.py``'s
``read_streets`` reads) and TIGER's lines of one street as a graph (:class:`StreetGraph`:
nearest vertices, shortest paths, the ends of its lines), with distances and angles between
points in degrees x 1e6 (:data:`Vertex`), in metres at San Francisco's latitude. Used by node
placement (``desktop/geo/address_nodes.py``) and the rest of the derivation
(``desktop/geo/address_derive.py``). numpy; scipy when a graph is built, not at import.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = [
    "SNAP_M",
    "Block",
    "StreetData",
    "StreetGraph",
    "Vertex",
    "along",
    "angle",
    "dist",
]

#: A node's end of a block snaps to its street's TIGER line within this distance.
SNAP_M = 40.0
_M_PER_E6 = 0.111195  # metres per 1e-6 degree of latitude
_KX = _M_PER_E6 * math.cos(math.radians(37.76))  # ... of longitude, at San Francisco

Vertex = tuple[int, int]  # (lon, lat) in degrees x 1e6


class Block(NamedTuple):
    """One DataSF street block: CNN, street, end nodes, (left from, left to, right from, right
    to) house numbers."""

    cnn: int
    street: str
    a: int
    b: int
    ranges: tuple[int, int, int, int]


@dataclass
class StreetData:
    """What :func:`read_streets` read: blocks, the streets at each node, the names, counts."""

    blocks: list[Block]
    node_streets: dict[int, set[str]]
    names: set[str]
    rows: int
    intersection_rows: int
    sha256: str


def dist(p: Vertex, q: Vertex) -> float:
    """Metres between two points."""
    return math.hypot((p[0] - q[0]) * _KX, (p[1] - q[1]) * _M_PER_E6)


def angle(at: Vertex, p: Vertex, q: Vertex) -> float:
    """Degrees between the directions from ``at`` to ``p`` and to ``q``."""
    ax, ay = (p[0] - at[0]) * _KX, (p[1] - at[1]) * _M_PER_E6
    bx, by = (q[0] - at[0]) * _KX, (q[1] - at[1]) * _M_PER_E6
    return abs(math.degrees(math.atan2(ax * by - ay * bx, ax * bx + ay * by)))


def along(path: list[Vertex], fraction: float) -> Vertex:
    """The point ``fraction`` of the way along ``path`` (by length)."""
    lengths = [dist(p, q) for p, q in itertools.pairwise(path)]
    goal = fraction * sum(lengths)
    for (p, q), metres in zip(itertools.pairwise(path), lengths, strict=True):
        if goal <= metres and metres > 0:
            t = goal / metres
            return round(p[0] + t * (q[0] - p[0])), round(p[1] + t * (q[1] - p[1]))
        goal -= metres
    return path[-1]


class StreetGraph:
    """The TIGER lines of one street's aliases: vertices and adjacency (metres)."""

    def __init__(self, lines: Iterable[tuple[Vertex, ...]]) -> None:
        adjacent: defaultdict[Vertex, dict[Vertex, float]] = defaultdict(dict)
        for coords in lines:
            for p, q in itertools.pairwise(coords):
                if p != q:
                    adjacent[p][q] = adjacent[q][p] = dist(p, q)
        self.adjacent = {v: sorted(n.items()) for v, n in sorted(adjacent.items())}
        self.vertices = frozenset(self.adjacent)
        self.points = sorted(self.vertices)
        from scipy.spatial import cKDTree  # type: ignore[import-untyped]  # not at import

        xy = np.array(self.points, np.float64).reshape(-1, 2) * (_KX, _M_PER_E6)
        self.tree = cKDTree(xy)

    def near(self, points: list[Vertex], within: float) -> list[tuple[float, Vertex]]:
        """For each point, the distance to the nearest vertex and that vertex (distance
        ``inf`` and the point itself when none is within ``within`` metres)."""
        xy = np.array(points, np.float64).reshape(-1, 2) * (_KX, _M_PER_E6)
        dists, index = self.tree.query(xy, distance_upper_bound=within)
        n = len(self.points)
        return [
            (float(d), self.points[int(i)] if i < n else p)
            for d, i, p in zip(dists, index, points, strict=True)
        ]

    def nearest(self, p: Vertex, within: float) -> Vertex | None:
        """The vertex nearest ``p`` if it is within ``within`` metres."""
        d, v = self.near([p], within)[0]
        return v if math.isfinite(d) else None

    def search(
        self, source: Vertex, target: Vertex | None = None, blocked: frozenset[Vertex] = frozenset()
    ) -> tuple[dict[Vertex, float], dict[Vertex, Vertex]]:
        """Dijkstra from ``source`` (stopping at ``target`` if given), never entering
        ``blocked`` vertices: distances and predecessors."""
        dists = {source: 0.0}
        pred: dict[Vertex, Vertex] = {}
        heap = [(0.0, source)]
        done: set[Vertex] = set()
        while heap:
            d, v = heapq.heappop(heap)
            if v in done:
                continue
            done.add(v)
            if v == target:
                break
            for w, metres in self.adjacent.get(v, ()):
                if w in blocked or w in done:
                    continue
                if d + metres < dists.get(w, math.inf):
                    dists[w] = d + metres
                    pred[w] = v
                    heapq.heappush(heap, (d + metres, w))
        return {v: dists[v] for v in done}, pred

    def path(self, a: Vertex, b: Vertex) -> list[Vertex] | None:
        """The shortest path ``a`` .. ``b`` over the street's lines, or None."""
        dists, pred = self.search(a, b)
        if b not in dists:
            return None
        out = [b]
        while out[-1] != a:
            out.append(pred[out[-1]])
        return out[::-1]

    def terminals(self) -> set[Vertex]:
        """Vertices at the end of the street's lines (one neighbour)."""
        return {v for v, n in self.adjacent.items() if len(n) == 1}
