"""Node placement, step 2 of the address index's derivation (``desktop/geo/address_derive.py``).

DataSF's nodes (CNNs: the ends of its street blocks) have no coordinates. :func:`place_nodes`
puts each where its streets' TIGER lines say it is:

- A node is placed where the TIGER lines of two or more of its streets share a vertex (the
  vertex shared by the most), or come within :data:`CLOSEST_M`. Where several places qualify
  (streets that meet twice), the one nearest the node's traffic signal wins, else the one
  nearest its placed neighbours along the blocks.
- A placement farther than :data:`IMPLAUSIBLE_M` (and 5 m per house number) from every placed
  neighbour is dropped; one farther than :data:`SIGNAL_DISAGREE_M` from its signal gives way
  to the signal; a node with no place takes its signal's.
- The nodes left are spaced evenly along their street's TIGER path between placed neighbours,
  and then dead ends go to the end of the street's lines, never back towards the last placed
  node's other neighbours.

Every choice is made in a fixed order (sorted nodes, streets and vertices), so the same input
gives the same places.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from desktop.geo.address_streets import SNAP_M, StreetData, StreetGraph, Vertex, along, angle, dist

__all__ = ["CLOSEST_M", "IMPLAUSIBLE_M", "SIGNAL_DISAGREE_M", "place_nodes"]

#: Two streets with no shared vertex still meet where their lines come this close.
CLOSEST_M = 40.0
#: A placement this far from the node's traffic signal gives way to the signal.
SIGNAL_DISAGREE_M = 60.0
#: A node farther than this (and 5 m per house number) from every placed neighbour is misplaced.
IMPLAUSIBLE_M = 500.0


def place_nodes(
    data: StreetData, graphs: Mapping[str, StreetGraph], signals: Mapping[int, Vertex]
) -> tuple[dict[int, Vertex], dict[str, Any]]:
    """Place the nodes of ``data`` (module docstring) on ``graphs`` (DataSF street -> the
    graph of its TIGER lines; streets without one are not drawn) with ``signals`` (CNN ->
    traffic signal). Returns where each placed node is (nodes not placed left out) and the
    counts for the report."""
    work = _Work(data.node_streets, graphs, signals)
    for block in data.blocks:
        lf, lt, rf, rt = block.ranges
        span = max(abs(lt - lf), abs(rt - rf))
        work.links[block.a].append((block.b, span))
        work.links[block.b].append((block.a, span))
        work.on_street[block.street][block.a].add(block.b)
        work.on_street[block.street][block.b].add(block.a)
    report = _place_nodes(work)
    return work.placed, report


@dataclass
class _Work:
    """Node placement state shared by the steps of :func:`_place_nodes`."""

    node_streets: Mapping[int, set[str]]
    graphs: Mapping[str, StreetGraph]
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
    gaps = [(dist(here, work.placed[m]), span) for m, span in work.links[node] if m in work.placed]
    return bool(gaps) and all(d > max(IMPLAUSIBLE_M, 5.0 * span) for d, span in gaps)


def _meetings(s: StreetGraph, t: StreetGraph) -> tuple[list[Vertex], list[Vertex]]:
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
        if all(dist(mid, q) > 100.0 for q in itertools.chain(shared, near)):
            near.append(mid)
    return shared, near


def _candidates(work: _Work, node: int) -> tuple[list[Vertex], list[Vertex]]:
    """Where two or more of the node's streets meet: the shared vertices with the most
    streets, and the closest approaches (:func:`_meetings`). Streets drawn by the same TIGER
    lines ("WILLARD ST" and "WILLARD ST NORTH") count once."""
    graphs: dict[int, StreetGraph] = {}
    for street in sorted(work.node_streets.get(node, ())):
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
    weak = sorted(v for v in set(approach) if all(dist(v, q) > 100.0 for q in strong))
    return strong, weak


def _place_nodes(work: _Work) -> dict[str, Any]:
    """The module docstring's rules, in order; returns the counts for the report."""
    nodes = sorted(work.node_streets)
    pending: dict[int, list[Vertex]] = {}
    for n in nodes:
        strong, weak = _candidates(work, n)
        cands = strong + weak
        if cands and max(dist(p, q) for p in cands for q in cands) <= 30.0:
            work.put(n, strong[0] if strong else weak[0], "streets meet")  # one place
        elif cands and n in work.signals:
            sig = work.signals[n]
            work.put(n, min(cands, key=lambda c: dist(c, sig)), "nearest the signal")
        elif cands:
            pending[n] = cands
    while pending:  # several places: the one nearest the placed neighbours
        progress = False
        for n in sorted(pending):
            near = [work.placed[m] for m, _ in work.links[n] if m in work.placed]
            if near:
                cands = pending.pop(n)
                choice = min(cands, key=lambda c: sum(dist(c, p) for p in near))
                work.put(n, choice, "nearest the neighbours")
                progress = True
        if not progress:
            break
    implausible = [n for n in sorted(work.placed) if n not in work.signals and _far(work, n)]
    for n in implausible:
        del work.placed[n], work.how[n]
    gaps = [dist(work.placed[n], p) for n, p in sorted(work.signals.items()) if n in work.placed]
    replaced = 0
    for n, sig in sorted(work.signals.items()):
        if n in work.placed and dist(work.placed[n], sig) > SIGNAL_DISAGREE_M:
            work.put(n, sig, "signal (disagreed)")
            replaced += 1
        elif n in work.node_streets and n not in work.placed:
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
    to the end of the street's lines (the module docstring's last rule). True if any was
    placed."""
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
                work.put(node, along(path or [a, b], 0.5), "along street")
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
    graph: StreetGraph,
    adjacent: Mapping[int, set[int]],
    start: int,
    chain: list[int],
) -> bool:
    """Space ``chain`` (from :func:`_chain`) evenly along ``graph`` from ``start``: to the
    placed node that closes it, or for a dead end to the farthest end of the street's lines
    not back towards ``start``'s other placed neighbours. True if placed."""
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
        dists, pred = graph.search(source, blocked=blocked)
        here = work.placed[start]
        back = [work.placed[m] for m in adjacent[start] if m in work.placed]
        ends = [
            v
            for v in graph.terminals()
            if v in dists and v != source and all(angle(here, v, m) > 45.0 for m in back)
        ]  # never towards the start's other placed neighbours
        if not ends:
            return False
        end = max(ends, key=lambda v: (dists[v], v))
        path = [end]
        while path[-1] != source:
            path.append(pred[path[-1]])
        path.reverse()
        free, method = chain, "dead end"
    steps = len(free) + (1 if closed else 0)
    for i, node in enumerate(free, start=1):
        work.put(node, along(path, i / steps), method)
    return True
