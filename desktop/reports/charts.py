"""The charts of the shift report PDF (`desktop.reports.pdf`): reportlab drawings of a report's
figures, and page 2, the page of charts.

Contract:

* Input: the report's JSON form (the keys of `server.report.report_dict`, or the same decoded
  from JSON), as `desktop.reports.pdf.report_pdf` gets it. Pure: nothing read or written.
* Every drawing is `WIDTH` wide (the page's content width) and draws its bars flat in
  `BAR_COLOUR` (the p90 bars in `P90_COLOUR`, with a legend), a colour nothing else on a page
  uses, with no stroke, so a test can find them by their `BAR_RGB` / `P90_RGB` pixels.
* A chart with nothing to draw is a light frame saying so (`empty`): `EMPTY_RANGE` when the
  range has no call (`nothing`), else what is missing.
* The calls-per-hour chart labels at most 13 of its hours (`hour_labels`), whatever the range's
  length.
* `chart_page` is page 2: calls per hour, the interval percentiles (p50 and p90 of
  `INTERVALS`) and the incidents by type (the `TOP_TYPES` most common, the rest as one bar). Its
  headings and notes are made by the document's own ``heading`` and ``note``.

It is also the one home of the look the document shares with its charts (the page margins and
content width, the font, the inks) and of the figures' ordering and writing that both use
(`INTERVALS`, `by_count`, `number`): `desktop.reports.pdf` imports them from here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from reportlab.graphics.charts.barcharts import BarChart, HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, Spacer

__all__ = [
    "BAR_COLOUR",
    "BAR_RGB",
    "EDGE",
    "EMPTY_RANGE",
    "FONT",
    "INK",
    "INTERVALS",
    "MARGIN",
    "MOST_DATED_HOUR_LABELS",
    "MOST_HOUR_LABELS",
    "MUTED",
    "P90_COLOUR",
    "P90_RGB",
    "RULE",
    "TOP_TYPES",
    "WIDTH",
    "by_count",
    "chart_page",
    "empty",
    "horizontal",
    "hour_labels",
    "nothing",
    "number",
]

#: The fill of every bar (and of the p50 bars), as 0..255 RGB and as a reportlab colour.
BAR_RGB = (31, 95, 168)
BAR_COLOUR = colors.Color(*(c / 255 for c in BAR_RGB))
#: The fill of the p90 bars.
P90_RGB = (214, 110, 37)
P90_COLOUR = colors.Color(*(c / 255 for c in P90_RGB))
#: What an empty chart says when the range has no call.
EMPTY_RANGE = "no calls in range"
#: The incident types the chart shows (the rest are one "other types" bar).
TOP_TYPES = 10
#: The most hours the calls-per-hour chart labels by time of day (a range of up to 48 hours),
#: and dated ("31 Dec 00:00": wider, so fewer fit side by side without overlapping).
MOST_HOUR_LABELS = 13
MOST_DATED_HOUR_LABELS = 8

#: The text, its lighter form, and the rules of tables and axes.
INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#555555")
RULE = colors.HexColor("#9a9a9a")
_GRID = colors.HexColor("#d9d9d9")
FONT = "Helvetica"
#: The page's margin; the content's edges: the margin and the frame's padding (reportlab's
#: 6 pt); the content's width, which every drawing fills.
MARGIN = 18 * mm
EDGE = MARGIN + 6
WIDTH = A4[0] - 2 * EDGE

#: (key, label, what it measures) of each interval of the report, in the order of the JSON.
INTERVALS = (
    ("processing_s", "Processing", "call received to first unit dispatched"),
    ("turnout_s", "Turnout", "unit dispatched to en route"),
    ("travel_s", "Travel", "en route to on scene"),
)
#: The steps (hours between two labels) the calls-per-hour chart prefers, smallest first.
_HOUR_STEPS = (1, 2, 3, 4, 6, 12, 24, 48, 72, 168, 336)


def number(value: float) -> str:
    """A figure as written: whole numbers without decimals, others to 3 at most."""
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def by_count(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` most common first (ties by name)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _axis(top: float) -> tuple[float, float]:
    """A value axis (max, step) for values up to ``top``: about 5 whole steps of 1, 2 or 5 x
    10^k, with room above the highest bar for its label."""
    if top <= 0:
        return 1.0, 1.0
    raw = top * 1.1 / 5
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1.0, float(step))
    return math.ceil(top * 1.1 / step) * step, step


def _place(chart: BarChart, x: float, y: float, width: float, height: float) -> None:
    """Put ``chart``'s plot area in its drawing (whole points, as the stubs type them)."""
    chart.x, chart.y, chart.width, chart.height = round(x), round(y), round(width), round(height)


