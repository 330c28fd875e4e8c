"""Station positions (desktop/geo/stations.py) and ``dispatch-server derive-stations``."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from desktop.domain.types import Unit
from desktop.geo.stations import (
    MIN_OWN_RESPONSES,
    Station,
    Stations,
    derive_stations,
    home_position,
)
from server.cli import main as cli_main

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests/data/sffd_sample.csv"
COLUMNS = ["Call Number", "Unit ID", "Station Area", "Response DtTm", "On Scene DtTm", "Location"]


def _calls(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return path


def test_the_sample_gives_each_area_the_median_of_its_calls() -> None:
    stations = derive_stations(SAMPLE)
    assert list(stations) == ["01", "07", "28"]  # natural order
    assert all(s.method == "area-median" and s.calls == 1 for s in stations.values())
    assert stations.source["calls"] == 3 and stations.source["file"] == "sffd_sample.csv"


def test_a_busy_station_is_placed_by_its_own_engines_quickest_responses(tmp_path: Path) -> None:
    """Engine n is station n's: the third of its responses reached quickest are nearest."""
    rows = []
    for n in range(MIN_OWN_RESPONSES):  # travel 60 s .. 540 s, farther and farther north
        lat = 37.70 + 0.01 * n
        rows.append(
            [
                str(n),
                "E05",
                "05",
                "01/01/2017 10:00:00 AM",
                f"01/01/2017 10:{n + 1:02}:00 AM",
                f"({lat}, -122.4)",
            ]
        )
    rows.append(["99", "T05", "05", "", "", "(37.9, -122.5)"])  # another unit: the area only
    rows.append(["98", "E06", "05", "", "", "(0, 0)"])  # no usable location: skipped
    stations = derive_stations(_calls(tmp_path / "calls.csv", rows))
    (station,) = stations.values()
    assert (station.method, station.samples, station.calls) == ("fastest-own-engine", 3, 10)
    assert station.position == (37.71, -122.4)  # the median of the three quickest


def test_save_and_load_round_trip_and_refuse_bad_files(tmp_path: Path) -> None:
    stations = derive_stations(SAMPLE)
    path = tmp_path / "stations.json"
    stations.save(path)
    again = Stations.from_file(path)
    assert dict(again) == dict(stations) and again.source == stations.source
    path.write_text(json.dumps({"version": 1, "stations": {"1": {"lat": "x"}}}))
    with pytest.raises(ValueError, match="needs numbers"):
        Stations.from_file(path)
    path.write_text(json.dumps({"version": 2, "stations": {}}))
    with pytest.raises(ValueError, match="version 1"):
        Stations.from_file(path)
    with pytest.raises(ValueError, match="out of range"):
        Stations({"1": Station("1", 91.0, 0.0)})


def test_a_units_home_is_its_stations_position() -> None:
    stations = Stations({"06": Station("06", 37.76, -122.43)})
    assert home_position(Unit(id="E6", type="ENGINE", station="06"), stations) == (37.76, -122.43)
    assert home_position(Unit(id="E6", type="ENGINE", station="6"), stations) is None
    assert home_position(Unit(id="E6", type="ENGINE"), stations) is None
    assert stations.suggest("6") == "06" and stations.suggest(" 06 ") == "06"
    assert stations.suggest("06") is None and stations.suggest("7") is None
    shipped = Stations.load_default()
    assert home_position(Unit(id="E99", type="ENGINE", station="16")) == shipped["16"].position


def test_derive_stations_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "geo" / "stations.json"
    assert cli_main(["derive-stations", "--calls", str(SAMPLE), "--out", str(out)]) == 0
    assert "3 stations from 3 calls" in capsys.readouterr().out
    assert list(Stations.from_file(out)) == ["01", "07", "28"]
    assert (
        cli_main(["derive-stations", "--calls", str(tmp_path / "no.csv"), "--out", str(out)]) == 2
    )
    assert "cannot derive stations" in capsys.readouterr().err
