"""``dispatch-server sim replay --demo``: the real day shipped in ``resources/demo/`` (one whole
local day of the SFFD file, nothing else), replayed into a fresh training database, loads every
row and call of it; the report over that day counts its calls; ``--demo`` goes without
``--calls`` and ``--day``. The expected counts are read from the shipped file here with the
standard library only."""

from __future__ import annotations

import csv
import gzip
import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from server.report import shift_report
from server.store.sqlite import SqliteStore
from sim.replay import DEMO_DAY, day_file_name, day_span, demo_day_path, read_rows, write_day
from tests.sim.test_replay import DAY, HEADER, _replay

ZONE = ZoneInfo("America/Los_Angeles")
START = datetime(2017, 1, 1, tzinfo=ZONE).timestamp()
END = datetime(2017, 1, 2, tzinfo=ZONE).timestamp()
SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "demo" / "sffd_day_2017-01-01.csv.gz"
#: The SFFD file the day is derived from, beside the checkout when it is there.
SOURCE = (
    Path(__file__).resolve().parents[3]
    / "shared/data/sffd-calls-for-service/sffd_calls_2016-12-31_to_2017-01-04.csv"
)


def _shipped_rows() -> list[dict[str, str]]:
    with gzip.open(SHIPPED, "rt", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _received(row: dict[str, str]) -> float:
    moment = datetime.strptime(row["Received DtTm"], "%m/%d/%Y %I:%M:%S %p")
    return moment.replace(tzinfo=ZONE).timestamp()


def test_the_shipped_day_is_one_whole_local_day_in_the_replays_format() -> None:
    assert demo_day_path() == SHIPPED and DEMO_DAY.isoformat() == "2017-01-01"
    raw = SHIPPED.read_bytes()
    assert raw[4:8] == b"\0\0\0\0"  # no time in the gzip header: reproducible bytes
    with gzip.open(SHIPPED, "rt", encoding="utf-8", newline="") as handle:
        assert handle.readline() == HEADER  # the same header as the replay's fixture
    rows = _shipped_rows()
    assert rows and all(START <= _received(row) < END for row in rows)
    assert day_span(DEMO_DAY) == (START, END)


@pytest.mark.skipif(not SOURCE.is_file(), reason="the SFFD source file is not beside the checkout")
def test_the_shipped_day_is_what_day_selects_of_the_source_and_regenerates_byte_for_byte(
    tmp_path: Path,
) -> None:
    again = tmp_path / day_file_name(DEMO_DAY)
    assert write_day(SOURCE, DEMO_DAY, again) == (1166, 539)
    assert again.read_bytes() == SHIPPED.read_bytes()
    everything, _ = read_rows(SOURCE)
    selected = [row for row in everything if START <= row.received < END]  # what --day keeps
    shipped, skipped = read_rows(SHIPPED)
    assert shipped == selected and not skipped


def test_a_day_file_keeps_only_its_days_rows_as_they_are(tmp_path: Path) -> None:
    out = tmp_path / "day.csv.gz"
    assert write_day(DAY, DEMO_DAY, out) == (0, 0)  # the fixture is 2016-12-31 only
    assert gzip.decompress(out.read_bytes()).decode() == HEADER
    with gzip.open(DAY, "rt", encoding="utf-8", newline="") as handle:
        text = handle.read()
    rows = list(csv.DictReader(text.splitlines(keepends=True)))
    assert write_day(DAY, date(2016, 12, 31), out) == (
        len(rows),
        len({row["Call Number"] for row in rows}),
    )
    assert gzip.decompress(out.read_bytes()).decode() == text  # verbatim


def _demo_loads(
    rows: list[dict[str, str]], db: Path, end: float, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--demo --speed 0 --db`` into a new training database loads ``rows``: every row and
    call replayed, none skipped or refused, and the report from the day's start to ``end``
    counts its calls."""
    numbers = {row["Call Number"] for row in rows}
    assert _replay(["--demo", "--speed", "0", "--db", str(db)]) == 0
    said = capsys.readouterr().out
    assert f"replaying {len(numbers)} calls ({len(rows)} unit rows)" in said
    assert f"rows read: {len(rows)} ({len(numbers)} calls)" in said
    assert "rows skipped: 0" in said
    assert re.search(r"refused: 0$", said, re.MULTILINE)
    store = SqliteStore(db)
    try:
        report = shift_report(store, START, end)
    finally:
        store.close()
    assert report.calls == len(numbers)


@pytest.mark.slow  # about 10 s; the slice below is the fast run
def test_demo_replays_the_shipped_day_into_a_training_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _shipped_rows()
    assert len({row["Call Number"] for row in rows}) == 539
    _demo_loads(rows, tmp_path / "demo.sqlite", END, capsys)


def test_demo_replays_the_file_the_lookup_gives_here_a_slice_of_the_day(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    hour = START + 3600
    rows = [row for row in _shipped_rows() if _received(row) < hour]  # 00:00-01:00: 40 calls
    sliced = tmp_path / "slice.csv.gz"
    with gzip.open(sliced, "wt", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    monkeypatch.setattr("sim.replay.demo_day_path", lambda: sliced)
    _demo_loads(rows, tmp_path / "demo.sqlite", hour, capsys)


def test_demo_goes_without_calls_and_day(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "demo.sqlite")
    for args in (["--demo", "--calls", str(DAY)], []):
        with pytest.raises(SystemExit) as usage:
            _replay([*args, "--db", db])
        assert usage.value.code == 2
    assert _replay(["--demo", "--day", "2017-01-01", "--db", db]) == 2
    assert "--day goes with --calls" in capsys.readouterr().err
    assert not Path(db).exists()
