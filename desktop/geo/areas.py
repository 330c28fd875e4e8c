"""Dispatch areas (fire battalion and first-due station area) by nearest historical call.

SFFD publishes no station-area polygons with the calls-for-service data, but every call carries
its ``Station Area`` and ``Battalion`` and a location. :class:`AreaIndex` classifies a point by
its nearest known call location (a k-d tree over an equirectangular projection in metres) and
answers ``None`` when that location is farther than ``max_distance_m``: outside the city, or in
the water. :func:`derive_areas` builds an index from the SFFD CSV; the shipped one is
``resources/geo/areas.json`` (see ``resources/geo/areas.PROVENANCE.md``), loaded by
:meth:`AreaIndex.load_default`.

File format (version 1, compact JSON)::

    {"version": 1, "source": {...}, "stations": {"16": "B04", ...},
     "points": [[lat, lon, "16"], ...]}

Coordinates are degrees rounded to 5 decimals (about 1 m); ``source`` holds the input's name,
sha256 and row counts. Station labels are kept as the source spells them ("01", "16").
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import json
import math
import os
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from desktop.geo.projection import LocalProjection
from desktop.resources import resource_path

__all__ = [
    "DEFAULT_MAX_DISTANCE_M",
    "FORMAT_VERSION",
    "Area",
    "AreaIndex",
    "derive_areas",
    "natural_key",
    "open_calls_csv",
]

FORMAT_VERSION = 1
#: Farther than this from every known call location is "outside the covered area".
DEFAULT_MAX_DISTANCE_M = 1500.0
#: Decimal places kept for coordinates (1e-5 degree is about 1.1 m north-south).
DECIMALS = 5
#: Columns :func:`derive_areas` needs.
COLUMNS = ("Call Number", "Battalion", "Station Area", "Location")

_LOCATION = re.compile(r"^\(\s*([^,()\s]+)\s*,\s*([^,()\s]+)\s*\)$")
_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple[Any, ...]:
    """Sort key that orders digit runs by value: "B02" < "B10", "2" < "10", "01" < "2".

    Equal values with different spellings ("01" and "1") are ordered by the text itself, so
    the order is total and deterministic."""
    parts = _DIGITS.split(text)
    # re.split with a group alternates text (even positions) and digits (odd positions), so
    # the same position always holds the same type.
    return (*(int(p) if i % 2 else p.casefold() for i, p in enumerate(parts)), text)


def _natural(items: Iterable[str]) -> list[str]:
    return sorted(set(items), key=natural_key)


@dataclass(frozen=True, slots=True)
class Area:
    """A first-due station area and the battalion it belongs to, e.g. ``Area("16", "B04")``."""

    station: str
    battalion: str

    @property
    def label(self) -> str:
        """Short display text, e.g. "B04 · Stn 16"."""
        return f"{self.battalion} · Stn {self.station}"


class AreaIndex:
    """Nearest-point area classification over known locations.

    ``lat``/``lon`` are degrees, one entry per point; ``station[i]`` labels point ``i``;
    ``battalion_of`` maps every station label used to its battalion (extra stations are
    allowed). Raises ``ValueError`` on mismatched lengths, non-finite coordinates, a station
    without a battalion, or a negative or NaN ``max_distance_m`` (``math.inf`` disables the
    limit). The index is immutable and safe to share between threads.
    """

    __slots__ = (
        "_areas",
        "_battalion_of",
        "_codes",
        "_lat",
        "_lon",
        "_max_distance_m",
        "_projection",
        "_source",
        "_x",
        "_y",
    )

    def __init__(
        self,
        lat: npt.ArrayLike,
        lon: npt.ArrayLike,
        station: Sequence[str],
        battalion_of: Mapping[str, str],
        *,
        max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
        source: Mapping[str, str | int] | None = None,
    ) -> None:
        lats = np.array(lat, dtype=np.float64).reshape(-1)
        lons = np.array(lon, dtype=np.float64).reshape(-1)
        if not (len(lats) == len(lons) == len(station)):
            raise ValueError(
                f"lat, lon and station differ in length: {len(lats)}, {len(lons)}, {len(station)}"
            )
        if not (np.isfinite(lats).all() and np.isfinite(lons).all()):
            raise ValueError("coordinates must be finite")
        if math.isnan(max_distance_m) or max_distance_m < 0:
            raise ValueError(f"max_distance_m must be >= 0, not {max_distance_m}")
        missing = _natural(s for s in station if s not in battalion_of)
        if missing:
            raise ValueError(f"stations without a battalion: {', '.join(missing)}")
        names = _natural(station)
        code_of = {name: i for i, name in enumerate(names)}
        codes = np.fromiter((code_of[s] for s in station), dtype=np.int32, count=len(station))
        for array in (lats, lons, codes):
            array.setflags(write=False)
        self._lat, self._lon, self._codes = lats, lons, codes
        self._areas = tuple(Area(name, battalion_of[name]) for name in names)
        self._battalion_of = {s: battalion_of[s] for s in _natural(battalion_of)}
        self._max_distance_m = float(max_distance_m)
        self._source: dict[str, str | int] = dict(source or {})
        # Centre rounded to 1e-3 degree, so a saved and reloaded index projects identically.
        centre = (
            (round(float(lats.mean()), 3), round(float(lons.mean()), 3)) if len(lats) else (0, 0)
        )
        self._projection = LocalProjection(*centre)
        self._x, self._y = self._projection.to_xy(lats, lons)

    # --- queries ------------------------------------------------------------------------------

    def area_of(self, lat: float, lon: float) -> Area | None:
        """The area of the nearest known point, or ``None`` when it is farther than
        :attr:`max_distance_m` (or the index is empty, or the input is not finite)."""
        if not len(self._x) or not (math.isfinite(lat) and math.isfinite(lon)):
            return None
        x, y = self._projection.to_xy(lat, lon)
        # A scan of every point: for the ~1,600 of the shipped index it is as fast as a k-d tree
        # (about 15 µs) and keeps scipy off the start-up path (docs/architecture.md).
        squared = (self._x - x) ** 2 + (self._y - y) ** 2
        index = int(np.argmin(squared))
        if not math.sqrt(float(squared[index])) <= self._max_distance_m:
            return None
        return self._areas[int(self._codes[index])]

    def battalions(self) -> list[str]:
        """Every battalion of a known station, sorted naturally ("B02" before "B10")."""
        return _natural(self._battalion_of.values())

    def stations(self) -> list[str]:
        """Every known station label, sorted naturally ("2" before "10")."""
        return list(self._battalion_of)

    def stations_in(self, battalion: str) -> list[str]:
        """The stations of ``battalion``, sorted naturally (empty if unknown)."""
        return [s for s, b in self._battalion_of.items() if b == battalion]

    def battalion_of(self, station: str) -> str | None:
        """The battalion of ``station``, or ``None`` if the station is unknown."""
        return self._battalion_of.get(station)

    @property
    def max_distance_m(self) -> float:
        """Distance beyond which :meth:`area_of` answers ``None``."""
        return self._max_distance_m

    @property
    def source(self) -> dict[str, str | int]:
        """Provenance of the data (file name, sha256, counts); a copy."""
        return dict(self._source)

    def __len__(self) -> int:
        """Number of points."""
        return len(self._lat)

    def __repr__(self) -> str:
        return (
            f"AreaIndex({len(self)} points, {len(self._battalion_of)} stations, "
            f"{len(self.battalions())} battalions, max_distance_m={self._max_distance_m})"
        )

    # --- files --------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the index as compact JSON (format above; coordinates rounded to 5 decimals,
        points sorted, so the same index gives the same bytes). Replaces ``path`` atomically."""
        order = np.lexsort((self._lon, self._lat))
        points = [
            [
                round(float(self._lat[i]), DECIMALS),
                round(float(self._lon[i]), DECIMALS),
                self._areas[int(self._codes[i])].station,
            ]
            for i in order
        ]
        document = {
            "version": FORMAT_VERSION,
            "source": self._source,
            "stations": self._battalion_of,
            "points": points,
        }
        text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(text + "\n", encoding="utf-8")
        os.replace(partial, target)

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        *,
        max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    ) -> AreaIndex:
        """Read an index written by :meth:`save`. Raises ``OSError`` if unreadable and
        ``ValueError`` on malformed content or another format version."""
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        if not isinstance(document, dict):
            raise ValueError(f"{path}: not an area index")
        if document.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported version {document.get('version')!r}")
        stations = document.get("stations")
        points = document.get("points")
        source = document.get("source", {})
        if not isinstance(stations, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in stations.items()
        ):
            raise ValueError(f"{path}: 'stations' must map station labels to battalions")
        if not isinstance(points, list):
            raise ValueError(f"{path}: 'points' must be a list")
        if not isinstance(source, dict):
            raise ValueError(f"{path}: 'source' must be an object")
        lats: list[float] = []
        lons: list[float] = []
        labels: list[str] = []
        for point in points:
            if (
                not isinstance(point, list)
                or len(point) != 3
                or not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in point[:2]
                )
                or not isinstance(point[2], str)
            ):
                raise ValueError(f"{path}: bad point {point!r}")
            lats.append(point[0])
            lons.append(point[1])
            labels.append(point[2])
        return cls(lats, lons, labels, stations, max_distance_m=max_distance_m, source=source)

    @staticmethod
    @functools.cache
    def load_default() -> AreaIndex:
        """The shipped index, ``resources/geo/areas.json`` (read once, then shared)."""
        return AreaIndex.from_file(resource_path("geo", "areas.json"))


