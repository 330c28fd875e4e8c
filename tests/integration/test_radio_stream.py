"""Radio key-ups and emergencies end to end, through a real server process on loopback: a
``radio`` gateway's workstation core reports key-ups and dispatchers' cores hold the newest of
each channel (key-up-only changes); a dispatcher may not report them (refused at the service,
``forbidden`` at the server); an invalid key-up is answered ``invalid_keyup`` and the
connection stays up; key-ups are dropped (not queued) while offline; a workstation cut off
meanwhile gets the catch-up after its resync; and the radio gateway simulator's emergency
button raises an alarm every workstation sees, with the unit, its incident and its position."""

from __future__ import annotations

import asyncio

import pytest

from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import LocationArgs
from desktop.domain.units import UnitAdd, UnitDispatch
from desktop.link import LinkPhase
from desktop.protocol.codec import encode
from desktop.protocol.messages import Error, KeyUp, KeyUpBody, KeyUpReport, Pong, PositionFix
from desktop.service import CommandRefused, DispatchService
from desktop.state import Change
from sim.radio import RadioGatewaySimulator
from tests.support.faultproxy import FaultProxy
from tests.support.fixtures import ClientFactory
from tests.support.rawclient import RawClient
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_live, wait_until

#: The radio gateway's account (role ``radio``).
RADIO_USER = "rad"  # the radio gateway of tests.support.fixtures.USERS


def _keyup(service: DispatchService, channel: str, radio_id: str, **extra: object) -> KeyUp:
    return KeyUp(channel=channel, radio_id=radio_id, at=service.server_now(), **extra)  # type: ignore[arg-type]


