"""Derive the address index (``resources/geo/addresses.npz``) from street data only.

Inputs (read by ``server/geocode_cli.py``): DataSF's "List of Streets and Intersections"
(street blocks with the CNN node ids of both ends and left/right house-number ranges, no
coordinates), TIGER/Line roads (named line geometry, no address ranges) and, optionally,
SFMTA's traffic signals (coordinates of about 1,400 intersection CNNs). Never the calls for
service: the benchmark grades the index against those.

1. **Names.** Each DataSF street is matched to TIGER names by :func:`street_key` ("03RD ST" ~
   "3rd St"), by its key without type (TIGER writes "Cesar Chavez" as well as "Cesar Chavez
   St": both count) or with Treasure Island's "TI" dropped ("13TH TI ST" ~ "13th St"). The
   rest may take a TIGER name no DataSF street spells: by a fuzzy match (ratio >= 0.85) whose
   lines meet one of the street's cross streets, or, for a renamed street, the name whose
   lines meet most of its cross streets (:func:`_recovered`).
2. **Nodes.** A node (CNN) is placed where the TIGER lines of two or more of its streets share
   a vertex (the vertex shared by the most), or come within :data:`CLOSEST_M`. Where several
   places qualify (streets that meet twice), the one nearest the node's traffic signal wins,
   else the one nearest its placed neighbours along the blocks. A placement farther than
   :data:`IMPLAUSIBLE_M` (and 5 m per house number) from every placed neighbour is dropped;
   one farther than :data:`SIGNAL_DISAGREE_M` from its signal gives way to the signal; a node
   with no place takes its signal's. The nodes left are spaced evenly along their street's
   TIGER path between placed neighbours, and then dead ends go to the end of the street's
   lines, never back towards the last placed node's other neighbours.
3. **Blocks.** A block's geometry is its street's TIGER path between its two end nodes (a
   shortest path over the street's own lines, each end snapped within :data:`SNAP_M`), or the
   straight line when there is none (or it is a detour). Blocks with an end not placed are left
   out (counted). Left and right are as DataSF gives them: relative to the direction of travel
   from ``FROM_CNN`` to ``TO_CNN``.

File format (version :data:`FORMAT_VERSION`, a compressed ``.npz`` written with fixed zip
timestamps and entry order, so the same input gives byte-identical bytes):

- ``version`` (int64), ``meta`` (JSON text: sources, sha256, counts);
- ``street_names`` (unicode, DataSF spelling, sorted);
- ``node_cnn`` (int64, sorted), ``node_lat``/``node_lon`` (int32, degrees x 1e6);
  ``node_street_ptr``/``node_street`` (int32 CSR: the streets meeting at each node);
- ``block_cnn`` (int64), ``block_street``, ``block_from``, ``block_to`` (int32; node indexes
  of ``FROM_CNN``/``TO_CNN``), ``block_ranges`` (int32, ``(n, 4)``: left from, left to, right
  from, right to; 0-0 where a side has no numbers), ``block_ptr`` (int32 CSR into the vertex
  arrays), ``vertex_lat``/``vertex_lon`` (int32, degrees x 1e6; each block's line from its
  ``FROM`` node to its ``TO`` node). Blocks sorted by street, lowest number, CNN;
- ``alias_names`` (unicode, TIGER's spellings, upper case) and ``alias_street`` (int32): other
  names of the streets, as step 1 matched them ("CESAR CHAVEZ", "PHELAN AVE", "9TH ST" for
  Treasure Island's "09TH TI ST").
"""

from __future__ import annotations

import heapq
import io
import itertools
import json
import math
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from desktop.geo.address_parse import FuzzyNames, street_base, street_key

__all__ = [
    "CLOSEST_M",
    "FORMAT_VERSION",
    "IMPLAUSIBLE_M",
    "SIGNAL_DISAGREE_M",
    "SNAP_M",
    "Block",
    "DerivedIndex",
    "StreetData",
    "Vertex",
    "derive_addresses",
    "write_index",
]

FORMAT_VERSION = 1
#: Two streets with no shared vertex still meet where their lines come this close.
CLOSEST_M = 40.0
#: A node's end of a block snaps to its street's TIGER line within this distance.
SNAP_M = 40.0
#: A placement this far from the node's traffic signal gives way to the signal.
SIGNAL_DISAGREE_M = 60.0
#: A node farther than this (and 5 m per house number) from every placed neighbour is misplaced.
IMPLAUSIBLE_M = 500.0
_FUZZY_CUTOFF = 0.85
_DETOUR = 2.5  # a path longer than this times the straight line (+ 100 m) is a detour
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


