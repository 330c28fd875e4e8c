"""The PDF shift report (desktop/reports/pdf.py and its charts, desktop/reports/charts.py;
``dispatch-server report --format pdf``) and the ``calls_by_hour`` figure.

The PDF is made by the command from a database that replayed the SFFD day (as in
tests/sim/test_replay_report.py), then read back with pypdfium2: its text (the headline
figures must be `report_dict`'s) and its pixels (the charts must really be drawn: bars of
`BAR_RGB` where the chart is, one bar per hour with calls). ``calls_by_hour`` is checked
against an independent count straight from the raw CSV.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest

from desktop.domain.floor_figures import MAX_REPORT_S, SHARE_TARGETS, hour_counts
from desktop.reports.charts import MOST_DATED_HOUR_LABELS, MOST_HOUR_LABELS, hour_labels
from desktop.reports.pdf import BAR_RGB, EMPTY_RANGE, P90_RGB, report_pdf
from server.report import REPORT_FORMATS, figures_csv, report_bytes, report_dict, shift_report
from server.store.sqlite import SqliteStore
from tests.server.test_report import report_command
from tests.sim.test_replay import DAY
from tests.sim.test_replay_report import END, START, ZONE, _t
from tests.sim.test_replay_report import replayed as replayed  # the module's fixture

#: The range of the replayed day as the command is given it (local times, America/Los_Angeles).
DAY_RANGE = ("--from", "2016-12-31T00:00", "--to", "2017-01-01T00:00")
GENERATED = datetime(2017, 1, 1, 6, 30, tzinfo=ZONE)
SCALE = 2.0  # pixels per point of the rendered pages


def _figures(db: Path, start: float = START, end: float = END) -> dict[str, Any]:
    store = SqliteStore(db)
    try:
        return report_dict(shift_report(store, start, end), ZONE)
    finally:
        store.close()


@pytest.fixture(scope="module")
def day_pdf(replayed: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The PDF ``dispatch-server report --format pdf`` writes of the replayed day."""
    out = tmp_path_factory.mktemp("pdf") / "day.pdf"
    assert (
        report_command("--db", str(replayed), *DAY_RANGE, "--format", "pdf", "--out", str(out)) == 0
    )
    return out.read_bytes()


def _texts(data: bytes) -> list[str]:
    """The text of every page of the PDF ``data``."""
    pdf = pdfium.PdfDocument(data)
    try:
        return [pdf[i].get_textpage().get_text_bounded() for i in range(len(pdf))]
    finally:
        pdf.close()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def _line(text: str, start: str) -> str:
    """The one line of ``text`` that starts with ``start``."""
    found = [line for line in _lines(text) if line.startswith(start)]
    assert len(found) == 1, (start, found)
    return found[0]


def _seconds(value: int | float | None) -> str:
    return "\u2014" if value is None else f"{value} s"


# --- the PDF of a real day ---------------------------------------------------------------------


def test_the_first_page_says_the_reports_own_figures(replayed: Path, day_pdf: bytes) -> None:
    figures = _figures(replayed)
    texts = _texts(day_pdf)
    assert day_pdf.startswith(b"%PDF-") and len(texts) >= 1
    first = texts[0]
    assert "Shift report" in _lines(first)
    assert "2016-12-31 00:00 to 2017-01-01 00:00 (UTC-08:00), 24 h" in first
    assert "Generated: " in first
    assert _line(first, "Calls received") == f"Calls received {figures['calls']}"
    assert figures["calls"] == 420
    assert _line(first, "Incidents created") == f"Incidents created {figures['incidents']}"
    for key, label in (
        ("processing_s", "Processing"),
        ("turnout_s", "Turnout"),
        ("travel_s", "Travel"),
    ):
        interval = figures[key]
        expected = f"{_seconds(interval['p50'])} {_seconds(interval['p90'])} {interval['n']}"
        assert _line(first, label).endswith(expected), key
    share = figures["processed_within_60s_share"]
    target = SHARE_TARGETS["processed_60s"]
    standing = "met" if share >= target else "below target"
    assert _line(first, "Calls processed within 60 s") == (
        f"Calls processed within 60 s {share * 100:.1f} % {target * 100:.0f} % NFPA 1225 {standing}"
    )
    answered = figures["answered_within_15s_share"]
    assert f"{answered * 100:.1f} % 90 % NENA STA-020" in _line(first, "Calls answered within 15 s")
    # incidents by type and by priority, each with its count
    for name, n in figures["incidents_by_type"].items():
        assert _line(first, f"{name} ").startswith(f"{name} {n} "), name
    for priority, n in figures["incidents_by_priority"].items():
        assert _line(first, f"P{priority} ").startswith(f"P{priority} {n} "), priority
    assert _line(first, "page 1 of") == f"page 1 of {len(texts)}"


