"""``dispatch-server geocode`` and ``dispatch-server derive-addresses``.

    dispatch-server geocode ADDRESS... [--index PATH]
    dispatch-server geocode --batch [--index PATH]       (one address a line on stdin)
    dispatch-server derive-addresses --streets CSV --roads GEOJSON [--signals CSV] --out PATH

``geocode`` writes one JSON line per address, in order (a blank input line too, as
``not_found``)::

    {"input": "...", "status": "verified"|"candidates"|"not_found", "lat": ..., "lon": ...,
     "matched": "...", "reason": "...", "unit": "...",
     "candidates": [{"label": "...", "lat": ..., "lon": ..., "kind": "..."}, ...]}

``lat``/``lon`` are null unless verified. Exit codes: 0 (whatever the statuses), 2 when the
index cannot be read or no address was given.

``derive-addresses`` builds the address index (``desktop/geo/address_derive.py``) and writes
it with its provenance beside it (``addresses.PROVENANCE.md`` for ``addresses.npz``); the same
inputs give byte-identical files. Exit code 2 when an input is missing or unreadable.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from server.gis_import import line_parts

if TYPE_CHECKING:  # numpy loads with the derivation, not when dispatch-server starts
    from desktop.geo.address_derive import StreetData, Vertex

__all__ = [
    "add_geocode_command",
    "read_signals",
    "read_streets",
    "read_tiger",
    "run_derive_addresses",
    "run_geocode",
]

PROG = "dispatch-server"


def add_geocode_command(commands: Any) -> None:
    """Register ``geocode`` and ``derive-addresses`` on the sub-command parser."""
    geocode = commands.add_parser("geocode", help="verify and geocode San Francisco addresses")
    geocode.add_argument("addresses", nargs="*", metavar="ADDRESS")
    geocode.add_argument("--batch", action="store_true", help="read one address a line on stdin")
    geocode.add_argument("--index", type=Path, default=None, help="another address index .npz")
    derive = commands.add_parser(
        "derive-addresses", help="derive the address index from DataSF streets and TIGER roads"
    )
    derive.add_argument("--streets", type=Path, required=True, help="List of Streets CSV")
    derive.add_argument("--roads", type=Path, required=True, help="TIGER roads .geojson")
    derive.add_argument("--signals", type=Path, default=None, help="traffic signals CSV")
    derive.add_argument("--out", type=Path, required=True, help="output .npz")


def run_geocode(args: argparse.Namespace) -> int:
    """Run ``geocode``: JSON lines on stdout (see the module docstring)."""
    from desktop.geo.geocoder import Geocoder, GeocodeResult

    try:
        geocoder = Geocoder.load(args.index) if args.index else Geocoder.load_default()
    except (OSError, ValueError, KeyError) as exc:
        print(f"{PROG}: cannot read the address index: {exc}", file=sys.stderr)
        return 2
    if args.batch:
        lines: Any = (line.rstrip("\r\n") for line in sys.stdin)
    elif args.addresses:
        lines = args.addresses
    else:
        print(f"{PROG}: give ADDRESS arguments or --batch", file=sys.stderr)
        return 2

    def row(result: GeocodeResult) -> dict[str, Any]:
        return {
            "input": result.input,
            "status": result.status,
            "lat": result.lat,
            "lon": result.lon,
            "matched": result.matched,
            "reason": result.reason,
            "unit": result.unit,
            "candidates": [
                {"label": c.label, "lat": c.lat, "lon": c.lon, "kind": c.kind}
                for c in result.candidates
            ],
        }

    for line in lines:
        print(json.dumps(row(geocoder.geocode(line)), ensure_ascii=False), flush=args.batch)
    return 0


def run_derive_addresses(args: argparse.Namespace) -> int:
    """Run ``derive-addresses``; one summary line on stdout."""
    from desktop.geo import address_derive as derive

    out: Path = args.out
    try:
        streets = read_streets(args.streets)
        lines, roads_sha = read_tiger(args.roads)
        signals, signals_sha = read_signals(args.signals) if args.signals else ({}, "")
    except (OSError, ValueError, KeyError) as exc:  # ValueError includes UnicodeDecodeError
        print(f"{PROG}: cannot derive addresses: {exc}", file=sys.stderr)
        return 2
    index = derive.derive_addresses(streets, lines, signals)
    sources = {
        "streets": {"file": args.streets.name, "sha256": streets.sha256},
        "roads": {"file": args.roads.name, "sha256": roads_sha},
    }
    if args.signals:
        sources["signals"] = {"file": args.signals.name, "sha256": signals_sha}
    try:
        derive.write_index(out, index.arrays, {"sources": sources, "counts": index.report})
        provenance = out.with_name(out.stem + ".PROVENANCE.md")
        provenance.write_text(_provenance(args, out, sources, index.report), encoding="utf-8")
    except OSError as exc:
        print(f"{PROG}: cannot write {out}: {exc}", file=sys.stderr)
        return 2
    r = index.report
    print(
        f"{out}: {r['blocks']} of {r['blocks_read']} blocks, {r['placed']} of {r['nodes']} "
        f"nodes placed; {out.stat().st_size} bytes"
    )
    return 0


def _provenance(
    args: argparse.Namespace, out: Path, sources: dict[str, Any], r: dict[str, Any]
) -> str:
    """The provenance Markdown beside the index (deterministic: no times, no absolute paths)."""
    from desktop.geo.address_derive import FORMAT_VERSION

    def shared(path: Path) -> str:
        return f"../shared/data/{path.parent.name}/{path.name}"

    regenerate = f"dispatch-server derive-addresses --streets {shared(args.streets)} \\\n"
    regenerate += f"          --roads {shared(args.roads)} \\\n"
    if args.signals:
        regenerate += f"          --signals {shared(args.signals)} \\\n"
    regenerate += f"          --out resources/geo/{out.name}"
    listed = "\n".join(
        f"- {role}: `{src['file']}`, sha256 `{src['sha256']}`" for role, src in sources.items()
    )
    names = "\n".join(f"   | {how} | {n} |" for how, n in r["names_matched"].items())
    methods = "\n".join(f"   | {how} | {n} |" for how, n in r["by_method"].items())
    return f"""# Address index: provenance

