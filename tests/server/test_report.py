"""The shift report (server/report.py) and ``dispatch-server report`` (server/report_cli.py).

The log is made by the domain's own rules (`decide`) on a real `SqliteStore`, each event
recorded 2.5 s after it was acted (so the report must use the action times), plus a few raw
events the rules would refuse (a unit dispatched again while committed).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
import pytest

from desktop.domain.calls import CallAnswer, CallEnd, CallLink, CallOffer
from desktop.domain.catalog import decide, event_kind_of
from desktop.domain.floor_figures import MAX_REPORT_S
from desktop.domain.incidents import IncidentCreate, IncidentUpdate
from desktop.domain.kinds import CommandArgs, DecisionContext, EventData
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch, UnitDispatched, UnitSetStatus
from desktop.domain.world import World
from server.report import (
    Interval,
    ShiftReport,
    nearest_rank,
    report_csv,
    report_dict,
    shift_report,
)
from server.report_cli import add_commands, parse_time
from server.store.base import Batch, NewEvent, StoredEvent
from server.store.sqlite import SqliteStore

#: 2024-05-01 07:00 in San Francisco (14:00 UTC): the range is one hour from it.
T = 1_714_572_000.0
START, END = T, T + 3600
RECORDED_AFTER = 2.5
LA = ZoneInfo("America/Los_Angeles")


class Floor:
    """A world and its log: commands decided by the domain's rules at chosen action times."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store
        self.world = World()
        self._numbers = iter(range(1, 1000))

    def do(self, at: float, args: CommandArgs, actor: str = "ann") -> None:
        ctx = DecisionContext(actor, at, number_incident=lambda: f"F24-{next(self._numbers):06d}")
        self.record(at, *decide(self.world, args, ctx), actor=actor)

    def record(self, at: float, *events: EventData, actor: str = "ann") -> None:
        """Commit ``events`` acted at ``at`` (recorded later) and apply them, rules or not."""
        self.store.commit_batch(
            Batch(
                events=[
                    NewEvent(
                        event_kind_of(e).name,
                        msgspec.json.encode(e),
                        at + RECORDED_AFTER,
                        actor,
                        None,
                        acted_at=at,
                    )
                    for e in events
                ]
            )
        )
        for event in events:
            self.world.apply(event, at, actor, at + RECORDED_AFTER)

    # --- the dispatcher's words ----------------------------------------------------------

    def unit(self, at: float, unit_id: str) -> None:
        self.do(at, UnitAdd(unit_id=unit_id, type=unit_id[0]))

    def call(self, at: float, call_id: str, answered_after: float | None = None) -> None:
        self.do(at, CallOffer(call_id=call_id, ani="4155550100"), actor="pbx")
        if answered_after is not None:
            self.do(at + answered_after, CallAnswer(call_id=call_id), actor="carl")

    def incident(
        self, at: float, incident_id: str, type_: str, priority: int, call_id: str | None
    ) -> None:
        location = LocationArgs(address="1 MARKET ST")
        self.do(
            at,
            IncidentCreate(
                incident_id=incident_id,
                type=type_,
                priority=priority,
                location=location,
                call_id=call_id,
            ),
        )

    def dispatch(self, at: float, incident_id: str, *units: str) -> None:
        self.do(at, UnitDispatch(incident_id=incident_id, unit_ids=list(units)))

    def status(self, at: float, unit_id: str, status: UnitStatus) -> None:
        self.do(at, UnitSetStatus(unit_id=unit_id, status=status))


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(tmp_path / "dispatch.sqlite")
    yield store
    store.close()


