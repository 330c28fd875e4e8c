"""Fire stations and where they are: the home position of a unit without an AVL fix.

A unit's home is its station's position (`home_position`), for every unit: one rule, whether the
unit came from the demo roster or from a centre's roster import. The shipped positions are
``resources/geo/stations.json`` (`Stations.load_default`); ``dispatch-server derive-stations``
writes it from the SFFD calls for service (`derive_stations`, provenance in
``resources/geo/stations.PROVENANCE.md``). A centre with surveyed positions writes the same file
by hand (format below); a label not in it has no position, and a unit of that station is not
ranked by the recommendation until it has an AVL fix.

SFFD publishes no station coordinates, so `derive_stations` *estimates* them from the calls of
each station's first-due area (``Station Area``):

- when the station's own engine (``E<n>`` for station ``n``) has at least `MIN_OWN_RESPONSES`
  responses in its area with a travel time (en route to on scene), the median location of the
  fastest third of them (calls reached quickest are nearest the station): ``"fastest-own-engine"``;
- otherwise the median location of every call of the area: ``"area-median"``.

File format (version 1, JSON)::

    {"version": 1, "source": {"file": ..., "sha256": ..., "rows": N, "calls": N},
     "stations": {"16": {"lat": 37.79861, "lon": -122.44541, "method": "fastest-own-engine",
                         "calls": 36, "samples": 1}, ...}}

``lat``/``lon`` are required (degrees); the other fields are provenance and optional. Labels are
spelled as the source spells them ("01", "16"); `Stations.suggest` finds "06" for "6".
"""

from __future__ import annotations

import functools
import json
import math
import os
import statistics
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from desktop.domain.types import Unit
from desktop.geo.areas import natural_key, open_calls_csv
from desktop.resources import resource_path

__all__ = [
    "FORMAT_VERSION",
    "MIN_OWN_RESPONSES",
    "Station",
    "Stations",
    "derive_stations",
    "home_position",
]

FORMAT_VERSION = 1
#: Own-engine responses a station needs before its fastest third is trusted over the area median.
MIN_OWN_RESPONSES = 9
#: Decimal places kept (1e-5 degree is about 1.1 m).
DECIMALS = 5
#: Columns `derive_stations` needs.
COLUMNS = (
    "Call Number",
    "Unit ID",
    "Station Area",
    "Response DtTm",
    "On Scene DtTm",
    "Location",
)
_TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"
#: Travel times outside this range (seconds) are data errors or a clock change, not a response.
_TRAVEL_RANGE = (0.0, 3600.0)


@dataclass(frozen=True, slots=True)
class Station:
    """A station label and its position (degrees); ``method`` says how it was obtained."""

    id: str
    lat: float
    lon: float
    method: str = ""
    calls: int = 0
    samples: int = 0

    @property
    def position(self) -> tuple[float, float]:
        return (self.lat, self.lon)


