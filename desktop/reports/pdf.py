"""The shift report as a PDF (issue #16): ``dispatch-server report --format pdf``.

`report_pdf` renders the JSON form of a report (`server.report.report_dict`, or the same dict
decoded from JSON, as it arrives over the wire) with reportlab: A4 portrait, dark text on white
(it is printed), standard PDF fonts only (nothing embedded, no font file read). Pure: the PDF's
bytes out, nothing written anywhere.

* Page 1: the title, the centre, the range (in the offset of its ``from``), the time it was
  generated; the headline figures (calls, incidents; the answered and processed shares against
  their targets, `desktop.domain.floor_figures.SHARE_TARGETS`); the interval percentiles; the
  incidents by type and by priority.
* Page 2: the charts: calls per hour (``calls_by_hour``), the interval percentiles p50 and p90
  (grouped bars) and the incidents by type (the `TOP_TYPES` most common, the rest as one bar).
* Page 3 on: the unit workload: the `TOP_UNITS` busiest units by dispatches (a chart), then the
  table of every unit, its header repeated on each page.

Every page has a footer: the title, the range and "page N of M". A chart with nothing to draw
says so (``no calls in range`` when the range has no call). Bars are `BAR_COLOUR` (p90 bars
`P90_COLOUR`), a colour nothing else on a page uses.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import BarChart, HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import HRFlowable

from desktop.domain.floor_figures import (
    ANSWER_TARGETS_S,
    HOUR_S,
    PROCESSING_TARGET_S,
    SHARE_STANDARDS,
    SHARE_TARGETS,
)

__all__ = [
    "BAR_COLOUR",
    "BAR_RGB",
    "EMPTY_RANGE",
    "P90_COLOUR",
    "P90_RGB",
    "TOP_TYPES",
    "TOP_UNITS",
    "report_pdf",
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
#: The busiest units the workload chart shows.
TOP_UNITS = 15

_INK = colors.HexColor("#1a1a1a")
_MUTED = colors.HexColor("#555555")
_RULE = colors.HexColor("#9a9a9a")
_GRID = colors.HexColor("#d9d9d9")
_HEADER_FILL = colors.HexColor("#e6e6e6")
_STRIPE = colors.HexColor("#f5f5f5")
_FONT, _BOLD = "Helvetica", "Helvetica-Bold"
_MARGIN = 18 * mm
#: The content's edges: the margin and the frame's padding (reportlab's 6 pt).
_EDGE = _MARGIN + 6
_WIDTH = A4[0] - 2 * _EDGE
_NONE = "\u2014"  # an em dash: no value

_STYLES = {
    "title": ParagraphStyle("title", fontName=_BOLD, fontSize=22, leading=26, textColor=_INK),
    "centre": ParagraphStyle("centre", fontName=_FONT, fontSize=13, leading=17, textColor=_INK),
    "meta": ParagraphStyle("meta", fontName=_FONT, fontSize=10, leading=14, textColor=_MUTED),
    "h2": ParagraphStyle(
        "h2",
        fontName=_BOLD,
        fontSize=12.5,
        leading=16,
        textColor=_INK,
        spaceBefore=10,
        spaceAfter=5,
        keepWithNext=1,  # a heading never ends a page
    ),
    "note": ParagraphStyle(
        "note", fontName=_FONT, fontSize=8.5, leading=11, textColor=_MUTED, spaceBefore=3
    ),
    "cell": ParagraphStyle("cell", fontName=_FONT, fontSize=9, leading=11, textColor=_INK),
}


def report_pdf(
    figures: Mapping[str, Any],
    *,
    title: str = "Shift report",
    centre: str = "",
    generated: datetime | None = None,
) -> bytes:
    """The PDF of the report ``figures`` (the keys of `server.report.report_dict`; a missing
    ``calls_by_hour`` draws no hourly chart). ``centre`` names the dispatch centre under the
    title; ``generated`` (default: now, in the offset of ``from``) is printed as the time the
    report was made. Raises KeyError or ValueError when ``figures`` is not such a report."""
    start, end = _time(figures["from"]), _time(figures["to"])
    made = generated if generated is not None else datetime.now(start.tzinfo)
    span = _range_text(start, end)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=_MARGIN,
        rightMargin=_MARGIN,
        topMargin=_MARGIN,
        bottomMargin=_MARGIN + 4 * mm,
        title=f"{title}: {span}",
        author=centre,
        subject=title,
        creator="dispatch-server report",
    )
    story = [
        *_summary(figures, title, centre, span, made),
        PageBreak(),
        *_charts(figures, start),
        PageBreak(),
        *_units(figures),
    ]

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(_FONT, 8)
        canvas.setFillColor(_MUTED)
        canvas.drawString(_EDGE, _MARGIN, f"{title} \u00b7 {span}")
        canvas.restoreState()

    doc.build(story, onFirstPage=footer, onLaterPages=footer, canvasmaker=_NumberedCanvas)
    return buffer.getvalue()


class _NumberedCanvas(Canvas):
    """A canvas that writes "page N of M" at the foot of each page (M known at the end)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # reportlab's own, not in its stubs

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, 1):
            self.__dict__.update(state)
            self.setFont(_FONT, 8)
            self.setFillColor(_MUTED)
            self.drawRightString(A4[0] - _EDGE, _MARGIN, f"page {number} of {total}")
            super().showPage()
        super().save()