@pytest.fixture
def shift(db: SqliteStore) -> SqliteStore:
    """One hour [T, T + 3600) and what happens around it; the expected figures are in
    `test_every_figure_of_the_shift`."""
    f = Floor(db)
    for unit_id in ("E1", "E2", "M1", "M2", "T1"):
        f.unit(T - 1000, unit_id)
    # Before the range: a call, an incident and E2's dispatch to it (none of it counts).
    f.call(T - 600, "c0", answered_after=10)
    f.incident(T - 580, "i0", "Structure Fire", 1, "c0")
    f.dispatch(T - 500, "i0", "E2")
    f.status(T - 400, "E2", UnitStatus.ER)
    f.status(T - 100, "E2", UnitStatus.AV)
    # c1 -> i1, E1 sent 50 s after the call: turnout 60, travel 300, busy 950.
    f.call(T + 0, "c1", answered_after=10)
    f.incident(T + 30, "i1", "Structure Fire", 1, "c1")
    f.dispatch(T + 50, "i1", "E1")
    # c2: a second call about i1, received after i1's first dispatch: left out of processing.
    f.call(T + 100, "c2", answered_after=18)
    f.status(T + 110, "E1", UnitStatus.ER)
    f.do(T + 130, CallLink(call_id="c2", incident_id="i1"), actor="carl")
    # c3 -> i2 (processing 90): M1 turnout 30 but never on scene; M2 on scene without ER.
    f.call(T + 200, "c3", answered_after=25)
    f.incident(T + 240, "i2", "Medical Incident", 2, "c3")
    f.dispatch(T + 290, "i2", "M1")
    f.dispatch(T + 300, "i2", "M2")
    f.status(T + 320, "M1", UnitStatus.ER)
    # c4: never answered (hung up): a call, and nothing else.
    f.call(T + 400, "c4")
    f.status(T + 410, "E1", UnitStatus.OS)
    f.do(T + 420, CallEnd(call_id="c4"), actor="pbx")
    # c5 -> i3, created p3, then made Alarms p2; first dispatched after the range (3200 s).
    f.call(T + 500, "c5", answered_after=5)
    f.status(T + 500, "M2", UnitStatus.OS)
    f.incident(T + 520, "i3", "Medical Incident", 3, "c5")
    f.do(T + 530, IncidentUpdate(incident_id="i3", type="Alarms", priority=2))
    # c6 -> i4, never dispatched: left out of processing.
    f.call(T + 600, "c6", answered_after=12)
    f.incident(T + 620, "i4", "Medical Incident", 2, "c6")
    f.status(T + 700, "M1", UnitStatus.AV)
    f.status(T + 900, "M2", UnitStatus.AQ)
    f.status(T + 1000, "E1", UnitStatus.AV)
    # E2 to i1, then dispatched again to i2 before any ER (the rules would refuse it): the
    # first dispatch ends there (busy 100, no turnout); the second has turnout 90, travel 120
    # and is still on scene at the end of the log (T + 3760): busy 2560.
    f.dispatch(T + 1100, "i1", "E2")
    f.record(T + 1200, UnitDispatched(unit_id="E2", incident_id="i2"))
    f.status(T + 1290, "E2", UnitStatus.ER)
    f.status(T + 1410, "E2", UnitStatus.OS)
    # At the end of the range, excluded: c7 and i5.
    f.call(END, "c7", answered_after=10)
    f.incident(END + 20, "i5", "Outside Fire", 3, "c7")
    f.dispatch(T + 3700, "i3", "T1")
    f.status(T + 3760, "T1", UnitStatus.ER)
    return db


def test_every_figure_of_the_shift(shift: SqliteStore) -> None:
    report = shift_report(shift, START, END)
    assert report_dict(report, LA) == {
        "from": "2024-05-01T07:00:00-07:00",
        "to": "2024-05-01T08:00:00-07:00",
        "calls": 6,
        "incidents": 4,
        "incidents_by_type": {"Alarms": 1, "Medical Incident": 2, "Structure Fire": 1},
        "incidents_by_priority": {"1": 1, "2": 3},
        "processing_s": {"p50": 90, "p90": 3200, "n": 3},
        "turnout_s": {"p50": 60, "p90": 90, "n": 3},
        "travel_s": {"p50": 120, "p90": 300, "n": 2},
        "answered_within_15s_share": 0.6,
        "answered_within_20s_share": 0.8,
        "processed_within_60s_share": 0.3333,
        "calls_by_hour": [6],  # c1 c2 c3 c4 c5 c6 (c7 is received at the range's end)
        "units": {
            "E1": {"dispatches": 1, "busy_s": 950},
            "E2": {"dispatches": 2, "busy_s": 2660},
            "M1": {"dispatches": 1, "busy_s": 410},
            "M2": {"dispatches": 1, "busy_s": 600},
        },
    }
    assert sorted(report.processing.samples) == [50, 90, 3200]
    assert sorted(report.turnout.samples) == [30, 60, 90]
    assert sorted(report.travel.samples) == [120, 300]
    assert sorted(report.answer.samples) == [5, 10, 12, 18, 25]


