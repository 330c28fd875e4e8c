"""The radio gateway simulator: units with a radio key up (committed ones more often than those
on the road, the rest silent) on their incident's channel or their type's dispatch channel,
talking then not talking; a seed gives the same traffic; key-ups reach a dispatcher's core; and
the emergency button never raises a second alarm for a radio whose alarm is active. A real
server on loopback; the rounds of the simulation are driven by hand on a made-up clock where
timing matters."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.domain.incidents import IncidentCreate
from desktop.domain.radio import RadioAssignChannel, RadioClear
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch
from desktop.link import Backoff
from desktop.protocol.messages import KeyUp
from desktop.service import CommandRefused, DispatchService, ServiceConfig
from desktop.signin import SignIn
from server.app import DispatchServer, ServerConfig
from server.auth import hash_password
from server.store.sqlite import SqliteStore
from sim.radio import RadioGatewaySimulator
from tests.support.waiting import wait_live, wait_until

PASSWORD = "correct horse battery staple"
LOCATION = LocationArgs(address="1200 MARKET ST", lat=37.7786, lon=-122.4159)


@dataclass
class Floor:
    url: str
    tmp: Path
    services: list[DispatchService]

    def service(self, user: str) -> DispatchService:
        config = ServiceConfig(
            data_dir=self.tmp / f"{user}-{len(self.services)}",
            url=self.url,
            workstation=f"ws-{user}",
            heartbeat_interval=0.5,
            dead_after=2.0,
            backoff=Backoff(0.05, 2.0, 0.5),
        )
        service = DispatchService(config, SignIn(user, PASSWORD))
        self.services.append(service)
        return service

    async def started(self, user: str) -> DispatchService:
        service = self.service(user)
        service.start()
        await wait_live(service)
        return service


@pytest.fixture
async def floor(tmp_path: Path) -> AsyncIterator[Floor]:
    """A server (key-ups fanned out every 50 ms) with a dispatcher and a ``radio`` account."""
    store = SqliteStore(tmp_path / "server.sqlite")
    for name, role in (("ann", "dispatcher"), ("console", "radio")):
        store.add_user(name, role, hash_password(PASSWORD, n=2**8), time.time())
    server = DispatchServer(store, "127.0.0.1", 0, config=ServerConfig(keyups_interval=0.05))
    await server.start()
    floor = Floor(server.url, tmp_path, [])
    try:
        yield floor
    finally:
        for service in floor.services:
            await service.stop(close_within=2.0)
        await server.stop()
        store.close()


async def _the_floor(ann: DispatchService) -> None:
    """E1 (radio 710001) on i1, which is on OPS 3; E5 (710005) on i2, on no channel; M2
    (710002) and C7 (RESCUE-CAPTAIN, 710007) on the road; T3 (710003) in quarters; X4 on i2
    with no radio."""
    roster = (
        ("E1", "ENGINE", "710001", UnitStatus.AQ),
        ("E5", "ENGINE", "710005", UnitStatus.AQ),
        ("M2", "MEDIC", "710002", UnitStatus.AV),
        ("C7", "RESCUE-CAPTAIN", "710007", UnitStatus.AV),
        ("T3", "TRUCK", "710003", UnitStatus.AQ),
        ("X4", "ENGINE", "", UnitStatus.AQ),
    )
    for unit_id, kind, radio_id, status in roster:
        ann.submit(
            UnitAdd(unit_id=unit_id, type=kind, station="01", status=status, radio_id=radio_id)
        )
    for incident_id in ("i1", "i2"):
        ann.submit(
            IncidentCreate(incident_id=incident_id, type="FIRE", priority=1, location=LOCATION)
        )
    ann.submit(RadioAssignChannel(incident_id="i1", channel="OPS 3"))
    ann.submit(UnitDispatch(incident_id="i1", unit_ids=["E1"]))
    ann.submit(UnitDispatch(incident_id="i2", unit_ids=["E5", "X4"]))
    await wait_until(lambda: not ann.outbox, what="the floor set up")


async def _gateway(floor: Floor, **options: object) -> RadioGatewaySimulator:
    """A simulator whose core is LIVE and sees the whole floor."""
    simulator = RadioGatewaySimulator(floor.service("console"), **options)  # type: ignore[arg-type]
    simulator.service.start()
    await wait_live(simulator.service)

    def ready() -> bool:
        e5 = simulator.service.unit("E5")
        return len(simulator.service.units()) == 6 and e5 is not None and e5.incident_id == "i2"

    await wait_until(ready, what="the floor at the gateway")
    return simulator


FAST = {"committed_every": (1.0, 2.0), "road_every": (4.0, 6.0), "talk_for": (0.3, 0.8)}


def _rounds(simulator: RadioGatewaySimulator, seconds: float) -> list[KeyUp]:
    """Every key-up of the rounds of ``seconds`` of made-up time, one round per 0.1 s."""
    keyups: list[KeyUp] = []
    for n in range(int(seconds * 10) + 1):
        keyups += simulator.keyups_due(n / 10)
    return keyups


async def test_units_with_radios_key_up_on_their_channels_talking_then_not(floor: Floor) -> None:
    ann = await floor.started("ann")
    await _the_floor(ann)
    simulator = await _gateway(floor, seed=5, emergency_every=None, **FAST)
    keyups = _rounds(simulator, 60.0)
    by_radio: dict[str, list[KeyUp]] = {}
    for keyup in keyups:
        by_radio.setdefault(keyup.radio_id, []).append(keyup)
    # only units with a radio talk, and only committed ones and those on the road
    assert set(by_radio) == {"710001", "710005", "710002", "710007"}
    channels = {radio_id: {k.channel for k in got} for radio_id, got in by_radio.items()}
    assert channels == {
        "710001": {"OPS 3"},  # its incident's channel
        "710005": {"FIRE DISPATCH"},  # its incident has none: its type's dispatch channel
        "710002": {"EMS DISPATCH"},
        "710007": {"EMS DISPATCH"},
    }
    for got in by_radio.values():  # each transmission: talking, then let go
        assert [k.talking for k in got] == [n % 2 == 0 for n in range(len(got))]
    # committed units key up more often than those on the road (1-2 s against 4-6 s apart)
    starts = Counter(k.radio_id for k in keyups if k.talking)
    assert min(starts["710001"], starts["710005"]) > max(starts["710002"], starts["710007"])
    assert 20 <= starts["710001"] <= 60 and 6 <= starts["710002"] <= 16
    # stamped on the server's clock, each later than the one before
    stamps = [k.at for k in keyups]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert abs(stamps[-1] - simulator.service.server_now()) < 5.0


async def test_a_seed_gives_the_same_traffic(floor: Floor) -> None:
    ann = await floor.started("ann")
    await _the_floor(ann)
    first = await _gateway(floor, seed=11, emergency_every=None, **FAST)
    second = await _gateway(floor, seed=11, emergency_every=None, **FAST)
    other = await _gateway(floor, seed=12, emergency_every=None, **FAST)

    def heard(simulator: RadioGatewaySimulator) -> list[tuple[str, str, bool]]:
        return [(k.radio_id, k.channel, k.talking) for k in _rounds(simulator, 20.0)]

    assert heard(first) == heard(second) != heard(other)


async def test_a_dispatcher_hears_the_running_simulator(floor: Floor) -> None:
    ann = await floor.started("ann")
    await _the_floor(ann)
    simulator = RadioGatewaySimulator(
        floor.service("console"),
        committed_every=(0.1, 0.3),
        road_every=(0.1, 0.3),
        talk_for=(0.1, 0.2),
        emergency_every=None,
        tick=0.02,
        seed=2,
    )
    task = asyncio.create_task(simulator.run())
    try:
        await wait_until(
            lambda: {"OPS 3", "FIRE DISPATCH", "EMS DISPATCH"} <= set(ann.keyups()),
            10,
            "key-ups on every channel at ann",
        )
        assert ann.keyups()["OPS 3"].radio_id == "710001"
        await wait_until(lambda: not ann.keyups()["OPS 3"].talking, 5, "a release at ann")
        assert simulator.reported > 0 and not simulator.service.outbox
    finally:
        await simulator.stop()
        await asyncio.gather(task, return_exceptions=True)


async def test_emergencies_are_never_raised_twice_for_an_active_alarm(floor: Floor) -> None:
    ann = await floor.started("ann")
    await _the_floor(ann)
    simulator = RadioGatewaySimulator(
        floor.service("console"), emergency_every=0.05, tick=0.02, seed=4
    )
    task = asyncio.create_task(simulator.run())
    try:
        # the two committed units with a radio, each once; none for those on the road
        await wait_until(lambda: len(ann.state.confirmed.alarms) == 2, 10, "two alarms")
        await asyncio.sleep(0.5)  # many more emergencies fall due meanwhile: none can be raised
        alarms = list(ann.state.confirmed.alarms.values())
        assert sorted(a.radio_id for a in alarms) == ["710001", "710005"]
        assert {a.unit_id: a.incident_id for a in alarms} == {"E1": "i1", "E5": "i2"}
        assert {a.channel for a in alarms} == {"OPS 3", "FIRE DISPATCH"}
        assert sorted(simulator.emergencies) == sorted(a.id for a in alarms)
        assert simulator.service.needs_attention() == []  # no refused command on the server
        with pytest.raises(CommandRefused) as refused:
            simulator.press_emergency("E1")
        assert refused.value.code == "already_exists"
        # cleared, E1's radio may be in emergency again
        e1 = next(a for a in alarms if a.unit_id == "E1")
        ann.submit(RadioClear(alarm_id=e1.id, reason="crew answered: all fine"))
        await wait_until(lambda: len(ann.state.confirmed.alarms) == 3, 10, "a new alarm for E1")
        active = [a for a in ann.state.confirmed.alarms.values() if a.cleared_at is None]
        assert sorted(a.radio_id for a in active) == ["710001", "710005"]
    finally:
        await simulator.stop()
        await asyncio.gather(task, return_exceptions=True)


async def test_pressing_by_hand_takes_a_unit_or_a_radio(floor: Floor) -> None:
    ann = await floor.started("ann")
    await _the_floor(ann)
    simulator = await _gateway(floor, emergency_every=None)
    with pytest.raises(ValueError):
        simulator.press_emergency("X4")  # a unit with no radio
    on_road = simulator.press_emergency("M2")  # by hand, any unit's radio may be pressed
    portable = simulator.press_emergency("MA-4471")  # a radio on no unit
    await wait_until(lambda: {on_road, portable} <= set(ann.state.confirmed.alarms), 5, "alarms")
    alarms = ann.state.confirmed.alarms
    assert (alarms[on_road].unit_id, alarms[on_road].channel) == ("M2", "EMS DISPATCH")
    assert (alarms[portable].unit_id, alarms[portable].radio_id) == ("", "MA-4471")
    assert simulator.emergencies == [on_road, portable]


def test_the_simulator_refuses_nonsense_settings(tmp_path: Path) -> None:
    service = Floor("ws://127.0.0.1:9", tmp_path, []).service("console")
    try:
        for options in (
            {"talk_for": (0.0, 1.0)},
            {"committed_every": (5.0, 2.0)},
            {"emergency_every": 0.0},
            {"fire_channel": ""},
        ):
            with pytest.raises(ValueError):
                RadioGatewaySimulator(service, **options)
    finally:
        service.db.close()
