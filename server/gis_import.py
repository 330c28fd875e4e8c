"""``dispatch-server gis-import``: derive the routing graph from TIGER/Line roads.

    dispatch-server gis-import --roads tl_2017_06075_roads.geojson|.shp --out resources/geo \
        [--render]

Reads TIGER "All Roads" lines (GeoJSON with stdlib ``json``, or the shapefile with the small
reader below: no new dependency), nodes them at shared vertices and writes ``<out>/sf_roads.npz``
(:func:`desktop.geo.roads.write_graph`) and ``<out>/PROVENANCE.md``. With ``--render`` it also
writes ``<out>/sf_roads_render.npz``, the lines as the map draws them, by class and with their
names (:mod:`desktop.geo.road_render`), and says so in the provenance. The same input gives
byte-identical output.

Graph rules (documented again in the generated PROVENANCE.md):

- Vertices are keyed by coordinates rounded to 1e-6 degree; consecutive vertices of a line become
  an edge in both directions (TIGER has no one-way attribute). Parallel duplicates keep the
  fastest edge.
- Speeds by MTFCC class (:data:`SPEEDS_MPH`); walkways, stairs, trails and Census-internal lines
  (:data:`EXCLUDED`) are not driveable and are left out.
- Grade separation: TIGER lines are noded wherever they cross, over- and underpasses included.
  *Limited-access* lines (MTFCC S1100, names with "Fwy", and lines drawn over those for at least
  half of their segments, e.g. "US Hwy 101" over the James Lick Fwy) get their own nodes,
  joined to other roads only at ramp ends (S1630 or names with "Ramp"/"Rmp") and at a freeway's
  terminus (a vertex where one limited-access line ends and no other passes). They drive at the
  S1100 speed.
- Only the largest strongly connected component is kept; the others are counted and dropped.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import re
import struct
import sys
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EXCLUDED",
    "SPEEDS_MPH",
    "ImportReport",
    "RoadLine",
    "add_gis_import_command",
    "build_graph",
    "line_parts",
    "read_roads",
    "run_gis_import",
]

#: Effective urban driving speed (mph, intersections and traffic included) per MTFCC class.
SPEEDS_MPH: dict[str, float] = {
    "S1100": 55.0,  # primary road, limited access (I-80, I-280, Bay Bridge)
    "S1200": 30.0,  # secondary road (19th Ave, Van Ness Ave, Park Presidio Blvd)
    "S1400": 22.0,  # local neighbourhood road, city street
    "S1500": 5.0,  # vehicular trail (4WD)
    "S1630": 30.0,  # ramp
    "S1640": 12.0,  # service drive
    "S1730": 8.0,  # alley
    "S1740": 8.0,  # private road for service vehicles (parking lots, campuses)
    "S1780": 5.0,  # parking lot road
}
#: Classes that are not driveable (or not roads at all): left out of the graph.
EXCLUDED: dict[str, str] = {
    "S1710": "walkway/pedestrian trail",
    "S1720": "stairway",
    "S1750": "Census Bureau internal use",
    "S1820": "bike path or trail",
    "S1830": "bridle path",
}
MPH = 0.44704  # metres per second
_LIMITED_NAME = re.compile(r"\bFwy\b", re.IGNORECASE)
_RAMP_NAME = re.compile(r"\b(Ramp|Rmp)\b", re.IGNORECASE)
SURFACE, LIMITED, RAMP = 0, 1, 2


@dataclass(frozen=True)
class RoadLine:
    """One TIGER line: ``coords`` as (lon, lat) degrees, its MTFCC class and full name."""

    coords: tuple[tuple[float, float], ...]
    mtfcc: str
    name: str = ""


@dataclass
class ImportReport:
    """What :func:`build_graph` kept and dropped."""

    lines_read: int = 0
    lines_by_class: dict[str, int] = field(default_factory=dict)
    excluded_by_class: dict[str, int] = field(default_factory=dict)
    unknown_classes: dict[str, int] = field(default_factory=dict)
    limited_lines: int = 0
    ramp_lines: int = 0
    separated_vertices: int = 0
    nodes_before: int = 0
    nodes: int = 0
    nodes_dropped: int = 0
    components_dropped: int = 0
    edges: int = 0
    km_of_road: float = 0.0


def _key(lon: float, lat: float) -> tuple[int, int]:
    return round(lon * 1e6), round(lat * 1e6)


def _kinds(lines: list[RoadLine]) -> list[int]:
    """SURFACE, LIMITED or RAMP per line (see the module docstring)."""
    kinds = []
    for line in lines:
        if line.mtfcc == "S1630" or _RAMP_NAME.search(line.name):
            kinds.append(RAMP)
        elif line.mtfcc == "S1100" or _LIMITED_NAME.search(line.name):
            kinds.append(LIMITED)
        else:
            kinds.append(SURFACE)
    on_limited = {
        frozenset((_key(*p), _key(*q)))
        for line, kind in zip(lines, kinds, strict=True)
        if kind == LIMITED
        for p, q in itertools.pairwise(line.coords)
    }
    for i, line in enumerate(lines):  # route-number twins drawn over a freeway
        if kinds[i] == SURFACE:
            segs = [frozenset((_key(*p), _key(*q))) for p, q in itertools.pairwise(line.coords)]
            if 2 * sum(seg in on_limited for seg in segs) >= len(segs):
                kinds[i] = LIMITED
    return kinds


def build_graph(lines: list[RoadLine]) -> tuple[dict[str, Any], ImportReport]:
    """Node ``lines`` into a directed graph; returns the :func:`write_graph` arrays (keys
    ``lat lon indptr indices seconds metres``) and a report. Deterministic: nodes are numbered
    in (lat, lon, level) order whatever the order of the input."""
    # numpy and scipy load here, not when dispatch-server starts.
    import numpy as np
    from scipy.sparse import coo_matrix  # type: ignore[import-untyped]
    from scipy.sparse.csgraph import connected_components  # type: ignore[import-untyped]

    from desktop.geo.projection import equirectangular_m

    report = ImportReport(lines_read=len(lines))
    driveable: list[RoadLine] = []
    for line in lines:
        if line.mtfcc in EXCLUDED:
            report.excluded_by_class[line.mtfcc] = report.excluded_by_class.get(line.mtfcc, 0) + 1
        elif line.mtfcc not in SPEEDS_MPH:
            report.unknown_classes[line.mtfcc] = report.unknown_classes.get(line.mtfcc, 0) + 1
        elif len(line.coords) >= 2:
            driveable.append(line)
            report.lines_by_class[line.mtfcc] = report.lines_by_class.get(line.mtfcc, 0) + 1
    kinds = _kinds(driveable)
    report.limited_lines = kinds.count(LIMITED)
    report.ramp_lines = kinds.count(RAMP)
    # Per vertex: the level (0 street, 1 grade-separated) of every line's occurrence.
    ends: dict[tuple[int, int], int] = defaultdict(int)  # limited-access line ends
    through: set[tuple[int, int]] = set()  # limited-access line passes through
    joins: set[tuple[int, int]] = set()  # a ramp ends here
    for line, kind in zip(driveable, kinds, strict=True):
        last = len(line.coords) - 1
        for j, c in enumerate(line.coords):
            k = _key(*c)
            if kind == LIMITED:
                if j in (0, last):
                    ends[k] += 1
                else:
                    through.add(k)
            elif kind == RAMP and j in (0, last):
                joins.add(k)
    joins.update(k for k, count in ends.items() if count == 1 and k not in through)

    def level(k: tuple[int, int], kind: int, end: bool) -> int:
        if k in joins or kind == SURFACE or (kind == RAMP and end):
            return 0
        return 1

    speeds = {m: mph * MPH for m, mph in SPEEDS_MPH.items()}
    edges: dict[tuple[tuple[int, int, int], tuple[int, int, int]], tuple[float, float]] = {}
    for line, kind in zip(driveable, kinds, strict=True):
        speed = {LIMITED: speeds["S1100"], RAMP: speeds["S1630"]}.get(kind, speeds[line.mtfcc])
        last = len(line.coords) - 1
        prev: tuple[int, int, int] | None = None
        for j, c in enumerate(line.coords):
            k = _key(*c)
            node = (k[1], k[0], level(k, kind, j in (0, last)))  # (lat, lon, level)
            if prev is not None and prev[:2] != node[:2]:
                metres = float(
                    equirectangular_m(prev[0] / 1e6, prev[1] / 1e6, k[1] / 1e6, k[0] / 1e6)
                )
                for pair in ((prev, node), (node, prev)):
                    edges[pair] = min(edges.get(pair, (np.inf, 0.0)), (metres / speed, metres))
            prev = node
    names = sorted({n for pair in edges for n in pair})
    report.nodes_before = len(names)
    report.separated_vertices = len(names) - len({(a, b) for a, b, _ in names})
    ids = {n: i for i, n in enumerate(names)}
    pairs = sorted(edges, key=lambda p: (ids[p[0]], ids[p[1]]))
    u = np.fromiter((ids[p[0]] for p in pairs), np.int64, len(pairs))
    v = np.fromiter((ids[p[1]] for p in pairs), np.int64, len(pairs))
    secs = np.fromiter((edges[p][0] for p in pairs), np.float64, len(pairs))
    metres_arr = np.fromiter((edges[p][1] for p in pairs), np.float64, len(pairs))
    size = len(names)
    count, label = connected_components(
        coo_matrix((np.ones(len(pairs)), (u, v)), shape=(size, size)), connection="strong"
    )
    biggest = int(np.argmax(np.bincount(label))) if size else 0
    keep = label == biggest
    report.components_dropped = int(count) - 1 if size else 0
    report.nodes_dropped = int(size - keep.sum())
    new_id = np.cumsum(keep) - 1
    use = keep[u] & keep[v]
    u, v = new_id[u[use]], new_id[v[use]]  # still sorted by (u, v)
    secs, metres_arr = secs[use], metres_arr[use]
    coords = np.array([(a / 1e6, b / 1e6) for a, b, _ in names], np.float64).reshape(-1, 2)[keep]
    report.nodes = int(keep.sum())
    report.edges = int(u.shape[0])
    report.km_of_road = round(float(metres_arr.sum()) / 2000.0, 1)
    indptr = np.concatenate([[0], np.cumsum(np.bincount(u, minlength=report.nodes))])
    arrays = {
        "lat": coords[:, 0],
        "lon": coords[:, 1],
        "indptr": indptr,
        "indices": v,
        "seconds": secs,
        "metres": metres_arr,
    }
    return arrays, report


# --- reading TIGER --------------------------------------------------------------------------


def read_roads(path: Path) -> list[RoadLine]:
    """TIGER road lines from a ``.geojson``/``.json`` FeatureCollection or a ``.shp`` (with its
    ``.dbf``). Multi-part lines become one :class:`RoadLine` per part. Raises ``ValueError`` on
    an unsupported file."""
    if path.suffix.lower() == ".shp":
        return _read_shapefile(path)
    if path.suffix.lower() in (".geojson", ".json"):
        return _read_geojson(path)
    raise ValueError(f"{path}: expected a .geojson or .shp file")


def line_parts(data: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], list[Any]]]:
    """Each line of a GeoJSON FeatureCollection as (properties, [[lon, lat], ...]): a
    LineString is one line, a MultiLineString one per part; other geometries are skipped."""
    for feature in data.get("features", []):
        props = feature.get("properties") or {}
        geometry = feature.get("geometry") or {}
        parts = geometry.get("coordinates") or []
        if geometry.get("type") == "LineString":
            parts = [parts]
        elif geometry.get("type") != "MultiLineString":
            continue
        for part in parts:
            yield props, part


def _read_geojson(path: Path) -> list[RoadLine]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [
        RoadLine(
            tuple((float(p[0]), float(p[1])) for p in part),
            str(props.get("MTFCC", "")),
            str(props.get("FULLNAME") or ""),
        )
        for props, part in line_parts(data)
    ]


def _read_dbf(path: Path, encoding: str) -> list[dict[str, str]]:
    blob = path.read_bytes()
    count, header_len, record_len = struct.unpack("<IHH", blob[4:12])
    fields: list[tuple[str, int]] = []
    pos = 32
    while blob[pos] != 0x0D:
        fields.append((blob[pos : pos + 11].split(b"\0")[0].decode("ascii"), blob[pos + 16]))
        pos += 32
    rows = []
    for r in range(count):
        start = header_len + r * record_len + 1  # skip the deletion flag
        row = {}
        for name, width in fields:
            row[name] = blob[start : start + width].decode(encoding, "replace").strip()
            start += width
        rows.append(row)
    return rows


def _read_shapefile(path: Path) -> list[RoadLine]:
    cpg = path.with_suffix(".cpg")
    encoding = cpg.read_text().strip() if cpg.exists() else "latin-1"
    rows = _read_dbf(path.with_suffix(".dbf"), encoding)
    blob = path.read_bytes()
    lines, pos, record = [], 100, 0
    while pos + 8 <= len(blob):
        (length,) = struct.unpack(">i", blob[pos + 4 : pos + 8])
        body = blob[pos + 8 : pos + 8 + 2 * length]
        pos += 8 + 2 * length
        props = rows[record]
        record += 1
        (shape,) = struct.unpack("<i", body[:4])
        if shape not in (3, 13, 23):  # PolyLine (Z, M): anything else is skipped
            continue
        n_parts, n_points = struct.unpack("<ii", body[36:44])
        starts = [*struct.unpack(f"<{n_parts}i", body[44 : 44 + 4 * n_parts]), n_points]
        xy = struct.unpack(
            f"<{2 * n_points}d", body[44 + 4 * n_parts : 44 + 4 * n_parts + 16 * n_points]
        )
        for a, b in itertools.pairwise(starts):
            coords = tuple((xy[2 * i], xy[2 * i + 1]) for i in range(a, b))
            lines.append(RoadLine(coords, props.get("MTFCC", ""), props.get("FULLNAME", "")))
    return lines


# --- command line ---------------------------------------------------------------------------


def add_gis_import_command(commands: Any) -> None:
    """Register ``gis-import`` on the ``dispatch-server`` sub-command parser."""
    sub = commands.add_parser("gis-import", help="derive the road graph from TIGER roads")
    sub.add_argument("--roads", type=Path, required=True, help="TIGER roads .geojson or .shp")
    sub.add_argument("--out", type=Path, required=True, help="output directory")
    sub.add_argument("--name", default="sf_roads", help="graph file name without .npz")
    sub.add_argument(
        "--render",
        action="store_true",
        help="also write <name>_render.npz: the lines the map draws, by class, with names",
    )


def run_gis_import(args: argparse.Namespace) -> int:
    """Run ``gis-import``: exit code 0, or 2 when the input is missing or unreadable."""
    from desktop.geo.roads import write_graph

    source: Path = args.roads
    try:
        lines = read_roads(source)
    except (OSError, ValueError, KeyError, IndexError, struct.error) as exc:
        print(f"dispatch-server: cannot read roads from {source}: {exc}", file=sys.stderr)
        return 2
    arrays, report = build_graph(lines)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    meta = {
        "source": source.name,
        "source_sha256": digest,
        "speeds_mph": SPEEDS_MPH,
        "excluded": sorted(EXCLUDED),
        "two_way": True,
        "nodes": report.nodes,
        "edges": report.edges,
    }
    out: Path = args.out
    graph = out / f"{args.name}.npz"
    write_graph(graph, meta=meta, **arrays)
    text = _provenance(source, digest, graph, report, render=args.render)
    if args.render:
        text += _write_render(lines, source, digest, out / f"{args.name}_render.npz")
    (out / "PROVENANCE.md").write_text(text, "utf-8")
    print(
        f"{graph}: {report.nodes} nodes, {report.edges} directed edges, "
        f"{report.km_of_road} km of road; dropped {report.nodes_dropped} nodes in "
        f"{report.components_dropped} small components; {graph.stat().st_size} bytes"
    )
    return 0


def _write_render(lines: list[RoadLine], source: Path, digest: str, target: Path) -> str:
    """Write the map's render file from ``lines``; its section of the provenance."""
    from desktop.geo.road_render import (
        ARTERIAL_M,
        DETAIL_TOLERANCE_M,
        MTFCC_CLASS,
        derive_render,
        write_render,
    )

    arrays, meta = derive_render(lines)
    meta = {"source": source.name, "source_sha256": digest, **meta}
    write_render(target, arrays, meta)
    print(f"{target}: {meta['lines']} lines, {meta['vertices']} vertices")
    codes = {
        c: ", ".join(sorted(m for m, k in MTFCC_CLASS.items() if k == c)) for c in meta["classes"]
    }
    codes["secondary"] = "S1400 (long streets)"
    codes["freeway"] += ", names with Fwy"
    codes["ramp"] += ", names with Ramp/Rmp"
    rows = "\n".join(f"| {c} | {codes[c]} | {n} |" for c, n in meta["lines_by_class"].items())
    left = ", ".join(f"{m} ({n})" for m, n in meta["left_out"].items()) or "none"
    by_detail = " / ".join(str(n) for n in meta["vertices_by_detail"])
    return f"""
## Map render file (`{target.name}`, `desktop/geo/road_render.py`)

The lines as the map draws them, from the same input: every TIGER line (not noded, not split)
with its drawing class and FULLNAME; vertices as int32 degrees x 1e6, lines sorted by class.
{meta["lines"]} lines, {meta["vertices"]} vertices, centre {meta["centre"][0]}, {meta["centre"][1]}
(the map's projection). Classes come from MTFCC, then names: "Ramp"/"Rmp" make a ramp, "Fwy" a
freeway; an S1400 street with at least {ARTERIAL_M:.0f} m of lines under its name is drawn as
`secondary` ({meta["arterial_streets"]} streets; TIGER has no functional class). Left out, by
MTFCC (S1750 is Census-internal use; a line of fewer than two distinct vertices goes whatever
its class): {left}. Levels of detail (`vertex_detail`, Douglas-Peucker within
{" m, ".join(f"{t:g}" for t in DETAIL_TOLERANCE_M)} m, then every vertex): {by_detail} vertices.

| class | MTFCC | lines |
| --- | --- | --- |
{rows}
"""


