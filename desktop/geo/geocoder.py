"""Offline address verification and geocoding for San Francisco (Qt-free, numpy only).

:class:`Geocoder` answers over the index that ``desktop/geo/address_derive.py`` derives from
DataSF's street blocks and TIGER's road lines (``resources/geo/addresses.npz``, see
``resources/geo/addresses.PROVENANCE.md``):

- :meth:`Geocoder.geocode` verifies one address line. ``verified`` means one clear match: a
  house number inside a block's range on the side of its parity, a "N Block of" form whose
  hundred exists on the street, or two streets that meet (at a node of the index, or where
  their lines touch: within :data:`TOUCH_M`). A house is interpolated along its block on its
  side, :data:`SIDE_OFFSET_M` off the centre line (left and right as DataSF gives them:
  relative to the block's direction of travel, FROM node to TO node); a block form is the
  middle of its hundred on the centre line; an intersection is its node. Anything else is
  ``candidates`` (the places it could be) or ``not_found``, and :attr:`GeocodeResult.reason`
  says why in plain words. A unit ("APT 5", "#3", the "A" of "401-A") is not matched; it is
  kept in :attr:`GeocodeResult.unit`.
- :meth:`Geocoder.suggest` completes what a call-taker is typing ("1200 MA", "MISSION/2")
  from prefix indexes built at load (well under a millisecond a keystroke).
- :meth:`Geocoder.reverse` names the address nearest a caller's location: block, side and
  interpolated house number, or the intersection when the point is at one.

A street name is matched in tiers, each tried only when the ones before found nothing that
fits: the street's own name (:func:`~desktop.geo.address_parse.street_key`: "3RD ST",
"THIRD STREET" and "03RD ST" alike), its other names (TIGER's spelling, a former name: the
index's aliases), the name with another or no trailing direction ("BUENA VISTA AVE" ->
BUENA VISTA AVE EAST and WEST, "THE EMBARCADERO NOR" -> THE EMBARCADERO), the name without
its type ("MISSION" -> MISSION ST; another type only when no street has the type given), and
last a fuzzy match. Several
streets in one tier ("PARK") are narrowed by the house number, or by which one meets the cross
street. Degrees are WGS84 (TIGER's NAD83 differs by well under a metre).
"""

from __future__ import annotations

import bisect
import functools
import json
import math
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from desktop.geo.address_derive import FORMAT_VERSION
from desktop.geo.address_parse import (
    FuzzyNames,
    display_names,
    parse,
    parse_partial,
    street_bare,
    street_base,
    street_key,
)
from desktop.geo.projection import LocalProjection
from desktop.resources import resource_path

__all__ = [
    "SIDE_OFFSET_M",
    "TOUCH_M",
    "Candidate",
    "GeocodeResult",
    "Geocoder",
    "Kind",
    "Status",
]

Status = Literal["verified", "candidates", "not_found"]
Kind = Literal["address", "block", "intersection", "street"]
Point = tuple[float, float]  # (lat, lon)

#: House points are set this far off the centre line, on their side of the street.
SIDE_OFFSET_M = 5.0
#: Two streets with no common node still meet where their lines come this close.
TOUCH_M = 15.0
#: Points of one match this close together are one place (a divided road's two sides).
SAME_PLACE_M = 100.0
#: A reverse point this close to a block's end is named by that intersection.
AT_CORNER_M = 20.0
_FUZZY_CUTOFF = 0.8


@dataclass(frozen=True, slots=True)
class Candidate:
    """A place an input could mean, or a suggestion: ``label`` is what the call-taker sees
    ("1200 MARKET ST", "MISSION ST/24TH ST"); ``distance_m`` is set by :meth:`Geocoder.reverse`
    only (metres from the asked point)."""

    label: str
    kind: Kind
    street: str
    number: int | None
    cross_street: str
    lat: float
    lon: float
    score: float
    distance_m: float | None = None


@dataclass(frozen=True, slots=True)
class GeocodeResult:
    """The answer for one input: ``lat``/``lon`` only when ``verified``; ``matched`` the
    canonical address ("1234 MISSION ST", "MISSION ST/24TH ST", "0 BLOCK OF BALCETA AVE");
    ``reason`` why it is not verified ("" when it is)."""

    input: str
    status: Status
    lat: float | None
    lon: float | None
    matched: str
    candidates: list[Candidate] = field(default_factory=list)
    reason: str = ""
    unit: str = ""