def test_the_range_selects_calls_incidents_and_dispatches(shift: SqliteStore) -> None:
    figures = report_dict(shift_report(shift, T + 250, T + 700), UTC)
    assert figures["from"] == "2024-05-01T14:04:10+00:00"
    assert (figures["calls"], figures["incidents"]) == (3, 2)  # c4 c5 c6; i3 i4
    assert figures["incidents_by_type"] == {"Alarms": 1, "Medical Incident": 1}
    assert figures["processing_s"] == {"p50": 3200, "p90": 3200, "n": 1}  # c5 only
    assert figures["turnout_s"] == {"p50": 30, "p90": 30, "n": 1}  # M1 (M2 had no ER)
    assert figures["travel_s"] == {"p50": None, "p90": None, "n": 0}
    assert figures["answered_within_15s_share"] == 1.0  # c5 5 s, c6 12 s; c4 unanswered
    assert figures["processed_within_60s_share"] == 0.0
    assert figures["calls_by_hour"] == [3]  # one partial hour of 450 s
    assert figures["units"] == {
        "M1": {"dispatches": 1, "busy_s": 410},
        "M2": {"dispatches": 1, "busy_s": 600},
    }
    # The range is half-open: a call received exactly at its end is the next range's.
    assert shift_report(shift, END, END + 60).calls == 1


def test_nothing_to_divide_gives_null_shares(db: SqliteStore) -> None:
    figures = report_dict(shift_report(db, START, END), UTC)
    assert figures["calls"] == figures["incidents"] == 0
    for key in ("processing_s", "turnout_s", "travel_s"):
        assert figures[key] == {"p50": None, "p90": None, "n": 0}
    for key in ("answered_within_15s_share", "answered_within_20s_share"):
        assert figures[key] is None
    assert figures["processed_within_60s_share"] is None
    assert figures["units"] == {} == figures["incidents_by_type"]
    assert figures["calls_by_hour"] == [0]
    with pytest.raises(ValueError):
        shift_report(db, END, START)


class Unread:
    """A store that must not be read."""

    def events_after(self, seq: int, limit: int) -> list[StoredEvent]:
        raise AssertionError("the log was read")


def test_a_range_that_cannot_be_reported_is_refused_before_the_log_is_read() -> None:
    with pytest.raises(ValueError, match=r"^the range must start before it ends$"):
        shift_report(Unread(), END, START)
    with pytest.raises(ValueError, match=r"^the range must be at most 366 days long$"):
        shift_report(Unread(), START - MAX_REPORT_S, END)
    with pytest.raises(ValueError, match=r"^the range is not a time range$"):
        shift_report(Unread(), START, math.nan)


def test_nearest_rank_percentiles() -> None:
    values = [40, 15, 50, 35, 20]
    assert nearest_rank(values, 50) == 35  # ceil(2.5) = 3rd smallest
    assert nearest_rank(values, 90) == 50  # ceil(4.5) = 5th
    assert nearest_rank(values, 40) == 20  # exactly 2.0: the 2nd, not the 3rd
    assert nearest_rank(values, 1) == 15
    assert nearest_rank(values, 100) == 50
    assert nearest_rank(list(range(1, 11)), 90) == 9
    assert nearest_rank(list(range(1, 11)), 50) == 5
    assert nearest_rank([7.5], 50) == 7.5
    assert nearest_rank([], 50) is None
    for q in (0, 101):
        with pytest.raises(ValueError):
            nearest_rank(values, q)