def _dist(p: Vertex, q: Vertex) -> float:
    return math.hypot((p[0] - q[0]) * _KX, (p[1] - q[1]) * _M_PER_E6)


# --- names ------------------------------------------------------------------------------------


def _aliases(names: Iterable[str], keys: set[str]) -> tuple[dict[str, list[str]], Counter[str]]:
    """DataSF name -> the TIGER keys that spell it (step 1 of the module docstring, before the
    fuzzy and renamed matches of :func:`_recovered`)."""
    by_base: defaultdict[str, list[str]] = defaultdict(list)
    for key in sorted(keys):
        by_base[street_base(key)].append(key)
    aliases: dict[str, list[str]] = {}
    how: Counter[str] = Counter()
    for name in sorted(names):
        key = street_key(name)
        found = [key] if key in keys else []
        found += [k for k in by_base.get(street_base(key), []) if k != key and k == street_base(k)]
        method = "exact" if key in keys else "without type" if found else ""
        if not found and " TI " in f" {key} ":
            plain = " ".join(w for w in key.split() if w != "TI")
            found = [plain] if plain in keys else []
            method = "Treasure Island" if found else ""
        if found:
            aliases[name] = found
            how[method] += 1
    return aliases, how


def _recovered(
    streets: StreetData, graphs: Mapping[str, _StreetGraph], spare: Mapping[str, _StreetGraph]
) -> tuple[dict[str, str], Counter[str]]:
    """TIGER names for the DataSF streets :func:`_aliases` left, among the names no DataSF
    street spells. A fuzzy match (ratio >= 0.85) must meet one of the street's cross streets.
    Otherwise a renamed street ("FRIDA KAHLO WAY" was "Phelan Ave" in 2017) takes the spare
    name whose lines meet the most of its cross streets: at least two, half of the street's,
    and half of those the TIGER name meets (a freeway meets everything). One street per name:
    the best, no tie."""
    crossing: defaultdict[str, set[int]] = defaultdict(set)  # street -> ids of crossing graphs
    for members in streets.node_streets.values():
        for name in members:
            crossing[name] |= {id(graphs[o]) for o in members if o != name and o in graphs}
    touching = {
        key: {id(g) for g in graphs.values() if g.vertices & graph.vertices}
        for key, graph in spare.items()
    }
    fuzzy = FuzzyNames(spare)
    claims: defaultdict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for name in sorted(n for n in streets.names if n not in graphs and crossing[n]):
        near = [k for k, _ in fuzzy.match(street_key(name), limit=3, cutoff=_FUZZY_CUTOFF)]
        spelt = [k for k in near if touching[k] & crossing[name]]
        if spelt:
            claims[spelt[0]].append((len(touching[spelt[0]] & crossing[name]), name, "fuzzy"))
            continue
        scores = sorted(((len(t & crossing[name]), k) for k, t in touching.items()), reverse=True)
        if not scores or (len(scores) > 1 and scores[1][0] == scores[0][0]):
            continue
        shared, key = scores[0]
        if shared >= max(2, len(crossing[name]) / 2, len(touching[key]) / 2):
            claims[key].append((shared, name, "renamed (meets the same streets)"))
    found: dict[str, str] = {}
    how: Counter[str] = Counter()
    for key, named in sorted(claims.items()):
        named.sort(reverse=True)
        if len(named) == 1 or named[1][0] < named[0][0]:
            found[named[0][1]] = key
            how[named[0][2]] += 1
    return found, how


# --- the streets' own TIGER graphs ------------------------------------------------------------


