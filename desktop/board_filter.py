"""What the Incidents panel shows and in which order. Qt-free and pure.

`IncidentFilter` narrows the board by incident type, priority, dispatch area and status; every
criterion left at ``None`` lets everything through. `board_order` is the board's sort key:
the pending queue first (most urgent priority, then the longest waiting), then the dispatched
and active incidents (most urgent priority, then the oldest).

Pending incidents wait from `desktop.domain.incidents.pending_since` (when the incident last
became pending), the same time the pending timer (`desktop.timers`) runs from.

A filter round-trips through JSON (`IncidentFilter.to_json` / `IncidentFilter.from_json`) so a
workstation can keep it between sessions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

import msgspec

from desktop.domain.incidents import pending_since
from desktop.domain.types import Incident, IncidentStatus

if TYPE_CHECKING:
    from desktop.geo.areas import AreaIndex

__all__ = [
    "AREA_SEPARATOR",
    "EN_DASH",
    "BoardCounts",
    "IncidentFilter",
    "age_since",
    "area_labeller",
    "board_order",
]

#: Area labels may be hierarchical, "B04 · Stn 16": a filter on "B04" matches it.
AREA_SEPARATOR = " · "
EN_DASH = "\u2013"  # a range of priorities: "P1–2"  # noqa: RUF003
#: Longest list of values `IncidentFilter.describe` spells out before counting them.
_SPELLED_OUT = 2


def age_since(incident: Incident) -> float:
    """What the board's Age counts from: pending since, for a pending incident (its pending
    timer); created, for a dispatched or active one."""
    if incident.status is IncidentStatus.PENDING:
        return pending_since(incident)
    return incident.times.get("created", 0.0)


def board_order(incident: Incident) -> tuple[int, int, float, str]:
    """Sort key of the board: PENDING incidents first, by priority then pending since (oldest
    first); then the others (dispatched, active) by priority then created. The id breaks ties,
    so the order is total and stable."""
    if incident.status is IncidentStatus.PENDING:
        return (0, incident.priority, pending_since(incident), incident.id)
    return (1, incident.priority, incident.times.get("created", 0.0), incident.id)


class BoardCounts(NamedTuple):
    """What the board holds: open incidents shown (``pending``; ``active``: dispatched or
    active) and open incidents the filter hides."""

    pending: int = 0
    active: int = 0
    hidden: int = 0


def area_labeller(index: AreaIndex) -> Callable[[Incident], str]:
    """The area label of an incident by its point in ``index`` ("B04 · Stn 16", `Area.label`;
    "" without coordinates or outside every area). Filter on ``index.battalions()``: a
    battalion matches the labels of its stations. About 10 µs a call: cache the labels."""
    lookup = index.area_of

    def area_of(incident: Incident) -> str:
        where = incident.location
        if where.lat is None or where.lon is None:
            return ""
        area = lookup(where.lat, where.lon)
        return "" if area is None else area.label

    return area_of


def _upper(values: Iterable[str]) -> frozenset[str]:
    return frozenset(value.strip().upper() for value in values)


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents the board shows. ``None`` for a criterion means "any".

    ``types`` are compared case-insensitively (stored upper-case); ``priorities`` are the
    priority numbers shown; ``areas`` are area labels: an incident's area label matches an area
    equal to it or to its leading part before `AREA_SEPARATOR` ("B04 · Stn 16" is in "B04");
    ``statuses`` are the incident statuses shown. An empty set shows nothing.
    """

    types: frozenset[str] | None = None
    priorities: frozenset[int] | None = None
    areas: frozenset[str] | None = None
    statuses: frozenset[IncidentStatus] | None = None

    def __post_init__(self) -> None:
        if self.types is not None:
            object.__setattr__(self, "types", _upper(self.types))

    @property
    def is_everything(self) -> bool:
        """True when the filter lets every incident through."""
        return (
            self.types is None
            and self.priorities is None
            and self.areas is None
            and self.statuses is None
        )

    @property
    def needs_area(self) -> bool:
        """True when `matches` looks at the area (callers may skip computing it otherwise)."""
        return self.areas is not None

    def matches(self, incident: Incident, area: str = "") -> bool:
        """Whether ``incident``, whose area label is ``area`` ("" when unknown), is shown."""
        if self.priorities is not None and incident.priority not in self.priorities:
            return False
        if self.statuses is not None and incident.status not in self.statuses:
            return False
        if self.types is not None and incident.type.strip().upper() not in self.types:
            return False
        if self.areas is not None:
            head = area.split(AREA_SEPARATOR, 1)[0]
            if area not in self.areas and head not in self.areas:
                return False
        return True

    def describe(self) -> str:
        """Short text for a title, e.g. "P1–2 · FIRE · B04"; "" for everything."""  # noqa: RUF002
        parts: list[str] = []
        if self.priorities is not None:
            parts.append(_describe_priorities(self.priorities))
        if self.types is not None:
            parts.append(_describe_names(self.types, "types"))
        if self.areas is not None:
            parts.append(_describe_names(self.areas, "areas"))
        if self.statuses is not None:
            order = list(IncidentStatus)
            names = sorted(self.statuses, key=order.index)
            parts.append("/".join(s.value for s in names) if names else "no statuses")
        return " · ".join(parts)

    # --- persistence ---------------------------------------------------------------------------

    def to_json(self) -> str:
        """The filter as JSON text (criteria left at "any" are omitted)."""
        data: dict[str, list[Any]] = {}
        if self.types is not None:
            data["types"] = sorted(self.types)
        if self.priorities is not None:
            data["priorities"] = sorted(self.priorities)
        if self.areas is not None:
            data["areas"] = sorted(self.areas)
        if self.statuses is not None:
            data["statuses"] = sorted(s.value for s in self.statuses)
        return msgspec.json.encode(data).decode()

    @classmethod
    def from_json(cls, text: str | bytes | None) -> IncidentFilter:
        """A filter from `to_json` text. Anything unreadable gives the everything filter, and an
        unreadable criterion is left at "any" (a saved setting must never break start-up)."""
        if not text:
            return cls()
        try:
            data = msgspec.json.decode(text)
        except msgspec.DecodeError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        statuses = _values(data.get("statuses"), str)
        return cls(
            types=_values(data.get("types"), str),
            priorities=_values(data.get("priorities"), int),
            areas=_values(data.get("areas"), str),
            statuses=None
            if statuses is None or not statuses <= {s.value for s in IncidentStatus}
            else frozenset(IncidentStatus(s) for s in statuses),
        )


def _values(raw: object, kind: type[Any]) -> frozenset[Any] | None:
    if not isinstance(raw, list):
        return None
    if not all(isinstance(v, kind) and not isinstance(v, bool) for v in raw):
        return None
    return frozenset(raw)


def _describe_priorities(priorities: frozenset[int]) -> str:
    if not priorities:
        return "no priorities"
    ordered = sorted(priorities)
    low, high = ordered[0], ordered[-1]
    if low == high:
        return f"P{low}"
    if ordered == list(range(low, high + 1)):
        return f"P{low}{EN_DASH}{high}"
    return "P" + ",".join(str(p) for p in ordered)


def _describe_names(names: frozenset[str], what: str) -> str:
    if not names:
        return f"no {what}"
    if len(names) > _SPELLED_OUT:
        return f"{len(names)} {what}"
    return "/".join(sorted(names))