def test_fractional_seconds_are_kept_to_three_decimals(db: SqliteStore) -> None:
    base = T + 0.1  # epoch floats whose differences are not exact in binary
    f = Floor(db)
    f.unit(base - 100, "E1")
    f.unit(base - 100, "E2")
    f.call(base, "c1", answered_after=15.0)
    f.incident(base + 20, "i1", "Fire", 1, "c1")
    f.dispatch(base + 60, "i1", "E1")  # processing exactly 60: within 60 s
    f.dispatch(base + 61, "i1", "E2")
    f.status(base + 90.25, "E1", UnitStatus.ER)  # turnout 30.25
    f.status(base + 91, "E2", UnitStatus.ER)  # turnout 30
    f.status(base + 100.0004, "E1", UnitStatus.OS)
    f.status(base + 200, "E1", UnitStatus.AV)
    f.status(base + 201, "E2", UnitStatus.AV)
    figures = report_dict(shift_report(db, START, END), UTC)
    assert figures["processing_s"] == {"p50": 60, "p90": 60, "n": 1}
    assert figures["processed_within_60s_share"] == 1.0
    assert figures["answered_within_15s_share"] == 1.0
    turnout = figures["turnout_s"]
    assert turnout == {"p50": 30.0, "p90": 30.25, "n": 2}
    assert isinstance(turnout["p50"], float)  # not every sample is whole: floats throughout
    assert figures["travel_s"] == {"p50": 9.75, "p90": 9.75, "n": 1}
    assert figures["units"] == {
        "E1": {"dispatches": 1, "busy_s": 140},
        "E2": {"dispatches": 1, "busy_s": 140},
    }


def test_a_status_naming_another_incident_ends_the_interval(db: SqliteStore) -> None:
    from desktop.domain.units import UnitStatusChanged

    f = Floor(db)
    f.unit(T - 100, "E1")
    f.call(T, "c1", answered_after=5)
    f.incident(T + 10, "i1", "Fire", 1, "c1")
    f.incident(T + 11, "i2", "Fire", 1, None)
    f.dispatch(T + 20, "i1", "E1")
    f.record(
        T + 30,
        UnitStatusChanged(
            unit_id="E1", status=UnitStatus.ER, previous=UnitStatus.DP, incident_id="i2"
        ),
    )
    f.record(
        T + 40,
        UnitStatusChanged(unit_id="E1", status=UnitStatus.AV, previous=UnitStatus.ER),
    )
    report = shift_report(db, START, END)
    assert report.turnout == Interval(())
    assert report.units["E1"].busy_s == 20


def test_the_csv_form(shift: SqliteStore) -> None:
    text = report_csv(shift_report(shift, START, END), LA)
    figures, units = text.split("\n\n")
    assert figures.splitlines() == [
        "figure,value",
        "from,2024-05-01T07:00:00-07:00",
        "to,2024-05-01T08:00:00-07:00",
        "calls,6",
        "incidents,4",
        "incidents_by_type.Alarms,1",
        "incidents_by_type.Medical Incident,2",
        "incidents_by_type.Structure Fire,1",
        "incidents_by_priority.1,1",
        "incidents_by_priority.2,3",
        "processing_s.p50,90",
        "processing_s.p90,3200",
        "processing_s.n,3",
        "turnout_s.p50,60",
        "turnout_s.p90,90",
        "turnout_s.n,3",
        "travel_s.p50,120",
        "travel_s.p90,300",
        "travel_s.n,2",
        "answered_within_15s_share,0.6",
        "answered_within_20s_share,0.8",
        "processed_within_60s_share,0.3333",
        "calls_by_hour.0,6",
    ]
    assert units.splitlines() == [
        "unit,dispatches,busy_s",
        "E1,1,950",
        "E2,2,2660",
        "M1,1,410",
        "M2,1,600",
    ]


def test_csv_quotes_and_nulls() -> None:
    report = ShiftReport(
        start=START,
        end=END,
        calls=0,
        calls_by_hour=(0,),
        incidents=1,
        incidents_by_type={'Fire, "big"': 1},
        incidents_by_priority={"1": 1},
        answer=Interval(),
        processing=Interval(),
        turnout=Interval(),
        travel=Interval(),
        units={},
    )
    lines = report_csv(report, UTC).splitlines()
    assert '"incidents_by_type.Fire, ""big""",1' in lines
    assert "processing_s.p50," in lines
    assert "answered_within_15s_share," in lines
    assert lines[-1] == "unit,dispatches,busy_s"


# --- the command -------------------------------------------------------------------------------


def report_command(*argv: str) -> int:
    """``dispatch-server report ARGV...`` as `server.cli` runs a plugin's sub-command."""
    parser = argparse.ArgumentParser(prog="dispatch-server")
    commands = parser.add_subparsers(dest="command")
    handlers = add_commands(commands)
    args = parser.parse_args(["report", *argv])
    return handlers[args.command](args)


