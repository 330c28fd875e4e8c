"""The shift report as a PDF (issue #16): ``dispatch-server report --format pdf``.

`report_pdf` renders the JSON form of a report (`server.report.report_dict`, or the same dict
decoded from JSON, as it arrives over the wire) with reportlab: A4 portrait, dark text on white
(it is printed), standard PDF fonts only (nothing embedded, no font file read). Pure: the PDF's
bytes out, nothing written anywhere. This module makes the document, its tables and its
pagination; the charts are `desktop.reports.charts`.

* Page 1: the title, the range (in the offset of its ``from``), the time it was generated; the
  headline figures (calls, incidents; the answered and processed shares against their targets,
  `desktop.domain.floor_figures.SHARE_FIGURES`); the interval percentiles; the incidents by
  type and by priority.
* Page 2: the charts (`desktop.reports.charts.chart_page`): calls per hour (``calls_by_hour``),
  the interval percentiles p50 and p90 (grouped bars) and the incidents by type (the
  `TOP_TYPES` most common, the rest as one bar).
* Page 3 on: the unit workload: the `TOP_UNITS` busiest units by dispatches (a chart), then the
  table of every unit, its header repeated on each page.

Every page has a footer: the title, the range and "page N of M". A chart with nothing to draw
says so (``no calls in range`` when the range has no call). Bars are `BAR_COLOUR` (p90 bars
`P90_COLOUR`), a colour nothing else on a page uses.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
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

from desktop.domain.floor_figures import HOUR_S, SHARE_FIGURES
from desktop.reports.charts import (
    BAR_COLOUR,
    BAR_RGB,
    EDGE,
    EMPTY_RANGE,
    FONT,
    INK,
    INTERVALS,
    MARGIN,
    MUTED,
    P90_COLOUR,
    P90_RGB,
    RULE,
    TOP_TYPES,
    WIDTH,
    by_count,
    chart_page,
    empty,
    horizontal,
    nothing,
    number,
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

#: The title of the report, at the top of page 1 and in every page's footer.
_TITLE = "Shift report"
#: The busiest units the workload chart shows.
TOP_UNITS = 15

_HEADER_FILL = colors.HexColor("#e6e6e6")
_STRIPE = colors.HexColor("#f5f5f5")
_BOLD = "Helvetica-Bold"
_NONE = "\u2014"  # an em dash: no value

_STYLES = {
    "title": ParagraphStyle("title", fontName=_BOLD, fontSize=22, leading=26, textColor=INK),
    "meta": ParagraphStyle("meta", fontName=FONT, fontSize=10, leading=14, textColor=MUTED),
    "h2": ParagraphStyle(
        "h2",
        fontName=_BOLD,
        fontSize=12.5,
        leading=16,
        textColor=INK,
        spaceBefore=10,
        spaceAfter=5,
        keepWithNext=1,  # a heading never ends a page
    ),
    "note": ParagraphStyle(
        "note", fontName=FONT, fontSize=8.5, leading=11, textColor=MUTED, spaceBefore=3
    ),
    "cell": ParagraphStyle("cell", fontName=FONT, fontSize=9, leading=11, textColor=INK),
}


def report_pdf(figures: Mapping[str, Any], *, generated: datetime | None = None) -> bytes:
    """The PDF of the report ``figures`` (the keys of `server.report.report_dict`; a missing
    ``calls_by_hour`` draws no hourly chart). ``generated`` (default: now, in the offset of
    ``from``) is printed as the time the report was made. Raises KeyError or ValueError when
    ``figures`` is not such a report."""
    start, end = _time(figures["from"]), _time(figures["to"])
    made = generated if generated is not None else datetime.now(start.tzinfo)
    span = _range_text(start, end)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=f"{_TITLE}: {span}",
        author="",  # none (reportlab's default writes "(anonymous)")
        subject=_TITLE,
        creator="dispatch-server report",
    )
    story = [
        *_summary(figures, span, made),
        PageBreak(),
        *chart_page(figures, start, _heading, _note),
        PageBreak(),
        *_units(figures),
    ]

    def footer(canvas: Canvas, _doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(MUTED)
        canvas.drawString(EDGE, MARGIN, f"{_TITLE} \u00b7 {span}")
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
        for page, state in enumerate(self._pages, 1):
            self.__dict__.update(state)
            self.setFont(FONT, 8)
            self.setFillColor(MUTED)
            self.drawRightString(A4[0] - EDGE, MARGIN, f"page {page} of {total}")
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
    return f"{number(round(seconds / HOUR_S, 2))} h"


def _range_text(start: datetime, end: datetime) -> str:
    """``2016-12-31 00:00 to 2017-01-01 00:00 (UTC-08:00), 24 h``."""
    length = _hours((end - start).total_seconds())
    return f"{_clock(start)} to {_clock(end)} ({_offset(start)}), {length}"


def _seconds(value: float | None) -> str:
    return _NONE if value is None else f"{number(value)} s"


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
            ("FONT", (0, 0), (-1, -1), FONT, 9),
            ("FONT", (0, 0), (-1, 0), _BOLD, 9),
            ("TEXTCOLOR", (0, 0), (-1, -1), INK),
            ("BACKGROUND", (0, 0), (-1, 0), _HEADER_FILL),
            ("LINEBELOW", (0, 0), (-1, 0), 0.8, INK),
            ("LINEBELOW", (0, 1), (-1, -1), 0.25, RULE),
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
    for share in SHARE_FIGURES:
        value = figures.get(share.figure)
        rows.append(
            [
                share.words,
                _percent(value),
                f"{share.target * 100:.0f} %",
                share.standard,
                _standing(value, share.target),
            ]
        )
    table = _table(rows, [62 * mm, 25 * mm, 22 * mm, 32 * mm, WIDTH - 141 * mm], 1)
    table.setStyle(TableStyle([("ALIGN", (3, 0), (-1, -1), "LEFT")]))
    return table


def _intervals(figures: Mapping[str, Any]) -> Table:
    """The p50 and p90 of each interval, with the count behind them."""
    rows: list[list[Any]] = [["Interval", "From / to", "p50", "p90", "Measured"]]
    for key, label, what in INTERVALS:
        interval = figures[key]
        rows.append(
            [label, what, _seconds(interval["p50"]), _seconds(interval["p90"]), interval["n"]]
        )
    table = _table(rows, [28 * mm, 72 * mm, 22 * mm, 22 * mm, WIDTH - 144 * mm], 2)
    table.setStyle(TableStyle([("TEXTCOLOR", (1, 1), (1, -1), MUTED)]))
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


def _by_priority(counts: Mapping[str, int]) -> dict[str, int]:
    """``counts`` by priority, numerically where the priorities are numbers."""
    return dict(
        sorted(counts.items(), key=lambda item: (not item[0].isdigit(), _rank(item[0]), item[0]))
    )


def _rank(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _side_by_side(left: Flowable, right: Flowable, left_width: float) -> Table:
    holder = Table([[left, right]], colWidths=[left_width, WIDTH - left_width], hAlign="LEFT")
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
    by_type = by_count(figures["incidents_by_type"])
    by_priority = _by_priority(figures["incidents_by_priority"])
    type_width, gap = 100 * mm, 8 * mm
    types = _counts(by_type, "Type", type_width)
    priorities = _counts(by_priority, "Priority", WIDTH - type_width - gap, "P")
    if len(by_type) <= _SIDE_BY_SIDE_ROWS:
        heading = Table(
            [[_heading("Incidents by type"), _heading("Incidents by priority")]],
            colWidths=[type_width + gap, WIDTH - type_width - gap],
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


def _note(text: str) -> Paragraph:
    return Paragraph(escape(text), _STYLES["note"])


def _summary(figures: Mapping[str, Any], span: str, made: datetime) -> list[Flowable]:
    """Page 1 (module docstring)."""
    return [
        Paragraph(escape(_TITLE), _STYLES["title"]),
        Spacer(1, 2 * mm),
        Paragraph(f"Range: {escape(span)} (the end excluded)", _STYLES["meta"]),
        Paragraph(
            f"Generated: {_clock(made.replace(microsecond=0))} ({_offset(made)})",
            _STYLES["meta"],
        ),
        HRFlowable(width="100%", thickness=0.8, color=INK, spaceBefore=6, spaceAfter=4),
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
            empty(nothing(figures, "no unit dispatched in range"), 40 * mm),
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
        horizontal(_busiest(units), "dispatches in range"),
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
        rows.append([unit_id, work["dispatches"], _duration(busy), number(busy)])
    table = _table(rows, [40 * mm, 30 * mm, 35 * mm, 35 * mm])
    table.setStyle(TableStyle([("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, _STRIPE])]))
    story += [_heading("Every unit"), table]
    return story
