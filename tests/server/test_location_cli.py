"""``dispatch-server location FILE...``: one JSON line per file, in order, and the exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from desktop.domain.caller_location import CallerLocation
from server.cli import main
from server.location_cli import location_json

PIDF_DIR = Path(__file__).resolve().parents[1] / "data" / "pidf"


def run(capsys: pytest.CaptureFixture[str], *files: str) -> tuple[int, list[dict[str, Any]]]:
    code = main(["location", *files])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_file_parsed(capsys: pytest.CaptureFixture[str]) -> None:
    files = [str(PIDF_DIR / "DeviceAndPerson.xml"), str(PIDF_DIR / "RFC5491TuplePointLocation.xml")]
    code, lines = run(capsys, *files)
    assert code == 0
    assert [line["file"] for line in lines] == files
    assert all(line["ok"] and line["error"] is None for line in lines)
    civic, circle = lines[0]["locations"]
    assert civic == {
        "kind": "civic",
        "civic": {
            "country": "US",
            "A1": "CA",
            "A3": "Simi Valley",
            "RD": "Stonebrook",
            "STS": "Street",
            "HNO": "311",
            "PC": "93065",
        },
        "method": "802.11",
    }
    assert circle == {
        "kind": "geodetic",
        "shape": "Circle",
        "lat": 34.247493,
        "lon": -118.791885,
        "uncertainty_m": 50.0,
        "confidence": None,
        "method": "802.11",
    }
    [point] = lines[1]["locations"]
    assert (point["shape"], point["uncertainty_m"], point["method"]) == ("Point", None, "")


def test_failures_are_reported_in_order_and_exit_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = str(tmp_path / "missing.xml")
    files = [
        str(PIDF_DIR / "DeviceCircleWithConfidence.xml"),
        missing,
        str(PIDF_DIR / "SIP_INVITE_location_garbled_PIDF-LO_body_presence0_NOT-WELLFORMED.xml"),
        str(PIDF_DIR / "handwritten_billion_laughs.xml"),
        str(PIDF_DIR / "handwritten_bad_unit.xml"),
        str(tmp_path),  # a directory
        str(PIDF_DIR / "DeviceDynamicOnly1.xml"),  # no location: fine
    ]
    code, lines = run(capsys, *files)
    assert code == 1
    assert [line["file"] for line in lines] == files
    assert [line["ok"] for line in lines] == [True, False, False, False, False, False, True]
    assert [line["error"] and line["error"]["code"] for line in lines] == [
        None,
        "unreadable",
        "not_well_formed",
        "forbidden_xml",
        "bad_location",
        "unreadable",
        None,
    ]
    assert lines[0]["locations"][0]["confidence"] == 95.0
    assert all(line["locations"] == [] for line in lines[1:])
    assert "9036" in lines[4]["error"]["message"]


def test_a_file_too_large_is_refused_unparsed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(b"<" * 200_000)
    code, [line] = run(capsys, str(big))
    assert code == 1 and line["error"]["code"] == "too_large"


def test_no_file_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["location"])
    assert exited.value.code == 2
    assert "FILE" in capsys.readouterr().err


def test_a_location_by_reference() -> None:
    loc = CallerLocation(kind="reference", reference="https://lis.example/loc/1", method="Cell")
    assert location_json(loc) == {
        "kind": "reference",
        "reference": "https://lis.example/loc/1",
        "method": "Cell",
    }