`{out.name}` is the offline address verification and geocoding index
(`desktop/geo/geocoder.py`, `Geocoder.load_default()`), derived by `desktop/geo/address_derive.py`
from street data only. The SFFD calls for service are not an input: `bench/geocode.py` grades
the index against their points.

## Sources

- DataSF "List of Streets and Intersections" (dataset pu5n-qu5c) and SFMTA traffic signals,
  via `../shared/data/sf-streets-and-intersections-cnn/` (its PROVENANCE.txt: DataSF open
  data, PDDL-style public domain dedication).
- US Census Bureau TIGER/Line 2017 "All Roads", San Francisco County (FIPS 06075), via
  `../shared/data/sf-tiger2017-roads/` (a work of the US federal government, public domain).

{listed}

## Regenerate (the same inputs give byte-identical files)

    {regenerate}

## What went in

1. Street list: {r["rows"]} rows, {r["blocks_read"]} blocks (CNN segments with FROM/TO nodes
   and left/right house-number ranges), {r["intersection_rows"]} intersection rows;
   {r["street_names"]} street names. TIGER: {r["tiger_lines"]} named lines.
2. Names matched to TIGER (step 1 of `address_derive`), street names by method:

   | method | names |
   | --- | --- |
{names}

   Unmatched names are mostly freeways and ramps, streets newer than TIGER 2017 (Hunters Point
   Shipyard, Mission Bay) and "UNNAMED" ways. Other names kept for matching (TIGER's spelling
   where it differs, former names such as PHELAN AVE for FRIDA KAHLO WAY): {r["aliases"]}.
3. Nodes: {r["placed"]} of {r["nodes"]} placed, by method:

   | method | nodes |
   | --- | --- |
{methods}

   Left out: {r["ambiguous_left"]} nodes where several places qualified and no neighbour or
   signal decided; {r["implausible"]} placements farther than 500 m (and 5 m per house number)
   from every placed neighbour, dropped as implausible; the rest have no two streets in TIGER
   and no placed neighbour along a street with TIGER geometry. Against the
   {r["signal_checked"]} traffic signals with a placed node (some of which chose among
   candidates, so this flatters a little): median {r["signal_median_m"]} m, 95th percentile
   {r["signal_p95_m"]} m; {r["signal_replaced"]} placements farther than 60 m from their
   signal took the signal's.