# --- text --------------------------------------------------------------------------------------


def _time(text: str) -> datetime:
    """An ISO 8601 time of the report; ValueError without an offset."""
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() is None:
        raise ValueError(f"a report time must have its offset: {text!r}")
    return moment


def _offset(moment: datetime) -> str:
    """``UTC-08:00`` (``UTC`` at zero)."""
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _clock(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M" if not moment.second else "%Y-%m-%d %H:%M:%S")


def _hours(seconds: float) -> str:
    return f"{_number(round(seconds / HOUR_S, 2))} h"


def _range_text(start: datetime, end: datetime) -> str:
    """``2016-12-31 00:00 to 2017-01-01 00:00 (UTC-08:00), 24 h``."""
    length = _hours((end - start).total_seconds())
    return f"{_clock(start)} to {_clock(end)} ({_offset(start)}), {length}"


def _number(value: float) -> str:
    """A figure as written: whole numbers without decimals, others to 3 at most."""
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _seconds(value: float | None) -> str:
    return _NONE if value is None else f"{_number(value)} s"


def _percent(share: float | None) -> str:
    return _NONE if share is None else f"{share * 100:.1f} %"


def _duration(seconds: float) -> str:
    """``12:05:07`` (hours may exceed 24)."""
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def _cell(text: str) -> Paragraph:
    """A table cell that wraps (incident types can be long)."""
    return Paragraph(escape(text), _STYLES["cell"])


# --- tables ------------------------------------------------------------------------------------


def _table_style(numeric_from: int) -> TableStyle:
    """Header row shaded, rules under rows, columns from ``numeric_from`` right-aligned."""
    return TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), _FONT, 9),
            ("FONT", (0, 0), (-1, 0), _BOLD, 9),
            ("TEXTCOLOR", (0, 0), (-1, -1), _INK),
            ("BACKGROUND", (0, 0), (-1, 0), _HEADER_FILL),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, _INK),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, _RULE),
            ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
    )


def _table(rows: Sequence[Sequence[Any]], widths: Sequence[float], numeric_from: int = 1) -> Table:
    table = Table([list(row) for row in rows], colWidths=list(widths), repeatRows=1, hAlign="LEFT")
    table.setStyle(_table_style(numeric_from))
    return table


def _shares(figures: Mapping[str, Any]) -> list[tuple[str, str, float | None, str]]:
    """(label, target key, share, figure key) of each share, in the order of the JSON."""
    shares = [
        (f"Calls answered within {s} s", f"answered_{s}s", f"answered_within_{s}s_share")
        for s in ANSWER_TARGETS_S
    ]
    shares.append(
        (
            f"Calls processed within {PROCESSING_TARGET_S} s",
            f"processed_{PROCESSING_TARGET_S}s",
            f"processed_within_{PROCESSING_TARGET_S}s_share",
        )
    )
    return [(label, target, figures.get(key), key) for label, target, key in shares]


def _standing(share: float | None, target: float) -> str:
    if share is None:
        return "no data"
    return "met" if share >= target else "below target"


def _headline(figures: Mapping[str, Any]) -> Table:
    """Calls, incidents and the shares against their targets."""
    rows: list[list[Any]] = [
        ["Figure", "Value", "Target", "Standard", "Standing"],
        ["Calls received", str(figures["calls"]), "", "", ""],
        ["Incidents created", str(figures["incidents"]), "", "", ""],
    ]
    for label, target_key, share, _ in _shares(figures):
        target = SHARE_TARGETS[target_key]
        rows.append(
            [
                label,
                _percent(share),
                f"{target * 100:.0f} %",
                SHARE_STANDARDS[target_key],
                _standing(share, target),
            ]
        )
    table = _table(rows, [62 * mm, 25 * mm, 22 * mm, 32 * mm, _WIDTH - 141 * mm], 1)
    table.setStyle(TableStyle([("ALIGN", (3, 0), (-1, -1), "LEFT")]))
    return table


