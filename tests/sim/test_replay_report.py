"""Issue #16's acceptance: the shift report over a replayed SFFD day equals that day's figures
worked out independently, here, straight from the raw CSV, to the second.

The independent computation reads the file with the standard library only and the issue's
definitions: processing = the call's first Dispatch DtTm - Received DtTm; turnout = Response
DtTm - Dispatch DtTm per unit row; travel = On Scene DtTm - Response DtTm per unit row; rows
without the times involved are left out; nearest-rank p50 and p90; the file's local times in
America/Los_Angeles. Nothing of `sim.replay` or `server.report` is used for it."""

from __future__ import annotations

import csv
import gzip
import math
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from server.report import report_dict, shift_report
from server.store.sqlite import SqliteStore
from tests.sim.test_replay import DAY, _replay

ZONE = ZoneInfo("America/Los_Angeles")
START = datetime(2016, 12, 31, tzinfo=ZONE).timestamp()
END = datetime(2017, 1, 1, tzinfo=ZONE).timestamp()


def _t(text: str) -> float | None:
    if not text:
        return None
    return datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=ZONE).timestamp()


def _rank(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered) / 100) - 1]


def independent() -> dict[str, Any]:
    """The day's figures from the raw file (module docstring)."""
    with gzip.open(DAY, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    received: dict[str, float] = {}
    first_dispatch: dict[str, float] = {}
    turnout: list[float] = []
    travel: list[float] = []
    for row in rows:
        got, sent = _t(row["Received DtTm"]), _t(row["Dispatch DtTm"])
        assert got is not None and sent is not None
        response, scene = _t(row["Response DtTm"]), _t(row["On Scene DtTm"])
        call = row["Call Number"]
        received[call] = min(got, received.get(call, got))
        first_dispatch[call] = min(sent, first_dispatch.get(call, sent))
        if response is not None:
            turnout.append(response - sent)
            if scene is not None:
                travel.append(scene - response)
    processing = [first_dispatch[call] - received[call] for call in received]
    return {
        "calls": len(received),
        "incidents": len(received),
        "processing_s": {"p50": _rank(processing, 50), "p90": _rank(processing, 90)},
        "turnout_s": {"p50": _rank(turnout, 50), "p90": _rank(turnout, 90)},
        "travel_s": {"p50": _rank(travel, 50), "p90": _rank(travel, 90)},
        "processed_within_60s_share": sum(p <= 60 for p in processing) / len(processing),
        "counts": (len(processing), len(turnout), len(travel)),
    }


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("replayed") / "day.sqlite"
    assert _replay(["--calls", str(DAY), "--speed", "0", "--db", str(db)]) == 0
    return db


def test_the_report_over_a_replayed_day_equals_the_files_own_figures(replayed: Path) -> None:
    store = SqliteStore(replayed)
    try:
        report = report_dict(shift_report(store, START, END), ZONE)
    finally:
        store.close()
    expected = independent()
    assert report["calls"] == expected["calls"] == 420
    assert report["incidents"] == expected["incidents"]
    for key in ("processing_s", "turnout_s", "travel_s"):
        assert {k: report[key][k] for k in ("p50", "p90")} == expected[key], key
    counts = (report["processing_s"]["n"], report["turnout_s"]["n"], report["travel_s"]["n"])
    assert counts == expected["counts"]
    assert report["processed_within_60s_share"] == round(expected["processed_within_60s_share"], 4)
