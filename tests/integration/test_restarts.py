"""A workstation restarted again and again shows what the server holds, nothing twice.

The bug this guards against: the service loaded the replica through one `Replica` while the link
saved through a second, empty one, so after every restart each narrative and timeline entry was
appended again (create an incident with note n1, quit; start, add n2, quit; start: n1, n1, n2).

Real server process on loopback, real SQLite files. After every start the restarted
workstation's world (incidents with their narrative and timeline, units) is compared with the
world a workstation that has never run receives from the server.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from desktop.domain.calls import CallAnswer, CallEnd, CallLink, CallOffer
from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.premises import PremiseRemove, PremiseSet
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch, UnitSetStatus
from desktop.domain.world import World
from desktop.ids import uuid7
from desktop.link import LinkPhase
from desktop.service import DispatchService
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until

STARTS = 4
#: Status steps of E12 and M55, one per start after the first.
STEPS = (
    [UnitStatus.ER],
    [UnitStatus.OS],
    [UnitStatus.AV],
)


def settled(service: DispatchService) -> bool:
    return service.status.phase is LinkPhase.LIVE and len(service.outbox) == 0


async def servers_world(make_client: ClientFactory, url: str, tmp_path: Path, n: int) -> World:
    """The world as the server's log gives it to a workstation that has never run."""
    fresh = make_client("bob", url, data_dir=tmp_path / f"fresh-{n}")
    await wait_until(lambda: settled(fresh), what="a fresh workstation LIVE (resynced)")
    world = fresh.state.confirmed
    await fresh.stop(close_within=2.0)
    return world


def assert_same_world(restarted: World, server: World) -> None:
    assert restarted.incidents.keys() == server.incidents.keys()
    for incident_id, incident in server.incidents.items():
        mine = restarted.incidents[incident_id]
        assert [e.text for e in mine.narrative] == [e.text for e in incident.narrative]
        assert [e.text for e in mine.timeline] == [e.text for e in incident.timeline]
        assert mine == incident
    assert restarted.units == server.units
    assert restarted.calls == server.calls
    assert restarted.premises == server.premises


def no_local_storage_errors(caplog: pytest.LogCaptureFixture) -> None:
    """Nothing the link received failed to be recorded (an entry stored twice would be refused
    by the database's key: a failed flush, retried, rather than a doubled note)."""
    failures = [r.getMessage() for r in caplog.records if r.name == "dispatch.link"]
    assert not [m for m in failures if "could not record" in m], failures


async def test_a_workstation_restarted_four_times_agrees_with_the_server(
    server: ServerProcess,
    make_client: ClientFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="dispatch.link")
    data_dir = tmp_path / "ann-workstation"
    incident_id = uuid7()
    tel, adm = make_client("tel", server.url), make_client("adm", server.url)
    for start in range(STARTS):
        # a call rings at every start; ann answers it, and links it (or the caller hangs up)
        tel.submit(CallOffer(call_id=f"call-{start}", ani="4155550100"))
        if start == 0:
            adm.submit(PremiseSet(address="1 Market St", hazards=["dog"]))
        elif start == 1:
            tel.submit(CallEnd(call_id="call-0"))  # hung up while ann's workstation was off
        elif start == 2:
            adm.submit(PremiseRemove(address="1 Market St"))
        await wait_until(lambda: settled(tel) and settled(adm), what="offered")
        ann = make_client("ann", server.url, data_dir=data_dir)
        await wait_until(lambda ann=ann: settled(ann), what="the restarted workstation LIVE")
        ann.submit(CallAnswer(call_id=f"call-{start}"))
        if start:
            ann.submit(CallLink(call_id=f"call-{start}", incident_id=incident_id))
        if start == 0:
            location = LocationArgs(address="1 Market St", lat=37.7946, lon=-122.3950)
            ann.submit(UnitAdd(unit_id="E12", type="ENGINE", status=UnitStatus.AV))
            ann.submit(UnitAdd(unit_id="M55", type="MEDIC", status=UnitStatus.AV))
            ann.submit(
                IncidentCreate(incident_id=incident_id, type="FIRE", priority=1, location=location)
            )
            ann.submit(UnitDispatch(incident_id=incident_id, unit_ids=["E12", "M55"]))
        else:
            for status in STEPS[start - 1]:
                ann.submit(UnitSetStatus(unit_id="E12", status=status))
                ann.submit(UnitSetStatus(unit_id="M55", status=status))
        ann.submit(IncidentAddNote(incident_id=incident_id, text=f"n{start + 1}"))
        await wait_until(lambda ann=ann: settled(ann), what="every command answered")
        notes = [e.text for e in ann.state.view.incidents[incident_id].narrative]
        assert notes == [f"n{k + 1}" for k in range(start + 1)]
        assert_same_world(
            ann.state.confirmed, await servers_world(make_client, server.url, tmp_path, start)
        )
        await ann.stop(close_within=2.0)

    # One more start with nothing new: the replica alone, then in sync, still agrees.
    ann = make_client("ann", server.url, data_dir=data_dir)
    await wait_until(lambda: settled(ann), what="the last start LIVE")
    shown = ann.state.view.incidents[incident_id]
    assert [e.text for e in shown.narrative] == [f"n{k + 1}" for k in range(STARTS)]
    assert_same_world(
        ann.state.confirmed, await servers_world(make_client, server.url, tmp_path, STARTS)
    )
    rows = ann.db.conn.execute(
        "SELECT list, COUNT(*), COUNT(DISTINCT n) FROM replica_entries GROUP BY list"
    ).fetchall()
    assert all(count == distinct for _, count, distinct in rows), rows
    no_local_storage_errors(caplog)


async def test_a_restart_across_a_server_restart_keeps_one_copy_of_each_entry(
    server: ServerProcess,
    make_client: ClientFactory,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Queued while the server is down, applied once when it is back, replayed from the
    replica after the workstation restarts: one of each note, the same world as the server's."""
    caplog.set_level(logging.INFO, logger="dispatch.link")
    data_dir = tmp_path / "ann-workstation"
    incident_id = uuid7()
    ann = make_client("ann", server.url, data_dir=data_dir)
    await wait_until(lambda: settled(ann), what="LIVE")
    location = LocationArgs(address="1 Market St")
    ann.submit(IncidentCreate(incident_id=incident_id, type="FIRE", priority=2, location=location))
    ann.submit(IncidentAddNote(incident_id=incident_id, text="before the outage"))
    await wait_until(lambda: settled(ann), what="answered")
    server.stop()
    await wait_until(lambda: ann.status.phase is not LinkPhase.LIVE, what="offline")
    ann.submit(IncidentAddNote(incident_id=incident_id, text="during the outage"))
    await ann.stop(close_within=2.0)
    server.start()
    ann = make_client("ann", server.url, data_dir=data_dir)
    await wait_until(lambda: settled(ann), what="the queued note answered")
    await ann.stop(close_within=2.0)
    ann = make_client("ann", server.url, data_dir=data_dir)
    await wait_until(lambda: settled(ann), what="LIVE again")
    notes = [e.text for e in ann.state.view.incidents[incident_id].narrative]
    assert notes == ["before the outage", "during the outage"]
    assert_same_world(
        ann.state.confirmed, await servers_world(make_client, server.url, tmp_path, 0)
    )
    no_local_storage_errors(caplog)
