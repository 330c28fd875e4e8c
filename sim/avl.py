"""`AvlSimulator`: the vehicles' AVL modems, reporting where every unit drives.

A simulator, named as one: it stands in for the GPS/AVL units in the vehicles and the centre's
AVL gateway, so the map and the recommendation of a demo or a test have live positions. It is
an ordinary protocol client: a headless `DispatchService` signed in as its own user in the role
``avl``, which sends ``position`` frames (`DispatchService.report_positions`) and no command.

It watches the floor through its own service's view and moves each unit on the roster:

- a unit starts at its home station (`desktop.geo.stations.home_position`); one without a
  known station reports nothing;
- committed to an incident with coordinates (``DP``, ``ER``, ``OS``, ``TR``, ``AH``), it drives
  the road route from where it is to the incident (`desktop.geo.roads.RoadGraph.route`) at the
  road class speeds (the graph's seconds), ``speed`` times faster, then stays there while
  committed (transports stay at the scene: the demo data has no hospitals);
- available again (``AV``, ``AQ``), it drives back to quarters and parks there; out of
  service (``OOS``), it stops where it is. A new goal mid-drive starts a new route from the
  point reached.

A moving unit reports a fix every ``fix_interval`` vehicle seconds (``fix_interval / speed``
wall seconds), with its speed and heading, and one when it arrives; a parked unit reports a
heartbeat fix every ``heartbeat`` wall seconds (not scaled: staleness is judged on the wall
clock), at a phase drawn from the seeded random sequence so the roster does not report in
step. Every unit reports once as soon as the simulator is live. Fixes are stamped with the
server's clock as the service estimates it (`DispatchService.server_now`).

Contract: `run` reports until it is cancelled or `stop` is called; `stop` cancels it, waits
for it and stops the service. Fixes made while the service is offline are dropped by the link
(positions are a latest value).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from desktop.domain.types import ASSIGNED_STATUSES, AVAILABLE_STATUSES, Unit
from desktop.geo.advice import shipped_graph
from desktop.geo.projection import equirectangular_m
from desktop.geo.stations import Stations, home_position
from desktop.link import LinkPhase
from desktop.protocol.messages import PositionFix
from desktop.service import CommandRefused, DispatchService
from desktop.state import Change
from sim.running import stop_runner, stop_service

if TYPE_CHECKING:  # the road graph (scipy) loads when the first route is driven, not here
    from desktop.geo.roads import RoadGraph
    from desktop.geo.routes import Route

__all__ = ["AvlSimulator", "Goal"]

log = logging.getLogger("dispatch.sim.avl")

#: Closer than this (metres) to its goal, a unit is there: no route is driven.
ARRIVED_M = 5.0


@dataclass(frozen=True, slots=True)
class Goal:
    """Where a unit is headed: ``kind`` ``"incident"`` (with its id), ``"home"``, or
    ``"stay"`` (no point: it stops where it is)."""

    kind: str
    point: tuple[float, float] | None = None
    incident_id: str | None = None


@dataclass(slots=True)
class _Vehicle:
    """One unit's motion: parked at ``parked``, or driving ``route`` since ``started``."""

    unit_id: str
    parked: tuple[float, float]
    goal: Goal
    route: Route | None = None
    started: float = 0.0  # monotonic wall time the route began
    next_fix: float = 0.0  # monotonic wall time of its next report
    phased: bool = False  # its heartbeats have been given their random phase
    replan: bool = False  # its goal changed: a new route is needed


