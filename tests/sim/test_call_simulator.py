"""The call simulator: realistic 911 calls offered through the protocol as a ``telephony``
user, a share abandoned, against a real server on loopback (no mocks)."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from desktop.domain.caller_location import civic_text
from desktop.domain.calls import CallAnswer, CallEnd, CallOffer
from desktop.domain.premises import premise_key
from desktop.domain.types import Call, CallStatus
from desktop.geo.geocoder import Geocoder
from desktop.link import Backoff
from desktop.protocol.messages import Role
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from server.admin_client import AdminClient
from server.app import DispatchServer
from server.auth import hash_password
from server.store.sqlite import SqliteStore
from sim.calls import CallSimulator, PlannedCall, caller_address
from sim.demo_data import load_calls
from sim.demo_floor import DEMO_PREMISES, PREMISE_USER, EmbeddedServer, demo_premises
from tests.support.waiting import wait_until

PASSWORD = "correct horse battery staple"
ANI = re.compile(r"^\+1(415|628)55501\d\d$")
CIVIC_KEYS = {"country", "A1", "A3", "HNO", "RD"}


def make(data_dir: Path, url: str, **options: Any) -> CallSimulator:
    """A call simulator (seed 5) signing in to ``url`` as the telephony account ``phone``."""
    config = ServiceConfig(data_dir=data_dir, url=url, backoff=Backoff(0.05, 2, 0.5))
    return CallSimulator(
        DispatchService(config, SignIn("phone", PASSWORD)), load_calls(), seed=5, **options
    )


@dataclass
class Floor:
    url: str
    tmp: Path

    def simulator(self, **options: Any) -> CallSimulator:
        return make(self.tmp / "call-sim", self.url, **options)

    async def sign_in(self, user: str, role: Role = "calltaker") -> AdminClient:
        return await AdminClient.connect(self.url, user, PASSWORD, role=role)


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[Floor]:
    """A server on 127.0.0.1 with a telephony account, a call-taker and a dispatcher."""
    store = SqliteStore(tmp_path / "server.sqlite")
    for name, role in (("phone", "telephony"), ("carl", "calltaker"), ("ann", "dispatcher")):
        store.add_user(name, role, hash_password(PASSWORD, n=2**8), time.time())
    server = DispatchServer(store, "127.0.0.1", 0)
    await server.start()
    try:
        yield Floor(server.url, tmp_path)
    finally:
        await server.stop()
        store.close()


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = (a[0] - b[0]) * 111_320.0
    east = (a[1] - b[1]) * 111_320.0 * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


def test_the_calls_are_a_realistic_mix(tmp_path: Path) -> None:
    offline = "ws://127.0.0.1:1"  # planning needs no server
    simulator = make(tmp_path / "a", offline)
    calls = load_calls()[:300]
    plans = [simulator.plan(template) for template in calls]
    by_service: dict[str, list[tuple[PlannedCall, tuple[float, float]]]] = {}
    for template, planned in zip(calls, plans, strict=True):
        house = simulator.house(template)
        truth = (house.lat, house.lon) if house else (template.lat, template.lon)
        by_service.setdefault(planned.offer.class_of_service, []).append((planned, truth))
        assert ANI.match(planned.offer.ani), planned.offer.ani
        assert len(planned.offer.locations) == 1
    assert set(by_service) == {"wireless", "voip", "wireline", "text"}
    assert 0.5 < len(by_service["wireless"]) / len(plans) < 0.85
    shapes = set()
    for planned, truth in by_service["wireless"]:
        located = planned.offer.locations[0]
        shape = located.geodetic
        assert located.kind == "geodetic" and shape is not None
        shapes.add(shape.shape)
        assert shape.confidence in (90.0, 95.0) and located.method in ("GPS", "Cell")
        assert shape.uncertainty_m is not None and 10 <= shape.uncertainty_m <= 300
        # the truth lies inside the shape, the centre displaced from it
        assert metres((shape.lat, shape.lon), truth) <= shape.uncertainty_m + 0.5
        if shape.shape == "Circle":
            assert shape.radius_m == shape.uncertainty_m
            assert (located.method == "GPS") == (shape.uncertainty_m <= 50)
        else:
            assert shape.semi_minor_m is not None and shape.semi_major_m == shape.uncertainty_m
            assert shape.semi_minor_m < shape.semi_major_m
    assert shapes == {"Circle", "Ellipse"}
    geocoder = Geocoder.load_default()
    for service in ("voip", "wireline"):
        for planned, _ in by_service[service]:
            located = planned.offer.locations[0]
            assert located.kind == "civic" and located.civic is not None
            fields = located.civic.fields
            assert fields.keys() >= CIVIC_KEYS
            assert (fields["A3"], fields["A1"], fields["country"]) == ("SAN FRANCISCO", "CA", "US")
            assert fields["HNO"].isdigit() and int(fields["HNO"]) % 100 != 0
    # a civic address names a house the street index verifies, the same for every call there
    polk = next(t for t in load_calls() if t.address == "1000 Block of Polk St")
    house = caller_address(polk, geocoder)
    assert house is not None and 1000 < house.number < 1100
    assert geocoder.geocode(house.label).status == "verified"
    assert house.civic().fields | {"HNO": "-"} == {
        "country": "US",
        "A1": "CA",
        "A3": "SAN FRANCISCO",
        "HNO": "-",
        "RD": "POLK",
        "STS": "ST",
    }
    # callers: a share hang up while ringing after 3-20 s, a few after the answer
    ringing = [p.hang_up_after for p in plans if p.hang_up_after is not None]
    assert 0.1 < len(ringing) / len(plans) < 0.3 and all(3 <= s <= 20 for s in ringing)
    assert 0 < sum(p.talk_for is not None for p in plans) < len(ringing)
    # reproducible: the same seed gives the same calls (ids and times aside)
    twin = make(tmp_path / "b", offline)
    again = [twin.plan(template) for template in calls[:20]]

    def same(p: PlannedCall) -> tuple[object, ...]:
        locations = [(x.kind, x.geodetic, x.civic, x.method) for x in p.offer.locations]
        return (p.offer.ani, p.offer.class_of_service, locations, p.hang_up_after, p.talk_for)

    assert [same(p) for p in again] == [same(p) for p in plans[:20]]


def test_the_demo_premises_are_where_the_simulated_callers_are() -> None:
    geocoder = Geocoder.load_default()
    commands = demo_premises(load_calls(), geocoder)
    assert len(commands) >= 4
    hazards = {h for c in commands for h in c.hazards}
    assert {"dog on premises", "oxygen in use", "hazmat storage"} <= hazards
    for command in commands:
        assert geocoder.geocode(command.address).matched == premise_key(command.address)


async def test_calls_ring_in_and_some_are_abandoned(floor: Floor) -> None:
    simulator = floor.simulator(interval=0.04, speed=40.0, abandon_share=0.4)
    runner = asyncio.create_task(simulator.run(preload=4))
    carl = await floor.sign_in("carl")
    try:
        seen = simulator.service.state.confirmed.calls

        def abandoned() -> list[Call]:
            return [c for c in seen.values() if c.status is CallStatus.ABANDONED]

        def offered(service: str) -> list[Call]:
            return [c for c in seen.values() if c.class_of_service == service]

        await wait_until(
            lambda: len(seen) >= 25 and bool(abandoned() and offered("voip")), 8, "calls"
        )
        circle = next(
            loc.geodetic
            for c in offered("wireless")
            for loc in c.locations
            if loc.geodetic is not None and loc.geodetic.shape == "Circle"
        )
        assert circle.uncertainty_m is not None and circle.confidence in (90.0, 95.0)
        civic = offered("voip")[0].locations[0].civic
        assert civic is not None and civic.fields.keys() >= CIVIC_KEYS
        lost = abandoned()[0]
        assert "answered" not in lost.times and lost.times["ended"] >= lost.times["received"]
        assert {c.ani for c in seen.values()} and all(ANI.match(c.ani) for c in seen.values())
        # a call-taker may not offer or end calls: only the telephony role (and admin) may
        ringing = next(c for c in seen.values() if c.status is CallStatus.RINGING)
        refused = await carl.submit([CallOffer(call_id="not-a-phone"), CallEnd(call_id=ringing.id)])
        assert [r.error.code if r.error else None for r in refused] == ["forbidden"] * 2
        ann = await floor.sign_in("ann", "dispatcher")
        async with ann:
            error = (await ann.submit([CallOffer(call_id="x")]))[0].error
            assert error is not None and error.code == "forbidden"
            assert ann.world.calls  # every role sees the calls
    finally:
        await carl.close()
        await simulator.stop()
    assert runner.cancelled() and simulator._tasks == set()  # stop() ended everything it ran
    assert simulator.offered >= 25 and simulator.ended >= 1


async def test_a_caller_hangs_up_after_the_answer_and_a_long_ringer_is_left_alone(
    floor: Floor,
) -> None:
    simulator = floor.simulator(
        interval=1000.0, speed=20.0, abandon_share=0.0, after_answer_share=1.0, ring_timeout=20.0
    )
    runner = asyncio.create_task(simulator.run(preload=2))
    carl = await floor.sign_in("carl")
    try:
        seen = simulator.service.state.confirmed.calls
        await wait_until(lambda: len(seen) == 2, 5, "two calls")
        first, second = sorted(seen.values(), key=lambda c: c.times["received"])
        result = (await carl.submit([CallAnswer(call_id=first.id)]))[0]
        assert result.ok, result.error
        await wait_until(lambda: seen[first.id].status is CallStatus.ABANDONED, 5, "hang-up")
        assert "answered" in seen[first.id].times  # abandoned after the answer
        # nobody answers the second: after the ring timeout its caller no longer waits
        await wait_until(lambda: not simulator._tasks, 5, "the watcher to give up")
        assert seen[second.id].status is CallStatus.RINGING
    finally:
        await carl.close()
        await simulator.stop()
    assert runner.cancelled() and simulator.ended == 1


async def test_the_demo_floor_rings_911_calls_and_flags_premises(tmp_path: Path) -> None:
    embedded = EmbeddedServer(tmp_path / "srv", call_interval=30.0, ring_interval=0.1)
    login = await asyncio.to_thread(embedded.start)
    demo = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url=login.url),
        SignIn(login.username, login.password),
    )
    demo.start()
    try:
        world = demo.state.confirmed
        await wait_until(lambda: len(world.calls) >= 3 and len(world.premises) >= 4, 10, "floor")
        flagged = {p.id: p for p in world.premises.values()}
        assert {p.updated_by for p in flagged.values()} == {PREMISE_USER}
        assert all(p.lat is not None and p.hazards for p in flagged.values())
        # flagged at the houses the simulated callers give as their civic address
        simulator = embedded.call_simulator
        assert simulator is not None
        blocks = {address for address, _, _ in DEMO_PREMISES}
        houses = {simulator.house(t) for t in load_calls() if t.address in blocks}
        assert set(flagged) == {h.label for h in houses if h is not None}
        geocoder = Geocoder.load_default()
        for call in world.calls.values():
            for loc in call.locations:
                if loc.civic is not None:  # verifying it gives the key a premise has
                    key = premise_key(civic_text(loc.civic))
                    assert geocoder.geocode(civic_text(loc.civic)).matched == key
        assert simulator.offered >= 3
    finally:
        await demo.stop()
        await asyncio.to_thread(embedded.stop)
    assert simulator._tasks == set()