@contextlib.contextmanager
def open_calls_csv(path: Path, columns: Sequence[str]) -> Iterator[tuple[str, csv.DictReader[str]]]:
    """Open an SFFD calls-for-service CSV: its sha256 (for provenance) and a row reader.
    Raises ``OSError`` if unreadable and ``ValueError`` when one of ``columns`` is missing."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        absent = [c for c in columns if c not in (reader.fieldnames or ())]
        if absent:
            raise ValueError(f"{path}: missing column(s) {', '.join(absent)}")
        yield digest, reader


def derive_areas(csv_path: Path) -> AreaIndex:
    """Build an index from the SFFD "Fire Department Calls for Service" CSV.

    One point per call number: the first row of a call with a usable ``Location``
    ("(lat, lon)", finite, in range, not (0, 0)), ``Station Area`` and ``Battalion``; calls
    with none are skipped. Points are rounded to 5 decimals and merged; a merged point takes the
    most common station of its calls. A station's battalion is the most common battalion of its
    calls. Ties go to the naturally smallest label. Raises ``OSError`` if unreadable and
    ``ValueError`` when a column is missing.

    The index's :attr:`~AreaIndex.source` records ``file``, ``sha256``, ``rows``, ``calls``
    (distinct call numbers), ``calls_used``, ``calls_skipped`` and ``points``.
    """
    path = Path(csv_path)
    numbers: set[str] = set()
    used: set[str] = set()
    rows = 0
    at_point: defaultdict[tuple[float, float], Counter[str]] = defaultdict(Counter)
    battalions: defaultdict[str, Counter[str]] = defaultdict(Counter)
    with open_calls_csv(path, COLUMNS) as (digest, reader):
        for row in reader:
            rows += 1
            number = (row["Call Number"] or "").strip()
            if not number:
                continue
            numbers.add(number)
            if number in used:
                continue
            station = (row["Station Area"] or "").strip()
            battalion = (row["Battalion"] or "").strip()
            location = _parse_location(row["Location"] or "")
            if not station or not battalion or location is None:
                continue
            used.add(number)
            at_point[location][station] += 1
            battalions[station][battalion] += 1
    keys = sorted(at_point)
    source: dict[str, str | int] = {
        "file": path.name,
        "sha256": digest,
        "rows": rows,
        "calls": len(numbers),
        "calls_used": len(used),
        "calls_skipped": len(numbers) - len(used),
        "points": len(keys),
    }
    return AreaIndex(
        [k[0] for k in keys],
        [k[1] for k in keys],
        [_majority(at_point[k]) for k in keys],
        {s: _majority(c) for s, c in battalions.items()},
        source=source,
    )


def _parse_location(text: str) -> tuple[float, float] | None:
    """``"(37.80516, -122.43295)"`` -> (lat, lon) rounded to 5 decimals; ``None`` if invalid."""
    match = _LOCATION.match(text.strip())
    if match is None:
        return None
    try:
        lat, lon = float(match[1]), float(match[2])
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
        return None
    return round(lat, DECIMALS), round(lon, DECIMALS)


def _majority(counts: Counter[str]) -> str:
    """The most common label; ties go to the naturally smallest."""
    return min(counts, key=lambda label: (-counts[label], natural_key(label)))
