"""What to send to an incident: its run card, the plan of the alarm level asked for, what the
units already on the incident cover, and the recommended units for the rest. Qt-free.

`Advisor.advise` is what the Incident detail panel shows; it loads the road graph on first use
(about 50 ms) so a workstation that never recommends never pays for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from desktop.domain.types import ASSIGNED_STATUSES, Incident, Unit
from desktop.geo.recommend import Recommendation, ResponsePlan, recommend
from desktop.geo.roads import RoadGraph
from desktop.runcards import RunCard, RunCards

__all__ = ["Advice", "Advisor", "remaining_plan"]


@dataclass(frozen=True)
class Advice:
    """The advice for one incident at one alarm level.

    ``plan`` is the card's cumulative plan for ``alarm``; ``on_scene`` the units committed to
    the incident now; ``remaining`` what of the plan they do not cover; ``recommendation`` the
    units to send for it (None when the incident has no coordinates: ``problem`` says why).
    """

    incident_id: str
    card: RunCard
    alarm: int
    plan: ResponsePlan
    on_scene: tuple[str, ...]
    remaining: ResponsePlan
    recommendation: Recommendation | None
    problem: str = ""

    def recommended_ids(self) -> list[str]:
        """The recommended units, in pick order (empty without a recommendation)."""
        return [] if self.recommendation is None else self.recommendation.unit_ids()

    @property
    def covered(self) -> bool:
        """True when the units on the incident already fill the plan."""
        return self.remaining.total() == 0


def remaining_plan(plan: ResponsePlan, unit_types: Iterable[str]) -> ResponsePlan:
    """``plan`` less what units of ``unit_types`` fill: each unit takes the first line, in plan
    order, that accepts its type and still needs a unit; units no line takes are ignored."""
    needs = dict(plan.needs)
    for unit_type in unit_types:
        kind = unit_type.strip().upper()
        for line, count in needs.items():
            if count and kind in ResponsePlan.alternatives(line):
                needs[line] = count - 1
                break
    return ResponsePlan(needs)


class Advisor:
    """Advice from ``runcards`` over the road graph ``graph()`` returns (called once, lazily)."""

    def __init__(
        self,
        runcards: RunCards,
        graph: Callable[[], RoadGraph] = RoadGraph.load,
        positions_fallback: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        """``positions_fallback``: unit id -> (lat, lon) for units without an AVL fix (None:
        the demo roster's home stations, as `recommend`)."""
        self.runcards = runcards
        self._load_graph = graph
        self._graph: RoadGraph | None = None
        self._fallback = positions_fallback

    @property
    def graph(self) -> RoadGraph:
        if self._graph is None:
            self._graph = self._load_graph()
        return self._graph

    def advise(
        self, incident: Incident, units: Iterable[Unit], now: float, alarm: int | None = None
    ) -> Advice:
        """Advice for ``incident`` given the roster ``units`` at time ``now``, at alarm level
        ``alarm`` (default: the incident's own, `Incident.alarm`).

        Raises ``ValueError`` for ``alarm < 1``."""
        alarm = incident.alarm if alarm is None else alarm
        card = self.runcards.card_for(incident.type, incident.priority)
        plan = card.plan(alarm)
        roster = list(units)
        committed = [
            u for u in roster if u.incident_id == incident.id and u.status in ASSIGNED_STATUSES
        ]
        committed.sort(key=lambda u: incident.units.index(u.id) if u.id in incident.units else 0)
        remaining = remaining_plan(plan, (u.type for u in committed))
        on_scene = tuple(u.id for u in committed)
        location = incident.location
        if location.lat is None or location.lon is None:
            return Advice(
                incident.id,
                card,
                alarm,
                plan,
                on_scene,
                remaining,
                None,
                "no coordinates for this location: give lat, lon to get a recommendation",
            )
        settings = self.runcards.recommendation
        recommendation = recommend(
            self.graph,
            location.lat,
            location.lon,
            roster,
            remaining,
            now,
            stale_after=settings.avl_stale_after_s,
            horizon=settings.horizon_s,
            positions_fallback=self._fallback,
        )
        return Advice(incident.id, card, alarm, plan, on_scene, remaining, recommendation)
