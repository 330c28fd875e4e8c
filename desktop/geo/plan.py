"""A response plan: which unit types an incident needs and how many. Pure Python: run cards
(`desktop.runcards`) build plans at start-up without loading the road graph."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ANY_OF", "ResponsePlan"]


#: Separates the unit types of a plan line that any of them may fill (``MEDIC|AMBULANCE``).
ANY_OF = "|"


@dataclass(frozen=True, init=False)
class ResponsePlan:
    """Unit types and how many of each, e.g. ``ResponsePlan({"ENGINE": 2, "MEDIC": 1})``.
    Types are compared case-insensitively (kept upper-case); order is kept for the picks.

    A line whose key names several types joined by ``|`` (``{"MEDIC|AMBULANCE": 1}``) is filled
    by units of any of them; its key in :attr:`needs` is the normalised ``"MEDIC|AMBULANCE"``
    (see :meth:`alternatives`)."""

    needs: tuple[tuple[str, int], ...]

    def __init__(self, needs: Mapping[str, int]) -> None:
        """Raises ``ValueError`` for a count below zero, a blank type, or a type (or set of
        alternatives) given twice."""
        items: dict[str, int] = {}
        seen: set[frozenset[str]] = set()
        for kind, count in needs.items():
            parts = [part.strip().upper() for part in kind.split(ANY_OF)]
            key = ANY_OF.join(parts)
            options = frozenset(parts)
            if (
                not all(parts)
                or len(options) != len(parts)
                or options in seen
                or isinstance(count, bool)
                or count < 0
            ):
                raise ValueError(f"bad response plan line {kind!r}: {count!r}")
            seen.add(options)
            items[key] = int(count)
        object.__setattr__(self, "needs", tuple(items.items()))

    @staticmethod
    def alternatives(line: str) -> tuple[str, ...]:
        """The unit types that may fill the line ``line`` (a key of :attr:`needs`)."""
        return tuple(line.split(ANY_OF))

    @property
    def unit_types(self) -> frozenset[str]:
        """Every unit type that may fill some line."""
        return frozenset(t for line, _ in self.needs for t in line.split(ANY_OF))

    def total(self) -> int:
        """How many units the plan asks for."""
        return sum(count for _, count in self.needs)