def test_every_unit_is_in_the_paginated_table(replayed: Path, day_pdf: bytes) -> None:
    figures = _figures(replayed)
    texts = _texts(day_pdf)
    assert len(figures["units"]) == 149
    assert len(texts) >= 4  # summary, charts, and the units over more than one page
    tables = "\n".join(texts[2:]).split("Every unit", 1)[1]  # below the busiest units' chart
    for unit_id, work in figures["units"].items():
        row = _line(tables, f"{unit_id} ")
        assert row.startswith(f"{unit_id} {work['dispatches']} "), row
        assert row.endswith(f" {work['busy_s']}"), row
    for page in texts[3:]:
        assert "Unit Dispatches Busy (h:mm:ss) Busy (s)" in page  # the header repeated
    assert texts[-1].rstrip().endswith(f"page {len(texts)} of {len(texts)}")


def _text_at(page: pdfium.PdfPage, text: str) -> tuple[int, int]:
    """Where the first character of ``text`` is on ``page``: (its left, its bottom) in pixels
    of the bitmap rendered at `SCALE` (from the left and from the top)."""
    textpage = page.get_textpage()
    found = textpage.search(text, match_case=True).get_next()
    assert found is not None, text
    left, bottom, _, _ = textpage.get_charbox(found[0])
    return round(left * SCALE), round((page.get_height() - bottom) * SCALE)