class AvlSimulator:
    """Reports the roster's positions through ``service`` (configured, not started, signed in
    as an ``avl`` account); see the module docstring."""

    def __init__(
        self,
        service: DispatchService,
        *,
        speed: float = 1.0,
        fix_interval: float = 5.0,
        heartbeat: float = 60.0,
        seed: int | None = None,
        graph: Callable[[], RoadGraph] = shipped_graph,
        stations: Stations | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if speed <= 0 or fix_interval <= 0 or heartbeat <= 0:
            raise ValueError("need a positive speed, fix interval and heartbeat")
        self.service = service
        self.speed = speed
        self.fix_interval = fix_interval
        self.heartbeat = heartbeat
        self._load_graph = graph
        self._graph: RoadGraph | None = None
        self._stations = stations
        self._clock = clock
        self._rng = random.Random(seed)
        self._vehicles: dict[str, _Vehicle] = {}
        self._runner: asyncio.Task[None] | None = None
        self._dirty: set[str] = set()  # units whose goal is to be worked out again
        self._all_dirty = True
        self._stamp = 0.0  # the last fix time given: fixes of a unit always move forward
        self.reported = 0  # fixes handed to the link
        self.routes = 0  # routes driven

    # --- what a unit does --------------------------------------------------------------------

    @property
    def wall_fix_interval(self) -> float:
        """Wall seconds between two fixes of a moving unit."""
        return self.fix_interval / self.speed

    def goal_of(self, unit: Unit) -> Goal:
        """Where ``unit`` heads given its status (module docstring)."""
        if unit.status in ASSIGNED_STATUSES and unit.incident_id is not None:
            incident = self.service.incident(unit.incident_id)
            location = incident.location if incident is not None else None
            if location is not None and location.lat is not None and location.lon is not None:
                return Goal("incident", (location.lat, location.lon), unit.incident_id)
            return Goal("stay")
        if unit.status in AVAILABLE_STATUSES:
            home = home_position(unit, self._stations)
            return Goal("home", home) if home is not None else Goal("stay")
        return Goal("stay")

    def where(self, unit_id: str) -> tuple[float, float] | None:
        """Where the simulator has ``unit_id`` now (None: not simulated)."""
        vehicle = self._vehicles.get(unit_id)
        if vehicle is None:
            return None
        lat, lon, _, _ = self._state(vehicle, self._clock())
        return lat, lon

    # --- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Sign in, load the road graph, then move and report every unit until cancelled."""
        self._runner = asyncio.current_task()
        self.service.start()
        unsubscribe = self.service.subscribe(self._on_change)
        try:
            self._graph = await asyncio.to_thread(self._load_graph)
            while self.service.status.phase is not LinkPhase.LIVE:
                await asyncio.sleep(0.05)
            tick = max(0.02, min(0.5, self.wall_fix_interval / 2))
            while True:
                await self._plan()
                self._report(self._clock())
                await asyncio.sleep(tick)
        finally:
            unsubscribe()

    async def stop(self) -> None:
        """Stop reporting and stop the service."""
        await stop_runner(self._runner)
        await stop_service(self.service)

    def _on_change(self, change: Change) -> None:
        """Units whose status or incident changed get their goal worked out again."""
        if change.reset:
            self._all_dirty = True
            return
        self._dirty |= change.units
        for incident_id in change.incidents:  # an incident that moved moves its units' goal
            incident = self.service.incident(incident_id)
            if incident is not None:
                self._dirty.update(incident.units)

    async def _plan(self) -> None:
        """Take in new units and give every unit whose goal changed its route."""
        units = {u.id: u for u in self.service.units()}
        if self._all_dirty:
            self._all_dirty = False
            self._dirty = set(units)
        now = self._clock()
        for unit_id in sorted(self._dirty & units.keys()):
            unit = units[unit_id]
            goal = self.goal_of(unit)
            vehicle = self._vehicles.get(unit_id)
            if vehicle is None:
                home = home_position(unit, self._stations)
                if home is None:
                    continue
                # the first fix at once, then heartbeats at a random phase
                vehicle = _Vehicle(unit_id, home, Goal("home", home), next_fix=now)
                self._vehicles[unit_id] = vehicle
            if goal != vehicle.goal:
                vehicle.goal, vehicle.replan = goal, True
        self._dirty.clear()
        for vehicle in self._vehicles.values():
            if vehicle.replan:
                vehicle.replan = False
                await self._drive(vehicle, self._clock())

    async def _drive(self, vehicle: _Vehicle, now: float) -> None:
        """Start the route from where ``vehicle`` is to its goal (or stop where it is)."""
        lat, lon, _, _ = self._state(vehicle, now)
        vehicle.parked, vehicle.route = (lat, lon), None
        point = vehicle.goal.point
        graph = self._graph
        if point is None or graph is None:
            return
        if float(equirectangular_m(lat, lon, point[0], point[1])) < ARRIVED_M:
            return
        route = await asyncio.to_thread(graph.route, lat, lon, point[0], point[1])
        if route is None:
            log.debug("%s: no road route to %s", vehicle.unit_id, point)
            return
        vehicle.route, vehicle.started = route, self._clock()
        vehicle.next_fix = min(vehicle.next_fix, vehicle.started)
        self.routes += 1

    def _state(self, vehicle: _Vehicle, now: float) -> tuple[float, float, float, float | None]:
        """(lat, lon, speed m/s, heading or None) of ``vehicle`` at ``now``; a route driven to
        its end leaves it parked there, its arrival to be reported at once."""
        route = vehicle.route
        if route is None:
            return vehicle.parked[0], vehicle.parked[1], 0.0, None
        point = route.where((now - vehicle.started) * self.speed)
        if (now - vehicle.started) * self.speed >= route.seconds:
            vehicle.parked, vehicle.route = route.end, None
            vehicle.next_fix = now  # the arrival is reported at once
            return point.lat, point.lon, 0.0, point.heading_deg
        return point.lat, point.lon, point.speed_mps, point.heading_deg

    def _report(self, now: float) -> None:
        """Report the units whose fix is due."""
        fixes: list[PositionFix] = []
        stamp = self._stamp = max(self.service.server_now(), self._stamp + 0.001)
        for vehicle in self._vehicles.values():
            lat, lon, speed, heading = self._state(vehicle, now)
            if now < vehicle.next_fix:
                continue
            if vehicle.route is not None:
                vehicle.next_fix = now + self.wall_fix_interval
            elif not vehicle.phased:
                vehicle.phased = True
                vehicle.next_fix = now + self._rng.uniform(0.0, self.heartbeat)
            else:
                vehicle.next_fix = now + self.heartbeat
            fixes.append(
                PositionFix(
                    unit_id=vehicle.unit_id,
                    lat=round(lat, 6),
                    lon=round(lon, 6),
                    at=stamp,
                    speed_mps=round(speed, 2),
                    heading_deg=None if heading is None else round(heading, 1) % 360.0,
                )
            )
        if not fixes:
            return
        try:
            self.reported += self.service.report_positions(fixes)
        except CommandRefused as exc:  # this account may not report: say so once, then stop
            log.error("the AVL simulator cannot report positions: %s", exc.message)
            raise