_INTERVALS = (
    ("processing_s", "Processing", "call received to first unit dispatched"),
    ("turnout_s", "Turnout", "unit dispatched to en route"),
    ("travel_s", "Travel", "en route to on scene"),
)


def _intervals(figures: Mapping[str, Any]) -> Table:
    """The p50 and p90 of each interval, with the count behind them."""
    rows: list[list[Any]] = [["Interval", "From / to", "p50", "p90", "Measured"]]
    for key, label, what in _INTERVALS:
        interval = figures[key]
        rows.append(
            [label, what, _seconds(interval["p50"]), _seconds(interval["p90"]), interval["n"]]
        )
    table = _table(rows, [28 * mm, 72 * mm, 22 * mm, 22 * mm, _WIDTH - 144 * mm], 2)
    table.setStyle(TableStyle([("TEXTCOLOR", (1, 1), (1, -1), _MUTED)]))
    return table


def _counts(counts: Mapping[str, int], heading: str, width: float, label: str = "") -> Flowable:
    """A count table with each row's share of the total; a note when there is none."""
    if not counts:
        return Paragraph("No incidents in range.", _STYLES["note"])
    total = sum(counts.values())
    rows: list[list[Any]] = [[heading, "Incidents", "Share"]]
    for name, n in counts.items():
        rows.append([_cell(f"{label}{name}"), n, _percent(n / total)])
    rows.append(["Total", total, ""])
    table = _table(rows, [width - 38 * mm, 19 * mm, 19 * mm])
    table.setStyle(TableStyle([("FONT", (0, -1), (-1, -1), _BOLD, 9)]))
    return table


