"""The roads as the map draws them: every TIGER line with its drawing class and street name.

The routing graph (``sf_roads.npz``, `desktop.geo.roads`) keeps neither road classes nor names,
and it is noded and split for routing; the map needs the opposite: lines as drawn, a class to
style them by and a name to label them with. ``dispatch-server gis-import --render`` writes
``resources/geo/sf_roads_render.npz`` from the same TIGER file with :func:`derive_render` and
:func:`write_render`; the workstation reads it with :func:`load_render` (numpy only, no scipy:
the map loads without the road graph).

Drawing classes (:data:`CLASSES`, bottom to top), from the TIGER MTFCC code and the name:

- ``freeway``: S1100 (limited-access primary roads) and lines named "Fwy";
- ``ramp``: S1630 and lines named "Ramp"/"Rmp";
- ``primary``: S1200 (TIGER's "secondary roads": US and state routes on city streets);
- ``secondary``: S1400 streets whose name has at least :data:`ARTERIAL_M` of S1400 lines in the
  file (long through streets: Geary Blvd, Mission St, 3rd St...; TIGER has no functional class,
  so length stands in for it);
- ``local``: the other S1400 streets;
- ``service``: S1500, S1640, S1730, S1740, S1780 (trails, service drives, alleys, private and
  parking-lot roads);
- ``path``: S1710, S1720, S1820, S1830 (walkways, stairs, bike and bridle paths).

S1750 (Census Bureau internal use) and unknown codes are left out, and counted.

File format (version :data:`FORMAT_VERSION`, compressed ``.npz`` with fixed zip timestamps and
entry order: the same input gives the same bytes, whatever the order of its lines):

- ``version`` (int64), ``meta`` (JSON text: source, sha256, classes, counts, centre);
- ``names`` (unicode, sorted): the street names;
- ``line_class`` (uint8, index into :data:`CLASSES`), ``line_name`` (int32 index into ``names``,
  -1 for an unnamed line), ``line_ptr`` (int32, lines + 1: where each line's vertices start);
  lines are sorted by class, so the vertices of one class are one contiguous run;
- ``vertex_lat``/``vertex_lon`` (int32, degrees x 1e6, ~0.1 m);
- ``vertex_detail`` (uint8): the first zoom level that needs the vertex (`DETAIL_TOLERANCE_M`):
  0 for a line's ends and the vertices a Douglas-Peucker simplification within 4 m keeps, 1
  for those one within 1.5 m keeps, 2 for the rest. A map showing the whole city (8 m or more
  per pixel) draws a third of the segments, a district (2 m or more) under half, both less
  than a pixel from the true line.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from desktop.geo.npz_files import write_npz
from desktop.geo.projection import LocalProjection, equirectangular_m
from desktop.resources import resource_path

__all__ = [
    "ARTERIAL_M",
    "CLASSES",
    "DETAIL_TOLERANCE_M",
    "FORMAT_VERSION",
    "MTFCC_CLASS",
    "LabelAnchors",
    "RoadRender",
    "TigerLine",
    "derive_render",
    "load_render",
    "write_render",
]

FORMAT_VERSION = 1
#: Drawing classes, bottom to top (the order the map draws them in).
CLASSES = ("path", "service", "local", "secondary", "primary", "ramp", "freeway")
#: TIGER MTFCC code -> drawing class (before the name rules of the module docstring).
MTFCC_CLASS: dict[str, str] = {
    "S1100": "freeway",
    "S1200": "primary",
    "S1400": "local",
    "S1500": "service",
    "S1630": "ramp",
    "S1640": "service",
    "S1730": "service",
    "S1740": "service",
    "S1780": "service",
    "S1710": "path",
    "S1720": "path",
    "S1820": "path",
    "S1830": "path",
}
#: A local street with at least this many metres of S1400 lines under its name is ``secondary``.
ARTERIAL_M = 6000.0
#: Douglas-Peucker tolerance (metres) of each level of detail but the last (every vertex).
DETAIL_TOLERANCE_M = (4.0, 1.5)
_FREEWAY_NAME = re.compile(r"\bFwy\b", re.IGNORECASE)
_RAMP_NAME = re.compile(r"\b(Ramp|Rmp)\b", re.IGNORECASE)

I32 = npt.NDArray[np.int32]
F64 = npt.NDArray[np.float64]


class TigerLine(Protocol):
    """What :func:`derive_render` reads of a line (``server.gis_import.RoadLine`` has it):
    ``coords`` as (lon, lat) degrees, the MTFCC code and the full name."""

    @property
    def coords(self) -> Sequence[tuple[float, float]]: ...
    @property
    def mtfcc(self) -> str: ...
    @property
    def name(self) -> str: ...


def _metres(coords: Sequence[tuple[float, float]]) -> float:
    c = np.asarray(coords, np.float64)
    if len(c) < 2:
        return 0.0
    return float(equirectangular_m(c[:-1, 1], c[:-1, 0], c[1:, 1], c[1:, 0]).sum())


def _class_of(line: TigerLine, arterial: set[str]) -> str | None:
    if _RAMP_NAME.search(line.name) or line.mtfcc == "S1630":
        return "ramp"
    if line.mtfcc == "S1100" or (_FREEWAY_NAME.search(line.name) and line.mtfcc in MTFCC_CLASS):
        return "freeway"
    drawn = MTFCC_CLASS.get(line.mtfcc)
    if drawn == "local" and line.name in arterial:
        return "secondary"
    return drawn


def _simplified(x: F64, y: F64, tolerance: float) -> npt.NDArray[np.bool_]:
    """Which vertices of one polyline a Douglas-Peucker simplification within ``tolerance``
    metres keeps (the ends always)."""
    n = len(x)
    keep = np.zeros(n, np.bool_)
    keep[0] = keep[-1] = True
    spans = [(0, n - 1)]
    while spans:
        a, b = spans.pop()
        if b <= a + 1:
            continue
        dx, dy = x[b] - x[a], y[b] - y[a]
        length = math.hypot(dx, dy)
        ux, uy = x[a + 1 : b] - x[a], y[a + 1 : b] - y[a]
        off = np.abs(ux * dy - uy * dx) / length if length > 0 else np.hypot(ux, uy)
        i = int(np.argmax(off))
        if off[i] > tolerance:
            keep[a + 1 + i] = True
            spans += [(a, a + 1 + i), (a + 1 + i, b)]
    return keep


def _details(lat: I32, lon: I32, ptr: I32, projection: LocalProjection) -> npt.NDArray[np.uint8]:
    x, y = projection.to_xy(lat / 1e6, lon / 1e6)
    detail = np.full(len(lat), len(DETAIL_TOLERANCE_M), np.uint8)
    for a, b in zip(ptr[:-1].tolist(), ptr[1:].tolist(), strict=True):
        for level in range(len(DETAIL_TOLERANCE_M) - 1, -1, -1):
            kept = _simplified(x[a:b], y[a:b], DETAIL_TOLERANCE_M[level])
            detail[a:b][kept] = level
    return detail


def derive_render(lines: Iterable[TigerLine]) -> tuple[dict[str, npt.NDArray[Any]], dict[str, Any]]:
    """The arrays of the render file (format in the module docstring) and what was kept and
    left out (``meta`` counts: ``lines_by_class``, ``left_out`` by MTFCC, ``centre``).
    Lines with fewer than two distinct vertices are left out. Deterministic: the same lines in
    any order give the same arrays."""
    given = list(lines)
    named_m: dict[str, float] = defaultdict(float)
    for line in given:
        if line.mtfcc == "S1400" and line.name:
            named_m[line.name] += _metres(line.coords)
    arterial = {name for name, metres in named_m.items() if metres >= ARTERIAL_M}
    kept: list[tuple[int, str, tuple[tuple[int, int], ...]]] = []
    left_out: Counter[str] = Counter()
    for line in given:
        drawn = _class_of(line, arterial)
        vertices = tuple((round(lat * 1e6), round(lon * 1e6)) for lon, lat in line.coords)
        if drawn is None or len(set(vertices)) < 2:
            left_out[line.mtfcc or "?"] += 1
            continue
        kept.append((CLASSES.index(drawn), line.name, vertices))
    kept.sort()
    names = sorted({name for _, name, _ in kept if name})
    index = {name: i for i, name in enumerate(names)}
    counts = [len(v) for _, _, v in kept]
    ptr = np.zeros(len(kept) + 1, np.int32)
    ptr[1:] = np.cumsum(counts, dtype=np.int64)
    flat = np.asarray([p for _, _, v in kept for p in v], np.int32).reshape(-1, 2)
    centre = (
        [round(float(flat[:, 0].min() + flat[:, 0].max()) / 2e6, 3),
         round(float(flat[:, 1].min() + flat[:, 1].max()) / 2e6, 3)]
        if len(flat) else [0.0, 0.0]
    )  # fmt: skip
    lat, lon = np.ascontiguousarray(flat[:, 0]), np.ascontiguousarray(flat[:, 1])
    detail = _details(lat, lon, ptr, LocalProjection(*centre))
    arrays: dict[str, npt.NDArray[Any]] = {
        "names": np.asarray(names, dtype=np.str_),
        "line_class": np.asarray([c for c, _, _ in kept], np.uint8),
        "line_name": np.asarray([index.get(n, -1) for _, n, _ in kept], np.int32),
        "line_ptr": ptr,
        "vertex_lat": lat,
        "vertex_lon": lon,
        "vertex_detail": detail,
    }
    by_class = Counter(CLASSES[c] for c, _, _ in kept)
    meta: dict[str, Any] = {
        "classes": list(CLASSES),
        "lines_by_class": {c: by_class.get(c, 0) for c in CLASSES},
        "left_out": dict(sorted(left_out.items())),
        "arterial_m": ARTERIAL_M,
        "arterial_streets": len(arterial),
        "lines": len(kept),
        "vertices": int(ptr[-1]),
        "vertices_by_detail": [
            int((detail <= d).sum()) for d in range(len(DETAIL_TOLERANCE_M) + 1)
        ],
        "centre": centre,
    }
    return arrays, meta


def write_render(
    path: str | Path, arrays: dict[str, npt.NDArray[Any]], meta: dict[str, Any]
) -> None:
    """Write the render file (byte-identical for identical arrays and meta); replaces ``path``
    atomically."""
    entries = {
        "version": np.asarray(FORMAT_VERSION, np.int64),
        "meta": np.asarray(json.dumps(meta, sort_keys=True)),
        **arrays,
    }
    write_npz(path, entries)


@dataclass(frozen=True)
class LabelAnchors:
    """Where a named line can carry its name: per named line, the ``line`` index, the name
    index, the point halfway along it (``x``, ``y`` metres), the direction there (``angle``,
    degrees counter-clockwise from east, folded into -90..90 so text reads left to right) and
    the line's ``length`` in metres."""

    line: npt.NDArray[np.int64]
    name: I32
    x: F64
    y: F64
    angle: F64
    length: F64


