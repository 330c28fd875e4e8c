"""``geocode_within_150m`` and ``geocode_keystroke_p95``: the shipped address index graded on SFFD
calls for service.

The index (``resources/geo/addresses.npz``) comes from street data only; the calls' own points
are the truth here and nowhere else.

- Addresses: the distinct ``Address`` values of ``../shared/data/sffd-calls-for-service/*.csv``,
  leaving out "CALL BOX:" rows and rows whose point is missing or lies outside the county's
  roads (farther than 300 m from every node of the shipped road graph, e.g. SFO). The truth of
  an address is the median point of its rows.
- ``geocode_within_150m``: the share of those addresses that :meth:`Geocoder.geocode` verifies
  within 150 m of the truth (target >= 0.95). The status counts and the 20 worst misses
  (verified but far off first, the farthest first; then not verified) are printed first, to
  help tuning.
- ``geocode_keystroke_p95``: milliseconds per :meth:`Geocoder.suggest` call when 300 addresses
  (seeded sample) are typed character by character, one call per prefix; 95th percentile
  (target <= 30 ms).
- ``geocode_index_load``: seconds for ``Geocoder.load()`` of the shipped index in a fresh
  process (numpy already imported), best of three (target <= 0.5 s).

Run: ``python bench/geocode.py`` (exits 2, saying so, when ../shared/data is missing).
"""

from __future__ import annotations

import csv
import random
import re
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench._support import ROOT, emit
from desktop.geo.geocoder import Geocoder
from desktop.geo.projection import LocalProjection, equirectangular_m
from desktop.geo.roads import RoadGraph

CALLS = ROOT.parent / "shared" / "data" / "sffd-calls-for-service"
WITHIN_M = 150.0
OFF_ROADS_M = 300.0
TYPED = 300
SEED = 20240611
LOADS = 3
_POINT = re.compile(r"^\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*\)$")

_LOAD = """
import sys, time
sys.path.insert(0, {root!r})
import numpy
started = time.perf_counter()
from desktop.geo.geocoder import Geocoder
Geocoder.load_default()
print(time.perf_counter() - started)
"""


def truths() -> tuple[dict[str, tuple[float, float]], Counter[str]]:
    """Address -> median point of its rows, and the counts of what was left out."""
    files = sorted(CALLS.glob("*.csv"))
    if not files:
        print(f"missing: no calls-for-service CSV in {CALLS}; nothing to grade against")
        raise SystemExit(2)
    points: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
    left_out: Counter[str] = Counter()
    for path in files:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row in csv.DictReader(handle):
                address = " ".join((row.get("Address") or "").split())
                found = _POINT.match((row.get("Location") or "").strip())
                if address.upper().startswith("CALL BOX"):
                    left_out["call box rows"] += 1
                elif found is None or (float(found[1]), float(found[2])) == (0.0, 0.0):
                    left_out["rows without a point"] += 1
                else:
                    points[address].append((float(found[1]), float(found[2])))
    graph = RoadGraph.load()
    from scipy.spatial import cKDTree  # type: ignore[import-untyped]

    proj = LocalProjection(37.76, -122.44)
    tree = cKDTree(np.stack(proj.to_xy(graph.lat, graph.lon), 1))
    out: dict[str, tuple[float, float]] = {}
    for address, pts in sorted(points.items()):
        lat = statistics.median(p[0] for p in pts)
        lon = statistics.median(p[1] for p in pts)
        gap, _ = tree.query(np.stack(proj.to_xy(lat, lon)))
        if float(gap) > OFF_ROADS_M:
            left_out["addresses off the county's roads"] += 1
            continue
        out[address] = (lat, lon)
    return out, left_out


def load_seconds() -> list[float]:
    code = _LOAD.format(root=str(ROOT))
    runs = []
    for _ in range(LOADS):
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        runs.append(float(done.stdout.strip().splitlines()[-1]))
    return runs


def grade(geocoder: Geocoder, addresses: dict[str, tuple[float, float]]) -> float:
    statuses: Counter[str] = Counter()
    misses: list[tuple[float, str, str]] = []
    good = 0
    for address, (lat, lon) in addresses.items():
        result = geocoder.geocode(address)
        statuses[result.status] += 1
        if result.status == "verified" and result.lat is not None and result.lon is not None:
            gap = float(equirectangular_m(lat, lon, result.lat, result.lon))
            if gap <= WITHIN_M:
                good += 1
            else:
                misses.append((-gap, address, f"verified {gap:.0f} m off as {result.matched}"))
        else:
            misses.append((0.0, address, f"{result.status}: {result.reason}"))
    for status in ("verified", "candidates", "not_found"):
        print(f"{status}: {statuses[status]}")
    print(f"worst misses, confidently wrong first ({len(misses)} in all):")
    for _, address, why in sorted(misses)[:20]:
        print(f"  {address!r}: {why}")
    return good / max(len(addresses), 1)


def keystrokes(geocoder: Geocoder, addresses: list[str]) -> list[float]:
    sample = random.Random(SEED).sample(addresses, min(TYPED, len(addresses)))
    times = []
    for address in sample:
        for i in range(1, len(address) + 1):
            started = time.perf_counter()
            geocoder.suggest(address[:i])
            times.append((time.perf_counter() - started) * 1000.0)
    return times


def main() -> None:
    addresses, left_out = truths()
    loads = load_seconds()
    geocoder = Geocoder.load_default()
    print(
        f"index: {len(geocoder.names)} streets, meta {geocoder.meta.get('counts', {})}; "
        f"load (fresh processes) {', '.join(f'{s * 1000:.0f} ms' for s in loads)}"
    )
    print(f"addresses graded: {len(addresses)}; left out: {dict(sorted(left_out.items()))}")
    within = grade(geocoder, addresses)
    times = keystrokes(geocoder, sorted(addresses))
    ordered = sorted(times)
    p95 = ordered[int(np.ceil(0.95 * len(ordered))) - 1]
    print(
        f"{len(times)} suggest() calls: p50 {statistics.median(times):.3f} ms, "
        f"p95 {p95:.3f} ms, max {max(times):.2f} ms"
    )
    emit("geocode_index_load", min(loads), "s", "<= 0.5")
    emit("geocode_keystroke_p95", p95, "ms", "<= 30")
    emit("geocode_within_150m", within, "share", ">= 0.95")


if __name__ == "__main__":
    main()
