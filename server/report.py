"""The supervisor's shift report (issue #16): what a time range of the event log amounts to.

`shift_report` reads the whole event log of a `Store` once, in seq order, into a
`desktop.domain.floor_figures.FloorLog` (the one home of the figures' definitions, shared with
the Supervisor panel's live tiles) and returns its `ShiftReport`. Its files (the JSON form
`report_dict`, `report_bytes` in JSON, CSV or PDF) are `desktop.reports.files`, shared with the
workstation, and re-exported here for the server's callers. Pure: nothing is written anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Protocol

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
    report_range_problem,
)
from desktop.domain.floor_figures import FloorFigures as ShiftReport
from desktop.reports.files import (
    REPORT_FORMATS,
    figures_csv,
    report_bytes,
    report_csv,
    report_dict,
)
from server.store.base import StoredEvent

__all__ = [
    "ANSWER_TARGETS_S",
    "PROCESSING_TARGET_S",
    "REPORT_FORMATS",
    "EventLog",
    "Interval",
    "ShiftReport",
    "UnitWorkload",
    "figures_csv",
    "nearest_rank",
    "report_bytes",
    "report_csv",
    "report_dict",
    "shift_report",
]

log = logging.getLogger(__name__)

#: Events read from the store per `EventLog.events_after` call.
CHUNK = 5000


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
    warning). Raises ValueError, before reading anything, for a range that cannot be reported
    (`desktop.domain.floor_figures.report_range_problem`); the store's errors pass through."""
    problem = report_range_problem(start, end)
    if problem is not None:
        raise ValueError(problem)
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