@dataclass(frozen=True)
class RoadRender:
    """The render file in memory: vertices in degrees, lines by class (see the module
    docstring). ``projection`` is the map's: around the file's centre."""

    names: tuple[str, ...]
    line_class: npt.NDArray[np.uint8]
    line_name: I32
    line_ptr: I32
    lat: F64
    lon: F64
    detail: npt.NDArray[np.uint8]
    meta: dict[str, Any]

    @property
    def projection(self) -> LocalProjection:
        lat0, lon0 = self.meta.get("centre", [0.0, 0.0])
        return LocalProjection(float(lat0), float(lon0))

    def class_run(self, name: str) -> tuple[int, int]:
        """The line range [first, stop) of drawing class ``name`` (lines are sorted by class)."""
        code = CLASSES.index(name)
        first = int(np.searchsorted(self.line_class, code, side="left"))
        return first, int(np.searchsorted(self.line_class, code, side="right"))

    def polylines(self, name: str) -> tuple[F64, F64, npt.NDArray[np.bool_]]:
        """The vertices of class ``name`` projected (x, y metres) and ``connect``: True where a
        vertex joins the next one (False at the end of each line), as pyqtgraph takes it."""
        first, stop = self.class_run(name)
        a, b = int(self.line_ptr[first]), int(self.line_ptr[stop])
        x, y = self.projection.to_xy(self.lat[a:b], self.lon[a:b])
        connect = np.ones(b - a, np.bool_)
        ends = self.line_ptr[first + 1 : stop + 1] - a - 1
        connect[ends] = False
        return x, y, connect

    def segments(self, name: str, detail: int = len(DETAIL_TOLERANCE_M)) -> F64:
        """The line segments of class ``name`` at level of ``detail`` (the vertices it needs:
        see the module docstring), projected: ``(n, 4)`` rows of x1, y1, x2, y2 metres (what
        ``QPainter.drawLines`` takes)."""
        first, stop = self.class_run(name)
        a, b = int(self.line_ptr[first]), int(self.line_ptr[stop])
        kept = np.flatnonzero(self.detail[a:b] <= detail) + a
        x, y = self.projection.to_xy(self.lat[kept], self.lon[kept])
        line = np.searchsorted(self.line_ptr, kept, side="right")  # each kept vertex's line
        joined = np.flatnonzero(line[1:] == line[:-1])  # a vertex and the next on one line
        return np.ascontiguousarray(
            np.column_stack([x[joined], y[joined], x[joined + 1], y[joined + 1]]), np.float64
        )

    def label_anchors(self) -> LabelAnchors:
        """The :class:`LabelAnchors` of every named line."""
        x, y = self.projection.to_xy(self.lat, self.lon)
        lines = np.nonzero(self.line_name >= 0)[0]
        starts, stops = self.line_ptr[lines], self.line_ptr[lines + 1]
        seg = np.hypot(np.diff(x), np.diff(y))
        seg[self.line_ptr[1:-1] - 1] = 0.0  # no segment joins one line to the next
        run = np.concatenate([[0.0], np.cumsum(seg)])  # distance along, per vertex
        length = run[stops - 1] - run[starts]
        half = run[starts] + length / 2
        # the segment holding the halfway point: the last vertex of the line at or before it
        at = np.clip(np.searchsorted(run, half, side="right") - 1, starts, stops - 2)
        span = np.maximum(run[at + 1] - run[at], 1e-9)
        t = np.clip((half - run[at]) / span, 0.0, 1.0)
        dx, dy = x[at + 1] - x[at], y[at + 1] - y[at]
        angle = np.degrees(np.arctan2(dy, dx))
        angle = np.where(angle > 90, angle - 180, np.where(angle < -90, angle + 180, angle))
        return LabelAnchors(
            line=lines.astype(np.int64),
            name=self.line_name[lines],
            x=x[at] + t * dx,
            y=y[at] + t * dy,
            angle=angle,
            length=length,
        )

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(x min, y min, x max, y max) of every vertex, metres."""
        x, y = self.projection.to_xy(self.lat, self.lon)
        if not len(x):
            return (-1000.0, -1000.0, 1000.0, 1000.0)
        return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def load_render(path: str | Path | None = None) -> RoadRender:
    """Read a render file; the default is the shipped ``resources/geo/sf_roads_render.npz``.
    Raises ``OSError`` if unreadable and ``ValueError`` on a malformed file or another format
    version."""
    source = Path(path) if path is not None else resource_path("geo", "sf_roads_render.npz")
    with np.load(source, allow_pickle=False) as data:
        version = int(data["version"])
        if version != FORMAT_VERSION:
            raise ValueError(f"{source}: road render format {version}, expected {FORMAT_VERSION}")
        names = tuple(str(n) for n in data["names"])
        line_class = np.asarray(data["line_class"], np.uint8)
        line_name = np.asarray(data["line_name"], np.int32)
        line_ptr = np.asarray(data["line_ptr"], np.int32)
        lat = np.asarray(data["vertex_lat"], np.float64) / 1e6
        lon = np.asarray(data["vertex_lon"], np.float64) / 1e6
        detail = np.asarray(data["vertex_detail"], np.uint8)
        meta = json.loads(str(data["meta"]))
    n = len(line_class)
    if (
        line_ptr.shape != (n + 1,)
        or line_name.shape != (n,)
        or lat.shape != lon.shape
        or detail.shape != lat.shape
        or (n and (int(line_ptr[-1]) != len(lat) or bool(np.any(np.diff(line_ptr) < 2))))
        or bool(np.any(np.diff(line_class.astype(np.int16)) < 0))
        or (n and int(line_class.max()) >= len(CLASSES))
        or (n and int(line_name.max()) >= len(names))
        or not all(math.isfinite(float(c)) for c in meta.get("centre", [0.0, 0.0]))
    ):
        raise ValueError(f"{source}: road render arrays are inconsistent")
    return RoadRender(names, line_class, line_name, line_ptr, lat, lon, detail, meta)
