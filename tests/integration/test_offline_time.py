"""Work done offline keeps the time the dispatcher did it (issue #10.1).

A real server process on loopback is stopped; the dispatcher creates an incident, dispatches a
unit and adds a note; the server comes back and the queue drains. Every record — the incident's
created and dispatch times, the note, the unit's status time, the timeline — says when the
dispatcher acted, not when the server received it, and the timeline marks those entries as
entered offline. The workstation's clock is the one thing the test controls: while offline it
is read `LAG` seconds behind, as if the server received the work `LAG` seconds after it was done
(within the tolerance before the last contact, so the server keeps the times as issued).
"""

from __future__ import annotations

import time
from pathlib import Path

from desktop.domain.action_time import CONTACT_TOLERANCE_S, LATE_ENTRY_S
from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch
from desktop.ids import uuid7
from desktop.link import LinkPhase
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from tests.support.fixtures import FAST, PASSWORD, ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until

LAG = CONTACT_TOLERANCE_S - 15.0
assert LAG > LATE_ENTRY_S


class LaggingClock:
    """Wall time, read ``lag`` seconds behind while the test says so."""

    def __init__(self) -> None:
        self.lag = 0.0

    def __call__(self) -> float:
        return time.time() - self.lag


def settled(service: DispatchService) -> bool:
    return service.status.phase is LinkPhase.LIVE and len(service.outbox) == 0


async def test_offline_work_is_recorded_with_its_action_time(
    server: ServerProcess, make_client: ClientFactory, tmp_path: Path
) -> None:
    clock = LaggingClock()
    config = ServiceConfig(data_dir=tmp_path / "ann", url=server.url, workstation="ws-ann", **FAST)  # type: ignore[arg-type]
    ann = DispatchService(config, SignIn("ann", PASSWORD), clock=clock)
    ann.start()
    try:
        await wait_until(lambda: settled(ann), what="LIVE")
        ann.submit(UnitAdd(unit_id="E01", type="ENGINE", status=UnitStatus.AV))
        await wait_until(lambda: settled(ann), what="the roster answered")
        await wait_until(lambda: ann.status.clock_offset is not None, what="a clock offset")
        server.stop()
        await wait_until(lambda: ann.status.phase is not LinkPhase.LIVE, what="offline")

        clock.lag = LAG
        incident_id = uuid7()
        location = LocationArgs(address="1200 Market St", lat=37.7793, lon=-122.4147)
        created = ann.submit(
            IncidentCreate(incident_id=incident_id, type="FIRE", priority=1, location=location)
        )
        dispatched = ann.submit(UnitDispatch(incident_id=incident_id, unit_ids=["E01"]))
        noted = ann.submit(IncidentAddNote(incident_id=incident_id, text="caller on scene"))
        clock.lag = 0.0
        server.start()
        await wait_until(lambda: settled(ann), what="the offline work answered")

        bob = make_client("bob", server.url)
        await wait_until(lambda: settled(bob), what="a fresh workstation in sync")
        for world in (ann.state.confirmed, bob.state.confirmed):
            incident = world.incidents[incident_id]
            assert abs(incident.times["created"] - created.issued_at) < 1e-6
            assert abs(incident.times["first_dispatch"] - dispatched.issued_at) < 1e-6
            [note] = incident.narrative
            assert abs(note.at - noted.issued_at) < 1e-6
            assert abs(world.units["E01"].status_at - dispatched.issued_at) < 1e-6
            # Each timeline entry keeps its action time and is marked as entered offline.
            assert incident.timeline, "timeline recorded"
            for entry in incident.timeline:
                assert entry.recorded_at is not None, entry
                assert entry.recorded_at - entry.at > LATE_ENTRY_S
                assert entry.at <= noted.issued_at + 1e-6
    finally:
        await ann.stop(close_within=2.0)