async def test_dispatchers_hold_the_newest_keyup_of_each_channel(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    ann, radio = make_client("ann", server.url), make_client(RADIO_USER, server.url)
    await wait_live(ann)
    await wait_live(radio)
    changes: list[Change] = []
    ann.subscribe(changes.append)
    assert radio.report_keyups([_keyup(radio, "FIRE DISPATCH", "710001")]) == 1
    await wait_until(lambda: "FIRE DISPATCH" in ann.keyups(), 5, "the key-up at ann")
    held = ann.keyups()["FIRE DISPATCH"]
    assert (held.radio_id, held.talking) == ("710001", True)
    assert held == ann.state.keyups["FIRE DISPATCH"]
    radio.report_keyups(
        [
            _keyup(radio, "FIRE DISPATCH", "710001", talking=False),
            _keyup(radio, "EMS DISPATCH", "710002"),
        ]
    )
    await wait_until(lambda: not ann.keyups()["FIRE DISPATCH"].talking, 5, "the release")
    await wait_until(lambda: "EMS DISPATCH" in ann.keyups(), 5, "the EMS key-up")
    # the view holds a key-up as it arrives; its Change is published at the next flush
    await wait_until(lambda: any("EMS DISPATCH" in c.keyups for c in changes), 5, "its change")
    heard = [c for c in changes if c.keyups]
    assert heard and all(not (c.units or c.incidents or c.positions) for c in heard)
    assert set().union(*(c.keyups for c in heard)) == {"FIRE DISPATCH", "EMS DISPATCH"}
    # the gateway's own core hears them too; nothing was queued anywhere
    await wait_until(lambda: len(radio.keyups()) == 2, 5, "the key-ups at the gateway")
    assert not radio.outbox and not ann.outbox and ann.needs_attention() == []
    assert ann.state.last_seq == 0  # beside the log
    # a dispatcher may not report: refused at once, nothing sent
    with pytest.raises(CommandRefused) as refused:
        ann.report_keyups([_keyup(ann, "FIRE DISPATCH", "710009")])
    assert refused.value.code == "forbidden"


async def test_a_dispatchers_keyup_frame_is_forbidden_and_an_invalid_one_invalid_keyup(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    ann = await RawClient.login(server.url, "ann")
    frame = KeyUpReport(body=KeyUpBody(keyups=[KeyUp("FIRE", "710001", 1.0)]))
    await ann.send(encode(frame))
    assert (await ann.next_of(Error)).body.code == "forbidden"
    assert isinstance(await ann.ping(), Pong)
    await ann.close()
    gateway = await RawClient.login(server.url, RADIO_USER)
    await gateway.send(encode(KeyUpReport(body=KeyUpBody(keyups=[KeyUp("", "710001", 1.0)]))))
    error = await gateway.next_of(Error)
    assert error.body.code == "invalid_keyup" and "channel" in error.body.message
    assert isinstance(await gateway.ping(), Pong)  # the connection stays open
    await gateway.close()
    # the workstation core of the gateway: refused, still LIVE, and its next key-up goes out
    bob, radio = make_client("bob", server.url), make_client(RADIO_USER, server.url)
    await wait_live(bob)
    await wait_live(radio)
    future = KeyUp("FIRE", "710001", radio.server_now() + 3600)
    assert radio.report_keyups([future]) == 1
    await asyncio.sleep(0.3)
    assert radio.status.phase is LinkPhase.LIVE and "FIRE" not in bob.keyups()
    radio.report_keyups([_keyup(radio, "FIRE", "710001")])
    await wait_until(lambda: "FIRE" in bob.keyups(), 5, "the valid key-up at bob")


async def test_keyups_are_dropped_offline_and_a_cut_off_workstation_catches_up(
    server: ServerProcess, proxy: FaultProxy, make_client: ClientFactory
) -> None:
    ann, radio = make_client("ann", server.url), make_client(RADIO_USER, server.url)
    bob = make_client("bob", proxy.url)
    for service in (ann, radio, bob):
        await wait_live(service)
    radio.report_keyups([_keyup(radio, "FIRE DISPATCH", "710001")])
    await wait_until(lambda: "FIRE DISPATCH" in bob.keyups(), 5, "the first key-up at bob")
    proxy.cut()
    await wait_until(lambda: bob.status.phase is not LinkPhase.LIVE, 10, "bob offline")
    for n in range(4):  # bob misses all of these
        radio.report_keyups(
            [
                _keyup(radio, "FIRE DISPATCH", f"71000{n + 1}", talking=n % 2 == 1),
                _keyup(radio, "OPS 2", "710007"),
            ]
        )
        await asyncio.sleep(0.05)
    await wait_until(lambda: ann.keyups()["FIRE DISPATCH"].radio_id == "710004", 5, "ann")
    assert bob.keyups()["FIRE DISPATCH"].radio_id == "710001" and "OPS 2" not in bob.keyups()
    # a gateway offline drops what it reports: a key-up is never queued for later
    offline_radio = make_client(RADIO_USER, proxy.url)
    assert offline_radio.report_keyups([_keyup(offline_radio, "FIRE", "710001")]) == 0
    assert offline_radio.link.keyups_dropped == 1
    proxy.restore()
    await wait_live(bob)
    await wait_until(lambda: dict(bob.keyups()) == dict(ann.keyups()), 5, "the catch-up")
    assert bob.keyups()["FIRE DISPATCH"] == ann.keyups()["FIRE DISPATCH"]
    assert bob.keyups()["FIRE DISPATCH"].talking is True


async def _committed_unit_with_a_fix(
    server: ServerProcess, make_client: ClientFactory
) -> tuple[DispatchService, DispatchService, RadioGatewaySimulator]:
    """ann puts E1 (radio 710001) on an incident and the AVL feed reports where it is; the
    simulator's core and a second workstation (bob) see all of it."""
    ann, avl, bob = (make_client(u, server.url) for u in ("ann", "avl", "bob"))
    simulator = RadioGatewaySimulator(
        make_client(RADIO_USER, server.url), emergency_every=None, seed=1
    )
    for service in (ann, avl, bob, simulator.service):
        await wait_live(service)
    location = LocationArgs(address="1200 MARKET ST", lat=37.7786, lon=-122.4159)
    ann.submit(UnitAdd(unit_id="E1", type="ENGINE", station="01", radio_id="710001"))
    ann.submit(IncidentCreate(incident_id="i1", type="FIRE", priority=1, location=location))
    ann.submit(UnitDispatch(incident_id="i1", unit_ids=["E1"]))
    await wait_until(lambda: not ann.outbox, what="the dispatch")
    await wait_until(lambda: avl.unit("E1") is not None, what="the roster at the AVL feed")
    fix = PositionFix(unit_id="E1", lat=37.7790, lon=-122.4160, at=avl.server_now())
    assert avl.report_positions([fix]) == 1
    await wait_until(
        lambda: (
            simulator.service.unit("E1") is not None
            and simulator.service.unit("E1").incident_id == "i1"  # type: ignore[union-attr]
            and "E1" in simulator.service.positions()
        ),
        5,
        "E1 committed, with a position, at the gateway",
    )
    return ann, bob, simulator


async def test_the_simulators_emergency_button_raises_an_alarm_every_position_sees(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    ann, bob, simulator = await _committed_unit_with_a_fix(server, make_client)
    alarm_id = simulator.press_emergency("E1")
    await wait_until(lambda: alarm_id in bob.state.view.alarms, 5, "the alarm at bob")
    alarm = bob.state.view.alarms[alarm_id]
    assert (alarm.radio_id, alarm.unit_id, alarm.incident_id) == ("710001", "E1", "i1")
    assert alarm.cleared_at is None and alarm.acknowledged_at is None
    assert alarm_id in bob.state.confirmed.alarms  # the server's, not a forecast
    # the open mic: the radio keys up on the unit's channel (the incident has none: FIRE)
    await wait_until(lambda: "FIRE DISPATCH" in bob.keyups(), 5, "the open mic at bob")
    assert bob.keyups()["FIRE DISPATCH"].radio_id == "710001"
    # a second press while the alarm is active is refused: no second alarm
    with pytest.raises(CommandRefused) as refused:
        simulator.press_emergency("E1")
    assert refused.value.code == "already_exists"
    await asyncio.sleep(0.2)
    assert [a.id for a in ann.state.view.alarms.values()] == [alarm_id]
    assert not simulator.service.outbox and simulator.service.needs_attention() == []


async def test_the_alarm_records_the_units_last_position(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    _, bob, simulator = await _committed_unit_with_a_fix(server, make_client)
    alarm_id = simulator.press_emergency("E1")
    await wait_until(lambda: alarm_id in bob.state.confirmed.alarms, 5, "the alarm at bob")
    position = bob.state.confirmed.alarms[alarm_id].position
    assert position is not None and (position.lat, position.lon) == (37.7790, -122.4160)
