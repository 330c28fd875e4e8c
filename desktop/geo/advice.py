"""What to send to an incident: its run card, the plan of the alarm level asked for, what the
units already on the incident cover, and the recommended units for the rest. Qt-free.

`Advisor.advise` is what the Incident detail panel shows. Recommending needs the road graph,
whose loading (scipy and the graph file: 0.3-0.9 s on a workstation) is kept off the start-up
path: a workstation shows its board first and calls `Advisor.load` in a worker thread behind
it; `Advisor.ready` says when it is done (until then the panel says the recommendation is on
its way). Anything not needing the graph (`remaining_plan`, the run card) works at once.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop.domain.types import ASSIGNED_STATUSES, Incident, IncidentStatus, Unit
from desktop.geo.plan import ResponsePlan
from desktop.geo.recommend import Recommendation, recommend
from desktop.runcards import RunCard, RunCards

if TYPE_CHECKING:
    from desktop.geo.roads import RoadGraph

__all__ = ["ROADS_LOADING", "Advice", "Advisor", "remaining_plan", "shipped_graph"]

#: Why an advice has no recommendation yet while the road graph loads behind the board.
ROADS_LOADING = "working out the recommendation: the road graph is still loading"
#: Why an active incident whose units have all cleared is offered nothing: its run card was
#: sent and served; sending it again would double the response.
ALL_CLEARED = (
    "every unit has cleared: nothing recommended (close the incident, strike an alarm, "
    "or choose units yourself)"
)


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
    loading: bool = False  # no recommendation yet: the road graph is still loading

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


@functools.cache
def shipped_graph() -> RoadGraph:
    """The shipped road graph with its snapping index built, loaded once per process (it is
    read-only once built, so every advisor of the process shares it)."""
    from desktop.geo.roads import RoadGraph

    graph = RoadGraph.load()
    graph.warm()
    return graph


class Advisor:
    """Advice from ``runcards`` over the road graph ``graph()`` returns (called once: by `load`,
    or by the first `advise` that needs it)."""

    def __init__(
        self,
        runcards: RunCards,
        graph: Callable[[], RoadGraph] = shipped_graph,
        positions_fallback: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        """``positions_fallback``: unit id -> (lat, lon) for units without an AVL fix (None:
        each unit's home station, `desktop.geo.stations.home_position`, as `recommend`)."""
        self.runcards = runcards
        self._load_graph = graph
        self._graph: RoadGraph | None = None
        self._fallback = positions_fallback
        self._loading = threading.Lock()
        self.failure: str | None = None  # why the road graph could not be loaded, if it failed

    @property
    def ready(self) -> bool:
        """True once the road graph is loaded: `advise` then answers at once."""
        return self._graph is not None

    def load(self) -> None:
        """Load the road graph and what recommending imports, if not done yet. Safe to call from
        a worker thread (and from several: the graph is loaded once)."""
        with self._loading:
            if self._graph is None:
                try:
                    self._graph = self._load_graph()
                except Exception as exc:
                    self.failure = f"the road graph could not be loaded ({exc})"
                    raise

    @property
    def graph(self) -> RoadGraph:
        """The road graph (loaded now if `load` has not run)."""
        self.load()
        assert self._graph is not None
        return self._graph

    def advise(
        self,
        incident: Incident,
        units: Iterable[Unit],
        now: float,
        alarm: int | None = None,
        *,
        wait_for_roads: bool = True,
    ) -> Advice:
        """Advice for ``incident`` given the roster ``units`` at time ``now``, at alarm level
        ``alarm`` (default: the incident's own, `Incident.alarm`). With ``wait_for_roads``
        False and the road graph not loaded yet, the advice has the card and the plan but no
        recommendation (``loading``), at once.

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
        if incident.status is IncidentStatus.ACTIVE and not committed:
            return Advice(
                incident.id, card, alarm, plan, on_scene, ResponsePlan({}), None, ALL_CLEARED
            )
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
        if not wait_for_roads and not self.ready:
            problem = f"no recommendation: {self.failure}" if self.failure else ROADS_LOADING
            loading = self.failure is None
            return Advice(
                incident.id, card, alarm, plan, on_scene, remaining, None, problem, loading
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