def _by_count(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` most common first (ties by name)."""
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _by_priority(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` by priority, numerically where the priorities are numbers."""
    return dict(
        sorted(counts.items(), key=lambda item: (not item[0].isdigit(), _rank(item[0]), item[0]))
    )


def _rank(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _side_by_side(left: Flowable, right: Flowable, left_width: float) -> Table:
    holder = Table([[left, right]], colWidths=[left_width, _WIDTH - left_width], hAlign="LEFT")
    holder.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 0),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 0),
            ]
        )
    )
    return holder


#: Up to this many incident types, the type and priority tables sit side by side on page 1.
_SIDE_BY_SIDE_ROWS = 24


def _incident_tables(figures: Mapping[str, Any]) -> list[Flowable]:
    by_type = _by_count(figures["incidents_by_type"])
    by_priority = _by_priority(figures["incidents_by_priority"])
    type_width, gap = 100 * mm, 8 * mm
    types = _counts(by_type, "Type", type_width)
    priorities = _counts(by_priority, "Priority", _WIDTH - type_width - gap, "P")
    if len(by_type) <= _SIDE_BY_SIDE_ROWS:
        heading = Table(
            [[_heading("Incidents by type"), _heading("Incidents by priority")]],
            colWidths=[type_width + gap, _WIDTH - type_width - gap],
            hAlign="LEFT",
        )
        heading.setStyle(
            TableStyle([("LEFTPADDING", (0, 0), (-1, -1), 0), ("TOPPADDING", (0, 0), (-1, -1), 8)])
        )
        return [heading, _side_by_side(types, priorities, type_width + gap)]
    return [
        _heading("Incidents by type"),
        types,
        _heading("Incidents by priority"),
        priorities,
    ]


def _heading(text: str) -> Paragraph:
    return Paragraph(escape(text), _STYLES["h2"])


def _summary(
    figures: Mapping[str, Any], title: str, centre: str, span: str, made: datetime
) -> list[Flowable]:
    """Page 1 (module docstring)."""
    story: list[Flowable] = [Paragraph(escape(title), _STYLES["title"])]
    if centre:
        story.append(Paragraph(escape(centre), _STYLES["centre"]))
    story += [
        Spacer(1, 2 * mm),
        Paragraph(f"Range: {escape(span)} (the end excluded)", _STYLES["meta"]),
        Paragraph(
            f"Generated: {_clock(made.replace(microsecond=0))} ({_offset(made)})",
            _STYLES["meta"],
        ),
        HRFlowable(width="100%", thickness=0.8, color=_INK, spaceBefore=6, spaceAfter=4),
        _heading("Headline figures"),
        _headline(figures),
        Paragraph(
            "Shares are of the calls received in range: answered within N s of being received; "
            "processed from received to the first unit dispatched to its incident.",
            _STYLES["note"],
        ),
        _heading("Intervals (seconds, nearest-rank percentiles)"),
        _intervals(figures),
        *_incident_tables(figures),
    ]
    return story


# --- charts ------------------------------------------------------------------------------------


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


def _empty(message: str, height: float) -> Drawing:
    """A chart with nothing to draw: a light frame saying ``message``."""
    drawing = Drawing(_WIDTH, height)
    frame = Rect(0, 0, _WIDTH, height)
    frame.fillColor, frame.strokeColor, frame.strokeWidth = None, _GRID, 0.6
    drawing.add(frame)
    drawing.add(
        String(
            _WIDTH / 2,
            height / 2 - 4,
            message,
            fontName=_FONT,
            fontSize=11,
            fillColor=_MUTED,
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
    value.labels.fontName, value.labels.fontSize, value.labels.fillColor = _FONT, 7.5, _INK
    value.strokeColor, value.strokeWidth = _RULE, 0.5
    value.visibleGrid, value.gridStrokeColor, value.gridStrokeWidth = 1, _GRID, 0.4
    category = chart.categoryAxis
    category.labels.fontName, category.labels.fontSize = _FONT, 7.5
    category.labels.fillColor = _INK
    category.strokeColor, category.strokeWidth = _RULE, 0.5
    category.visibleTicks = 0
    chart.barLabels.fontName, chart.barLabels.fontSize = _FONT, 7
    chart.barLabels.fillColor = _INK


def _hour_labels(count: int, start: datetime) -> list[str]:
    """The bucket start times on the axis, for at most about 12 of the ``count`` buckets."""
    every = next(k for k in (1, 2, 3, 4, 6, 12, 24, 48, 72, 168, 336) if count / k <= 13)
    if count / every > 13:
        every = math.ceil(count / 12)
    form = "%H:%M" if count <= 48 else "%d %b %H:%M"
    return [
        (start + timedelta(hours=h)).strftime(form) if h % every == 0 else "" for h in range(count)
    ]


def _calls_chart(figures: Mapping[str, Any], start: datetime) -> Drawing:
    """Calls per hour since ``from`` (the last hour possibly partial)."""
    height = 58 * mm
    counts = [int(n) for n in figures.get("calls_by_hour") or ()]
    if not counts:
        return _empty("no hourly counts in this report", height)
    if not any(counts):
        return _empty(EMPTY_RANGE, height)
    drawing = Drawing(_WIDTH, height)
    chart = VerticalBarChart()
    _place(chart, 28, 22, _WIDTH - 34, height - 30)
    chart.data = [counts]
    chart.categoryAxis.categoryNames = _hour_labels(len(counts), start)
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
    series = [[figures[key][p] for key, _, _ in _INTERVALS] for p in ("p50", "p90")]
    measured = [v for values in series for v in values if v is not None]
    if not measured:
        return _empty(_nothing(figures, "no interval measured in range"), height)
    drawing = Drawing(_WIDTH, height)
    chart = VerticalBarChart()
    _place(chart, 36, 18, _WIDTH - 130, height - 26)
    chart.data = [[0 if v is None else v for v in values] for values in series]
    chart.categoryAxis.categoryNames = [label for _, label, _ in _INTERVALS]
    chart.categoryAxis.labels.boxAnchor = "n"
    chart.categoryAxis.labels.fontSize = 9
    chart.groupSpacing, chart.barSpacing = 30, 3
    for i, colour in enumerate((BAR_COLOUR, P90_COLOUR)):
        chart.bars[i].fillColor, chart.bars[i].strokeColor = colour, None
    _style_axes(chart, max(measured), "%d s")
    chart.barLabelFormat = _bar_seconds
    chart.barLabels.nudge = 6
    drawing.add(chart)
    drawing.add(_legend(_WIDTH - 80, height - 14))
    return drawing


def _bar_seconds(value: float) -> str:
    return f"{_number(value)} s" if value else ""


def _legend(x: float, y: float) -> Legend:
    legend = Legend()
    legend.x, legend.y = round(x), round(y)
    legend.alignment = "right"
    legend.fontName, legend.fontSize, legend.fillColor = _FONT, 9, _INK
    legend.colorNamePairs = [(BAR_COLOUR, "p50 (median)"), (P90_COLOUR, "p90")]
    legend.columnMaximum = 2
    legend.deltay, legend.dy, legend.dx = 14, 8, 8
    legend.strokeColor = None
    return legend


def _nothing(figures: Mapping[str, Any], message: str) -> str:
    """What an empty chart says: `EMPTY_RANGE` when the range has no call, else ``message``."""
    return EMPTY_RANGE if not figures.get("calls") else message


def _horizontal(rows: Sequence[tuple[str, int]], value_label: str) -> Drawing:
    """Horizontal bars, the first of ``rows`` at the top, each labelled with its value."""
    bar = 13.0
    labels = [name for name, _ in rows]
    margin = max(stringWidth(label, _FONT, 8) for label in labels) + 10
    height = len(rows) * bar + 34
    drawing = Drawing(_WIDTH, height)
    chart = HorizontalBarChart()
    _place(chart, margin, 24, _WIDTH - margin - 24, len(rows) * bar)
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
            fontName=_FONT,
            fontSize=8,
            fillColor=_MUTED,
            textAnchor="middle",
        )
    )
    return drawing


def _types_chart(figures: Mapping[str, Any]) -> Drawing:
    """The `TOP_TYPES` most common incident types, the rest summed as one bar."""
    by_type = list(_by_count(figures["incidents_by_type"]).items())
    if not by_type:
        return _empty(_nothing(figures, "no incidents in range"), 40 * mm)
    rows = by_type[:TOP_TYPES]
    rest = by_type[TOP_TYPES:]
    if rest:
        rows.append((f"{len(rest)} other types", sum(n for _, n in rest)))
    return _horizontal(rows, "incidents")


def _charts(figures: Mapping[str, Any], start: datetime) -> list[Flowable]:
    """Page 2 (module docstring)."""
    return [
        _heading("Calls per hour"),
        _calls_chart(figures, start),
        Paragraph(
            "Calls received in each hour from the start of the range (the last hour may be "
            "partial); times in the offset of the range's start.",
            _STYLES["note"],
        ),
        Spacer(1, 3 * mm),
        _heading("Interval percentiles"),
        _intervals_chart(figures),
        Spacer(1, 3 * mm),
        _heading("Incidents by type"),
        _types_chart(figures),
    ]


# --- units -------------------------------------------------------------------------------------


def _busiest(units: Mapping[str, Mapping[str, Any]]) -> list[tuple[str, int]]:
    """The `TOP_UNITS` units with the most dispatches (ties: the longest busy, then by id)."""
    ranked = sorted(
        units.items(), key=lambda item: (-item[1]["dispatches"], -item[1]["busy_s"], item[0])
    )
    return [(unit_id, int(work["dispatches"])) for unit_id, work in ranked[:TOP_UNITS]]


def _units(figures: Mapping[str, Any]) -> list[Flowable]:
    """Page 3 on (module docstring)."""
    units: Mapping[str, Mapping[str, Any]] = figures["units"]
    story: list[Flowable] = [_heading("Unit workload")]
    if not units:
        story += [
            _empty(_nothing(figures, "no unit dispatched in range"), 40 * mm),
            Paragraph("No unit was dispatched in range.", _STYLES["note"]),
        ]
        return story
    dispatches = sum(int(work["dispatches"]) for work in units.values())
    story += [
        Paragraph(
            f"{len(units)} units, {dispatches} dispatches. The busiest "
            f"{min(TOP_UNITS, len(units))} by dispatches:",
            _STYLES["meta"],
        ),
        Spacer(1, 2 * mm),
        _horizontal(_busiest(units), "dispatches in range"),
        Spacer(1, 2 * mm),
        Paragraph(
            "Busy: from each dispatch to the unit's release (available, in quarters), its next "
            "dispatch or the end of the log, summed.",
            _STYLES["note"],
        ),
    ]
    rows: list[list[Any]] = [["Unit", "Dispatches", "Busy (h:mm:ss)", "Busy (s)"]]
    for unit_id, work in units.items():
        busy = work["busy_s"]
        rows.append([unit_id, work["dispatches"], _duration(busy), _number(busy)])
    table = _table(rows, [40 * mm, 30 * mm, 35 * mm, 35 * mm])
    table.setStyle(TableStyle([("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _STRIPE])]))
    story += [_heading("Every unit"), table]
    return story
