"""The shift report's files (issue #16): its JSON form (`report_dict`), and that form written
out as JSON, CSV (`figures_csv`) or PDF (`desktop.reports.pdf.report_pdf`) by `report_bytes`.

Shared by ``dispatch-server report`` (server/report_cli.py, from the server's own log) and the
Supervisor panel (ui/dialogs/shift_report.py, from the JSON form the server sends), so both
write the same files. The figures themselves are `desktop.domain.floor_figures`. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any

from desktop.domain.floor_figures import SHARE_FIGURES, Interval
from desktop.domain.floor_figures import FloorFigures as ShiftReport

__all__ = [
    "REPORT_FORMATS",
    "ShiftReport",
    "figures_csv",
    "report_bytes",
    "report_csv",
    "report_dict",
]

#: The file formats of a report (`report_bytes`), the first the one offered first.
REPORT_FORMATS = ("pdf", "csv", "json")
#: Decimals of the seconds and shares written out.
_SECONDS_DECIMALS = 3
_SHARE_DECIMALS = 4


# --- rendering ---------------------------------------------------------------------------------


def _seconds(value: float | None, whole: bool) -> int | float | None:
    """Seconds as written out: an integer when ``whole``, else rounded to 3 decimals."""
    if value is None:
        return None
    return round(value) if whole else round(value, _SECONDS_DECIMALS)


def _share(value: float | None) -> float | None:
    return None if value is None else round(value, _SHARE_DECIMALS)


def _interval(interval: Interval) -> dict[str, Any]:
    whole = interval.whole
    return {
        "p50": _seconds(interval.p50, whole),
        "p90": _seconds(interval.p90, whole),
        "n": interval.n,
    }


def _iso(t: float, tz: tzinfo) -> str:
    return datetime.fromtimestamp(t, tz).isoformat()


def report_dict(report: ShiftReport, tz: tzinfo) -> dict[str, Any]:
    """The JSON form of ``report`` (keys as documented in docs/operations.md, "Shift report");
    ``from``/``to`` are ISO 8601 times in ``tz`` with their offset."""
    out: dict[str, Any] = {
        "from": _iso(report.start, tz),
        "to": _iso(report.end, tz),
        "calls": report.calls,
        "incidents": report.incidents,
        "incidents_by_type": dict(report.incidents_by_type),
        "incidents_by_priority": dict(report.incidents_by_priority),
        "processing_s": _interval(report.processing),
        "turnout_s": _interval(report.turnout),
        "travel_s": _interval(report.travel),
    }
    for share in SHARE_FIGURES:
        out[share.figure] = _share(share.of(report))
    out["calls_by_hour"] = list(report.calls_by_hour)
    out["units"] = {
        unit_id: {
            "dispatches": work.dispatches,
            "busy_s": _seconds(work.busy_s, float(work.busy_s).is_integer()),
        }
        for unit_id, work in report.units.items()
    }
    return out


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _csv_line(cells: Sequence[Any]) -> str:
    out = []
    for cell in map(_cell, cells):
        if any(c in cell for c in ',"\r\n'):
            cell = '"' + cell.replace('"', '""') + '"'
        out.append(cell)
    return ",".join(out)


def report_csv(report: ShiftReport, tz: tzinfo) -> str:
    """The CSV form of ``report``: `figures_csv` of its `report_dict`."""
    return figures_csv(report_dict(report, tz))


def figures_csv(report: Mapping[str, Any]) -> str:
    """The CSV form of a report's JSON form (`report_dict`): a ``figure,value`` header and one
    row per figure except ``units`` (nested keys joined with ``.``, e.g. ``processing_s.p50``,
    ``incidents_by_type.Fire``, and list items by their index, ``calls_by_hour.0``; null
    written empty), then a blank line and the per-unit table ``unit,dispatches,busy_s``.
    Lines end with ``\\n``."""
    figures = dict(report)
    units = figures.pop("units")
    lines = [_csv_line(("figure", "value"))]
    for name, value in figures.items():
        if isinstance(value, dict):
            lines.extend(_csv_line((f"{name}.{key}", inner)) for key, inner in value.items())
        elif isinstance(value, list):
            lines.extend(_csv_line((f"{name}.{i}", inner)) for i, inner in enumerate(value))
        else:
            lines.append(_csv_line((name, value)))
    lines.append("")
    lines.append(_csv_line(("unit", "dispatches", "busy_s")))
    for unit_id, work in units.items():
        lines.append(_csv_line((unit_id, work["dispatches"], work["busy_s"])))
    return "\n".join(lines) + "\n"


def report_bytes(figures: Mapping[str, Any], fmt: str) -> bytes:
    """The file of the report ``figures`` (its JSON form, `report_dict`, or the same decoded
    from JSON) in ``fmt``, one of `REPORT_FORMATS`: indented JSON or `figures_csv` in UTF-8, or
    the PDF of `desktop.reports.pdf.report_pdf`. ValueError for another format."""
    if fmt == "json":
        return (json.dumps(figures, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    if fmt == "csv":
        return figures_csv(figures).encode("utf-8")
    if fmt == "pdf":
        from desktop.reports.pdf import report_pdf  # reportlab is loaded only for a PDF

        return report_pdf(figures)
    raise ValueError(f"no report format {fmt!r} (one of {', '.join(REPORT_FORMATS)})")
