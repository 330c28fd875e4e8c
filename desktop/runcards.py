"""Run cards: the response plan of an incident by type, priority and alarm level. Qt-free.

A card gives, per alarm level, the units that level *adds*; the plan of alarm *n* is the sum of
levels 1..*n* (a 2nd alarm is the 1st alarm plus its additional units). Alarm levels beyond the
last one a card lists repeat its last level, so asking for more never gives fewer units.

Which card applies to (type, priority), types compared case-insensitively:

1. the card of that type listing that priority;
2. else the card of that type listing no priorities (it covers every priority);
3. else the default card (an unknown type gets a safe minimum response).

Plans are `desktop.geo.plan.ResponsePlan`, the input of unit recommendation. A plan line
may accept any of several unit types, written ``"MEDIC|AMBULANCE": 1``; `ResponsePlan` keeps it as
one line with that key (`ResponsePlan.alternatives` splits it) and `recommend` fills it with the
nearest unit of either type.

Cards live in ``resources/runcards.json`` (format in ``resources/README.md``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import msgspec

from desktop.geo.plan import ANY_OF, ResponsePlan
from desktop.resources import resource_path

__all__ = ["RecommendationSettings", "RunCard", "RunCardError", "RunCards", "combine_plans"]

PRIORITIES = range(1, 6)


class RunCardError(ValueError):
    """The run card file is missing, not JSON, or breaks a rule (the message says where)."""


# --- the file format ------------------------------------------------------------------------


class _DefaultSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: str = "default"
    alarms: list[dict[str, int]]


class _CardSpec(_DefaultSpec, kw_only=True, forbid_unknown_fields=True):
    type: str
    priorities: list[int] = msgspec.field(default_factory=list)


class _RecommendationSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    avl_stale_after_s: float = 120.0
    horizon_s: float = 600.0


class _FileSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    version: int = 1
    about: str = ""
    recommendation: _RecommendationSpec = msgspec.field(default_factory=_RecommendationSpec)
    default: _DefaultSpec
    cards: list[_CardSpec] = msgspec.field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RecommendationSettings:
    """How units are recommended: an AVL fix older than ``avl_stale_after_s`` is flagged stale;
    a plan line counts as covered by units within ``horizon_s`` of the incident."""

    avl_stale_after_s: float = 120.0
    horizon_s: float = 600.0


# --- cards ----------------------------------------------------------------------------------


def combine_plans(plans: Iterable[ResponsePlan]) -> ResponsePlan:
    """The sum of ``plans``: counts of the same line (the same type, or the same set of
    alternatives in any order) are added; lines keep the order they first appear in."""
    totals: dict[frozenset[str], tuple[str, int]] = {}
    for plan in plans:
        for line, count in plan.needs:
            options = frozenset(ResponsePlan.alternatives(line))
            first, total = totals.get(options, (line, 0))
            totals[options] = (first, total + count)
    return ResponsePlan(dict(totals.values()))


@dataclass(frozen=True)
class RunCard:
    """One card: ``levels[i]`` is what alarm ``i + 1`` adds. ``incident_type`` is upper-case
    (``"*"`` for the default card); ``priorities`` is empty when the card covers every one."""

    incident_type: str
    priorities: frozenset[int]
    name: str
    levels: tuple[ResponsePlan, ...]

    @property
    def is_default(self) -> bool:
        return self.incident_type == "*"

    @property
    def alarms(self) -> int:
        """How many alarm levels the card lists (further levels repeat the last)."""
        return len(self.levels)

    def plan(self, alarm: int = 1) -> ResponsePlan:
        """The cumulative plan of alarm ``alarm`` (1 = first alarm). Raises ``ValueError`` for
        ``alarm < 1``."""
        if isinstance(alarm, bool) or alarm < 1:
            raise ValueError(f"alarm level must be 1 or more, not {alarm!r}")
        last = self.levels[-1]
        return combine_plans([*self.levels[:alarm], *[last] * (alarm - len(self.levels))])


class RunCards:
    """The run cards of a centre: look-up by incident type and priority with fallbacks."""

    def __init__(
        self,
        cards: Iterable[RunCard],
        default: RunCard,
        recommendation: RecommendationSettings | None = None,
    ) -> None:
        """Raises `RunCardError` if two cards cover the same (type, priority), or two cards of
        one type both cover every priority."""
        self.default = default
        self.recommendation = recommendation or RecommendationSettings()
        self._exact: dict[tuple[str, int], RunCard] = {}
        self._any: dict[str, RunCard] = {}
        self._types: list[str] = []
        for card in cards:
            if card.incident_type not in self._types:
                self._types.append(card.incident_type)
            if not card.priorities:
                if card.incident_type in self._any:
                    raise RunCardError(f"two cards for every priority of {card.incident_type}")
                self._any[card.incident_type] = card
            for priority in sorted(card.priorities):
                key = (card.incident_type, priority)
                if key in self._exact:
                    raise RunCardError(f"two cards for {card.incident_type} priority {priority}")
                self._exact[key] = card

    @classmethod
    def load(cls, path: str | Path | None = None) -> RunCards:
        """Read run cards from ``path`` (default ``resources/runcards.json``).

        Raises `RunCardError` naming the file and what is wrong with it."""
        source = Path(path) if path is not None else resource_path("runcards.json")
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise RunCardError(f"{source}: {exc}") from exc
        return cls.from_json(data, str(source))

    @classmethod
    def from_json(cls, data: bytes | str, source: str = "run cards") -> RunCards:
        """Run cards from JSON text in the format of ``resources/runcards.json``."""
        try:
            spec = msgspec.json.decode(data, type=_FileSpec)
        except msgspec.DecodeError as exc:
            raise RunCardError(f"{source}: {exc}") from exc
        default = _card(source, "default", "*", [], spec.default)
        cards = [
            _card(source, f"cards[{i}]", c.type, c.priorities, c) for i, c in enumerate(spec.cards)
        ]
        settings = spec.recommendation
        if not (0 < settings.avl_stale_after_s < 86_400 and 0 < settings.horizon_s < 86_400):
            raise RunCardError(
                f"{source}: recommendation: avl_stale_after_s and horizon_s must be seconds "
                "between 0 and 86400"
            )
        recommendation = RecommendationSettings(settings.avl_stale_after_s, settings.horizon_s)
        try:
            return cls(cards, default, recommendation)
        except RunCardError as exc:
            raise RunCardError(f"{source}: {exc}") from None

    def incident_types(self) -> list[str]:
        """The incident types with a card of their own, in file order."""
        return list(self._types)

    def priorities(self, incident_type: str) -> list[int]:
        """The priorities the cards of ``incident_type`` name explicitly, ascending (empty
        when its cards cover every priority, or it has none)."""
        kind = incident_type.strip().upper()
        return sorted(priority for (name, priority) in self._exact if name == kind)

    def card_for(self, incident_type: str, priority: int) -> RunCard:
        """The card for ``incident_type`` at ``priority`` (see the module docstring)."""
        kind = incident_type.strip().upper()
        card = self._exact.get((kind, priority)) or self._any.get(kind)
        return card if card is not None else self.default

    def plan_for(self, incident_type: str, priority: int, alarm: int = 1) -> ResponsePlan:
        """The cumulative response plan of alarm ``alarm`` for ``incident_type`` at
        ``priority``. Never fails for an unknown type or priority (the default card applies);
        raises ``ValueError`` for ``alarm < 1``."""
        return self.card_for(incident_type, priority).plan(alarm)


def _card(source: str, where: str, kind: str, priorities: list[int], spec: _DefaultSpec) -> RunCard:
    def fail(message: str) -> RunCardError:
        return RunCardError(f"{source}: {where} ({kind}): {message}")

    incident_type = kind.strip().upper()
    if not incident_type or (incident_type == "*" and where != "default"):
        raise fail("type must be a name")
    bad = [p for p in priorities if p not in PRIORITIES]
    if bad or len(set(priorities)) != len(priorities):
        raise fail(f"priorities must be distinct, {PRIORITIES.start}-{PRIORITIES.stop - 1}")
    if not spec.alarms:
        raise fail("list at least one alarm")
    levels: list[ResponsePlan] = []
    for level, units in enumerate(spec.alarms, start=1):
        if not units or any(count < 1 for count in units.values()):
            raise fail(f"alarm {level} must list units, each with a count of 1 or more")
        try:
            levels.append(ResponsePlan(units))
        except ValueError as exc:
            raise fail(f"alarm {level}: {exc} (types joined by {ANY_OF!r} for any of)") from None
    return RunCard(incident_type, frozenset(priorities), spec.name, tuple(levels))