def _provenance(
    source: Path, digest: str, graph: Path, r: ImportReport, *, render: bool = False
) -> str:
    classes = "\n".join(
        f"| {m} | {SPEEDS_MPH[m]:g} | {r.lines_by_class.get(m, 0)} |" for m in sorted(SPEEDS_MPH)
    )
    excluded = ", ".join(
        f"{m} {EXCLUDED[m]} ({r.excluded_by_class.get(m, 0)})" for m in sorted(EXCLUDED)
    )
    unknown = ", ".join(f"{m} ({n})" for m, n in sorted(r.unknown_classes.items())) or "none"
    return f"""# Road graph: provenance

`{graph.name}` is the routing graph for unit recommendation (`desktop/geo/roads.py`).

- **Source:** US Census Bureau TIGER/Line 2017 "All Roads", San Francisco County, CA
  (FIPS 06075), via `../shared/data/sf-tiger2017-roads/` (see its PROVENANCE.txt); upstream
  `https://www2.census.gov/geo/tiger/TIGER2017/ROADS/tl_2017_06075_roads.zip`.
  Input file: `{source.name}`, sha256 `{digest}`.
- **License:** a work of the US federal government, public domain.
- **Regenerate** (deterministic: the same input gives byte-identical files; the `.shp` gives
  the same arrays):

      dispatch-server gis-import --roads ../shared/data/sf-tiger2017-roads/{source.name} \\
          --out resources/geo{" --render" if render else ""}

## Derivation (`server/gis_import.py`)

1. Lines read: {r.lines_read}. Vertices are keyed by coordinates rounded to 1e-6 degree
   (~0.1 m); consecutive vertices of a line become an edge. Edge length: equirectangular
   metres at the edge's mean latitude. Travel time: length / class speed. Parallel duplicate
   lines (TIGER has route-number twins such as "State Hwy 35" over "Skyline Blvd") keep the
   fastest edge.
2. **Every edge is two-way:** TIGER carries no one-way attribute, so one-way streets are
   driveable both ways here. The code (`RoadGraph`, reversed-graph Dijkstra) is directed and
   will honour one-way edges when a source provides them.
3. Not driveable, left out (lines): {excluded}. Unknown classes: {unknown}.
4. **Grade separation.** TIGER nodes lines wherever they cross, so a freeway shares a vertex
   with every street passing under it. Limited-access lines (MTFCC S1100, names with "Fwy",
   and lines drawn over those for at least half of their segments, e.g. "US Hwy 101" over the
   James Lick Fwy; {r.limited_lines} lines) get their own nodes: {r.separated_vertices}
   vertices are split into a street node and a freeway node. They join other roads only at
   the ends of ramps (S1630, or names with "Ramp"/"Rmp"; {r.ramp_lines} lines) and at a
   freeway terminus (a vertex where one limited-access line ends and none passes, e.g. I-280
   at King St). Limited-access lines drive at the S1100 speed, ramps at the S1630 speed.
   Other grade separations (tunnels such as the Broadway Tunnel, the Presidio Parkway) are
   not modelled and may connect to the streets they cross.
5. The largest strongly connected component is kept: {r.nodes} nodes, {r.edges} directed
   edges, {r.km_of_road} km of road. Dropped: {r.nodes_dropped} nodes in
   {r.components_dropped} small components (lines that touch no other road).

## Speeds (effective urban mph: intersections and traffic included, no lights-and-siren gain)

| MTFCC | mph | lines |
| --- | --- | --- |
{classes}

## Format

Compressed `.npz`, format version 1: `lat`, `lon` (float64 degrees, per node); forward CSR
`indptr`, `indices` (int32), `seconds`, `metres` (float32, per edge `u -> v`); `meta` (JSON:
source, sha256, speeds, counts).
"""