def empty(message: str, height: float) -> Drawing:
    """A chart with nothing to draw: a light frame saying ``message``."""
    drawing = Drawing(WIDTH, height)
    frame = Rect(0, 0, WIDTH, height)
    frame.fillColor, frame.strokeColor, frame.strokeWidth = None, _GRID, 0.6
    drawing.add(frame)
    drawing.add(
        String(
            WIDTH / 2,
            height / 2 - 4,
            message,
            fontName=FONT,
            fontSize=11,
            fillColor=MUTED,
            textAnchor="middle",
        )
    )
    return drawing


def _style_axes(chart: BarChart, top: float, label_format: str) -> None:
    """Axis lines, grid, fonts and a whole-number value axis from 0 to above ``top``."""
    value_max, step = _axis(top)
    value = chart.valueAxis
    value.valueMin, value.valueMax, value.valueStep = 0, value_max, step
    value.labelTextFormat = label_format
    value.labels.fontName, value.labels.fontSize, value.labels.fillColor = FONT, 7.5, INK
    value.strokeColor, value.strokeWidth = RULE, 0.5
    value.visibleGrid, value.gridStrokeColor, value.gridStrokeWidth = 1, _GRID, 0.4
    category = chart.categoryAxis
    category.labels.fontName, category.labels.fontSize = FONT, 7.5
    category.labels.fillColor = INK
    category.strokeColor, category.strokeWidth = RULE, 0.5
    category.visibleTicks = 0
    chart.barLabels.fontName, chart.barLabels.fontSize = FONT, 7
    chart.barLabels.fillColor = INK


def hour_labels(count: int, start: datetime) -> list[str]:
    """The axis labels of ``count`` hourly buckets from ``start``: a bucket's start time every
    few hours, "" between: at most `MOST_HOUR_LABELS` by time of day, `MOST_DATED_HOUR_LABELS`
    dated beyond 48 hours. The step is the first of `_HOUR_STEPS` that keeps to that; beyond
    them, whole days, as few as keep under it."""
    dated = count > 48
    most = MOST_DATED_HOUR_LABELS if dated else MOST_HOUR_LABELS
    every = next(
        (k for k in _HOUR_STEPS if count / k <= most),
        24 * math.ceil(count / (24 * (most - 1))),
    )
    form = "%d %b %H:%M" if dated else "%H:%M"
    return [
        (start + timedelta(hours=h)).strftime(form) if h % every == 0 else "" for h in range(count)
    ]


def _calls_chart(figures: Mapping[str, Any], start: datetime) -> Drawing:
    """Calls per hour since ``from`` (the last hour possibly partial)."""
    height = 58 * mm
    counts = [int(n) for n in figures.get("calls_by_hour") or ()]
    if not counts:
        return empty("no hourly counts in this report", height)
    if not any(counts):
        return empty(EMPTY_RANGE, height)
    drawing = Drawing(WIDTH, height)
    chart = VerticalBarChart()
    _place(chart, 28, 22, WIDTH - 34, height - 30)
    chart.data = [counts]
    chart.categoryAxis.categoryNames = hour_labels(len(counts), start)
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.categoryAxis.labels.dy = -2
    chart.groupSpacing = 2 if len(counts) <= 48 else 1
    chart.bars[0].fillColor, chart.bars[0].strokeColor = BAR_COLOUR, None
    _style_axes(chart, max(counts), "%d")
    if len(counts) <= 48:
        chart.barLabelFormat = "%d"
        chart.barLabels.nudge = 5
    drawing.add(chart)
    return drawing


