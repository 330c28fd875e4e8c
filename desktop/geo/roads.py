"""The road graph: load it, snap points to it, and compute travel times over it.

The graph is directed: row ``u`` of the CSR arrays lists the edges ``u -> v`` with their travel
time in seconds and length in metres. ``server/gis_import.py`` derives it from TIGER roads and
writes it with :func:`write_graph`; today every road is two-way, but nothing here assumes it.

Travel times *to* one place are one Dijkstra over the reversed graph (:meth:`RoadGraph.travel_to`,
:meth:`RoadGraph.travel_from`): a single search gives every node's fastest drive to the target,
so ranking many units costs one search plus array indexing. The same search, with its
predecessors, gives the route behind each ETA (:meth:`RoadGraph.route`,
:meth:`TravelField.route_from`, `desktop.geo.routes`).

Points are snapped to the nearest road *segment* (not only the nearest vertex): a point mid-block
starts or ends its drive part-way along that segment. The distance from a point to the road
centre line is covered off the network: the first :data:`OFFROAD_FREE_M` metres are free (street
half-width, AVL/geocoding noise), the rest costs :data:`OFFROAD_SPEED_MPS` (walking with gear or
creeping through a yard or lot).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import dijkstra  # type: ignore[import-untyped]
from scipy.spatial import cKDTree  # type: ignore[import-untyped]

from desktop.geo.npz_files import write_npz
from desktop.geo.projection import LocalProjection
from desktop.geo.routes import Route, route_along
from desktop.resources import resource_path

__all__ = [
    "FORMAT_VERSION",
    "OFFROAD_FREE_M",
    "OFFROAD_SPEED_MPS",
    "RoadGraph",
    "RoadPoints",
    "Route",
    "TravelField",
    "offroad_seconds",
    "write_graph",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

FORMAT_VERSION = 1
#: Metres between a point and the road centre line that cost nothing (street half-width, noise).
OFFROAD_FREE_M = 15.0
#: Speed over the rest of the off-network gap: 2.5 m/s = 9 km/h.
OFFROAD_SPEED_MPS = 2.5
_SAMPLE_M = 25.0  # spacing of the points that index segments for snapping
_CANDIDATES = 6  # nearest sample points examined per snapped point


def offroad_seconds(metres: F64) -> F64:
    """Time allowance for an off-network gap of ``metres`` (see the module docstring)."""
    gap = np.maximum(np.asarray(metres, dtype=np.float64) - OFFROAD_FREE_M, 0.0)
    return np.asarray(gap / OFFROAD_SPEED_MPS, dtype=np.float64)


@dataclass(frozen=True)
class RoadPoints:
    """Points snapped to road segments: segment ``a[i] -> b[i]`` (node ids), ``t[i]`` the
    fraction of the way from ``a`` to ``b`` of the foot point, ``offset_m[i]`` the distance from
    the point to the foot point (to the road centre line), ``segment[i]`` the segment index."""

    segment: I64
    a: I64
    b: I64
    t: F64
    offset_m: F64

    @property
    def node(self) -> I64:
        """The segment end nearer to each foot point."""
        return np.where(self.t <= 0.5, self.a, self.b)


def _leg(frac: Any, secs: Any) -> F64:
    """Time to drive ``frac`` of a segment that takes ``secs``: zero for no distance even on a
    segment that cannot be driven that way (``secs`` inf)."""
    frac, secs = np.broadcast_arrays(np.asarray(frac, np.float64), np.asarray(secs, np.float64))
    out: F64 = np.zeros(frac.shape)
    np.multiply(frac, secs, out=out, where=frac > 0.0)
    return out


@dataclass(frozen=True)
class _Segments:
    """Undirected road segments (one per connected node pair ``a < b``) for snapping."""

    a: I64
    b: I64
    time: F64  # (m, 2): seconds a -> b and b -> a, inf where that direction has no edge
    metres: F64
    x: F64  # projected node coordinates
    y: F64
    sample_segment: I64  # segment of each KD-tree point
    tree: Any  # cKDTree over points spaced ~25 m along the segments


@dataclass(frozen=True)
class TravelField:
    """The fastest drive from every node to one target point (:meth:`RoadGraph.travel_to`).

    ``seconds[v]``/``metres[v]``: time and length of the fastest drive from node ``v`` to the
    target's foot point (``inf`` where unreachable). ``target`` is the snapped target, at
    (``target_lat``, ``target_lon``). ``next_node[v]``: the node after ``v`` on that drive
    (``graph.n_nodes``: the target's foot; negative where there is none).
    """

    graph: RoadGraph
    target: RoadPoints
    seconds: F64
    metres: F64
    next_node: I64 | None = None
    target_lat: float = math.nan
    target_lon: float = math.nan

    def route_from(self, lat: float, lon: float) -> Route | None:
        """The fastest drive from (``lat``, ``lon``) to the target, whose ``seconds`` and
        ``metres`` are what :meth:`from_points` gives for that point; None when none exists."""
        return route_along(self, lat, lon)

    def from_points(self, lat: Any, lon: Any) -> tuple[F64, F64, F64]:
        """ETA in seconds, distance in metres and off-network metres from each point to the
        target. Off-network gaps at both ends are included (:func:`offroad_seconds`); the
        distance counts them as straight lines. ``inf`` where no drive exists."""
        seg = self.graph.segments
        p = self.graph.locate(lat, lon)
        s, m = seg.time[p.segment], seg.metres[p.segment]
        # Leave the segment through b (drive on a -> b) or through a (drive back b -> a).
        via_b = _leg(1.0 - p.t, s[:, 0]) + self.seconds[p.b]
        via_a = _leg(p.t, s[:, 1]) + self.seconds[p.a]
        use_b = via_b <= via_a
        secs = np.where(use_b, via_b, via_a)
        dist = np.where(use_b, (1.0 - p.t) * m + self.metres[p.b], p.t * m + self.metres[p.a])
        # On the target's own segment the drive may stay on it.
        same = np.nonzero(p.segment == self.target.segment[0])[0]
        if same.size:
            tt = float(self.target.t[0])
            ahead = p.t[same] <= tt
            gap = np.abs(tt - p.t[same])
            direct = _leg(gap, np.where(ahead, s[same, 0], s[same, 1]))
            shorter = direct < secs[same]
            secs[same[shorter]] = direct[shorter]
            dist[same[shorter]] = (gap * m[same])[shorter]
        secs = secs + offroad_seconds(p.offset_m) + offroad_seconds(self.target.offset_m)
        return secs, dist + p.offset_m + self.target.offset_m[0], p.offset_m


class RoadGraph:
    """A directed road graph with node positions. Immutable after construction and safe to share
    between threads (the snapping index is built on first use; a race only builds it twice)."""

    def __init__(
        self,
        lat: Any,
        lon: Any,
        indptr: Any,
        indices: Any,
        seconds: Any,
        metres: Any,
        meta: dict[str, Any] | None = None,
    ) -> None:
        """Arrays as :func:`write_graph` stores them (forward CSR: row ``u`` holds edges
        ``u -> v``). Raises ``ValueError`` on inconsistent shapes, a node id out of range, a
        repeated ``u -> v`` edge or a negative or NaN weight."""
        self.lat = np.ascontiguousarray(lat, dtype=np.float64)
        self.lon = np.ascontiguousarray(lon, dtype=np.float64)
        n = self.lat.shape[0]
        ptr = np.asarray(indptr, dtype=np.int64)
        cols = np.asarray(indices, dtype=np.int64)
        secs = np.asarray(seconds, dtype=np.float64)
        lens = np.asarray(metres, dtype=np.float64)
        e = cols.shape[0]
        if (
            self.lon.shape != (n,)
            or ptr.shape != (n + 1,)
            or secs.shape != (e,)
            or lens.shape != (e,)
            or int(ptr[0]) != 0
            or int(ptr[-1]) != e
            or bool(np.any(np.diff(ptr) < 0))
        ):
            raise ValueError("road graph arrays are inconsistent")
        if e and (int(cols.min()) < 0 or int(cols.max()) >= n):
            raise ValueError("road graph edge points outside the node array")
        if not (bool(np.all(secs >= 0)) and bool(np.all(lens >= 0))):
            raise ValueError("road graph weights must be >= 0")
        rows = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
        keys = rows * n + cols
        order = np.argsort(keys, kind="stable")
        keys, cols, secs, lens = keys[order], cols[order], secs[order], lens[order]
        if e > 1 and bool(np.any(keys[1:] == keys[:-1])):
            raise ValueError("road graph has a repeated edge")
        self.meta: dict[str, Any] = dict(meta or {})
        self.n_nodes = n
        self.n_edges = e
        self._edge_keys = keys
        self._indptr = ptr.astype(np.int32)
        self._indices = cols.astype(np.int32)
        self._seconds = secs
        self._metres = lens
        forward = csr_matrix((secs, self._indices, self._indptr), shape=(n, n))
        reverse = forward.T.tocsr()
        reverse.sort_indices()
        self._reverse = reverse
        self._rev_indptr = np.ascontiguousarray(reverse.indptr, dtype=np.int32)
        self._rev_indices = np.ascontiguousarray(reverse.indices, dtype=np.int32)
        self._rev_seconds = np.ascontiguousarray(reverse.data, dtype=np.float64)
        lat_mid = 0.5 * (float(self.lat.min()) + float(self.lat.max())) if n else 0.0
        lon_mid = 0.5 * (float(self.lon.min()) + float(self.lon.max())) if n else 0.0
        self.projection = LocalProjection(lat_mid, lon_mid)
        self._segments: _Segments | None = None

    # --- loading and saving -------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> RoadGraph:
        """Read a graph written by :func:`write_graph`; the default is the shipped San Francisco
        graph ``resources/geo/sf_roads.npz``. Raises ``OSError`` if unreadable and
        ``ValueError`` on a malformed file or another format version."""
        source = Path(path) if path is not None else resource_path("geo", "sf_roads.npz")
        with np.load(source, allow_pickle=False) as data:
            version = int(data["version"])
            if version != FORMAT_VERSION:
                raise ValueError(f"{source}: road graph format {version}, expected 1")
            lat, lon, indptr = data["lat"], data["lon"], data["indptr"]
            indices, seconds, metres = data["indices"], data["seconds"], data["metres"]
            meta = json.loads(str(data["meta"]))
        return cls(lat, lon, indptr, indices, seconds, metres, meta)

    def save(self, path: str | Path) -> None:
        """Write this graph with :func:`write_graph` (byte-identical for an identical graph)."""
        edges = (self._indptr, self._indices, self._seconds, self._metres)
        write_graph(path, self.lat, self.lon, *edges, meta=self.meta)

    # --- edges and segments -------------------------------------------------------------------

    def edge_index(self, u: Any, v: Any) -> I64:
        """Position of each edge ``u -> v`` in the sorted edge arrays, -1 where there is none."""
        keys = np.asarray(u, np.int64) * self.n_nodes + np.asarray(v, np.int64)
        if not self.n_edges:
            return np.full(keys.shape, -1, np.int64)
        pos = np.minimum(np.searchsorted(self._edge_keys, keys), self.n_edges - 1)
        return np.where(self._edge_keys[pos] == keys, pos, -1).astype(np.int64)

    def edge_seconds(self, u: Any, v: Any) -> F64:
        """Travel time of each edge ``u -> v`` (``inf`` where there is none)."""
        idx = self.edge_index(u, v)
        return np.where(idx >= 0, self._seconds[idx], np.inf)

    def edge_metres(self, u: Any, v: Any) -> F64:
        """Length of each edge ``u -> v`` (``inf`` where there is none)."""
        idx = self.edge_index(u, v)
        return np.where(idx >= 0, self._metres[idx], np.inf)

    @property
    def segments(self) -> _Segments:
        """The snapping index, built on first use (:meth:`warm` builds it now)."""
        if self._segments is None:
            self._segments = self._build_segments()
        return self._segments

    def warm(self) -> None:
        """Build the snapping index now rather than on the first snap."""
        _ = self.segments

    def _build_segments(self) -> _Segments:
        rows = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self._indptr))
        cols = self._indices.astype(np.int64)
        lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
        pairs = np.unique(lo * self.n_nodes + hi)
        a, b = pairs // self.n_nodes, pairs % self.n_nodes
        time = np.stack([self.edge_seconds(a, b), self.edge_seconds(b, a)], 1)
        ab_m = self.edge_metres(a, b)
        metres = np.where(np.isfinite(ab_m), ab_m, self.edge_metres(b, a))
        x, y = self.projection.to_xy(self.lat, self.lon)
        dx, dy = x[b] - x[a], y[b] - y[a]
        pieces = np.maximum(np.ceil(np.hypot(dx, dy) / _SAMPLE_M), 1).astype(np.int64)
        owner = np.repeat(np.arange(a.shape[0], dtype=np.int64), pieces)
        first = np.repeat(np.cumsum(pieces) - pieces, pieces)
        frac = (np.arange(owner.shape[0]) - first + 0.5) / pieces[owner]
        points = np.stack([x[a][owner] + frac * dx[owner], y[a][owner] + frac * dy[owner]], 1)
        return _Segments(a, b, time, metres, x, y, owner, cKDTree(points))

    # --- snapping ------------------------------------------------------------------------------

    def locate(self, lat: Any, lon: Any) -> RoadPoints:
        """Snap each point to its nearest road segment (vectorised; scalars become length 1)."""
        seg = self.segments
        px, py = self.projection.to_xy(np.atleast_1d(lat), np.atleast_1d(lon))
        k = min(_CANDIDATES, seg.sample_segment.shape[0])
        _, near = seg.tree.query(np.stack([px, py], 1), k=k)
        cand = seg.sample_segment[np.asarray(near, np.int64).reshape(px.shape[0], k)]
        a, b = seg.a[cand], seg.b[cand]
        ax, ay = seg.x[a], seg.y[a]
        dx, dy = seg.x[b] - ax, seg.y[b] - ay
        qx, qy = px[:, None] - ax, py[:, None] - ay
        t = np.clip((qx * dx + qy * dy) / np.maximum(dx * dx + dy * dy, 1e-12), 0.0, 1.0)
        dist = np.hypot(qx - t * dx, qy - t * dy)
        row = np.arange(px.shape[0])
        best = np.argmin(dist, axis=1)
        chosen = cand[row, best]
        return RoadPoints(chosen, seg.a[chosen], seg.b[chosen], t[row, best], dist[row, best])

    def snap(self, lat: float, lon: float) -> tuple[int, float]:
        """The road node nearest along the nearest road to (``lat``, ``lon``), and the distance
        in metres from the point to that road's centre line."""
        p = self.locate(lat, lon)
        return int(p.node[0]), float(p.offset_m[0])

    # --- travel times -------------------------------------------------------------------------

    def travel_from(self, node: int) -> tuple[F64, F64]:
        """One Dijkstra from ``node`` over the reversed graph: ``seconds[v]`` and ``metres[v]``
        are the time and length of the fastest drive from ``v`` *to* ``node`` (``inf`` where
        there is none)."""
        if not 0 <= node < self.n_nodes:
            raise ValueError(f"no node {node}")
        secs, pred = dijkstra(self._reverse, indices=node, return_predecessors=True)
        return secs, self._path_metres(pred, secs, node, {})

    def travel_to(self, lat: float, lon: float) -> TravelField:
        """Fastest drives from every node to the point (``lat``, ``lon``) snapped to its road
        segment: one Dijkstra over the reversed graph from a virtual node at the foot point."""
        target = self.locate(lat, lon)
        seg = self.segments
        k, t = int(target.segment[0]), float(target.t[0])
        n = self.n_nodes
        # The foot point is reached from a (driving t of a -> b) or from b (1 - t of b -> a).
        virtual: dict[int, tuple[float, float]] = {}
        for node, frac, secs in (
            (int(seg.a[k]), t, seg.time[k, 0]),
            (int(seg.b[k]), 1.0 - t, seg.time[k, 1]),
        ):
            leg = float(_leg(frac, secs))
            if math.isfinite(leg):
                virtual[node] = (leg, frac * float(seg.metres[k]))
        heads = np.fromiter(virtual, np.int32, len(virtual))
        weights = np.fromiter((w for w, _ in virtual.values()), np.float64, len(virtual))
        indptr = np.append(self._rev_indptr, np.int32(self._rev_indices.shape[0] + len(heads)))
        indices = np.concatenate([self._rev_indices, heads])
        data = np.concatenate([self._rev_seconds, weights])
        graph = csr_matrix((data, indices, indptr), shape=(n + 1, n + 1))
        secs, pred = dijkstra(graph, indices=n, return_predecessors=True)
        metres = self._path_metres(pred, secs, n, {h: m for h, (_, m) in virtual.items()})
        nodes = np.asarray(pred, np.int64)
        return TravelField(self, target, secs[:n], metres[:n], nodes, float(lat), float(lon))

    def route(self, from_lat: float, from_lon: float, to_lat: float, to_lon: float) -> Route | None:
        """The fastest drive between two points, snapped as the ETAs are (:meth:`travel_to`):
        the polyline along the roads with both off-road ends, its ``seconds`` (equal to the
        ETA the recommendation gives from ``from``) and ``metres``; None when none exists."""
        return self.travel_to(to_lat, to_lon).route_from(from_lat, from_lon)

    def _path_metres(self, pred: Any, secs: F64, root: int, virtual_m: dict[int, float]) -> F64:
        """Length of every node's path in the shortest-path tree ``pred`` (scipy's: negative at
        the root and where unreachable), summed by pointer doubling. ``virtual_m`` gives the
        lengths of the edges to a virtual root numbered ``n_nodes``."""
        nxt = np.asarray(pred, np.int64)
        has = nxt >= 0
        step = np.zeros(nxt.shape[0], np.float64)
        real = np.nonzero(has & (nxt < self.n_nodes))[0]
        step[real] = self.edge_metres(real, nxt[real])
        for node, metres in virtual_m.items():
            if nxt[node] == root:
                step[node] = metres
        nxt = np.where(has, nxt, root)
        while not bool(np.all(nxt == root)):
            step = step + step[nxt]
            nxt = nxt[nxt]
        return np.where(np.isfinite(secs), step, np.inf)


def write_graph(
    path: str | Path,
    lat: Any,
    lon: Any,
    indptr: Any,
    indices: Any,
    seconds: Any,
    metres: Any,
    meta: dict[str, Any],
) -> None:
    """Write a road graph as a compressed ``.npz`` that :meth:`RoadGraph.load` reads: node
    ``lat``/``lon`` (float64 degrees), forward CSR ``indptr``/``indices`` (int32) with
    ``seconds``/``metres`` (float32) per edge, and ``meta`` (JSON text). The same arrays and
    meta give a byte-identical file (fixed entry order and zip timestamps)."""
    arrays: dict[str, npt.NDArray[Any]] = {
        "version": np.asarray(FORMAT_VERSION, np.int64),
        "lat": np.ascontiguousarray(lat, np.float64),
        "lon": np.ascontiguousarray(lon, np.float64),
        "indptr": np.ascontiguousarray(indptr, np.int32),
        "indices": np.ascontiguousarray(indices, np.int32),
        "seconds": np.ascontiguousarray(seconds, np.float32),
        "metres": np.ascontiguousarray(metres, np.float32),
        "meta": np.asarray(json.dumps(meta, sort_keys=True)),
    }
    write_npz(path, arrays)