class Stations(Mapping[str, Station]):
    """Station label -> `Station`, immutable, in natural order ("2" before "10")."""

    __slots__ = ("_by_id", "source")

    def __init__(
        self, stations: Mapping[str, Station], source: Mapping[str, Any] | None = None
    ) -> None:
        for label, station in stations.items():
            if label != station.id or not label:
                raise ValueError(f"station {label!r} is filed under another label")
            if not (math.isfinite(station.lat) and -90 <= station.lat <= 90):
                raise ValueError(f"station {label}: latitude {station.lat} out of range")
            if not (math.isfinite(station.lon) and -180 <= station.lon <= 180):
                raise ValueError(f"station {label}: longitude {station.lon} out of range")
        self._by_id = {k: stations[k] for k in sorted(stations, key=natural_key)}
        self.source: dict[str, Any] = dict(source or {})

    def __getitem__(self, label: str) -> Station:
        return self._by_id[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)

    def __repr__(self) -> str:
        return f"Stations({len(self)} stations)"

    def position(self, label: str) -> tuple[float, float] | None:
        """The (lat, lon) of ``label``, None when it is not known."""
        station = self._by_id.get(label)
        return None if station is None else station.position

    def suggest(self, label: str) -> str | None:
        """A known label that ``label`` probably means ("06" for "6", "16" for " 16 "); None if
        none (or ``label`` is itself known)."""
        if label in self._by_id:
            return None
        text = label.strip()
        if text in self._by_id:
            return text
        if text.isdigit():
            for known in self._by_id:
                if known.isdigit() and int(known) == int(text):
                    return known
        return None

    # --- files --------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the file format above (sorted, indented: the same stations give the same
        bytes). Replaces ``path`` atomically."""
        document = {
            "version": FORMAT_VERSION,
            "source": self.source,
            "stations": {
                s.id: {
                    "lat": round(s.lat, DECIMALS),
                    "lon": round(s.lon, DECIMALS),
                    "method": s.method,
                    "calls": s.calls,
                    "samples": s.samples,
                }
                for s in self.values()
            },
        }
        target = Path(path)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", "utf-8")
        os.replace(partial, target)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Stations:
        """Read a stations file. Raises ``OSError`` if unreadable, ``ValueError`` when malformed
        or of another format version."""
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
        if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
            raise ValueError(f"{path}: not a version {FORMAT_VERSION} stations file")
        entries = document.get("stations")
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: 'stations' must map labels to positions")
        stations: dict[str, Station] = {}
        for label, entry in entries.items():
            if not isinstance(entry, dict) or not all(
                isinstance(entry.get(k), int | float) and not isinstance(entry.get(k), bool)
                for k in ("lat", "lon")
            ):
                raise ValueError(f"{path}: station {label!r} needs numbers 'lat' and 'lon'")
            stations[label] = Station(
                label,
                float(entry["lat"]),
                float(entry["lon"]),
                str(entry.get("method", "")),
                int(entry.get("calls", 0)),
                int(entry.get("samples", 0)),
            )
        source = document.get("source", {})
        return cls(stations, source if isinstance(source, dict) else {})

    @staticmethod
    @functools.cache
    def load_default() -> Stations:
        """The shipped positions, ``resources/geo/stations.json`` (read once, then shared)."""
        return Stations.from_file(resource_path("geo", "stations.json"))


def home_position(unit: Unit, stations: Stations | None = None) -> tuple[float, float] | None:
    """Where ``unit`` is taken to be without an AVL fix: its station's position in ``stations``
    (default: the shipped ones); None when it has no station or the station is unknown."""
    if not unit.station:
        return None
    return (Stations.load_default() if stations is None else stations).position(unit.station)


# --- derivation ------------------------------------------------------------------------------


def _location(text: str) -> tuple[float, float] | None:
    """``"(lat, lon)"`` as floats; None when unusable (not finite, out of range, (0, 0))."""
    inner = text.strip()
    if not (inner.startswith("(") and inner.endswith(")")):
        return None
    parts = inner[1:-1].split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (math.isfinite(lat) and math.isfinite(lon)) or (lat, lon) == (0.0, 0.0):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return (lat, lon)


def _travel_seconds(en_route: str, on_scene: str) -> float | None:
    if not en_route.strip() or not on_scene.strip():
        return None
    try:
        seconds = (
            datetime.strptime(on_scene.strip(), _TIME_FORMAT)
            - datetime.strptime(en_route.strip(), _TIME_FORMAT)
        ).total_seconds()
    except ValueError:
        return None
    low, high = _TRAVEL_RANGE
    return seconds if low <= seconds <= high else None


def _own_engine(unit_id: str, station: str) -> bool:
    """Whether ``unit_id`` is station ``station``'s engine (SFFD: engine n is at station n)."""
    number = unit_id[1:]
    return (
        unit_id[:1] == "E"
        and number.isdigit()
        and station.isdigit()
        and int(number) == int(station)
    )


def _median(points: list[tuple[float, float]]) -> tuple[float, float]:
    return (statistics.median(p[0] for p in points), statistics.median(p[1] for p in points))


def derive_stations(csv_path: Path) -> Stations:
    """Estimate every station's position from the SFFD "Fire Department Calls for Service" CSV
    (method in the module docstring). A call counts once for its area (its first row with a
    usable ``Location`` and ``Station Area``); every row of the station's own engine with a
    travel time of 0-3,600 s counts as a response. Raises ``OSError`` if unreadable and
    ``ValueError`` when a column is missing or no call is usable. ``source`` records ``file``,
    ``sha256``, ``rows`` and ``calls`` (calls used)."""
    path = Path(csv_path)
    area_calls: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
    responses: defaultdict[str, list[tuple[float, tuple[float, float]]]] = defaultdict(list)
    counted: set[str] = set()
    rows = 0
    with open_calls_csv(path, COLUMNS) as (digest, reader):
        for row in reader:
            rows += 1
            station = (row["Station Area"] or "").strip()
            location = _location(row["Location"] or "")
            number = (row["Call Number"] or "").strip()
            if not station or location is None or not number:
                continue
            if number not in counted:
                counted.add(number)
                area_calls[station].append(location)
            if _own_engine((row["Unit ID"] or "").strip(), station):
                travel = _travel_seconds(row["Response DtTm"] or "", row["On Scene DtTm"] or "")
                if travel is not None:
                    responses[station].append((travel, location))
    if not area_calls:
        raise ValueError(f"{path}: no call with a usable station area and location")
    stations: dict[str, Station] = {}
    for label, calls in area_calls.items():
        own = sorted(responses.get(label, []))
        if len(own) >= MIN_OWN_RESPONSES:
            fastest = [where for _, where in own[: math.ceil(len(own) / 3)]]
            lat, lon = _median(fastest)
            method, samples = "fastest-own-engine", len(fastest)
        else:
            lat, lon = _median(calls)
            method, samples = "area-median", len(calls)
        stations[label] = Station(
            label, round(lat, DECIMALS), round(lon, DECIMALS), method, len(calls), samples
        )
    source = {"file": path.name, "sha256": digest, "rows": rows, "calls": len(counted)}
    return Stations(stations, source)
