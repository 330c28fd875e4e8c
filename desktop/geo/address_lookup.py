"""Type-ahead and reverse geocoding over the address index (Qt-free, numpy only).

The look-ups behind :meth:`Geocoder.suggest <desktop.geo.geocoder.Geocoder.suggest>` and
:meth:`Geocoder.reverse <desktop.geo.geocoder.Geocoder.reverse>`, over one
:class:`~desktop.geo.address_index.AddressIndex`:

- :func:`suggest` completes what a call-taker is typing ("1200 MA", "MISSION/2") from the
  prefix index built at load (well under a millisecond a keystroke): streets whose name, from
  some word on, starts with what was typed; houses for a number and a name; intersections after
  "/" or "&".
- :func:`reverse` names the address nearest a caller's location: block, side and interpolated
  house number, or the intersection when the point is within :data:`AT_CORNER_M` of a block's
  end.

Both only read the index, so they are safe to call from several threads at once.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from desktop.geo.address_index import AddressIndex, Candidate, holding, to_segments
from desktop.geo.address_parse import parse_partial, street_key

__all__ = ["AT_CORNER_M", "reverse", "suggest"]

#: A reverse point this close to a block's end is named by that intersection.
AT_CORNER_M = 20.0


# --- suggest ----------------------------------------------------------------------------------


def suggest(index: AddressIndex, text: str, limit: int = 8) -> list[Candidate]:
    """Completions of a partly typed address, best first (see the module docstring): streets
    for a name, houses for a number and a name, intersections after "/" or "&"; for a number
    alone, numbered streets ("12TH ST") then streets with that house. At most ``limit``."""
    partial = parse_partial(text)
    if limit <= 0 or (not partial.street and partial.number is None):
        return []
    if partial.cross is not None:
        return _suggest_crossings(index, partial.street, partial.cross, limit)
    if partial.number is None:
        return [index.street_candidate(s) for s in _prefixed(index, partial.street)[:limit]]
    number, out = partial.number, []
    if partial.street:
        streets = _prefixed(index, partial.street)
    else:
        out = [index.street_candidate(s) for s in _prefixed(index, str(number))[:limit]]
        blocks = np.unique(holding(index.ranges, number)[:, 0])
        streets = sorted(set(index.street[blocks].tolist()), key=index.rank)
    for s in streets:
        if len(out) >= limit:
            break
        places = index.houses(s, number)
        if places:
            house = index.house(*places[0], number)
            out.append(index.candidate(f"{number} {index.names[s]}", "address", s, number, house))
    return out


def _prefixed(index: AddressIndex, prefix: str) -> list[int]:
    """Streets with a name (own or other) whose words from some word on start with
    ``prefix``: whole-name matches first, then bigger streets, then by name."""
    lo = bisect.bisect_left(index.prefix_keys, prefix)
    hi = bisect.bisect_left(index.prefix_keys, prefix + "\uffff", lo)
    ids = {index.prefix[i][1] for i in range(lo, hi)}
    whole = {i for i in ids if street_key(index.names[i]).startswith(prefix)}
    return sorted(ids, key=lambda i: (i not in whole, *index.rank(i)))


def _suggest_crossings(index: AddressIndex, first: str, cross: str, limit: int) -> list[Candidate]:
    """Intersections of the first three streets ``first`` completes with the streets whose
    name starts with ``cross``."""
    out: list[Candidate] = []
    n = len(index.names)
    for street in _prefixed(index, first)[:3]:
        lo, hi = np.searchsorted(index.cross_key, [street * n, (street + 1) * n])
        nodes: dict[int, int] = {}
        for key, node in zip(index.cross_key[lo:hi], index.cross_node[lo:hi], strict=True):
            other = int(key) % n
            if other not in nodes and street_key(index.names[other]).startswith(cross):
                nodes[other] = int(node)
        out += [index.crossing(street, o, nodes[o]) for o in sorted(nodes, key=index.rank)]
        if len(out) >= limit:
            break
    return out[:limit]


# --- reverse ----------------------------------------------------------------------------------


def reverse(
    index: AddressIndex, lat: float, lon: float, max_distance_m: float = 150.0
) -> Candidate | None:
    """The address nearest (``lat``, ``lon``): the nearest block's interpolated house on the
    nearer side, or the intersection when the point is within :data:`AT_CORNER_M` of the
    block's end, or the street when the block has no numbers; ``distance_m`` from the point to
    it. None beyond ``max_distance_m`` (or for a point that is not finite)."""
    if not (math.isfinite(lat) and math.isfinite(lon)) or not index.seg.size:
        return None
    vx, vy = index.vx, index.vy
    px, py = (np.asarray([[float(v)]]) for v in index.proj.to_xy(lat, lon))
    gap, fx, fy = to_segments(px, py, vx, vy, index.seg)
    k = int(np.argmin(gap[0]))
    if float(gap[0, k]) > max_distance_m:
        return None
    seg, block = int(index.seg[k]), int(index.seg_block[k])
    done = math.hypot(float(fx[0, k]) - vx[seg], float(fy[0, k]) - vy[seg])
    metres = float(index.along[seg]) + done
    dx, dy = vx[seg + 1] - vx[seg], vy[seg + 1] - vy[seg]
    cross = dx * (float(py[0, 0]) - vy[seg]) - dy * (float(px[0, 0]) - vx[seg])
    street, length = int(index.street[block]), float(index.length[block])
    where: Callable[[Candidate], Candidate] = functools.partial(_distance, index, lat, lon)
    for end, at in ((0, metres), (1, length - metres)):
        if at <= AT_CORNER_M:
            node = int(index.ends[block, end])
            lo, hi = index.node_ptr[node], index.node_ptr[node + 1]
            others = [int(o) for o in index.node_street[lo:hi] if o != street]
            if others:
                return where(index.crossing(street, min(others, key=index.rank), node))
    order = (0, 1) if cross >= 0 else (1, 0)  # the nearer side first
    for side in order:
        f, t = (int(v) for v in index.ranges[block, 2 * side : 2 * side + 2])
        if f or t:
            houses = abs(t - f) // 2 + 1
            k_house = min(max(int(metres / max(length, 1e-9) * houses), 0), houses - 1)
            number = f + 2 * k_house * (1 if t >= f else -1)
            label = f"{number} {index.names[street]}"
            point = index.house(block, side, number)
            return where(index.candidate(label, "address", street, number, point))
    point = index.at(block, metres, 0.0)
    return where(replace(index.street_candidate(street), lat=point[0], lon=point[1]))


def _distance(index: AddressIndex, lat: float, lon: float, cand: Candidate) -> Candidate:
    """``cand`` with its distance from (``lat``, ``lon``), to 0.1 m."""
    x0, y0 = index.proj.to_xy(lat, lon)
    x1, y1 = index.proj.to_xy(cand.lat, cand.lon)
    return replace(cand, distance_m=round(float(np.hypot(x1 - x0, y1 - y0)), 1))