def _found(text: str, matched: str, point: Point, unit: str = "") -> GeocodeResult:
    return GeocodeResult(text, "verified", point[0], point[1], matched, [], "", unit)


def _open(
    text: str, why: str, cands: list[Candidate], matched: str = "", unit: str = ""
) -> GeocodeResult:
    status: Status = "candidates" if cands else "not_found"
    return GeocodeResult(text, status, None, None, matched, cands, why, unit)


class Geocoder:
    """Geocoding over one index (:meth:`load`). Immutable after construction (the fuzzy index
    is built on first use; a race only builds it twice) and safe to share between threads."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[Any]], meta: Mapping[str, Any]) -> None:
        """``arrays`` as ``address_derive.write_index`` stores them. Raises ``ValueError`` on
        inconsistent arrays."""
        self.meta = dict(meta)
        self.names = display_names([str(n) for n in arrays["street_names"]])
        self._node_lat = np.asarray(arrays["node_lat"], np.float64) / 1e6
        self._node_lon = np.asarray(arrays["node_lon"], np.float64) / 1e6
        self._node_ptr = np.asarray(arrays["node_street_ptr"], np.int64)
        self._node_street = np.asarray(arrays["node_street"], np.int64)
        self._street = np.asarray(arrays["block_street"], np.int64)
        self._ends = np.stack([arrays["block_from"], arrays["block_to"]], 1).astype(np.int64)
        self._ranges = np.asarray(arrays["block_ranges"], np.int64).reshape(-1, 4)
        ptr = np.asarray(arrays["block_ptr"], np.int64)
        n_nodes, n_blocks = self._node_lat.shape[0], self._street.shape[0]
        aliases = [str(a) for a in arrays["alias_names"]]
        alias_street = np.asarray(arrays["alias_street"], np.int64)
        if (
            ptr.shape != (n_blocks + 1,)
            or self._node_ptr.shape != (n_nodes + 1,)
            or self._ranges.shape[0] != n_blocks
            or alias_street.shape != (len(aliases),)
            or (n_blocks and int(self._ends.max()) >= n_nodes)
            or bool(np.any(np.concatenate([self._street, alias_street]) >= len(self.names)))
            or bool(np.any(np.diff(self._street) < 0))
        ):
            raise ValueError("address index arrays are inconsistent")
        lat0 = round(float(self._node_lat.mean()), 3) if n_nodes else 0.0
        lon0 = round(float(self._node_lon.mean()), 3) if n_nodes else 0.0
        self._proj = LocalProjection(lat0, lon0)
        self._build_geometry(arrays, ptr)
        self._build_names(aliases, alias_street.tolist())
        self._build_crossings()

    # --- loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Geocoder:
        """Read an index written by ``address_derive.write_index``. Raises ``OSError`` if
        unreadable and ``ValueError`` on a malformed file or another format version."""
        with np.load(Path(path), allow_pickle=False) as data:
            version = int(data["version"])
            if version != FORMAT_VERSION:
                raise ValueError(f"{path}: address index format {version}, not {FORMAT_VERSION}")
            arrays = {name: data[name] for name in data.files}
        return cls(arrays, json.loads(str(arrays.pop("meta"))))

    @staticmethod
    @functools.cache
    def load_default() -> Geocoder:
        """The shipped index, ``resources/geo/addresses.npz`` (read once, then shared)."""
        return Geocoder.load(resource_path("geo", "addresses.npz"))

    def _build_geometry(self, arrays: Mapping[str, npt.NDArray[Any]], ptr: Any) -> None:
        """Projected block lines, each vertex's distance along its block, and segments."""
        vx, vy = self._proj.to_xy(
            np.asarray(arrays["vertex_lat"], np.float64) / 1e6,
            np.asarray(arrays["vertex_lon"], np.float64) / 1e6,
        )
        counts = np.diff(ptr)
        owner = np.repeat(np.arange(counts.shape[0]), counts)
        step = np.hypot(np.diff(vx, prepend=vx[:1]), np.diff(vy, prepend=vy[:1]))
        step[ptr[:-1][counts > 0]] = 0.0  # each block starts at 0
        run = np.cumsum(step)
        self._along = run - np.repeat(run[ptr[:-1][counts > 0]], counts[counts > 0])
        self._vx, self._vy, self._ptr = vx, vy, ptr
        self._length = np.zeros(counts.shape[0])
        self._length[counts > 0] = self._along[ptr[1:][counts > 0] - 1]
        self._seg = np.nonzero(owner[1:] == owner[:-1])[0]  # segment i: vertex i to i + 1
        self._seg_block = owner[self._seg]

    def _build_names(self, aliases: list[str], alias_street: list[int]) -> None:
        """Keys of own names and aliases, bases, the prefix index, block slices."""
        self._own: defaultdict[str, list[int]] = defaultdict(list)
        self._other: defaultdict[str, list[int]] = defaultdict(list)
        self._bare: defaultdict[str, list[int]] = defaultdict(list)
        self._keys = [""] * len(self.names)  # own keys
        self._base: defaultdict[str, list[int]] = defaultdict(list)
        entries: set[tuple[str, int]] = set()
        self._first = np.searchsorted(self._street, np.arange(len(self.names) + 1))
        self._size = np.diff(self._first)  # blocks per street
        located = (self._size > 0) | np.isin(np.arange(len(self.names)), self._node_street)
        for names, index, street_of in (
            (self.names, self._own, range(len(self.names))),
            (aliases, self._other, alias_street),
        ):
            for name, street in zip(names, street_of, strict=True):
                if not located[street]:  # no block or node of it placed: not on the map
                    continue
                key = street_key(name)
                if index is self._own:
                    self._keys[street] = key
                index[key].append(street)
                self._bare[street_bare(key)].append(street)
                self._base[street_base(key)].append(street)
                words = key.split()
                entries |= {(" ".join(words[j:]), street) for j in range(max(len(words) - 1, 1))}
        self._prefix = sorted(entries)
        self._prefix_keys = [e[0] for e in self._prefix]
        self._fuzzy: FuzzyNames | None = None

    def _build_crossings(self) -> None:
        """(street, street) -> nodes where they meet, as a sorted key array."""
        ptr, members = self._node_ptr, self._node_street
        degree = np.diff(ptr)
        node = np.repeat(np.arange(degree.shape[0]), degree)  # of each membership
        partners = degree[node]
        first = np.repeat(members, partners)
        at = np.repeat(node, partners)
        offset = np.arange(first.shape[0]) - np.repeat(np.cumsum(partners) - partners, partners)
        second = members[ptr[at] + offset]
        keep = first != second
        keys = first[keep] * len(self.names) + second[keep]
        order = np.argsort(keys, kind="stable")
        self._cross_key, self._cross_node = keys[order], at[keep][order]

    # --- streets ------------------------------------------------------------------------------

    def _tiers(self, text: str) -> list[tuple[int, ...]]:
        """The streets ``text`` may name, in the tiers of the module docstring (each tier holds
        only streets no earlier tier held; empty tiers left out)."""
        key = street_key(text)
        if not key:
            return []
        base = street_base(key)
        bare = self._bare.get(street_bare(key), [])
        tiers = [self._own.get(key, []), self._other.get(key, []), bare]
        if not any(tiers) or base == key:  # another type only when nothing or no type was given
            tiers.append(self._base.get(base, []))
        if not any(tiers):  # a misspelling: the nearest names, compared without their type
            if self._fuzzy is None:
                self._fuzzy = FuzzyNames(self._base)
            found = self._fuzzy.match(base, limit=4, cutoff=_FUZZY_CUTOFF)
            best = [k for k, ratio in found if ratio >= found[0][1] - 0.02] if found else []
            near = [i for k in best for i in self._base[k]]
            typed = [i for i in near if key != base and self._keys[i].endswith(key[len(base) :])]
            tiers.append(typed or near)
        out: list[tuple[int, ...]] = []
        seen: set[int] = set()
        for tier in tiers:
            fresh = tuple(sorted(set(tier) - seen))
            if fresh:
                out.append(fresh)
                seen |= set(fresh)
        return out

    def _names(self, ids: tuple[int, ...] | list[int]) -> str:
        return ", ".join(self.names[i] for i in ids)

    def _blocks(self, street: int) -> range:
        return range(int(self._first[street]), int(self._first[street + 1]))

    def _extent(self, blocks: range | list[int] | int) -> tuple[int, int] | None:
        """Lowest and highest house number of the block(s), None if they have none."""
        r = self._ranges[blocks]
        numbers = r[r > 0]
        return (int(numbers.min()), int(numbers.max())) if numbers.size else None

    # --- geometry -----------------------------------------------------------------------------

    def _at(self, block: int, metres: float, offset: float) -> Point:
        """The point ``metres`` along ``block`` from its FROM end, ``offset`` metres to the left
        of the direction of travel (negative: right); rounded to 1e-6 degree."""
        a, b = int(self._ptr[block]), int(self._ptr[block + 1])
        along = self._along[a:b]
        i = min(max(int(np.searchsorted(along, metres, side="right")) - 1, 0), b - a - 2)
        x0, y0, x1, y1 = self._vx[a + i], self._vy[a + i], self._vx[a + i + 1], self._vy[a + i + 1]
        piece = max(float(along[i + 1] - along[i]), 1e-9)
        t = min(max((metres - float(along[i])) / piece, 0.0), 1.0)
        x = x0 + t * (x1 - x0) - offset * (y1 - y0) / piece
        y = y0 + t * (y1 - y0) + offset * (x1 - x0) / piece
        lat, lon = self._proj.to_latlon(x, y)
        return round(float(lat), 6), round(float(lon), 6)

    def _house(self, block: int, side: int, number: int) -> Point:
        """``number`` on ``side`` (0 left, 1 right) of ``block``: the side's houses share its
        length evenly, each at the middle of its share."""
        f, t = (int(v) for v in self._ranges[block, 2 * side : 2 * side + 2])
        houses = abs(t - f) // 2 + 1
        k = min(abs(number - f) // 2, houses - 1)
        metres = (k + 0.5) / houses * float(self._length[block])
        return self._at(block, metres, SIDE_OFFSET_M if side == 0 else -SIDE_OFFSET_M)

    def _on_centre(self, block: int, number: float) -> Point:
        """The centre-line point of ``number`` along ``block`` (either side's range)."""
        lo, hi = self._extent(block) or (0, 0)
        u = 0.5 if hi <= lo else min(max((number - lo) / (hi - lo), 0.0), 1.0)
        lf, lt, rf, rt = (int(v) for v in self._ranges[block])
        ascending = (lt >= lf) if (lf or lt) else (rt >= rf)
        return self._at(block, (u if ascending else 1.0 - u) * float(self._length[block]), 0.0)

    def _node(self, node: int) -> Point:
        return round(float(self._node_lat[node]), 6), round(float(self._node_lon[node]), 6)

    def _houses(self, street: int, number: int) -> list[tuple[int, int]]:
        """(block, side) of ``street`` whose range holds ``number`` with its parity."""
        blocks = self._blocks(street)
        found = _holding(self._ranges[blocks.start : blocks.stop], number)
        return [(blocks.start + int(b), int(side)) for b, side in found]

    # --- geocode ------------------------------------------------------------------------------

    def geocode(self, text: str) -> GeocodeResult:
        """Verify and place one address line (see the module docstring). Never raises."""
        parsed = parse(text)
        if parsed.kind == "empty":
            return _open(text, "nothing to look up", [])
        if parsed.kind == "intersection":
            return self._intersection(text, parsed.street, parsed.cross)
        tiers = self._tiers(parsed.street)
        if not tiers:
            return _open(text, f"no street named {parsed.street.strip()!r}", [], "", parsed.unit)
        if parsed.number is None:
            why = "no house number or cross street"
            if len(tiers[0]) > 1:
                why = f"several streets match {parsed.street.strip()!r}; {why}"
            cands = [self._street_candidate(s) for s in tiers[0][:8]]
            return _open(text, why, cands, "", parsed.unit)
        if parsed.kind == "block":
            return self._block(text, tiers, parsed.number, parsed.unit)
        return self._address(text, tiers, parsed.number, parsed.unit)

    def _address(
        self, text: str, tiers: list[tuple[int, ...]], number: int, unit: str
    ) -> GeocodeResult:
        for ids in tiers:
            hits = [(s, h) for s in ids if (h := self._houses(s, number))]
            cands = [
                self._candidate(f"{number} {self.names[s]}", "address", s, number, p)
                for s, places in hits
                for p in [self._house(b, side, number) for b, side in places]
            ]
            if len(hits) == 1 and _spread([(c.lat, c.lon) for c in cands]) <= SAME_PLACE_M:
                return _found(text, cands[0].label, (cands[0].lat, cands[0].lon), unit)
            if len(hits) == 1:
                why = f"{cands[0].label} is on {len(cands)} blocks far apart"
                return _open(text, why, cands, cands[0].label, unit)
            if hits:
                why = f"several streets match: {self._names([s for s, _ in hits])}"
                return _open(text, why, cands[:8], "", unit)
        return self._no_house(text, tiers[0], number, unit)

    def _no_house(self, text: str, ids: tuple[int, ...], number: int, unit: str) -> GeocodeResult:
        """No block holds the number: say so, and offer the nearest numbers that exist."""
        spans, cands = [], []
        for s in ids:
            extent = self._extent(self._blocks(s))
            if extent is not None:
                spans.append(f"{self.names[s]} ({extent[0]}\u2013{extent[1]})")
                cands.append(self._near_number(s, number))
        if not spans:
            cands = [self._street_candidate(s) for s in ids[:8]]
            return _open(text, f"{self._names(ids)} has no house numbers", cands, "", unit)
        return _open(text, f"no house {number} on {', '.join(spans)}", cands, "", unit)

    def _near_number(self, street: int, number: int) -> Candidate:
        """The existing house nearest ``number`` on ``street`` (which has house numbers)."""
        best = (math.inf, 0, 0, 0)
        for b in self._blocks(street):
            for side in (0, 1):
                f, t = (int(v) for v in self._ranges[b, 2 * side : 2 * side + 2])
                if f or t:
                    n = min(max(number, min(f, t)), max(f, t))
                    n += (n - (f or t)) % 2 * (1 if n < max(f, t) else -1)
                    best = min(best, (abs(n - number), n, b, side))
        _, n, b, side = best
        label = f"{n} {self.names[street]}"
        return self._candidate(label, "address", street, n, self._house(b, side, n), 0.5)

    def _block(
        self, text: str, tiers: list[tuple[int, ...]], number: int, unit: str
    ) -> GeocodeResult:
        hundred = number // 100 * 100
        for ids in tiers:
            hits = []
            for s in ids:
                blocks = [b for b in self._blocks(s) if _overlaps(self._extent(b), hundred)]
                if blocks:
                    hits.append((s, self._hundred_point(blocks, hundred)))
            cands = [
                self._candidate(f"{hundred} BLOCK OF {self.names[s]}", "block", s, hundred, p)
                for s, p in hits
            ]
            if len(hits) == 1:
                return _found(text, cands[0].label, hits[0][1], unit)
            if hits:
                why = f"several streets match: {self._names([s for s, _ in hits])}"
                return _open(text, why, cands[:8], "", unit)
        return self._no_house(text, tiers[0], hundred, unit)

    def _hundred_point(self, blocks: list[int], hundred: int) -> Point:
        """The middle of a hundred block: the centre-line point of its middle number on the
        block(s) holding it (averaged over a divided road's two sides)."""
        extents = [self._extent(b) or (0, 0) for b in blocks]
        low = min(max(lo, hundred) for lo, _ in extents)
        middle = (low + max(min(hi, hundred + 99) for _, hi in extents)) / 2.0
        holding = [b for b, (lo, hi) in zip(blocks, extents, strict=True) if lo <= middle <= hi]
        if not holding:
            holding = [min(blocks, key=lambda b: _gap(self._extent(b), middle))]
        points = [self._on_centre(b, middle) for b in holding]
        if _spread(points) > SAME_PLACE_M:
            points = points[:1]
        return _mean(points)

    def _intersection(self, text: str, first: str, second: str) -> GeocodeResult:
        ta, tb = self._tiers(first), self._tiers(second)
        for tiers, name in ((ta, first), (tb, second)):
            if not tiers:
                return _open(text, f"no street named {name.strip()!r}", [])
        pairs = sorted(
            ((i + j, i, a, b) for i, a in enumerate(ta) for j, b in enumerate(tb)),
            key=lambda p: p[:2],
        )
        for _, _, a, b in pairs:
            meets = self._meetings(a, b)
            if meets:
                return self._met(text, meets)
        for rank, _, a, b in pairs:
            touch = self._touch(a, b) if rank <= 1 else None
            if touch is not None:
                s, t, point = touch
                return _found(text, f"{self.names[s]}/{self.names[t]}", point)
        why = f"{self._names(ta[0])} and {self._names(tb[0])} do not meet"
        streets = [self._street_candidate(s) for s in (*ta[0], *tb[0])][:8]
        return GeocodeResult(text, "not_found", None, None, "", streets, why)

    def _met(self, text: str, meets: list[tuple[int, int, int]]) -> GeocodeResult:
        pairs = sorted({(s, t) for s, t, _ in meets})
        if len(pairs) > 1:
            why = f"several streets match: {self._names(sorted({x for p in pairs for x in p}))}"
            return _open(text, why, [self._crossing(s, t, n) for s, t, n in meets][:8])
        s, t = pairs[0]
        label = f"{self.names[s]}/{self.names[t]}"
        points = [self._node(n) for _, _, n in meets]
        if _spread(points) <= SAME_PLACE_M:
            return _found(text, label, _mean(points))
        why = f"{self.names[s]} and {self.names[t]} meet at {len(meets)} places"
        return _open(text, why, [self._crossing(s, t, n, True) for _, _, n in meets], label)

    def _meetings(self, a: tuple[int, ...], b: tuple[int, ...]) -> list[tuple[int, int, int]]:
        """(street of ``a``, street of ``b``, node) for every node where they meet."""
        out = []
        for i in a:
            for j in b:
                key = i * len(self.names) + j
                lo, hi = np.searchsorted(self._cross_key, [key, key + 1])
                out += [(i, j, int(n)) for n in self._cross_node[lo:hi]]
        return sorted(out)

    def _touch(self, a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, int, Point] | None:
        """Where lines of a street of ``a`` and one of ``b`` come within :data:`TOUCH_M`:
        the closest such place, as the middle of the gap."""
        best: tuple[float, int, int, Point] | None = None
        for i in a:
            for j in b:
                gap = self._closest(i, j)
                if gap is not None and gap[0] <= TOUCH_M and (best is None or gap[0] < best[0]):
                    best = (gap[0], i, j, gap[1])
        return None if best is None else best[1:]

    def _closest(self, street: int, other: int) -> tuple[float, Point] | None:
        """Smallest distance from a vertex of ``street``'s blocks to ``other``'s segments."""
        mine, theirs = self._blocks(street), self._blocks(other)
        vertices = np.arange(self._ptr[mine.start], self._ptr[mine.stop])
        lo, hi = np.searchsorted(self._seg_block, [theirs.start, theirs.stop])
        seg = self._seg[lo:hi]
        if not vertices.size or not seg.size:
            return None
        px, py = self._vx[vertices][:, None], self._vy[vertices][:, None]
        gap, fx, fy = _to_segments(px, py, self._vx, self._vy, seg)
        k = np.unravel_index(int(np.argmin(gap)), gap.shape)
        lat, lon = self._proj.to_latlon((px[k[0], 0] + fx[k]) / 2, (py[k[0], 0] + fy[k]) / 2)
        return float(gap[k]), (round(float(lat), 6), round(float(lon), 6))

    # --- candidates ---------------------------------------------------------------------------

    def _candidate(
        self, label: str, kind: Kind, street: int, number: int | None, p: Point, score: float = 1.0
    ) -> Candidate:
        return Candidate(label, kind, self.names[street], number, "", p[0], p[1], score)

    def _crossing(self, s: int, t: int, node: int, numbered: bool = False) -> Candidate:
        label = f"{self.names[s]}/{self.names[t]}"
        if numbered:  # streets that meet more than once: say near which house of the first
            lows = [
                e[0] for b in self._blocks(s) if node in self._ends[b] and (e := self._extent(b))
            ]
            label += f" (near {min(lows)} {self.names[s]})" if lows else ""
        lat, lon = self._node(node)
        return Candidate(label, "intersection", self.names[s], None, self.names[t], lat, lon, 1.0)

    def _street_candidate(self, street: int) -> Candidate:
        """A street as a whole: the middle of its middle block (or a node it crosses)."""
        blocks = self._blocks(street)
        if blocks:
            middle = blocks[len(blocks) // 2]
            point = self._at(middle, float(self._length[middle]) / 2.0, 0.0)
        else:
            member = int(np.nonzero(self._node_street == street)[0][0])
            point = self._node(int(np.searchsorted(self._node_ptr, member, side="right")) - 1)
        return self._candidate(self.names[street], "street", street, None, point, 0.5)

    # --- suggest ------------------------------------------------------------------------------

    def suggest(self, text: str, limit: int = 8) -> list[Candidate]:
        """Completions of a partly typed address, best first (see the module docstring):
        streets for a name, houses for a number and a name, intersections after "/" or "&";
        for a number alone, numbered streets ("12TH ST") then streets with that house."""
        partial = parse_partial(text)
        if limit <= 0 or (not partial.street and partial.number is None):
            return []
        if partial.cross is not None:
            return self._suggest_crossings(partial.street, partial.cross, limit)
        if partial.number is None:
            return [self._street_candidate(s) for s in self._prefixed(partial.street)[:limit]]
        number, out = partial.number, []
        if partial.street:
            streets = self._prefixed(partial.street)
        else:
            out = [self._street_candidate(s) for s in self._prefixed(str(number))[:limit]]
            blocks = np.unique(_holding(self._ranges, number)[:, 0])
            streets = sorted(set(self._street[blocks].tolist()), key=self._rank)
        for s in streets:
            if len(out) >= limit:
                break
            places = self._houses(s, number)
            if places:
                house = self._house(*places[0], number)
                out.append(
                    self._candidate(f"{number} {self.names[s]}", "address", s, number, house)
                )
        return out

    def _rank(self, street: int) -> tuple[int, str]:
        return -int(self._size[street]), self.names[street]

    def _prefixed(self, prefix: str) -> list[int]:
        """Streets with a name (own or other) whose words from some word on start with
        ``prefix``: whole-name matches first, then bigger streets, then by name."""
        lo = bisect.bisect_left(self._prefix_keys, prefix)
        hi = bisect.bisect_left(self._prefix_keys, prefix + "\uffff", lo)
        ids = {self._prefix[i][1] for i in range(lo, hi)}
        whole = {i for i in ids if street_key(self.names[i]).startswith(prefix)}
        return sorted(ids, key=lambda i: (i not in whole, *self._rank(i)))

    def _suggest_crossings(self, first: str, cross: str, limit: int) -> list[Candidate]:
        out: list[Candidate] = []
        n = len(self.names)
        for street in self._prefixed(first)[:3]:
            lo, hi = np.searchsorted(self._cross_key, [street * n, (street + 1) * n])
            nodes: dict[int, int] = {}
            for key, node in zip(self._cross_key[lo:hi], self._cross_node[lo:hi], strict=True):
                other = int(key) % n
                if other not in nodes and street_key(self.names[other]).startswith(cross):
                    nodes[other] = int(node)
            out += [self._crossing(street, o, nodes[o]) for o in sorted(nodes, key=self._rank)]
            if len(out) >= limit:
                break
        return out[:limit]

    # --- reverse ------------------------------------------------------------------------------

    def reverse(self, lat: float, lon: float, max_distance_m: float = 150.0) -> Candidate | None:
        """The address nearest (``lat``, ``lon``): the nearest block's interpolated house on
        the nearer side, or the intersection when the point is within :data:`AT_CORNER_M` of
        the block's end, or the street when the block has no numbers; ``distance_m`` from the
        point to it. None beyond ``max_distance_m`` (or for a point that is not finite)."""
        if not (math.isfinite(lat) and math.isfinite(lon)) or not self._seg.size:
            return None
        px, py = (np.asarray([[float(v)]]) for v in self._proj.to_xy(lat, lon))
        gap, fx, fy = _to_segments(px, py, self._vx, self._vy, self._seg)
        k = int(np.argmin(gap[0]))
        if float(gap[0, k]) > max_distance_m:
            return None
        seg, block = int(self._seg[k]), int(self._seg_block[k])
        done = math.hypot(float(fx[0, k]) - self._vx[seg], float(fy[0, k]) - self._vy[seg])
        metres = float(self._along[seg]) + done
        dx, dy = self._vx[seg + 1] - self._vx[seg], self._vy[seg + 1] - self._vy[seg]
        cross = dx * (float(py[0, 0]) - self._vy[seg]) - dy * (float(px[0, 0]) - self._vx[seg])
        street, length = int(self._street[block]), float(self._length[block])
        where: Callable[[Candidate], Candidate] = functools.partial(self._distance, lat, lon)
        for end, at in ((0, metres), (1, length - metres)):
            if at <= AT_CORNER_M:
                node = int(self._ends[block, end])
                lo, hi = self._node_ptr[node], self._node_ptr[node + 1]
                others = [int(o) for o in self._node_street[lo:hi] if o != street]
                if others:
                    return where(self._crossing(street, min(others, key=self._rank), node))
        order = (0, 1) if cross >= 0 else (1, 0)  # the nearer side first
        for side in order:
            f, t = (int(v) for v in self._ranges[block, 2 * side : 2 * side + 2])
            if f or t:
                houses = abs(t - f) // 2 + 1
                k_house = min(max(int(metres / max(length, 1e-9) * houses), 0), houses - 1)
                number = f + 2 * k_house * (1 if t >= f else -1)
                label = f"{number} {self.names[street]}"
                point = self._house(block, side, number)
                return where(self._candidate(label, "address", street, number, point))
        point = self._at(block, metres, 0.0)
        return where(replace(self._street_candidate(street), lat=point[0], lon=point[1]))

    def _distance(self, lat: float, lon: float, cand: Candidate) -> Candidate:
        x0, y0 = self._proj.to_xy(lat, lon)
        x1, y1 = self._proj.to_xy(cand.lat, cand.lon)
        return replace(cand, distance_m=round(float(np.hypot(x1 - x0, y1 - y0)), 1))


def _to_segments(px: Any, py: Any, vx: Any, vy: Any, seg: Any) -> tuple[Any, Any, Any]:
    """Distances from points (column arrays) to segments ``vx[seg] -> vx[seg + 1]``, and the
    foot points, each of shape (points, segments)."""
    x0, y0 = vx[seg][None, :], vy[seg][None, :]
    dx, dy = vx[seg + 1][None, :] - x0, vy[seg + 1][None, :] - y0
    t = np.clip(((px - x0) * dx + (py - y0) * dy) / np.maximum(dx * dx + dy * dy, 1e-9), 0, 1)
    fx, fy = x0 + t * dx, y0 + t * dy
    return np.hypot(px - fx, py - fy), fx, fy


def _holding(ranges: Any, number: int) -> Any:
    """(row, side) of the ``ranges`` rows (left from, left to, right from, right to) whose side
    holds ``number`` with its parity, as an (n, 2) array in row order."""
    f, t = ranges[:, 0::2], ranges[:, 1::2]
    start = np.where(f > 0, f, t)
    inside = (np.minimum(f, t) <= number) & (number <= np.maximum(f, t))
    ok = ((f > 0) | (t > 0)) & inside & ((number - start) % 2 == 0)
    return np.argwhere(ok)


def _spread(points: list[Point]) -> float:
    """Largest distance in metres from the first point to the others."""
    if len(points) < 2:
        return 0.0
    lat0, lon0 = points[0]
    kx = math.cos(math.radians(lat0)) * 111_195.0
    return max(math.hypot((p[1] - lon0) * kx, (p[0] - lat0) * 111_195.0) for p in points)


def _mean(points: list[Point]) -> Point:
    n = len(points)
    return round(sum(p[0] for p in points) / n, 6), round(sum(p[1] for p in points) / n, 6)


def _overlaps(extent: tuple[int, int] | None, hundred: int) -> bool:
    return extent is not None and extent[0] <= hundred + 99 and extent[1] >= hundred


def _gap(extent: tuple[int, int] | None, number: float) -> float:
    return math.inf if extent is None else min(abs(number - extent[0]), abs(number - extent[1]))
