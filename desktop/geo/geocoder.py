"""Offline address verification and geocoding for San Francisco (Qt-free, numpy only).

:class:`Geocoder` answers over the index that ``desktop/geo/address_derive.py`` derives from
DataSF's street blocks and TIGER's road lines (``resources/geo/addresses.npz``, see
``resources/geo/addresses.PROVENANCE.md``), read into an
:class:`~desktop.geo.address_index.AddressIndex` (``desktop/geo/address_index.py``: the arrays
and the places they give). This module loads it and verifies; type-ahead and reverse look-ups
are ``desktop/geo/address_lookup.py``'s:

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

import functools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from desktop.geo import address_lookup
from desktop.geo.address_derive import FORMAT_VERSION
from desktop.geo.address_index import (
    SIDE_OFFSET_M,
    AddressIndex,
    Candidate,
    Kind,
    Point,
    to_segments,
)
from desktop.geo.address_parse import FuzzyNames, parse, street_bare, street_base, street_key
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

#: Two streets with no common node still meet where their lines come this close.
TOUCH_M = 15.0
#: Points of one match this close together are one place (a divided road's two sides).
SAME_PLACE_M = 100.0
_FUZZY_CUTOFF = 0.8


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
    is built on first use; a race only builds it twice) and safe to share between threads.
    ``names`` are the streets (DataSF spelling, sorted), ``meta`` the index's meta (sources,
    counts)."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[Any]], meta: Mapping[str, Any]) -> None:
        """``arrays`` as ``address_derive.write_index`` stores them. Raises ``ValueError`` on
        inconsistent arrays."""
        self.meta = dict(meta)
        self._index = AddressIndex(arrays)
        self.names = self._index.names
        self._fuzzy: FuzzyNames | None = None

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

    # --- type-ahead and reverse (desktop/geo/address_lookup.py) -------------------------------

    def suggest(self, text: str, limit: int = 8) -> list[Candidate]:
        """Completions of a partly typed address, best first (see the module docstring):
        streets for a name, houses for a number and a name, intersections after "/" or "&";
        for a number alone, numbered streets ("12TH ST") then streets with that house."""
        return address_lookup.suggest(self._index, text, limit)

    def reverse(self, lat: float, lon: float, max_distance_m: float = 150.0) -> Candidate | None:
        """The address nearest (``lat``, ``lon``): the nearest block's interpolated house on
        the nearer side, or the intersection when the point is within
        :data:`~desktop.geo.address_lookup.AT_CORNER_M` of the block's end, or the street when
        the block has no numbers; ``distance_m`` from the point to it. None beyond
        ``max_distance_m`` (or for a point that is not finite)."""
        return address_lookup.reverse(self._index, lat, lon, max_distance_m)

    # --- streets ------------------------------------------------------------------------------

    def _tiers(self, text: str) -> list[tuple[int, ...]]:
        """The streets ``text`` may name, in the tiers of the module docstring (each tier holds
        only streets no earlier tier held; empty tiers left out)."""
        ix = self._index
        key = street_key(text)
        if not key:
            return []
        base = street_base(key)
        bare = ix.bare.get(street_bare(key), [])
        tiers = [ix.own.get(key, []), ix.other.get(key, []), bare]
        if not any(tiers) or base == key:  # another type only when nothing or no type was given
            tiers.append(ix.base.get(base, []))
        if not any(tiers):  # a misspelling: the nearest names, compared without their type
            if self._fuzzy is None:
                self._fuzzy = FuzzyNames(ix.base)
            found = self._fuzzy.match(base, limit=4, cutoff=_FUZZY_CUTOFF)
            best = [k for k, ratio in found if ratio >= found[0][1] - 0.02] if found else []
            near = [i for k in best for i in ix.base[k]]
            typed = [i for i in near if key != base and ix.keys[i].endswith(key[len(base) :])]
            tiers.append(typed or near)
        out: list[tuple[int, ...]] = []
        seen: set[int] = set()
        for tier in tiers:
            fresh = tuple(sorted(set(tier) - seen))
            if fresh:
                out.append(fresh)
                seen |= set(fresh)
        return out

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
            cands = [self._index.street_candidate(s) for s in tiers[0][:8]]
            return _open(text, why, cands, "", parsed.unit)
        if parsed.kind == "block":
            return self._block(text, tiers, parsed.number, parsed.unit)
        return self._address(text, tiers, parsed.number, parsed.unit)

    def _address(
        self, text: str, tiers: list[tuple[int, ...]], number: int, unit: str
    ) -> GeocodeResult:
        ix = self._index
        for ids in tiers:
            hits = [(s, h) for s in ids if (h := ix.houses(s, number))]
            cands = [
                ix.candidate(f"{number} {ix.names[s]}", "address", s, number, p)
                for s, places in hits
                for p in [ix.house(b, side, number) for b, side in places]
            ]
            if len(hits) == 1 and _spread([(c.lat, c.lon) for c in cands]) <= SAME_PLACE_M:
                return _found(text, cands[0].label, (cands[0].lat, cands[0].lon), unit)
            if len(hits) == 1:
                why = f"{cands[0].label} is on {len(cands)} blocks far apart"
                return _open(text, why, cands, cands[0].label, unit)
            if hits:
                why = f"several streets match: {ix.names_of([s for s, _ in hits])}"
                return _open(text, why, cands[:8], "", unit)
        return self._no_house(text, tiers[0], number, unit)

    def _no_house(self, text: str, ids: tuple[int, ...], number: int, unit: str) -> GeocodeResult:
        """No block holds the number: say so, and offer the nearest numbers that exist."""
        ix = self._index
        spans, cands = [], []
        for s in ids:
            extent = ix.extent(ix.blocks(s))
            if extent is not None:
                spans.append(f"{ix.names[s]} ({extent[0]}\u2013{extent[1]})")
                cands.append(self._near_number(s, number))
        if not spans:
            cands = [ix.street_candidate(s) for s in ids[:8]]
            return _open(text, f"{ix.names_of(ids)} has no house numbers", cands, "", unit)
        return _open(text, f"no house {number} on {', '.join(spans)}", cands, "", unit)

    def _near_number(self, street: int, number: int) -> Candidate:
        """The existing house nearest ``number`` on ``street`` (which has house numbers)."""
        ix = self._index
        best = (math.inf, 0, 0, 0)
        for b in ix.blocks(street):
            for side in (0, 1):
                f, t = (int(v) for v in ix.ranges[b, 2 * side : 2 * side + 2])
                if f or t:
                    n = min(max(number, min(f, t)), max(f, t))
                    n += (n - (f or t)) % 2 * (1 if n < max(f, t) else -1)
                    best = min(best, (abs(n - number), n, b, side))
        _, n, b, side = best
        label = f"{n} {ix.names[street]}"
        return ix.candidate(label, "address", street, n, ix.house(b, side, n), 0.5)

    def _block(
        self, text: str, tiers: list[tuple[int, ...]], number: int, unit: str
    ) -> GeocodeResult:
        ix = self._index
        hundred = number // 100 * 100
        for ids in tiers:
            hits = []
            for s in ids:
                blocks = [b for b in ix.blocks(s) if _overlaps(ix.extent(b), hundred)]
                if blocks:
                    hits.append((s, self._hundred_point(blocks, hundred)))
            cands = [
                ix.candidate(f"{hundred} BLOCK OF {ix.names[s]}", "block", s, hundred, p)
                for s, p in hits
            ]
            if len(hits) == 1:
                return _found(text, cands[0].label, hits[0][1], unit)
            if hits:
                why = f"several streets match: {ix.names_of([s for s, _ in hits])}"
                return _open(text, why, cands[:8], "", unit)
        return self._no_house(text, tiers[0], hundred, unit)

    def _hundred_point(self, blocks: list[int], hundred: int) -> Point:
        """The middle of a hundred block: the centre-line point of its middle number on the
        block(s) holding it (averaged over a divided road's two sides)."""
        ix = self._index
        extents = [ix.extent(b) or (0, 0) for b in blocks]
        low = min(max(lo, hundred) for lo, _ in extents)
        middle = (low + max(min(hi, hundred + 99) for _, hi in extents)) / 2.0
        holding = [b for b, (lo, hi) in zip(blocks, extents, strict=True) if lo <= middle <= hi]
        if not holding:
            holding = [min(blocks, key=lambda b: _gap(ix.extent(b), middle))]
        points = [ix.on_centre(b, middle) for b in holding]
        if _spread(points) > SAME_PLACE_M:
            points = points[:1]
        return _mean(points)

    # --- intersections ------------------------------------------------------------------------

    def _intersection(self, text: str, first: str, second: str) -> GeocodeResult:
        ix = self._index
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
                return _found(text, f"{ix.names[s]}/{ix.names[t]}", point)
        why = f"{ix.names_of(ta[0])} and {ix.names_of(tb[0])} do not meet"
        streets = [ix.street_candidate(s) for s in (*ta[0], *tb[0])][:8]
        return GeocodeResult(text, "not_found", None, None, "", streets, why)

    def _met(self, text: str, meets: list[tuple[int, int, int]]) -> GeocodeResult:
        ix = self._index
        pairs = sorted({(s, t) for s, t, _ in meets})
        if len(pairs) > 1:
            why = f"several streets match: {ix.names_of(sorted({x for p in pairs for x in p}))}"
            return _open(text, why, [ix.crossing(s, t, n) for s, t, n in meets][:8])
        s, t = pairs[0]
        label = f"{ix.names[s]}/{ix.names[t]}"
        points = [ix.node(n) for _, _, n in meets]
        if _spread(points) <= SAME_PLACE_M:
            return _found(text, label, _mean(points))
        why = f"{ix.names[s]} and {ix.names[t]} meet at {len(meets)} places"
        return _open(text, why, [ix.crossing(s, t, n, True) for _, _, n in meets], label)

    def _meetings(self, a: tuple[int, ...], b: tuple[int, ...]) -> list[tuple[int, int, int]]:
        """(street of ``a``, street of ``b``, node) for every node where they meet."""
        ix = self._index
        out = []
        for i in a:
            for j in b:
                key = i * len(ix.names) + j
                lo, hi = np.searchsorted(ix.cross_key, [key, key + 1])
                out += [(i, j, int(n)) for n in ix.cross_node[lo:hi]]
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
        ix = self._index
        mine, theirs = ix.blocks(street), ix.blocks(other)
        vertices = np.arange(ix.ptr[mine.start], ix.ptr[mine.stop])
        lo, hi = np.searchsorted(ix.seg_block, [theirs.start, theirs.stop])
        seg = ix.seg[lo:hi]
        if not vertices.size or not seg.size:
            return None
        px, py = ix.vx[vertices][:, None], ix.vy[vertices][:, None]
        gap, fx, fy = to_segments(px, py, ix.vx, ix.vy, seg)
        k = np.unravel_index(int(np.argmin(gap)), gap.shape)
        lat, lon = ix.proj.to_latlon((px[k[0], 0] + fx[k]) / 2, (py[k[0], 0] + fy[k]) / 2)
        return float(gap[k]), (round(float(lat), 6), round(float(lon), 6))


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