4. Blocks: {r["blocks"]} of {r["blocks_read"]} kept, {r["blocks_along_tiger"]} along TIGER's
   geometry and {r["blocks_straight"]} as a straight line between their nodes (no TIGER line
   of the street between them). Left out: {r["blocks_dropped"]} blocks with an end node that
   could not be placed (freeways and ramps, streets TIGER 2017 does not have). Geometry:
   {r["vertices"]} vertices.
5. Left and right are DataSF's: relative to the direction of travel from `FROM_CNN` to
   `TO_CNN`; odd numbers are on the left of most blocks, as the ranges say. The geocoder puts a
   house 5 m off the centre line on its side.

## Format

Compressed `.npz`, format version {FORMAT_VERSION} (the arrays are listed in
`desktop/geo/address_derive.py`): coordinates as int32 degrees x 1e6, blocks as CSR into one
vertex array, the streets at each node as CSR, TIGER's other spellings as aliases.
{out.stat().st_size:,} bytes.
"""


# --- reading the sources ----------------------------------------------------------------


def _number(text: str) -> int:
    return int(text) if text.strip().lstrip("-").isdigit() else 0


def read_streets(path: Path) -> StreetData:
    """Read DataSF's "List of Streets and Intersections" CSV. Raises ``OSError`` if unreadable
    and ``ValueError`` when a column is missing."""
    from desktop.geo.address_derive import Block, StreetData

    raw = path.read_bytes()
    reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
    need = ("CNN", "streetname", "from_st", "LF_FADD", "LF_TADD", "RT_FADD", "RT_TADD")
    absent = [c for c in (*need, "FROM_CNN", "TO_CNN") if c not in (reader.fieldnames or ())]
    if absent:
        raise ValueError(f"{path}: missing column(s) {', '.join(absent)}")
    blocks: list[Block] = []
    streets: defaultdict[int, set[str]] = defaultdict(set)
    rows = crossings = 0
    for row in reader:
        rows += 1
        name = " ".join(row["streetname"].split())
        if not name:
            continue
        if row["FROM_CNN"].strip() and row["TO_CNN"].strip():
            a, b = int(row["FROM_CNN"]), int(row["TO_CNN"])
            ranges = (
                _number(row["LF_FADD"]),
                _number(row["LF_TADD"]),
                _number(row["RT_FADD"]),
                _number(row["RT_TADD"]),
            )
            blocks.append(Block(int(row["CNN"]), name, a, b, ranges))
            streets[a].add(name)
            streets[b].add(name)
        elif row["CNN"].strip():
            crossings += 1
            node = streets[int(row["CNN"])]
            node.add(name)
            for other in row["from_st"].split("\\"):
                other = " ".join(other.split())
                if other and other != "END":
                    node.add(other)
    names = {s for node in streets.values() for s in node}
    digest = hashlib.sha256(raw).hexdigest()
    return StreetData(blocks, dict(streets), names, rows, crossings, digest)


def read_tiger(path: Path) -> tuple[list[tuple[str, tuple[Vertex, ...]]], str]:
    """Named lines of a TIGER roads GeoJSON as (FULLNAME, vertices) and the file's sha256.
    Unnamed lines are skipped. Raises ``OSError``/``ValueError`` on an unreadable file."""
    raw = path.read_bytes()
    data = json.loads(raw)
    lines = []
    for props, part in line_parts(data):
        name = str(props.get("FULLNAME") or "").strip()
        coords = tuple((round(p[0] * 1e6), round(p[1] * 1e6)) for p in part)
        if name and len(coords) >= 2:
            lines.append((name, coords))
    return lines, hashlib.sha256(raw).hexdigest()


_POINT = re.compile(r"POINT\s*\(\s*(-?[\d.]+)\s+(-?[\d.]+)\s*\)")


def read_signals(path: Path) -> tuple[dict[int, Vertex], str]:
    """Intersection CNN -> (lon, lat) x 1e6 from SFMTA's traffic signals CSV ("shape" column,
    "POINT (lon lat)"), and the file's sha256."""
    raw = path.read_bytes()
    points: dict[int, Vertex] = {}
    for row in csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))):
        found = _POINT.match((row.get("shape") or "").strip())
        if found and (row.get("CNN") or "").strip().isdigit():
            points[int(row["CNN"])] = (round(float(found[1]) * 1e6), round(float(found[2]) * 1e6))
    return points, hashlib.sha256(raw).hexdigest()
