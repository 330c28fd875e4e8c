"""Replaying a real day (`sim.replay`, ``dispatch-server sim replay``): rows read or skipped with
a reason, the plan (statuses in the only order they may go, units reassigned), the file's own
times in the log, nothing applied twice on a second run, and live databases refused."""

from __future__ import annotations

import argparse
import gzip
import sqlite3
from pathlib import Path

import pytest

from desktop.domain.types import UnitStatus
from desktop.domain.units import UnitDispatch, UnitSetStatus
from server.processor import NotATrainingDatabase, make_training_database
from server.store.sqlite import SqliteStore
from sim.replay import ReplayRow, ReplaySummary, plan_day, read_rows
from sim.replay_cli import add_commands, run_replay

DATA = Path(__file__).parents[1] / "data"
DAY = DATA / "sffd_day_2016-12-31.csv.gz"
with gzip.open(DAY, "rt", encoding="utf-8") as _day:
    HEADER = _day.readline()


def _csv(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "calls.csv"
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _line(**cells: str) -> str:
    """A file row: every column empty but those given (by header name)."""
    names = HEADER.strip().split(",")
    return ",".join(f'"{cells.get(name, "")}"' for name in names)


GOOD = {
    "Call Number": "1",
    "Unit ID": "E12",
    "Unit Type": "ENGINE",
    "Call Type": "Structure Fire",
    "Call Type Group": "Fire",
    "Priority": "3",
    "Address": "1200 Block of MARKET ST",
    "Location": "(37.7793, -122.4193)",
    "Station Area": "01",
    "Received DtTm": "12/31/2016 10:00:00 AM",
    "Entry DtTm": "12/31/2016 10:00:30 AM",
    "Dispatch DtTm": "12/31/2016 10:00:45 AM",
    "Response DtTm": "12/31/2016 10:01:30 AM",
    "On Scene DtTm": "12/31/2016 10:05:00 AM",
    "Available DtTm": "12/31/2016 10:30:00 AM",
    "Call Final Disposition": "Fire",
}


def test_rows_are_read_in_local_time_and_malformed_ones_skipped_with_a_reason(
    tmp_path: Path,
) -> None:
    path = _csv(
        tmp_path,
        _line(**GOOD),
        _line(**{**GOOD, "Call Number": ""}),
        _line(**{**GOOD, "Dispatch DtTm": ""}),
        _line(**{**GOOD, "Response DtTm": "31/12/2016 10:01"}),
        _line(**{**GOOD, "Location": "(north, south)"}),
    )
    rows, skipped = read_rows(path)
    assert [row.unit for row in rows] == ["E12"]
    assert rows[0].received == 1483207200.0  # 10:00 PST = 18:00 UTC
    assert rows[0].call_type == "FIRE-STRUCTURE"
    assert skipped == {
        "no Call Number or Unit ID": 1,
        "no Received or Dispatch time": 1,
        "a time that cannot be read": 1,
        "a Location that is not a point": 1,
    }
    assert read_rows(path, "UTC")[0][0].received == 1483178400.0


def _row(unit: str, call: str, **times: float | None) -> ReplayRow:
    base: dict[str, float | None] = {
        "received": 0.0, "entry": 10.0, "dispatch": 20.0, "response": 30.0, "onscene": 60.0,
        "transport": None, "hospital": None, "available": 100.0,
    }  # fmt: skip
    base.update(times)
    return ReplayRow(
        call=call, unit=unit, unit_type="ENGINE", station="01", call_type="FIRE-STRUCTURE",
        priority=1, address="1 MAIN ST", lat=37.7, lon=-122.4, disposition="Fire",
        **base,  # type: ignore[arg-type]
    )  # fmt: skip


def _statuses(steps: list, unit: str) -> list[tuple[float, UnitStatus]]:  # type: ignore[type-arg]
    return [
        (step.at, command.status)
        for step in steps
        for command in step.commands
        if isinstance(command, UnitSetStatus) and command.unit_id == unit
    ]


def test_statuses_go_only_where_the_unit_may_go_from_the_one_before() -> None:
    summary = ReplaySummary()
    # a transport with no arrival, and an "at hospital" timed before the transport
    steps = plan_day(
        [
            _row("M1", "1", onscene=None, transport=70.0),
            _row("M2", "2", transport=70.0, hospital=65.0),
        ],
        summary,
    )
    assert _statuses(steps, "M1") == [(30.0, UnitStatus.ER), (100.0, UnitStatus.AV)]
    assert _statuses(steps, "M2") == [
        (30.0, UnitStatus.ER), (60.0, UnitStatus.OS), (70.0, UnitStatus.TR), (100.0, UnitStatus.AV)
    ]  # fmt: skip
    assert summary.out_of_order == 2
    assert steps[0].commands[0].unit_id == "M1"  # type: ignore[attr-defined]  # the roster first


def test_a_unit_dispatched_before_it_cleared_is_released_first() -> None:
    summary = ReplaySummary()
    steps = plan_day(
        [_row("E1", "1"), _row("E1", "2", received=40.0, entry=45.0, dispatch=50.0, response=55.0,
                                onscene=70.0, available=120.0)],
        summary,
    )  # fmt: skip
    assert summary.reassigned == 1
    # at 50 s E1 is freed from call 1 and dispatched to call 2; call 1's later times are dropped
    assert _statuses(steps, "E1") == [
        (30.0, UnitStatus.ER), (50.0, UnitStatus.AV), (55.0, UnitStatus.ER),
        (70.0, UnitStatus.OS), (120.0, UnitStatus.AV),
    ]  # fmt: skip
    dispatched = [c for s in steps for c in s.commands if isinstance(c, UnitDispatch)]
    assert len(dispatched) == 2


def _replay(args: list[str]) -> int:
    parser = argparse.ArgumentParser()
    handlers = add_commands(parser.add_subparsers(dest="command"))
    parsed = parser.parse_args(["sim", "replay", *args])
    assert handlers["sim"] is run_replay
    return run_replay(parsed)


def _events(path: Path) -> list[tuple[str, float, float]]:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT kind, at, acted_at FROM events ORDER BY seq").fetchall()


def test_a_day_replayed_keeps_its_times_and_a_second_run_applies_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "replay.sqlite"
    assert _replay(["--calls", str(DAY), "--speed", "0", "--db", str(db)]) == 0
    said = capsys.readouterr().out
    assert "replaying 420 calls (852 unit rows)" in said and "refused: 0" in said
    events = _events(db)
    kinds = [kind for kind, _, _ in events]
    assert kinds.count("call.offered") == 420 and kinds.count("unit.dispatched") == 852
    times = [at for kind, at, _ in events if kind != "unit.added"]
    assert min(times) >= 1483171200.0 and max(times) < 1483171200.0 + 2 * 86400  # the file's
    assert all(acted in (None, at) for _, at, acted in events)  # recorded when acted

    assert _replay(["--calls", str(DAY), "--speed", "0", "--db", str(db)]) == 0
    assert len(_events(db)) == len(events)  # every key already applied: nothing twice


def test_a_live_database_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    live = tmp_path / "live.sqlite"
    store = SqliteStore(live)
    from server.store.base import Batch, NewEvent

    store.commit_batch(Batch(events=[NewEvent("unit.added", b"{}", 1.0, "ann", None)]))
    with pytest.raises(NotATrainingDatabase):
        make_training_database(store)
    store.close()
    assert _replay(["--calls", str(DAY), "--speed", "0", "--db", str(live)]) == 2
    assert "holds a live floor's events" in capsys.readouterr().err
    assert _replay(["--calls", str(tmp_path / "none.csv"), "--db", str(live)]) == 2
    assert _replay(["--calls", str(DAY), "--day", "31/12/2016", "--db", str(live)]) == 2
