"""``dispatch-server geocode`` and ``derive-addresses`` (server/geocode_cli.py), and the
derivation (desktop/geo/address_derive.py) on the hand-made fixture in tests/data/geo/."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from desktop.geo.geocoder import Geocoder
from desktop.geo.projection import equirectangular_m
from server.cli import main

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "geo"


def run(monkeypatch: pytest.MonkeyPatch, *args: str, stdin: str = "") -> int:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    return main(list(args))


def rows(capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_batch_writes_one_json_line_per_input_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stdin = "MISSION ST/24TH ST\n\n9999 MISSION ST\n0 Block of BALCETA AVE\n1 FOO BAR ST\n"
    assert run(monkeypatch, "geocode", "--batch", stdin=stdin) == 0
    out = rows(capsys)
    assert [r["input"] for r in out] == stdin.splitlines()
    assert [r["status"] for r in out] == [
        "verified",
        "not_found",
        "candidates",
        "verified",
        "not_found",
    ]
    first = out[0]
    assert first["matched"] == "MISSION ST/24TH ST"
    assert isinstance(first["lat"], float) and isinstance(first["lon"], float)
    assert out[1]["lat"] is None and out[1]["candidates"] == []
    candidate = out[2]["candidates"][0]  # type: ignore[index]
    assert set(candidate) == {"label", "lat", "lon", "kind"}
    assert candidate["kind"] == "address"


def test_addresses_as_arguments(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, "geocode", "1 Market St", "Mission & 24th") == 0
    assert [r["matched"] for r in rows(capsys)] == ["1 MARKET ST", "MISSION ST/24TH ST"]


def test_usage_errors(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert run(monkeypatch, "geocode") == 2
    assert "ADDRESS" in capsys.readouterr().err
    assert run(monkeypatch, "geocode", "--index", str(tmp_path / "none.npz"), "1 MAIN ST") == 2
    assert "cannot read the address index" in capsys.readouterr().err
    missing = ["--streets", str(tmp_path / "no.csv"), "--roads", str(FIXTURE / "roads.geojson")]
    assert run(monkeypatch, "derive-addresses", *missing, "--out", str(tmp_path / "a.npz")) == 2
    assert "cannot derive addresses" in capsys.readouterr().err


def derive(monkeypatch: pytest.MonkeyPatch, out: Path) -> None:
    args = ["--streets", str(FIXTURE / "streets.csv"), "--roads", str(FIXTURE / "roads.geojson")]
    args += ["--signals", str(FIXTURE / "signals.csv"), "--out", str(out)]
    assert run(monkeypatch, "derive-addresses", *args) == 0


@pytest.fixture
def fixture_index(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    out = tmp_path / "one" / "addresses.npz"
    derive(monkeypatch, out)
    return out


def test_derivation_places_nodes_where_the_streets_meet(fixture_index: Path) -> None:
    with np.load(fixture_index) as data:
        nodes = {
            int(c): (int(lat), int(lon))
            for c, lat, lon in zip(
                data["node_cnn"], data["node_lat"], data["node_lon"], strict=True
            )
        }
    assert nodes[200] == (37_780_000, -122_400_000)  # 1st St x Main St: their shared vertex
    assert nodes[400] == (37_780_000, -122_398_000)  # Main St x Oak Ave
    assert nodes[500] == (37_780_200, -122_396_000)  # Main St's dead end: its TIGER line's end
    assert nodes[600] == (37_781_000, -122_398_000)  # Oak Ave's end
    assert nodes[100] == (37_779_000, -122_400_000)  # 1st St's south end: its signal says so
    assert nodes[300] == (37_781_000, -122_400_000)  # ... so the north end is the other one
    provenance = (fixture_index.parent / "addresses.PROVENANCE.md").read_text(encoding="utf-8")
    assert "6 of 6 placed" in provenance and "streets.csv" in provenance


def test_derivation_puts_odd_and_even_on_the_sides_data_sf_gives(fixture_index: Path) -> None:
    geo = Geocoder.load(fixture_index)
    north, south = (geo.geocode(f"{n} MAIN ST") for n in (51, 52))  # travel east: left is north
    assert north.lat is not None and south.lat is not None
    assert north.lat > 37.7800 > south.lat
    # Oak Ave's block runs FROM its north end TO Main St, against TIGER's drawing: left is east.
    east, west = (geo.geocode(f"{n} OAK AVE") for n in (51, 52))
    assert east.lon is not None and west.lon is not None
    assert east.lon > -122.398 > west.lon
    middle = geo.geocode("50 1ST ST")  # mid-block on 1st St, between nodes 100 and 200
    assert middle.lat is not None and middle.lon is not None
    assert float(equirectangular_m(middle.lat, middle.lon, 37.7795, -122.4)) < 7.0
    assert geo.geocode("MAIN ST/1ST ST").lat == 37.78


def test_derivation_is_deterministic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "addresses.npz", tmp_path / "b" / "addresses.npz"
    derive(monkeypatch, first)
    derive(monkeypatch, second)
    assert first.read_bytes() == second.read_bytes()
    provenance = "addresses.PROVENANCE.md"
    assert (first.parent / provenance).read_bytes() == (second.parent / provenance).read_bytes()
