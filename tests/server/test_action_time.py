"""Action time through the protocol (black box): each event keeps when the dispatcher acted,
bounded by the server, beside when the server recorded it (desktop/domain/action_time.py)."""

from __future__ import annotations

import time

import msgspec
from srvkit import ServerFactory

from desktop.domain.action_time import CONTACT_TOLERANCE_S, FIRST_CONTACT_HORIZON_S
from desktop.protocol.messages import Event
from server.app import DispatchServer
from tests.support.rawclient import RawClient


def _incident(incident_id: str) -> dict[str, object]:
    return {
        "incident_id": incident_id,
        "type": "FIRE",
        "priority": 1,
        "location": {"address": "1200 Market St"},
    }


async def _events_of(client: RawClient, seqs: list[int]) -> list[Event]:
    received = await client.events_until(seqs[-1])
    return [e for e in received if e.seq in seqs]


async def test_a_command_issued_120_s_before_it_arrives_keeps_its_action_time(
    server: DispatchServer,
) -> None:
    ann = await RawClient.login(server.url, "ann")
    await ann.ping(queued=3)  # not caught up: no contact recorded
    issued = time.time() - 120.0
    result = await ann.command("incident.create", _incident("i-1"), issued_at=issued)
    assert result.ok
    [event] = await _events_of(ann, result.events)
    assert event.body.acted_at == issued
    assert event.body.at - issued >= 119.0  # recorded when it arrived

    # The record uses the action time: created, the narrative, the timeline (marked offline).
    incident = server.processor.world.incidents["i-1"]
    assert incident.times["created"] == issued
    [entry] = incident.timeline
    assert entry.at == issued and entry.recorded_at == event.body.at

    await ann.close()


async def test_a_future_issued_at_is_recorded_as_now(server: DispatchServer) -> None:
    ann = await RawClient.login(server.url, "ann")
    before = time.time()
    result = await ann.command("incident.create", _incident("i-2"), issued_at=before + 3600)
    assert result.ok
    [event] = await _events_of(ann, result.events)
    assert event.body.acted_at is not None
    assert before <= event.body.acted_at <= event.body.at <= time.time()
    assert server.processor.world.incidents["i-2"].timeline[0].recorded_at is None
    await ann.close()


async def test_action_time_is_bounded_by_the_last_confirmed_contact(
    start_server: ServerFactory,
) -> None:
    server = await start_server()
    ann = await RawClient.login(server.url, "ann")
    caught_up = time.time()
    await ann.ping(queued=0)  # nothing unacknowledged: a confirmed contact
    await ann.close()
    await server.wait_idle()
    await server.stop()  # the contact outlives the server

    again = await start_server()
    ann = await RawClient.login(again.url, "ann")
    # Dated a day before the workstation last said it had nothing queued: bounded.
    result = await ann.command("incident.create", _incident("i-3"), issued_at=caught_up - 86400)
    [event] = await _events_of(ann, result.events)
    assert event.body.acted_at is not None
    assert abs(event.body.acted_at - (caught_up - CONTACT_TOLERANCE_S)) < 1.0
    # Within the tolerance before the contact: kept as issued.
    issued = caught_up - CONTACT_TOLERANCE_S / 2
    result = await ann.command("incident.create", _incident("i-4"), issued_at=issued)
    [event] = await _events_of(ann, result.events)
    assert event.body.acted_at == issued
    await ann.close()


async def test_a_workstation_never_heard_from_is_bounded_by_the_horizon(
    server: DispatchServer,
) -> None:
    bob = await RawClient.login(server.url, "bob")
    result = await bob.command("incident.create", _incident("i-5"), issued_at=1.0)
    [event] = await _events_of(bob, result.events)
    assert event.body.acted_at is not None
    assert abs(event.body.at - FIRST_CONTACT_HORIZON_S - event.body.acted_at) < 1.0
    await bob.close()


async def test_the_log_keeps_both_times_across_a_restart(start_server: ServerFactory) -> None:
    server = await start_server()
    ann = await RawClient.login(server.url, "ann")
    issued = time.time() - 300.0
    result = await ann.command("incident.create", _incident("i-7"), issued_at=issued)
    await ann.close()
    await server.stop()
    again = await start_server()
    assert again.processor.world.incidents["i-7"].times["created"] == issued
    fresh = await RawClient.login(again.url, "carl")
    [event] = await _events_of(fresh, result.events)
    assert (event.body.acted_at, msgspec.json.decode(event.body.data)["incident"]["id"]) == (
        issued,
        "i-7",
    )
    await fresh.close()
