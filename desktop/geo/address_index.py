"""The address index as the look-ups read it (Qt-free, numpy only).

:class:`AddressIndex` holds the arrays of one index (``resources/geo/addresses.npz``, written by
``desktop/geo/address_derive.py``) in the shapes that verification
(``desktop/geo/geocoder.py``), type-ahead and reverse geocoding
(``desktop/geo/address_lookup.py``) need: the block lines projected to metres, the keys of the
street names and the prefix index over them, the pairs of streets that meet at a node. It also
has the places they share: a point along a block, a house on its side, a node, a street as a
whole, and the :class:`Candidate` for each.

Left and right are as DataSF gives them: relative to a block's direction of travel, FROM node
to TO node. A house is interpolated along its block on its side, :data:`SIDE_OFFSET_M` off the
centre line. Points are rounded to 1e-6 degree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from desktop.geo.address_parse import display_names, street_bare, street_base, street_key
from desktop.geo.projection import LocalProjection

__all__ = [
    "SIDE_OFFSET_M",
    "AddressIndex",
    "Candidate",
    "Kind",
    "Point",
    "holding",
    "to_segments",
]

Kind = Literal["address", "block", "intersection", "street"]
Point = tuple[float, float]  # (lat, lon)

#: House points are set this far off the centre line, on their side of the street.
SIDE_OFFSET_M = 5.0


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


class AddressIndex:
    """One index, read-only after construction (the attributes are shared, never written) and
    so safe to share between threads.

    Streets are ids into :attr:`names` (DataSF spelling, sorted), blocks are sorted by street
    (:meth:`blocks`), nodes are ids into :attr:`node_lat`/:attr:`node_lon`. Only streets with a
    block or a node placed are in the name indexes (:attr:`own`, :attr:`other`, :attr:`bare`,
    :attr:`base`: key -> street ids; :attr:`prefix`: sorted (words of a key from some word on,
    street)); :attr:`cross_key` holds ``first * len(names) + second`` for each pair of streets
    at a node, sorted, with the node in :attr:`cross_node`."""

    def __init__(self, arrays: Mapping[str, npt.NDArray[Any]]) -> None:
        """``arrays`` as ``address_derive.write_index`` stores them. Raises ``ValueError`` on
        inconsistent arrays."""
        self.names = display_names([str(n) for n in arrays["street_names"]])
        self.node_lat = np.asarray(arrays["node_lat"], np.float64) / 1e6
        self.node_lon = np.asarray(arrays["node_lon"], np.float64) / 1e6
        self.node_ptr = np.asarray(arrays["node_street_ptr"], np.int64)
        self.node_street = np.asarray(arrays["node_street"], np.int64)
        self.street = np.asarray(arrays["block_street"], np.int64)
        self.ends = np.stack([arrays["block_from"], arrays["block_to"]], 1).astype(np.int64)
        self.ranges = np.asarray(arrays["block_ranges"], np.int64).reshape(-1, 4)
        ptr = np.asarray(arrays["block_ptr"], np.int64)
        n_nodes, n_blocks = self.node_lat.shape[0], self.street.shape[0]
        aliases = [str(a) for a in arrays["alias_names"]]
        alias_street = np.asarray(arrays["alias_street"], np.int64)
        if (
            ptr.shape != (n_blocks + 1,)
            or self.node_ptr.shape != (n_nodes + 1,)
            or self.ranges.shape[0] != n_blocks
            or alias_street.shape != (len(aliases),)
            or (n_blocks and int(self.ends.max()) >= n_nodes)
            or bool(np.any(np.concatenate([self.street, alias_street]) >= len(self.names)))
            or bool(np.any(np.diff(self.street) < 0))
        ):
            raise ValueError("address index arrays are inconsistent")
        lat0 = round(float(self.node_lat.mean()), 3) if n_nodes else 0.0
        lon0 = round(float(self.node_lon.mean()), 3) if n_nodes else 0.0
        self.proj = LocalProjection(lat0, lon0)
        self._build_geometry(arrays, ptr)
        self._build_names(aliases, alias_street.tolist())
        self._build_crossings()

    # --- building -----------------------------------------------------------------------------

    def _build_geometry(self, arrays: Mapping[str, npt.NDArray[Any]], ptr: Any) -> None:
        """Projected block lines, each vertex's distance along its block, and segments."""
        vx, vy = self.proj.to_xy(
            np.asarray(arrays["vertex_lat"], np.float64) / 1e6,
            np.asarray(arrays["vertex_lon"], np.float64) / 1e6,
        )
        counts = np.diff(ptr)
        owner = np.repeat(np.arange(counts.shape[0]), counts)
        step = np.hypot(np.diff(vx, prepend=vx[:1]), np.diff(vy, prepend=vy[:1]))
        step[ptr[:-1][counts > 0]] = 0.0  # each block starts at 0
        run = np.cumsum(step)
        self.along = run - np.repeat(run[ptr[:-1][counts > 0]], counts[counts > 0])
        self.vx, self.vy, self.ptr = vx, vy, ptr
        self.length = np.zeros(counts.shape[0])
        self.length[counts > 0] = self.along[ptr[1:][counts > 0] - 1]
        self.seg = np.nonzero(owner[1:] == owner[:-1])[0]  # segment i: vertex i to i + 1
        self.seg_block = owner[self.seg]

    def _build_names(self, aliases: list[str], alias_street: list[int]) -> None:
        """Keys of own names and aliases, bases, the prefix index, block slices."""
        self.own: defaultdict[str, list[int]] = defaultdict(list)
        self.other: defaultdict[str, list[int]] = defaultdict(list)
        self.bare: defaultdict[str, list[int]] = defaultdict(list)
        self.keys = [""] * len(self.names)  # own keys
        self.base: defaultdict[str, list[int]] = defaultdict(list)
        entries: set[tuple[str, int]] = set()
        self.first = np.searchsorted(self.street, np.arange(len(self.names) + 1))
        self.size = np.diff(self.first)  # blocks per street
        located = (self.size > 0) | np.isin(np.arange(len(self.names)), self.node_street)
        for names, index, street_of in (
            (self.names, self.own, range(len(self.names))),
            (aliases, self.other, alias_street),
        ):
            for name, street in zip(names, street_of, strict=True):
                if not located[street]:  # no block or node of it placed: not on the map
                    continue
                key = street_key(name)
                if index is self.own:
                    self.keys[street] = key
                index[key].append(street)
                self.bare[street_bare(key)].append(street)
                self.base[street_base(key)].append(street)
                words = key.split()
                entries |= {(" ".join(words[j:]), street) for j in range(max(len(words) - 1, 1))}
        self.prefix = sorted(entries)
        self.prefix_keys = [e[0] for e in self.prefix]

    def _build_crossings(self) -> None:
        """(street, street) -> nodes where they meet, as a sorted key array."""
        ptr, members = self.node_ptr, self.node_street
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
        self.cross_key, self.cross_node = keys[order], at[keep][order]

    # --- streets ------------------------------------------------------------------------------

    def names_of(self, ids: tuple[int, ...] | list[int]) -> str:
        """The streets' names, comma separated."""
        return ", ".join(self.names[i] for i in ids)

    def blocks(self, street: int) -> range:
        """The blocks of ``street``."""
        return range(int(self.first[street]), int(self.first[street + 1]))

    def extent(self, blocks: range | list[int] | int) -> tuple[int, int] | None:
        """Lowest and highest house number of the block(s), None if they have none."""
        r = self.ranges[blocks]
        numbers = r[r > 0]
        return (int(numbers.min()), int(numbers.max())) if numbers.size else None

    def rank(self, street: int) -> tuple[int, str]:
        """Sort key of streets: bigger (more blocks) first, then by name."""
        return -int(self.size[street]), self.names[street]

    def houses(self, street: int, number: int) -> list[tuple[int, int]]:
        """(block, side) of ``street`` whose range holds ``number`` with its parity."""
        blocks = self.blocks(street)
        found = holding(self.ranges[blocks.start : blocks.stop], number)
        return [(blocks.start + int(b), int(side)) for b, side in found]

    # --- places -------------------------------------------------------------------------------

    def at(self, block: int, metres: float, offset: float) -> Point:
        """The point ``metres`` along ``block`` from its FROM end, ``offset`` metres to the left
        of the direction of travel (negative: right); rounded to 1e-6 degree."""
        a, b = int(self.ptr[block]), int(self.ptr[block + 1])
        along = self.along[a:b]
        i = min(max(int(np.searchsorted(along, metres, side="right")) - 1, 0), b - a - 2)
        x0, y0, x1, y1 = self.vx[a + i], self.vy[a + i], self.vx[a + i + 1], self.vy[a + i + 1]
        piece = max(float(along[i + 1] - along[i]), 1e-9)
        t = min(max((metres - float(along[i])) / piece, 0.0), 1.0)
        x = x0 + t * (x1 - x0) - offset * (y1 - y0) / piece
        y = y0 + t * (y1 - y0) + offset * (x1 - x0) / piece
        lat, lon = self.proj.to_latlon(x, y)
        return round(float(lat), 6), round(float(lon), 6)

    def house(self, block: int, side: int, number: int) -> Point:
        """``number`` on ``side`` (0 left, 1 right) of ``block``: the side's houses share its
        length evenly, each at the middle of its share."""
        f, t = (int(v) for v in self.ranges[block, 2 * side : 2 * side + 2])
        houses = abs(t - f) // 2 + 1
        k = min(abs(number - f) // 2, houses - 1)
        metres = (k + 0.5) / houses * float(self.length[block])
        return self.at(block, metres, SIDE_OFFSET_M if side == 0 else -SIDE_OFFSET_M)

    def on_centre(self, block: int, number: float) -> Point:
        """The centre-line point of ``number`` along ``block`` (either side's range)."""
        lo, hi = self.extent(block) or (0, 0)
        u = 0.5 if hi <= lo else min(max((number - lo) / (hi - lo), 0.0), 1.0)
        lf, lt, rf, rt = (int(v) for v in self.ranges[block])
        ascending = (lt >= lf) if (lf or lt) else (rt >= rf)
        return self.at(block, (u if ascending else 1.0 - u) * float(self.length[block]), 0.0)

    def node(self, node: int) -> Point:
        """Where ``node`` is."""
        return round(float(self.node_lat[node]), 6), round(float(self.node_lon[node]), 6)

    # --- candidates ---------------------------------------------------------------------------

    def candidate(
        self, label: str, kind: Kind, street: int, number: int | None, p: Point, score: float = 1.0
    ) -> Candidate:
        """A candidate on ``street`` at ``p`` (no cross street)."""
        return Candidate(label, kind, self.names[street], number, "", p[0], p[1], score)

    def crossing(self, s: int, t: int, node: int, numbered: bool = False) -> Candidate:
        """Streets ``s`` and ``t`` at ``node``, "S/T"; ``numbered``: "S/T (near 100 S)", the
        lowest house number of ``s``'s blocks at the node, for streets that meet more than
        once."""
        label = f"{self.names[s]}/{self.names[t]}"
        if numbered:
            lows = [e[0] for b in self.blocks(s) if node in self.ends[b] and (e := self.extent(b))]
            label += f" (near {min(lows)} {self.names[s]})" if lows else ""
        lat, lon = self.node(node)
        return Candidate(label, "intersection", self.names[s], None, self.names[t], lat, lon, 1.0)

    def street_candidate(self, street: int) -> Candidate:
        """A street as a whole: the middle of its middle block (or a node it crosses)."""
        blocks = self.blocks(street)
        if blocks:
            middle = blocks[len(blocks) // 2]
            point = self.at(middle, float(self.length[middle]) / 2.0, 0.0)
        else:
            member = int(np.nonzero(self.node_street == street)[0][0])
            point = self.node(int(np.searchsorted(self.node_ptr, member, side="right")) - 1)
        return self.candidate(self.names[street], "street", street, None, point, 0.5)


def to_segments(px: Any, py: Any, vx: Any, vy: Any, seg: Any) -> tuple[Any, Any, Any]:
    """Distances from points (column arrays) to segments ``vx[seg] -> vx[seg + 1]``, and the
    foot points, each of shape (points, segments)."""
    x0, y0 = vx[seg][None, :], vy[seg][None, :]
    dx, dy = vx[seg + 1][None, :] - x0, vy[seg + 1][None, :] - y0
    t = np.clip(((px - x0) * dx + (py - y0) * dy) / np.maximum(dx * dx + dy * dy, 1e-9), 0, 1)
    fx, fy = x0 + t * dx, y0 + t * dy
    return np.hypot(px - fx, py - fy), fx, fy


def holding(ranges: Any, number: int) -> Any:
    """(row, side) of the ``ranges`` rows (left from, left to, right from, right to) whose side
    holds ``number`` with its parity, as an (n, 2) array in row order."""
    f, t = ranges[:, 0::2], ranges[:, 1::2]
    start = np.where(f > 0, f, t)
    inside = (np.minimum(f, t) <= number) & (number <= np.maximum(f, t))
    ok = ((f > 0) | (t > 0)) & inside & ((number - start) % 2 == 0)
    return np.argwhere(ok)
