"""The floor's figures over a time range (issue #16): the one home of their definitions, for
the shift report (`server.report`, from the server's log) and the Supervisor panel's live tiles
(from the events a workstation receives).

`FloorLog.read(kind, data, at)` takes the events in log order (``at``: the event's action time);
`FloorLog.figures(start, end)` gives the `FloorFigures` of [start, end). Pure.

Every time is an event's action time, except a call's received time and an incident's created
time, which are the times kept in the event data (``Call.times["received"]``,
``Incident.times["created"]``; both are the action time of the command that made them, and the
event's action time when absent). The order of things ("the next ER after the dispatch") is
the order of the log.

The definitions, and the SFFD calls-for-service columns they correspond to (docs/operations.md,
"Shift report", documents each JSON key):

* call received = Received DtTm (``call.offered``); answered (``call.answered``);
  incident created = Entry DtTm (``incident.created``); dispatch = Dispatch DtTm
  (``unit.dispatched``); response = Response DtTm (``unit.status_changed`` to ER); on scene =
  On Scene DtTm (``unit.status_changed`` to OS).
* Scope: the calls received in [start, end), the incidents created in [start, end), the unit
  dispatches made in [start, end). What happens to them afterwards counts, whenever it happens.
* processing (per call) = the first dispatch to the incident the call is linked to - the call's
  received time (never below 0: two positions' clocks may differ by milliseconds). Left out: a
  call never linked, linked to an incident never dispatched, or linked to an incident already
  dispatched before the call came in, in the log's order (a duplicate call: the processing is
  the first call's).
* turnout (per dispatch) = the unit's next ER after the dispatch, while still on that incident,
  - the dispatch time; travel = the next OS after that ER (same incident) - the ER time. A
  dispatch with no ER is left out of both, an ER with no OS out of travel. The interval ends when
  the unit leaves the incident (a status outside DP/ER/OS/TR/AH, or a status change naming
  another incident) or is dispatched again.
* busy (per dispatch) = from the dispatch to the unit's next status that releases it (AV, AQ),
  its next dispatch, or the end of the log (the latest action time in it), whichever is first.
* calls by hour = the calls of the range counted by the hour, since ``start``, in which they
  were received: bucket ``h`` is [start + h * HOUR_S, start + (h + 1) * HOUR_S) within the
  range, the last one partial when the range is not whole hours long.
* percentiles are nearest-rank (`nearest_rank`).
* shares: each of `SHARE_FIGURES` (calls answered within 15 s and 20 s, processed within 60 s)
  is declared once there, with its keys (``answered_15s`` for its target and tile,
  ``answered_within_15s_share`` in the report's JSON), the target it is held to and the
  standard that sets it (also as `SHARE_TARGETS` and `SHARE_STANDARDS`, by key).

The range a report may cover is `report_range_problem`'s rule (at most `MAX_REPORT_S`), the one
the server, ``dispatch-server report`` and the workstation's report dialog check.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from desktop.domain.calls import CallAnswered, CallLinked, CallOffered
from desktop.domain.incidents import IncidentCreated, IncidentUpdated
from desktop.domain.kinds import EventData
from desktop.domain.types import ASSIGNED_STATUSES, UnitStatus
from desktop.domain.units import UnitDispatched, UnitStatusChanged

__all__ = [
    "ANSWER_TARGETS_S",
    "HOUR_S",
    "MAX_REPORT_S",
    "PROCESSING_TARGET_S",
    "READ_KINDS",
    "SHARE_FIGURES",
    "SHARE_STANDARDS",
    "SHARE_TARGETS",
    "FloorFigures",
    "FloorLog",
    "Interval",
    "ShareFigure",
    "UnitWorkload",
    "hour_counts",
    "nearest_rank",
    "report_range_problem",
]

#: The share (0..1) of calls to answer within each answer-time target, by its seconds (NENA
#: STA-020).
_ANSWERED_WITHIN = {15: 0.90, 20: 0.95}
#: The answer-time targets the ``answered_within_<N>s_share`` figures measure (seconds).
ANSWER_TARGETS_S: tuple[int, ...] = tuple(_ANSWERED_WITHIN)
#: The call-processing target of ``processed_within_60s_share`` (seconds).
PROCESSING_TARGET_S = 60
#: The past tense of each interval a share is of, as its keys spell it.
_SHARE_VERBS = {"answer": "answered", "processing": "processed"}


@dataclass(frozen=True, slots=True)
class ShareFigure:
    """One share figure: the share of the ``interval`` samples (`FloorFigures.answer` or
    `FloorFigures.processing`) at most ``limit_s`` seconds, held to ``target`` (0..1) by
    ``standard``. Its two keys are derived here and nowhere else."""

    interval: Literal["answer", "processing"]
    limit_s: int
    target: float
    standard: str

    @property
    def verb(self) -> str:
        """What happened to the calls it counts: ``answered`` or ``processed``."""
        return _SHARE_VERBS[self.interval]

    @property
    def key(self) -> str:
        """Its name among the targets (`SHARE_TARGETS`) and the Supervisor panel's tiles, e.g.
        ``answered_15s``."""
        return f"{self.verb}_{self.limit_s}s"

    @property
    def figure(self) -> str:
        """Its key in the report's JSON form (docs/operations.md, "Shift report"), e.g.
        ``answered_within_15s_share``."""
        return f"{self.verb}_within_{self.limit_s}s_share"

    @property
    def words(self) -> str:
        """What it is, for a reader: ``Calls answered within 15 s``."""
        return f"Calls {self.verb} within {self.limit_s} s"

    def samples(self, figures: FloorFigures) -> Interval:
        """The interval of ``figures`` it is a share of."""
        return figures.answer if self.interval == "answer" else figures.processing

    def of(self, figures: FloorFigures) -> float | None:
        """Its value in ``figures`` (None: no sample to divide by)."""
        return self.samples(figures).share_within(self.limit_s)


#: The share figures, in the order of the report's JSON: answered within 15 s 90 % and within
#: 20 s 95 % (NENA STA-020), processed (call received to first unit dispatched) within 60 s
#: 90 % (NFPA 1225).
SHARE_FIGURES: tuple[ShareFigure, ...] = (
    *(ShareFigure("answer", s, _ANSWERED_WITHIN[s], "NENA STA-020") for s in ANSWER_TARGETS_S),
    ShareFigure("processing", PROCESSING_TARGET_S, 0.90, "NFPA 1225"),
)
#: Share targets (0..1) by `ShareFigure.key` (``answered_15s``, ``answered_20s``,
#: ``processed_60s``).
SHARE_TARGETS: dict[str, float] = {share.key: share.target for share in SHARE_FIGURES}
#: The standard that sets each of `SHARE_TARGETS`.
SHARE_STANDARDS: dict[str, str] = {share.key: share.standard for share in SHARE_FIGURES}
#: The width of a ``calls_by_hour`` bucket (seconds).
HOUR_S = 3600
#: The longest range a shift report covers (seconds): a year and a day.
MAX_REPORT_S: float = 366 * 86_400.0
#: Intervals are rounded to this many decimals when computed (float noise of epoch times).
_EXACT = 6
#: The event kinds the figures read (others only move the end of the log).
READ_KINDS = frozenset(
    {
        "call.offered",
        "call.answered",
        "call.linked",
        "incident.created",
        "incident.updated",
        "unit.dispatched",
        "unit.status_changed",
    }
)


def report_range_problem(start: float, end: float) -> str | None:
    """Why [``start``, ``end``) (seconds since the epoch) cannot be reported, for a person: a
    time that is not finite, an end not after the start, or a range longer than
    `MAX_REPORT_S`; None when it can be."""
    if not (math.isfinite(start) and math.isfinite(end)):
        return "the range is not a time range"
    if not start < end:
        return "the range must start before it ends"
    if end - start > MAX_REPORT_S:
        return f"the range must be at most {MAX_REPORT_S / 86_400:g} days long"
    return None


def nearest_rank(values: Sequence[float], q: int) -> float | None:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of ``values``: the
    ``ceil(q / 100 * n)``-th smallest (1-based) of the ``n`` values; None when there are none."""
    if not 0 < q <= 100:
        raise ValueError(f"percentile must be in (0, 100], not {q}")
    if not values:
        return None
    rank = -(-q * len(values) // 100)  # ceil(q * n / 100) in integers: no float rounding
    return sorted(values)[rank - 1]


@dataclass(frozen=True, slots=True)
class Interval:
    """The samples of one interval, in seconds (any order)."""

    samples: tuple[float, ...] = ()

    @property
    def n(self) -> int:
        return len(self.samples)

    @property
    def p50(self) -> float | None:
        return nearest_rank(self.samples, 50)

    @property
    def p90(self) -> float | None:
        return nearest_rank(self.samples, 90)

    @property
    def whole(self) -> bool:
        """True when every sample is a whole number of seconds (written out as integers)."""
        return all(float(s).is_integer() for s in self.samples)

    def share_within(self, limit_s: float) -> float | None:
        """The share (0..1) of samples at most ``limit_s``; None when there are none."""
        if not self.samples:
            return None
        return sum(1 for s in self.samples if s <= limit_s) / len(self.samples)


@dataclass(frozen=True, slots=True)
class UnitWorkload:
    """One unit's work among the dispatches of the range: how many, and the seconds committed
    (each dispatch until its release, next dispatch or the end of the log, summed)."""

    dispatches: int
    busy_s: float


@dataclass(frozen=True, slots=True)
class FloorFigures:
    """The figures of the range [``start``, ``end``) (seconds since the epoch); see the module
    docstring for the definitions. ``answer`` holds answered - received of the calls with both
    times; ``incidents_by_type`` and ``incidents_by_priority`` count the incidents of the range
    by their type and priority at the end of the log (as last updated); ``calls_by_hour``
    counts the ``calls`` by the hour since ``start`` they were received in (one bucket per
    started hour of the range, `hour_counts`)."""

    start: float
    end: float
    calls: int
    calls_by_hour: tuple[int, ...]
    incidents: int
    incidents_by_type: Mapping[str, int]
    incidents_by_priority: Mapping[str, int]
    answer: Interval
    processing: Interval
    turnout: Interval
    travel: Interval
    units: Mapping[str, UnitWorkload]


@dataclass(slots=True)
class _Call:
    received: float
    order: int  # its place in the log
    answered: float | None = None
    incident_id: str | None = None


@dataclass(slots=True)
class _Incident:
    created: float
    type: str
    priority: int


@dataclass(slots=True)
class _Dispatch:
    """One unit dispatch: its times as the log goes on. ``open``: the unit is still on the
    incident by this dispatch (turnout and travel may still be stamped); ``released``: when its
    commitment ended (None: not yet)."""

    unit_id: str
    incident_id: str
    at: float
    enroute: float | None = None
    onscene: float | None = None
    open: bool = True
    released: float | None = None


@dataclass(slots=True)
class FloorLog:
    """What the figures need of the log so far (module docstring)."""

    calls: dict[str, _Call] = field(default_factory=dict)
    incidents: dict[str, _Incident] = field(default_factory=dict)
    first_dispatch: dict[str, tuple[float, int]] = field(default_factory=dict)  # time, place
    read_count: int = 0
    dispatches: list[_Dispatch] = field(default_factory=list)
    current: dict[str, _Dispatch] = field(default_factory=dict)  # unit id -> its latest dispatch
    last_time: float = -math.inf

    def read(self, data: EventData | None, at: float) -> None:
        """Take one event (its data, or None for a kind the figures do not read; its action
        time), in log order."""
        self.last_time = max(self.last_time, at)
        self.read_count += 1
        if isinstance(data, CallOffered):
            call = data.call
            if call.id not in self.calls:
                self.calls[call.id] = _Call(call.times.get("received", at), self.read_count)
        elif isinstance(data, CallAnswered):
            answered = self.calls.get(data.call_id)
            if answered is not None and answered.answered is None:
                answered.answered = at
        elif isinstance(data, CallLinked):
            linked = self.calls.get(data.call_id)
            if linked is not None and linked.incident_id is None:
                linked.incident_id = data.incident_id
        elif isinstance(data, IncidentCreated):
            incident = data.incident
            self.incidents.setdefault(
                incident.id,
                _Incident(incident.times.get("created", at), incident.type, incident.priority),
            )
        elif isinstance(data, IncidentUpdated):
            updated = self.incidents.get(data.incident_id)
            if updated is not None:
                updated.type = updated.type if data.type is None else data.type
                updated.priority = updated.priority if data.priority is None else data.priority
        elif isinstance(data, UnitDispatched):
            self._dispatched(data, at)
        elif isinstance(data, UnitStatusChanged):
            self._status_changed(data, at)

    def figures(self, start: float, end: float) -> FloorFigures:
        """The figures of [``start``, ``end``) (module docstring). ValueError, with the
        `report_range_problem`, for a range that cannot be reported."""
        return _figures(self, start, end)

    def _dispatched(self, data: UnitDispatched, at: float) -> None:
        self.first_dispatch.setdefault(data.incident_id, (at, self.read_count))
        previous = self.current.get(data.unit_id)
        if previous is not None:
            _release(previous, at)  # dispatched again: the previous commitment ends here
        dispatch = _Dispatch(data.unit_id, data.incident_id, at)
        self.current[data.unit_id] = dispatch
        self.dispatches.append(dispatch)

    def _status_changed(self, data: UnitStatusChanged, at: float) -> None:
        dispatch = self.current.get(data.unit_id)
        if dispatch is None or dispatch.released is not None:
            return
        if data.status not in ASSIGNED_STATUSES:
            _release(dispatch, at)
            return
        if not dispatch.open:
            return
        if data.incident_id is not None and data.incident_id != dispatch.incident_id:
            dispatch.open = False  # moved to another incident without a dispatch: stop stamping
            return
        if data.status is UnitStatus.ER and dispatch.enroute is None:
            dispatch.enroute = at
        elif data.status is UnitStatus.OS and dispatch.onscene is None:
            dispatch.onscene = at


def _release(dispatch: _Dispatch, at: float) -> None:
    dispatch.open = False
    if dispatch.released is None:
        dispatch.released = at


def _span(start: float, end: float) -> float:
    return round(end - start, _EXACT)


def hour_counts(received: Sequence[float], start: float, end: float) -> tuple[int, ...]:
    """The count of ``received`` times (each in [``start``, ``end``)) by `HOUR_S` bucket since
    ``start``: ``ceil((end - start) / HOUR_S)`` buckets, the last one possibly partial."""
    buckets = [0] * max(1, math.ceil(_span(start, end) / HOUR_S))
    for t in received:
        buckets[min(len(buckets) - 1, int((t - start) // HOUR_S))] += 1
    return tuple(buckets)


def _figures(reader: FloorLog, start: float, end: float) -> FloorFigures:
    problem = report_range_problem(start, end)
    if problem is not None:
        raise ValueError(problem)

    def within(t: float) -> bool:
        return start <= t < end

    calls = [c for c in reader.calls.values() if within(c.received)]
    answer = [_span(c.received, c.answered) for c in calls if c.answered is not None]
    processing: list[float] = []
    for call in calls:
        first = reader.first_dispatch.get(call.incident_id or "")
        if first is not None and first[1] > call.order:  # dispatched after the call came in
            processing.append(max(0.0, _span(call.received, first[0])))

    incidents = [i for i in reader.incidents.values() if within(i.created)]
    by_type = Counter(i.type for i in incidents)
    by_priority = Counter(i.priority for i in incidents)

    dispatches = [d for d in reader.dispatches if within(d.at)]
    turnout = [_span(d.at, d.enroute) for d in dispatches if d.enroute is not None]
    travel = [
        _span(d.enroute, d.onscene)
        for d in dispatches
        if d.enroute is not None and d.onscene is not None
    ]
    end_of_log = reader.last_time
    counts: Counter[str] = Counter()
    busy: dict[str, float] = {}
    for d in dispatches:
        released = end_of_log if d.released is None else d.released
        counts[d.unit_id] += 1
        busy[d.unit_id] = busy.get(d.unit_id, 0.0) + max(0.0, _span(d.at, released))
    units = {
        unit_id: UnitWorkload(counts[unit_id], round(busy[unit_id], _EXACT))
        for unit_id in sorted(counts)
    }
    return FloorFigures(
        start=start,
        end=end,
        calls=len(calls),
        calls_by_hour=hour_counts([c.received for c in calls], start, end),
        incidents=len(incidents),
        incidents_by_type=dict(sorted(by_type.items())),
        incidents_by_priority={str(p): n for p, n in sorted(by_priority.items())},
        answer=Interval(tuple(answer)),
        processing=Interval(tuple(processing)),
        turnout=Interval(tuple(turnout)),
        travel=Interval(tuple(travel)),
        units=units,
    )
