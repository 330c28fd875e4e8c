"""The supervisor's shift report (issue #16): what a time range of the event log amounts to.

`shift_report` reads the whole event log of a `Store` once, in seq order, into a
`desktop.domain.floor_figures.FloorLog` (the one home of the figures' definitions, shared with
the Supervisor panel's live tiles) and returns its `ShiftReport`; `report_dict` and
`report_csv` render it (the JSON and CSV forms that ``dispatch-server report`` writes:
server/report_cli.py). Pure: nothing is written anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import datetime, tzinfo
from typing import Any, Protocol

import msgspec

from desktop.domain.catalog import EVENTS
from desktop.domain.floor_figures import (
    ANSWER_TARGETS_S,
    PROCESSING_TARGET_S,
    READ_KINDS,
    FloorLog,
    Interval,
    UnitWorkload,
    nearest_rank,
)
from desktop.domain.floor_figures import FloorFigures as ShiftReport
from server.store.base import StoredEvent

__all__ = [
    "ANSWER_TARGETS_S",
    "PROCESSING_TARGET_S",
    "EventLog",
    "Interval",
    "ShiftReport",
    "UnitWorkload",
    "nearest_rank",
    "report_csv",
    "report_dict",
    "shift_report",
]

log = logging.getLogger(__name__)

#: Events read from the store per `EventLog.events_after` call.
CHUNK = 5000
#: Decimals of the seconds and shares written out.
_SECONDS_DECIMALS = 3
_SHARE_DECIMALS = 4


class EventLog(Protocol):
    """What the report needs of a `server.store.base.Store`: its event log, in seq order."""

    def events_after(self, seq: int, limit: int) -> list[StoredEvent]: ...


def _events(store: EventLog) -> Iterator[StoredEvent]:
    seq = 0
    while events := store.events_after(seq, CHUNK):
        yield from events
        seq = events[-1].seq


def shift_report(store: EventLog, start: float, end: float) -> ShiftReport:
    """The shift report of [``start``, ``end``) (seconds since the epoch) from ``store``'s whole
    event log, read once in seq order. Events whose data does not decode are skipped (with a
    warning). Raises ValueError when ``start >= end``; the store's errors pass through."""
    if not start < end:
        raise ValueError("the range must start before it ends")
    floor = FloorLog()
    for event in _events(store):
        at = event.action_time
        if event.kind not in READ_KINDS:
            floor.read(None, at)
            continue
        try:
            data = msgspec.json.decode(event.data, type=EVENTS[event.kind].data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("event %d (%s) skipped: %s", event.seq, event.kind, exc)
            floor.read(None, at)
            continue
        floor.read(data, at)
    return floor.figures(start, end)


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
    for target in ANSWER_TARGETS_S:
        out[f"answered_within_{target}s_share"] = _share(report.answered_within_share(target))
    out["processed_within_60s_share"] = _share(report.processed_within_60s_share)
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
    """The CSV form of ``report``: a ``figure,value`` header and one row per figure of
    `report_dict` except ``units`` (nested keys joined with ``.``, e.g. ``processing_s.p50``,
    ``incidents_by_type.Fire``; null written empty), then a blank line and the per-unit table
    ``unit,dispatches,busy_s``. Lines end with ``\\n``."""
    figures = report_dict(report, tz)
    units = figures.pop("units")
    lines = [_csv_line(("figure", "value"))]
    for name, value in figures.items():
        if isinstance(value, dict):
            lines.extend(_csv_line((f"{name}.{key}", inner)) for key, inner in value.items())
        else:
            lines.append(_csv_line((name, value)))
    lines.append("")
    lines.append(_csv_line(("unit", "dispatches", "busy_s")))
    for unit_id, work in units.items():
        lines.append(_csv_line((unit_id, work["dispatches"], work["busy_s"])))
    return "\n".join(lines) + "\n"
