"""The AVL simulator: units report from their home station, a dispatched unit drives its road
route to the incident (its positions, seen by a dispatcher's workstation core, move along the
route towards it), stays on scene, and drives back to quarters when it is available again.
A real server on loopback, a fixed seed, a fast clock (``speed``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import LocationArgs, Position, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch, UnitSetStatus
from desktop.geo.advice import shipped_graph
from desktop.geo.projection import LocalProjection, equirectangular_m
from desktop.geo.stations import Stations
from desktop.link import Backoff, LinkPhase
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from server.app import DispatchServer, ServerConfig
from server.auth import hash_password
from server.store.sqlite import SqliteStore
from sim.avl import AvlSimulator
from tests.support.waiting import wait_until

PASSWORD = "correct horse battery staple"
MARKET_1200 = (37.7786, -122.4159)  # an address near station 01


@dataclass
class Floor:
    url: str
    tmp: Path

    def service(self, user: str) -> DispatchService:
        config = ServiceConfig(
            data_dir=self.tmp / user,
            url=self.url,
            workstation=f"ws-{user}",
            heartbeat_interval=0.5,
            dead_after=2.0,
            backoff=Backoff(0.05, 2.0, 0.5),
        )
        return DispatchService(config, SignIn(user, PASSWORD))


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[Floor]:
    """A server (positions fanned out every 50 ms) with a dispatcher and an ``avl`` account."""
    store = SqliteStore(tmp_path / "server.sqlite")
    for name, role in (("ann", "dispatcher"), ("modems", "avl")):
        store.add_user(name, role, hash_password(PASSWORD, n=2**8), time.time())
    server = DispatchServer(store, "127.0.0.1", 0, config=ServerConfig(positions_interval=0.05))
    await server.start()
    try:
        yield Floor(server.url, tmp_path)
    finally:
        await server.stop()
        store.close()


def metres(a: tuple[float, float] | Position, b: tuple[float, float]) -> float:
    lat, lon = (a.lat, a.lon) if isinstance(a, Position) else a
    return float(equirectangular_m(lat, lon, b[0], b[1]))


def along(points: tuple[tuple[float, float], ...], lat: float, lon: float) -> tuple[float, float]:
    """(metres along the polyline of the point's foot on it, metres from the polyline)."""
    projection = LocalProjection(*points[0])
    x, y = projection.to_xy([p[0] for p in points], [p[1] for p in points])
    px, py = projection.to_xy(lat, lon)
    best, best_along, walked = np.inf, 0.0, 0.0
    for i in range(len(points) - 1):
        dx, dy = x[i + 1] - x[i], y[i + 1] - y[i]
        length = float(np.hypot(dx, dy))
        t = 0.0 if length == 0 else float(((px - x[i]) * dx + (py - y[i]) * dy) / length**2)
        t = min(max(t, 0.0), 1.0)
        gap = float(np.hypot(px - (x[i] + t * dx), py - (y[i] + t * dy)))
        if gap < best:
            best, best_along = gap, walked + t * length
        walked += length
    return best_along, best


async def test_a_dispatched_unit_drives_its_route_and_returns_to_quarters(floor: Floor) -> None:
    home = Stations.load_default().position("01")
    assert home is not None
    ann = floor.service("ann")
    ann.start()
    await wait_until(lambda: ann.status.phase is LinkPhase.LIVE, what="LIVE")
    ann.submit(UnitAdd(unit_id="E1", type="ENGINE", station="01", status=UnitStatus.AQ))
    ann.submit(UnitAdd(unit_id="X1", type="ENGINE", status=UnitStatus.AQ))  # no station: no AVL
    location = LocationArgs(address="1200 MARKET ST", lat=MARKET_1200[0], lon=MARKET_1200[1])
    ann.submit(IncidentCreate(incident_id="i1", type="FIRE", priority=1, location=location))
    seen: list[Position] = []
    ann.subscribe(
        lambda change: seen.append(ann.positions()["E1"]) if "E1" in change.positions else None
    )
    simulator = AvlSimulator(
        floor.service("modems"), speed=30.0, fix_interval=2.0, heartbeat=60.0, seed=3
    )
    task = asyncio.create_task(simulator.run())
    try:
        await wait_until(lambda: "E1" in ann.positions(), 10, "the first fix from quarters")
        assert metres(ann.positions()["E1"], home) < 1.0
        assert "X1" not in ann.positions()
        route = shipped_graph().route(*home, *MARKET_1200)
        assert route is not None
        del seen[:]
        ann.submit(UnitDispatch(incident_id="i1", unit_ids=["E1"]))
        await wait_until(lambda: metres(ann.positions()["E1"], route.end) < 1.0, 30, "arrival")
        driving = [p for p in seen if metres(p, home) > 1.0]
        assert len(driving) >= 3, driving
        progress = [along(route.points, p.lat, p.lon) for p in driving]
        assert all(gap < 5.0 for _, gap in progress)  # on the route
        walked = [a for a, _ in progress]
        assert walked == sorted(walked) and walked[-1] > walked[0]  # towards the incident
        moving = [p for p in driving if p.speed_mps]
        assert moving and all(0 < p.speed_mps < 40 for p in moving)  # type: ignore[operator]
        assert all(p.heading_deg is not None and 0 <= p.heading_deg < 360 for p in moving)
        # on scene it stays; available again it drives back to quarters
        ann.submit(UnitSetStatus(unit_id="E1", status=UnitStatus.OS))
        await asyncio.sleep(0.3)
        assert metres(ann.positions()["E1"], route.end) < 1.0
        ann.submit(UnitSetStatus(unit_id="E1", status=UnitStatus.AV))
        await wait_until(lambda: metres(ann.positions()["E1"], home) < 1.0, 10, "back home")
        assert simulator.routes == 2 and simulator.reported > len(seen)
    finally:
        await simulator.stop()
        await ann.stop()
    assert task.done()
    assert simulator.service.status.phase is LinkPhase.STOPPED


async def test_parked_units_send_heartbeats(floor: Floor) -> None:
    ann = floor.service("ann")
    ann.start()
    await wait_until(lambda: ann.status.phase is LinkPhase.LIVE, what="LIVE")
    for unit_id, station in (("E1", "01"), ("E2", "02")):
        ann.submit(UnitAdd(unit_id=unit_id, type="ENGINE", station=station))
    await wait_until(lambda: not ann.outbox, what="the roster")
    simulator = AvlSimulator(floor.service("modems"), heartbeat=0.2, seed=1)
    task = asyncio.create_task(simulator.run())
    try:
        await wait_until(lambda: len(ann.positions()) == 2, 10, "the first fixes")
        first = ann.positions()["E1"].at
        await wait_until(lambda: ann.positions()["E1"].at > first, 3, "a heartbeat")
        await wait_until(lambda: simulator.reported >= 6, 3, "heartbeats")
        assert simulator.routes == 0
    finally:
        await simulator.stop()
        await ann.stop()
    assert task.done()