def _intervals_chart(figures: Mapping[str, Any]) -> Drawing:
    """p50 and p90 of processing, turnout and travel: grouped bars labelled in seconds."""
    height = 62 * mm
    series = [[figures[key][p] for key, _, _ in INTERVALS] for p in ("p50", "p90")]
    measured = [v for values in series for v in values if v is not None]
    if not measured:
        return empty(nothing(figures, "no interval measured in range"), height)
    drawing = Drawing(WIDTH, height)
    chart = VerticalBarChart()
    _place(chart, 36, 18, WIDTH - 130, height - 26)
    chart.data = [[0 if v is None else v for v in values] for values in series]
    chart.categoryAxis.categoryNames = [label for _, label, _ in INTERVALS]
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.categoryAxis.labels.fontSize = 9
    chart.groupSpacing, chart.barSpacing = 30, 3
    for i, colour in enumerate((BAR_COLOUR, P90_COLOUR)):
        chart.bars[i].fillColor, chart.bars[i].strokeColor = colour, None
    _style_axes(chart, max(measured), "%d s")
    chart.barLabelFormat = _bar_seconds
    chart.barLabels.nudge = 6
    drawing.add(chart)
    drawing.add(_legend(WIDTH - 80, height - 14))
    return drawing


def _bar_seconds(value: float) -> str:
    return f"{number(value)} s" if value else ""


def _legend(x: float, y: float) -> Legend:
    legend = Legend()
    legend.x, legend.y = round(x), round(y)
    legend.alignment = "right"
    legend.fontName, legend.fontSize, legend.fillColor = FONT, 9, INK
    legend.colorNamePairs = [(BAR_COLOUR, "p50 (median)"), (P90_COLOUR, "p90")]
    legend.columnMaximum = 2
    legend.deltay, legend.dy, legend.dx = 14, 8, 8
    legend.strokeColor = None
    return legend


def nothing(figures: Mapping[str, Any], message: str) -> str:
    """What an empty chart says: `EMPTY_RANGE` when the range has no call, else ``message``."""
    return EMPTY_RANGE if not figures.get("calls") else message


def horizontal(rows: Sequence[tuple[str, int]], value_label: str) -> Drawing:
    """Horizontal bars, the first of ``rows`` at the top, each labelled with its value."""
    bar = 13.0
    labels = [name for name, _ in rows]
    margin = max(stringWidth(label, FONT, 8) for label in labels) + 10
    height = len(rows) * bar + 34
    drawing = Drawing(WIDTH, height)
    chart = HorizontalBarChart()
    _place(chart, margin, 24, WIDTH - margin - 24, len(rows) * bar)
    chart.data = [[n for _, n in rows]]
    chart.categoryAxis.categoryNames = labels
    chart.categoryAxis.reverseDirection = 1
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.categoryAxis.labels.dx = -4
    chart.groupSpacing = 3
    chart.bars[0].fillColor, chart.bars[0].strokeColor = BAR_COLOUR, None
    _style_axes(chart, max(n for _, n in rows), "%d")
    chart.categoryAxis.labels.fontSize = 8
    chart.barLabelFormat = "%d"
    chart.barLabels.boxAnchor = "w"
    chart.barLabels.dx = 3
    drawing.add(chart)
    drawing.add(
        String(
            chart.x + chart.width / 2,
            2,
            value_label,
            fontName=FONT,
            fontSize=8,
            fillColor=MUTED,
            textAnchor="middle",
        )
    )
    return drawing


def _types_chart(figures: Mapping[str, Any]) -> Drawing:
    """The `TOP_TYPES` most common incident types, the rest summed as one bar."""
    by_type = list(by_count(figures["incidents_by_type"]).items())
    if not by_type:
        return empty(nothing(figures, "no incidents in range"), 40 * mm)
    rows = by_type[:TOP_TYPES]
    rest = by_type[TOP_TYPES:]
    if rest:
        rows.append((f"{len(rest)} other types", sum(n for _, n in rest)))
    return horizontal(rows, "incidents")


def chart_page(
    figures: Mapping[str, Any],
    start: datetime,
    heading: Callable[[str], Flowable],
    note: Callable[[str], Flowable],
) -> list[Flowable]:
    """Page 2 (module docstring), from ``start`` (the range's ``from``): each chart under its
    ``heading``, the calls per hour with a ``note`` on its buckets."""
    return [
        heading("Calls per hour"),
        _calls_chart(figures, start),
        note(
            "Calls received in each hour from the start of the range (the last hour may be "
            "partial); times in the offset of the range's start."
        ),
        Spacer(1, 3 * mm),
        heading("Interval percentiles"),
        _intervals_chart(figures),
        Spacer(1, 3 * mm),
        heading("Incidents by type"),
        _types_chart(figures),
    ]
