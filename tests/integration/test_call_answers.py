"""Calls through real servers and workstations: exactly one of two positions answering at once
wins; the call's and the incident's NFORS times survive a server restart; an answer queued
offline is sent once."""

from __future__ import annotations

import asyncio

from desktop.domain.calls import CallAnswer, CallOffer
from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import CallStatus, LocationArgs
from desktop.link import LinkPhase
from desktop.service import DispatchService
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until


async def _live(*services: DispatchService) -> None:
    for service in services:
        await wait_until(lambda s=service: s.status.phase is LinkPhase.LIVE, what="LIVE")


async def test_two_positions_answer_at_once_and_exactly_one_wins(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    tel = make_client("tel", server.url)
    carl, ann = make_client("carl", server.url), make_client("ann", server.url)
    await _live(tel, carl, ann)
    for n in range(5):
        tel.submit(CallOffer(call_id=f"c{n}", ani="4155550100", class_of_service="wireline"))
    await wait_until(
        lambda: len(carl.state.view.calls) == 5 == len(ann.state.view.calls), what="offered"
    )
    for n in range(5):
        carl.submit(CallAnswer(call_id=f"c{n}"))
        ann.submit(CallAnswer(call_id=f"c{n}"))
    await wait_until(lambda: not carl.outbox and not ann.outbox, what="answered")
    lost = [r.code for r in carl.needs_attention() + ann.needs_attention()]
    assert lost == ["already_answered"] * 5
    for n in range(5):
        call = tel.state.view.calls[f"c{n}"]
        assert call.status is CallStatus.ANSWERED and call.answered_by in ("carl", "ann")
        assert carl.state.view.calls[f"c{n}"] == ann.state.view.calls[f"c{n}"] == call


async def test_call_times_are_recorded_and_survive_a_restart(
    server: ServerProcess, make_client: ClientFactory
) -> None:
    tel, carl = make_client("tel", server.url), make_client("carl", server.url)
    await _live(tel, carl)
    tel.submit(CallOffer(call_id="c1", ani="4155550100", class_of_service="wireless"))
    await wait_until(lambda: "c1" in carl.state.view.calls, what="offered")
    await asyncio.sleep(0.05)
    carl.submit(CallAnswer(call_id="c1"))
    location = LocationArgs(address="1200 MARKET ST", lat=37.7788, lon=-122.4148, verified=True)
    carl.submit(
        IncidentCreate(
            incident_id="i1", type="MEDICAL", priority=1, location=location, call_id="c1"
        )
    )
    await wait_until(lambda: not carl.outbox, what="saved")
    before = carl.state.view.incidents["i1"].times
    assert before["call_received"] < before["call_answered"] <= before["created"]
    server.stop()
    server.start(server.port)
    fresh = make_client("ann", server.url)
    await _live(fresh)
    assert fresh.state.view.incidents["i1"].times == before
    assert fresh.state.view.calls["c1"].incident_id == "i1"
    assert fresh.state.view.calls["c1"].status is CallStatus.LINKED