class _StreetGraph:
    """The TIGER lines of one street's aliases: vertices and adjacency (metres)."""

    def __init__(self, lines: Iterable[tuple[Vertex, ...]]) -> None:
        adjacent: defaultdict[Vertex, dict[Vertex, float]] = defaultdict(dict)
        for coords in lines:
            for p, q in itertools.pairwise(coords):
                if p != q:
                    adjacent[p][q] = adjacent[q][p] = _dist(p, q)
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
        dist, index = self.tree.query(xy, distance_upper_bound=within)
        n = len(self.points)
        return [
            (float(d), self.points[int(i)] if i < n else p)
            for d, i, p in zip(dist, index, points, strict=True)
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
        dist = {source: 0.0}
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
                if d + metres < dist.get(w, math.inf):
                    dist[w] = d + metres
                    pred[w] = v
                    heapq.heappush(heap, (d + metres, w))
        return {v: dist[v] for v in done}, pred

    def path(self, a: Vertex, b: Vertex) -> list[Vertex] | None:
        """The shortest path ``a`` .. ``b`` over the street's lines, or None."""
        dist, pred = self.search(a, b)
        if b not in dist:
            return None
        out = [b]
        while out[-1] != a:
            out.append(pred[out[-1]])
        return out[::-1]

    def terminals(self) -> set[Vertex]:
        """Vertices at the end of the street's lines (one neighbour)."""
        return {v for v, n in self.adjacent.items() if len(n) == 1}


def _angle(at: Vertex, p: Vertex, q: Vertex) -> float:
    """Degrees between the directions from ``at`` to ``p`` and to ``q``."""
    ax, ay = (p[0] - at[0]) * _KX, (p[1] - at[1]) * _M_PER_E6
    bx, by = (q[0] - at[0]) * _KX, (q[1] - at[1]) * _M_PER_E6
    return abs(math.degrees(math.atan2(ax * by - ay * bx, ax * bx + ay * by)))


def _along(path: list[Vertex], fraction: float) -> Vertex:
    """The point ``fraction`` of the way along ``path`` (by length)."""
    lengths = [_dist(p, q) for p, q in itertools.pairwise(path)]
    goal = fraction * sum(lengths)
    for (p, q), metres in zip(itertools.pairwise(path), lengths, strict=True):
        if goal <= metres and metres > 0:
            t = goal / metres
            return round(p[0] + t * (q[0] - p[0])), round(p[1] + t * (q[1] - p[1]))
        goal -= metres
    return path[-1]


# --- derivation -------------------------------------------------------------------------------


@dataclass
class DerivedIndex:
    """The arrays :func:`write_index` stores and the counts the provenance reports."""

    arrays: dict[str, npt.NDArray[Any]]
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Work:
    """Node placement state shared by the steps of :func:`_place_nodes`."""

    data: StreetData
    graphs: dict[str, _StreetGraph]
    signals: Mapping[int, Vertex]
    placed: dict[int, Vertex] = field(default_factory=dict)
    how: dict[int, str] = field(default_factory=dict)
    meetings: dict[tuple[int, int], tuple[list[Vertex], list[Vertex]]] = field(default_factory=dict)
    links: defaultdict[int, list[tuple[int, int]]] = field(
        default_factory=lambda: defaultdict(list)
    )  # node -> (node at the other end of a block, the block's house-number span)
    on_street: defaultdict[str, defaultdict[int, set[int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(set))
    )

    def put(self, node: int, where: Vertex, method: str) -> None:
        self.placed[node] = where
        self.how[node] = method


def _far(work: _Work, node: int) -> bool:
    """True when every placed neighbour is implausibly far: more than
    :data:`IMPLAUSIBLE_M` and five metres per house number of the block between them."""
    here = work.placed[node]
    gaps = [(_dist(here, work.placed[m]), span) for m, span in work.links[node] if m in work.placed]
    return bool(gaps) and all(d > max(IMPLAUSIBLE_M, 5.0 * span) for d, span in gaps)


def _meetings(s: _StreetGraph, t: _StreetGraph) -> tuple[list[Vertex], list[Vertex]]:
    """Where two streets' lines meet: shared vertices, and points where they come within
    :data:`CLOSEST_M` of each other (midpoints, at least 100 m from every other meeting)."""
    shared = sorted(s.vertices & t.vertices)
    small, large = (s, t) if len(s.points) <= len(t.points) else (t, s)
    close = sorted(
        (d, v, w)
        for v, (d, w) in zip(small.points, large.near(small.points, CLOSEST_M), strict=True)
        if 0 < d <= CLOSEST_M
    )
    near: list[Vertex] = []
    for _, v, w in close:
        mid = ((v[0] + w[0]) // 2, (v[1] + w[1]) // 2)
        if all(_dist(mid, q) > 100.0 for q in itertools.chain(shared, near)):
            near.append(mid)
    return shared, near


def _candidates(work: _Work, node: int) -> tuple[list[Vertex], list[Vertex]]:
    """Where two or more of the node's streets meet: the shared vertices with the most
    streets, and the closest approaches (:func:`_meetings`). Streets drawn by the same TIGER
    lines ("WILLARD ST" and "WILLARD ST NORTH") count once."""
    graphs: dict[int, _StreetGraph] = {}
    for street in sorted(work.data.node_streets.get(node, ())):
        if street in work.graphs:
            graphs.setdefault(id(work.graphs[street]), work.graphs[street])
    groups = sorted(graphs.values(), key=lambda g: g.points[0])
    count: Counter[Vertex] = Counter()
    approach: list[Vertex] = []
    for s, t in itertools.combinations(groups, 2):
        key = (id(s), id(t)) if id(s) < id(t) else (id(t), id(s))
        if key not in work.meetings:
            work.meetings[key] = _meetings(s, t)
        shared, near = work.meetings[key]
        count.update(shared)
        approach.extend(near)
    top = max(count.values(), default=0)
    strong = sorted(v for v, c in count.items() if c == top)
    weak = sorted(v for v in set(approach) if all(_dist(v, q) > 100.0 for q in strong))
    return strong, weak


def _place_nodes(work: _Work) -> dict[str, Any]:
    """Step 2 of the module docstring; returns the counts for the report."""
    nodes = sorted(work.data.node_streets)
    pending: dict[int, list[Vertex]] = {}
    for n in nodes:
        strong, weak = _candidates(work, n)
        cands = strong + weak
        if cands and max(_dist(p, q) for p in cands for q in cands) <= 30.0:
            work.put(n, strong[0] if strong else weak[0], "streets meet")  # one place
        elif cands and n in work.signals:
            sig = work.signals[n]
            work.put(n, min(cands, key=lambda c: _dist(c, sig)), "nearest the signal")
        elif cands:
            pending[n] = cands
    while pending:  # several places: the one nearest the placed neighbours
        progress = False
        for n in sorted(pending):
            near = [work.placed[m] for m, _ in work.links[n] if m in work.placed]
            if near:
                cands = pending.pop(n)
                choice = min(cands, key=lambda c: sum(_dist(c, p) for p in near))
                work.put(n, choice, "nearest the neighbours")
                progress = True
        if not progress:
            break
    implausible = [n for n in sorted(work.placed) if n not in work.signals and _far(work, n)]
    for n in implausible:
        del work.placed[n], work.how[n]
    gaps = [_dist(work.placed[n], p) for n, p in sorted(work.signals.items()) if n in work.placed]
    replaced = 0
    for n, sig in sorted(work.signals.items()):
        if n in work.placed and _dist(work.placed[n], sig) > SIGNAL_DISAGREE_M:
            work.put(n, sig, "signal (disagreed)")
            replaced += 1
        elif n in work.data.node_streets and n not in work.placed:
            work.put(n, sig, "signal")
    while _place_chains(work, dead_ends=False) or _place_chains(work, dead_ends=True):
        pass  # dead ends last: every other node placed blocks a wrong way to the street's end
    return {
        "nodes": len(nodes),
        "placed": len(work.placed),
        "by_method": dict(sorted(Counter(work.how.values()).items())),
        "ambiguous_left": len(pending),
        "implausible": len(implausible),
        "signal_checked": len(gaps),
        "signal_median_m": round(float(np.median(gaps)), 1) if gaps else None,
        "signal_p95_m": round(float(np.percentile(gaps, 95)), 1) if gaps else None,
        "signal_replaced": replaced,
    }


def _place_chains(work: _Work, dead_ends: bool) -> bool:
    """Nodes along one street between placed ones, or (``dead_ends``) past the last placed one
    to the end of the street's lines (step 2, last part). True if any was placed."""
    progress = False
    for street in sorted(work.on_street):
        graph = work.graphs.get(street)
        adjacent = work.on_street[street]
        if graph is None:
            continue
        for start in sorted(n for n in adjacent if n in work.placed):
            for first in sorted(adjacent[start]):
                chain = _chain(adjacent, work.placed, start, first)
                if chain is None or (chain[-1] not in work.placed) != dead_ends:
                    continue
                if _place_chain(work, graph, adjacent, start, chain):
                    progress = True
        for node in [] if dead_ends else sorted(n for n in adjacent if n not in work.placed):
            near = sorted(m for m in adjacent[node] if m in work.placed)
            if len(near) >= 2:  # a fork: halfway between two placed neighbours
                a, b = work.placed[near[0]], work.placed[near[1]]
                va, vb = graph.nearest(a, SNAP_M), graph.nearest(b, SNAP_M)
                path = graph.path(va, vb) if va is not None and vb is not None else None
                work.put(node, _along(path or [a, b], 0.5), "along street")
                progress = True
    return progress


def _chain(
    adjacent: Mapping[int, set[int]], placed: Mapping[int, Vertex], start: int, first: int
) -> list[int] | None:
    """Unplaced nodes from ``first`` on, walking away from ``start`` while each has one way on;
    the last entry is the placed node that closes it, if any. None if ``first`` is placed or
    the walk forks or loops."""
    chain, previous, current = [], start, first
    while current not in placed:
        chain.append(current)
        ahead = sorted(adjacent[current] - {previous})
        if not ahead:
            return chain
        if len(ahead) > 1 or ahead[0] in chain or ahead[0] == start:
            return None
        previous, current = current, ahead[0]
    return [*chain, current] if chain else None


def _place_chain(
    work: _Work,
    graph: _StreetGraph,
    adjacent: Mapping[int, set[int]],
    start: int,
    chain: list[int],
) -> bool:
    source = graph.nearest(work.placed[start], SNAP_M)
    if source is None:
        return False
    closed = chain[-1] in work.placed
    if closed:
        target = graph.nearest(work.placed[chain[-1]], SNAP_M)
        path = graph.path(source, target) if target is not None else None
        if path is None:
            path = [work.placed[start], work.placed[chain[-1]]]
        free, method = chain[:-1], "along street"
    else:
        others = {graph.nearest(work.placed[n], SNAP_M) for n in adjacent if n in work.placed}
        blocked = frozenset(v for v in others if v is not None and v != source)
        dist, pred = graph.search(source, blocked=blocked)
        here = work.placed[start]
        back = [work.placed[m] for m in adjacent[start] if m in work.placed]
        ends = [
            v
            for v in graph.terminals()
            if v in dist and v != source and all(_angle(here, v, m) > 45.0 for m in back)
        ]  # never towards the start's other placed neighbours
        if not ends:
            return False
        end = max(ends, key=lambda v: (dist[v], v))
        path = [end]
        while path[-1] != source:
            path.append(pred[path[-1]])
        path.reverse()
        free, method = chain, "dead end"
    steps = len(free) + (1 if closed else 0)
    for i, node in enumerate(free, start=1):
        work.put(node, _along(path, i / steps), method)
    return True


def _block_line(graph: _StreetGraph | None, a: Vertex, b: Vertex) -> tuple[list[Vertex], bool]:
    """A block's line from ``a`` to ``b`` and whether it follows TIGER (step 3)."""
    if graph is not None:
        va, vb = graph.nearest(a, SNAP_M), graph.nearest(b, SNAP_M)
        path = graph.path(va, vb) if va is not None and vb is not None and va != vb else None
        if path is not None:
            length = sum(_dist(p, q) for p, q in itertools.pairwise(path))
            if length <= _DETOUR * _dist(a, b) + 100.0:
                line = [a, *path[1:-1], b] if len(path) > 2 else [a, b]
                return [v for i, v in enumerate(line) if i == 0 or v != line[i - 1]], True
    return [a, b], False


def derive_addresses(
    streets: StreetData,
    lines: list[tuple[str, tuple[Vertex, ...]]],
    signals: Mapping[int, Vertex] | None = None,
) -> DerivedIndex:
    """Build the index arrays (module docstring, steps 1-3) and the report's counts."""
    by_key: defaultdict[str, list[tuple[Vertex, ...]]] = defaultdict(list)
    spelling: dict[str, str] = {}  # TIGER key -> its first spelling, upper case
    for name, coords in lines:
        key = street_key(name)
        by_key[key].append(coords)
        spelling[key] = min(spelling.get(key, name.upper()), name.upper())
    aliases, how = _aliases(streets.names, set(by_key))
    drawn: dict[tuple[str, ...], _StreetGraph] = {}  # one graph per set of TIGER names

    def graph_of(keys: list[str]) -> _StreetGraph:
        if tuple(keys) not in drawn:
            drawn[tuple(keys)] = _StreetGraph(c for key in keys for c in by_key[key])
        return drawn[tuple(keys)]

    graphs = {name: graph_of(keys) for name, keys in sorted(aliases.items())}
    used = {k for keys in aliases.values() for k in keys}
    spare = {k: graph_of([k]) for k in sorted(by_key) if k not in used}
    recovered, more = _recovered(streets, graphs, spare)
    for name, key in sorted(recovered.items()):
        aliases[name] = [key]
        graphs[name] = graph_of([key])
    how.update(more)
    how["none"] = len(streets.names) - len(aliases)
    work = _Work(streets, graphs, dict(signals or {}))
    for block in streets.blocks:
        lf, lt, rf, rt = block.ranges
        span = max(abs(lt - lf), abs(rt - rf))
        work.links[block.a].append((block.b, span))
        work.links[block.b].append((block.a, span))
        work.on_street[block.street][block.a].add(block.b)
        work.on_street[block.street][block.b].add(block.a)
    node_report = _place_nodes(work)
    names = sorted(streets.names)
    street_id = {s: i for i, s in enumerate(names)}
    node_cnn = sorted(work.placed)
    node_id = {n: i for i, n in enumerate(node_cnn)}
    kept = sorted(
        (b for b in streets.blocks if b.a in work.placed and b.b in work.placed),
        key=lambda b: (
            street_id[b.street],
            min(r for r in b.ranges if r) if any(b.ranges) else 0,
            b.cnn,
        ),
    )
    ptr, vertices, along_tiger = [0], [], 0
    for block in kept:
        line, follows = _block_line(
            graphs.get(block.street), work.placed[block.a], work.placed[block.b]
        )
        along_tiger += follows
        vertices.extend(line)
        ptr.append(len(vertices))
    members = [sorted(street_id[s] for s in streets.node_streets[n]) for n in node_cnn]
    other_names = sorted(
        (spelling[k], street_id[name])
        for name, keys in aliases.items()
        for k in keys
        if k != street_key(name)
    )
    verts = np.array(vertices, np.int64).reshape(-1, 2)
    nodes = np.array([work.placed[n] for n in node_cnn], np.int64).reshape(-1, 2)
    arrays: dict[str, npt.NDArray[Any]] = {
        "street_names": np.array(names, dtype=np.str_),
        "node_cnn": np.array(node_cnn, np.int64),
        "node_lat": nodes[:, 1].astype(np.int32),
        "node_lon": nodes[:, 0].astype(np.int32),
        "node_street_ptr": np.array([0, *itertools.accumulate(map(len, members))], np.int32),
        "node_street": np.array([s for m in members for s in m], np.int32),
        "block_cnn": np.array([b.cnn for b in kept], np.int64),
        "block_street": np.array([street_id[b.street] for b in kept], np.int32),
        "block_from": np.array([node_id[b.a] for b in kept], np.int32),
        "block_to": np.array([node_id[b.b] for b in kept], np.int32),
        "block_ranges": np.array([b.ranges for b in kept], np.int32).reshape(-1, 4),
        "block_ptr": np.array(ptr, np.int32),
        "vertex_lat": verts[:, 1].astype(np.int32),
        "vertex_lon": verts[:, 0].astype(np.int32),
        "alias_names": np.array([a for a, _ in other_names], dtype=np.str_),
        "alias_street": np.array([i for _, i in other_names], np.int32),
    }
    report = {
        "rows": streets.rows,
        "blocks_read": len(streets.blocks),
        "intersection_rows": streets.intersection_rows,
        "street_names": len(names),
        "tiger_lines": len(lines),
        "names_matched": dict(sorted(how.items())),
        **node_report,
        "blocks": len(kept),
        "blocks_along_tiger": along_tiger,
        "blocks_straight": len(kept) - along_tiger,
        "blocks_dropped": len(streets.blocks) - len(kept),
        "vertices": len(vertices),
        "aliases": len(other_names),
    }
    return DerivedIndex(arrays, report)


def write_index(
    path: str | Path, arrays: Mapping[str, npt.NDArray[Any]], meta: dict[str, Any]
) -> None:
    """Write the index ``.npz`` (format in the module docstring): the same arrays and meta give
    the same bytes. Replaces ``path`` atomically."""
    entries = {
        "version": np.asarray(FORMAT_VERSION, np.int64),
        "meta": np.asarray(json.dumps(meta, sort_keys=True)),
        **arrays,
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, array in entries.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.asarray(array, order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buffer.getvalue(), compresslevel=9)
    tmp.replace(target)