def _pixels(bitmap: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """The mask of the pixels of exactly ``rgb`` (bars are filled flat, no stroke)."""
    return np.all(bitmap == np.array(rgb, dtype=np.uint8), axis=-1)


def _runs(columns: np.ndarray) -> list[tuple[int, int]]:
    """The [first, last] index pairs of the runs of True in ``columns``."""
    runs: list[tuple[int, int]] = []
    for x in np.flatnonzero(columns):
        if runs and runs[-1][1] == x - 1:
            runs[-1] = (runs[-1][0], int(x))
        else:
            runs.append((int(x), int(x)))
    return runs


def test_the_charts_are_drawn_from_the_figures(replayed: Path, day_pdf: bytes) -> None:
    figures = _figures(replayed)
    pdf = pdfium.PdfDocument(day_pdf)
    try:
        page = pdf[1]
        bitmap = np.asarray(page.render(scale=SCALE).to_pil().convert("RGB"))
        _, calls_top = _text_at(page, "Calls per hour")
        _, intervals_top = _text_at(page, "Interval percentiles")
        _, types_top = _text_at(page, "Incidents by type")
        legend, _ = _text_at(page, "p50 (median)")
    finally:
        pdf.close()
    assert calls_top < intervals_top < types_top
    # Calls per hour: one bar per hour (every hour of the day had calls), the tallest the
    # busiest hour's, each as tall as its count in proportion.
    band = _pixels(bitmap[calls_top:intervals_top], BAR_RGB)
    bars = _runs(band.any(axis=0))
    counts = figures["calls_by_hour"]
    assert len(counts) == 24 and all(counts)
    assert len(bars) == len(counts)
    heights = [int(band[:, first : last + 1].any(axis=1).sum()) for first, last in bars]
    assert heights.index(max(heights)) == counts.index(max(counts))
    for height, count in zip(heights, counts, strict=True):
        assert height == pytest.approx(max(heights) * count / max(counts), abs=2)
    # Interval percentiles: p50 bars and p90 bars, the p90 ones in their own colour (left of
    # the legend, whose swatches are the same colours).
    intervals = bitmap[intervals_top:types_top, : legend - 60]
    assert len(_runs(_pixels(intervals, BAR_RGB).any(axis=0))) == 3
    assert len(_runs(_pixels(intervals, P90_RGB).any(axis=0))) == 3
    # Incidents by type: horizontal bars below its title; none of the bar colour elsewhere
    # above the calls chart.
    types = _pixels(bitmap[types_top:], BAR_RGB)
    shown = min(len(figures["incidents_by_type"]), 11)
    assert len(_runs(types.any(axis=1))) == shown
    assert not _pixels(bitmap[:calls_top], BAR_RGB).any()


def test_calls_by_hour_equals_the_files_own_count(replayed: Path) -> None:
    with gzip.open(DAY, "rt", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    received: dict[str, float] = {}
    for row in rows:
        got = _t(row["Received DtTm"])
        assert got is not None
        received[row["Call Number"]] = min(got, received.get(row["Call Number"], got))
    expected = [0] * 24
    for t in received.values():
        expected[int((t - START) // 3600)] += 1
    figures = _figures(replayed)
    assert figures["calls_by_hour"] == expected
    assert sum(expected) == figures["calls"] == 420
    csv_rows = dict(line.split(",") for line in figures_csv(figures).split("\n\n")[0].splitlines())
    assert [int(csv_rows[f"calls_by_hour.{h}"]) for h in range(24)] == expected
    # A range of 2.5 hours from 06:00: three buckets, the last one half an hour.
    partial = _figures(replayed, START + 6 * 3600, START + 8.5 * 3600)
    last = sum(1 for t in received.values() if START + 8 * 3600 <= t < START + 8.5 * 3600)
    assert partial["calls_by_hour"] == [*expected[6:8], last]


def test_hour_buckets_are_half_open() -> None:
    assert hour_counts([0, 3599.999, 3600, 7199, 9000], 0, 9001) == (2, 2, 1)
    assert hour_counts([], 0, 7200) == (0, 0)
    assert hour_counts([], 0, 1) == (0,)
    assert hour_counts([10], 0, 7200.5) == (1, 0, 0)


# --- empty, foreign and wire-borne reports -----------------------------------------------------


def test_an_empty_range_renders(replayed: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty.pdf"
    argv = ("--from", "2020-01-01T07:00", "--to", "2020-01-01T19:00", "--format", "pdf")
    assert report_command("--db", str(replayed), *argv, "--out", str(out)) == 0
    texts = _texts(out.read_bytes())
    assert len(texts) >= 1
    assert "Calls received 0" in _lines(texts[0])
    assert "2020-01-01 07:00 to 2020-01-01 19:00 (UTC-08:00), 12 h" in texts[0]
    assert sum(text.count(EMPTY_RANGE) for text in texts) == 4  # every chart says so


def test_pdf_without_out_exits_2(replayed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_command("--db", str(replayed), *DAY_RANGE, "--format", "pdf") == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no binary on stdout
    assert captured.err == (
        "dispatch-server report: --format pdf writes a binary file: give it --out FILE "
        "(not stdout)\n"
    )


def test_a_report_decoded_from_json_renders_the_same(replayed: Path) -> None:
    figures = _figures(replayed)
    wire = json.loads(json.dumps(figures))
    direct = report_pdf(figures, generated=GENERATED)
    decoded = report_pdf(wire, generated=GENERATED)
    assert decoded.startswith(b"%PDF-")
    direct_texts, decoded_texts = _texts(direct), _texts(decoded)
    assert "Generated: 2017-01-01 06:30 (UTC-08:00)" in decoded_texts[0]
    assert decoded_texts == direct_texts


def test_a_report_without_hourly_counts_still_renders(replayed: Path) -> None:
    figures = _figures(replayed)
    del figures["calls_by_hour"]  # a report from a server before the figure
    texts = _texts(report_pdf(figures))
    assert "no hourly counts in this report" in texts[1]


# --- long ranges: the hour labels of the calls chart -------------------------------------------


@pytest.mark.parametrize(
    ("count", "step", "shown"),
    [
        (1, 1, 1),
        (24, 2, 12),
        (48, 4, 12),  # the longest range labelled by time of day
        (72, 12, 6),  # dated labels: at most 8
        (2_688, 336, 8),  # 16 weeks: the longest of the preferred steps, 2 weeks
        (4_368, 624, 7),  # beyond them: whole days (26), under 8 labels
        (10_000, 1_440, 7),
    ],
)
def test_hour_labels_never_crowd_the_axis(count: int, step: int, shown: int) -> None:
    start = datetime(2016, 12, 31, tzinfo=ZONE)
    labels = hour_labels(count, start)
    assert len(labels) == count  # one per bucket, "" where none is shown
    at = [h for h, label in enumerate(labels) if label]
    assert at == list(range(0, count, step))
    assert len(at) == shown <= (MOST_DATED_HOUR_LABELS if count > 48 else MOST_HOUR_LABELS)
    form = "%H:%M" if count <= 48 else "%d %b %H:%M"
    assert [labels[h] for h in at] == [(start + timedelta(hours=h)).strftime(form) for h in at]


def _stretched(figures: dict[str, Any], days: int) -> dict[str, Any]:
    """``figures`` as if their range were ``days`` long: the hours past it without a call (a
    report longer than the server makes, `MAX_REPORT_S`, as a PDF may still be given one)."""
    start = datetime.fromisoformat(figures["from"])
    hours = days * 24
    counts = figures["calls_by_hour"]
    return {
        **figures,
        "to": (start + timedelta(days=days)).isoformat(),
        "calls_by_hour": counts + [0] * (hours - len(counts)),
    }


@pytest.mark.parametrize("days", [366, 400])
def test_a_range_of_over_a_year_renders(replayed: Path, days: int) -> None:
    # The longest range the server reports, and a longer one: 8,784 and 9,600 hourly buckets
    # (past the 26 weeks of the longest preferred label step).
    figures = _stretched(_figures(replayed, START, START + MAX_REPORT_S), days)
    hours = days * 24
    assert len(figures["calls_by_hour"]) == hours
    data = report_pdf(figures, generated=GENERATED)
    assert f"2016-12-31 00:00 to {_clock_after(days)} (UTC-08:00), {hours} h" in _texts(data)[0]
    pdf = pdfium.PdfDocument(data)
    try:
        page = pdf[1]
        texts = [text.strip() for text in _text_objects(page)]  # pdfium may add a space
        shown = [text for text in texts if _HOUR_LABEL.fullmatch(text)]
        bitmap = np.asarray(page.render(scale=SCALE).to_pil().convert("RGB"))
        _, calls_top = _text_at(page, "Calls per hour")
        _, intervals_top = _text_at(page, "Interval percentiles")
    finally:
        pdf.close()
    # the calls chart's hour labels: dated, at most 8, the first at the range's start (pdfium
    # drops a label's first digit where labels overlap: compared by their ends)
    start = datetime.fromisoformat(figures["from"])
    expected = [label for label in hour_labels(hours, start) if label]
    assert 2 <= len(shown) == len(expected) <= MOST_DATED_HOUR_LABELS
    assert all(label.endswith(text) for label, text in zip(expected, shown, strict=True))
    assert shown[0] == "31 Dec 00:00"
    # and the page is drawn: the bars of the one day with calls, at the chart's left end
    bars = np.flatnonzero(_pixels(bitmap[calls_top:intervals_top], BAR_RGB).any(axis=0))
    assert bars.size and bars[-1] - bars[0] < bitmap.shape[1] / 20


#: An hour label of a range over 48 hours (its first digit possibly lost: the test above).
_HOUR_LABEL = re.compile(r"\d?\d [A-Z][a-z]{2} \d\d:\d\d")


def _text_objects(page: pdfium.PdfPage) -> list[str]:
    """The text of each text object drawn on ``page`` (each string reportlab drew)."""
    textpage = page.get_textpage()
    objects = page.get_objects(filter=(pdfium_c.FPDF_PAGEOBJ_TEXT,), textpage=textpage)
    return [obj.extract() for obj in objects if isinstance(obj, pdfium.PdfTextObj)]


def _clock_after(days: int) -> str:
    return (datetime(2016, 12, 31) + timedelta(days=days)).strftime("%Y-%m-%d %H:%M")


def test_report_bytes_writes_every_format(replayed: Path) -> None:
    figures = _figures(replayed)
    assert json.loads(report_bytes(figures, "json")) == figures
    assert report_bytes(figures, "csv").decode("utf-8") == figures_csv(figures)
    assert report_bytes(figures, "pdf").startswith(b"%PDF-")
    assert set(REPORT_FORMATS) == {"pdf", "csv", "json"}
    with pytest.raises(ValueError, match="no report format 'xlsx'"):
        report_bytes(figures, "xlsx")