def test_the_command_writes_json_and_csv(
    shift: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(shift.path)
    out = tmp_path / "shift.json"
    assert (
        report_command(
            "--db",
            path,
            "--from",
            "2024-05-01T07:00",
            "--to",
            "2024-05-01T08:00",
            "--out",
            str(out),
        )
        == 0
    )
    expected = report_dict(shift_report(shift, START, END), LA)
    assert json.loads(out.read_text(encoding="utf-8")) == expected
    # The same range in other words: with offsets, in UTC, output on stdout.
    assert (
        report_command(
            "--db",
            path,
            "--from",
            "2024-05-01T14:00Z",
            "--to",
            "2024-05-01T15:00:00+00:00",
            "--tz",
            "UTC",
        )
        == 0
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["from"] == "2024-05-01T14:00:00+00:00"
    assert {k: v for k, v in printed.items() if k not in ("from", "to")} == {
        k: v for k, v in expected.items() if k not in ("from", "to")
    }
    csv_out = tmp_path / "shift.csv"
    argv = ("--db", path, "--from", "2024-05-01T07:00", "--to", "2024-05-01T08:00")
    assert report_command(*argv, "--format", "csv", "--out", str(csv_out)) == 0
    assert csv_out.read_text(encoding="utf-8") == report_csv(shift_report(shift, START, END), LA)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--from", "yesterday", "--to", "2024-05-01T08:00"), "not an ISO 8601 time: 'yesterday'"),
        (
            ("--from", "2024-05-01T08:00", "--to", "2024-05-01T08:00"),
            "--from 2024-05-01T08:00 --to 2024-05-01T08:00: the range must start before it ends",
        ),
        (("--from", "2024-05-01T09:00", "--to", "2024-05-01T08:00"), "must start before it ends"),
        (
            ("--from", "2023-05-01T07:00", "--to", "2024-05-01T07:00:01"),
            "the range must be at most 366 days long",
        ),
        (
            ("--from", "2024-05-01", "--to", "2024-05-02", "--tz", "Mars/Olympus"),
            "unknown time zone",
        ),
        (("--from", "2024-05-01", "--to", "2024-05-02", "--format", "pdf"), "give it --out FILE"),
    ],
)
def test_input_errors_exit_2_with_one_line(
    db: SqliteStore,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    message: str,
) -> None:
    assert report_command("--db", str(db.path), *argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert captured.err.startswith("dispatch-server report: ")
    assert captured.err.count("\n") == 1


def test_a_missing_or_foreign_database_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.sqlite"
    range_ = ("--from", "2024-05-01", "--to", "2024-05-02")
    assert report_command("--db", str(missing), *range_) == 2
    assert capsys.readouterr().err == f"dispatch-server report: no database at {missing}\n"
    assert not missing.exists()  # never created
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database at all" * 100)
    assert report_command("--db", str(junk), *range_) == 2
    err = capsys.readouterr().err
    assert err.startswith("dispatch-server report: cannot open database") and err.count("\n") == 1


def test_an_unwritable_output_exits_2(
    db: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "no-such-dir" / "shift.json"
    argv = ("--db", str(db.path), "--from", "2024-05-01", "--to", "2024-05-02", "--out", str(out))
    assert report_command(*argv) == 2
    assert capsys.readouterr().err.startswith(f"dispatch-server report: cannot write {out}")


def test_it_is_a_command_of_dispatch_server(
    shift: SqliteStore, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from server import cli

    out = tmp_path / "shift.json"
    argv = ["report", "--db", str(shift.path), "--from", "2024-05-01T07:00"]
    assert cli.main([*argv, "--to", "2024-05-01T08:00", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8"))["calls"] == 6
    assert cli.main([*argv, "--to", "2024-05-01T06:00"]) == 2
    assert "the range must start before it ends" in capsys.readouterr().err


def test_parse_time() -> None:
    assert parse_time("2024-05-01T07:00", LA) == T
    assert parse_time("2024-05-01T07:00:00.5", LA) == T + 0.5
    assert parse_time("2024-05-01T14:00:00Z", LA) == T
    assert parse_time(" 2024-05-01 16:00+02:00 ", LA) == T
    assert parse_time("2024-01-15T07:00", LA) == parse_time("2024-01-15T15:00Z", LA)  # PST
    with pytest.raises(ValueError):
        parse_time("05/01/2024", LA)
