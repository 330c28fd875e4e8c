"""An incident made on this workstation before the server numbers it has a short local
reference (``L`` + the client_seq of the command that created it), unique on the workstation,
the same after a restart, and accepted wherever the command line names an incident.

The service is built but never started: the commands stay queued, as offline.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from desktop.command_edit import command_text
from desktop.commandline import Go, Ok, Problem, find_incident, parse
from desktop.domain.incidents import IncidentAddNote, IncidentCreate, IncidentCreated
from desktop.domain.types import Incident, Location, LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch
from desktop.domain.wording import incident_label, local_reference
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn

# two ids made in the same millisecond: UUIDv7s share their first 12 hex digits
FIRST = "0193c1f2-a235-7000-8000-000000000001"
SECOND = "0193c1f2-a235-7000-8000-000000000002"


def _create(incident_id: str, address: str) -> IncidentCreate:
    return IncidentCreate(
        incident_id=incident_id,
        type="MEDICAL",
        priority=2,
        location=LocationArgs(address=address),
    )


def _open(data_dir: Path) -> DispatchService:
    config = ServiceConfig(data_dir=data_dir, url="ws://127.0.0.1:9", workstation="t")
    return DispatchService(config, SignIn("ann", "pw"))


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def service(data_dir: Path) -> Iterator[DispatchService]:
    service = _open(data_dir)
    service.submit(UnitAdd(unit_id="E1", type="ENGINE", status=UnitStatus.AV))
    yield service
    service.db.close()


def test_offline_incidents_get_distinct_short_references(service: DispatchService) -> None:
    (first,) = service.submit_all([_create(FIRST, "1 Main St")])
    (second,) = service.submit_all([_create(SECOND, "2 Main St")])
    one, two = service.incident(FIRST), service.incident(SECOND)
    assert one is not None and two is not None
    assert one.local_ref == local_reference(first.client_seq) == f"L{first.client_seq}"
    assert two.local_ref == f"L{second.client_seq}"
    assert incident_label(one) == f"L{first.client_seq} (number pending)"
    assert incident_label(one) != incident_label(two)
    # the id's start is shared: it could not tell them apart
    assert isinstance(find_incident(service.state.view, FIRST[:8]), Problem)


def test_the_local_reference_names_the_incident_in_every_command(
    service: DispatchService,
) -> None:
    (created,) = service.submit_all([_create(FIRST, "1 Main St")])
    service.submit_all([_create(SECOND, "2 Main St")])
    ref = f"L{created.client_seq}"
    view = service.state.view
    for text in (f"DISP E1 {ref}", f"disp e1 {ref.lower()}"):
        parsed = parse(text, view, 0.0)
        assert isinstance(parsed, Ok), parsed
        assert parsed.commands == [UnitDispatch(incident_id=FIRST, unit_ids=["E1"])]
        assert parsed.summary == f"E1 dispatched to {ref} (number pending)"
    note = parse(f"NOTE {ref} smoke showing", view, 0.0)
    assert isinstance(note, Ok)
    assert note.commands == [IncidentAddNote(incident_id=FIRST, text="smoke showing")]
    assert parse(f"GO {ref}", view, 0.0) == Go(
        "incident", FIRST, f"incident {ref} (number pending) selected"
    )
    close = parse(f"CLOSE {ref} cancelled", view, 0.0)
    assert isinstance(close, Ok)
    service.submit_all(parse(f"DISP E1 {ref}", view, 0.0).commands)  # type: ignore[union-attr]
    # a refused command is written back with the reference, and the line reads it again
    args = msgspec.json.encode(UnitDispatch(incident_id=FIRST, unit_ids=["E1"]))
    assert command_text("unit.dispatch", args, service.state.view) == f"DISP E1 {ref}"


def test_the_reference_survives_a_restart(data_dir: Path, service: DispatchService) -> None:
    (created,) = service.submit_all([_create(FIRST, "1 Main St")])
    ref = f"L{created.client_seq}"
    service.db.close()
    again = _open(data_dir)
    try:
        incident = again.incident(FIRST)
        assert incident is not None and incident.local_ref == ref
        assert find_incident(again.state.view, ref) == incident
    finally:
        again.db.close()


def test_the_server_number_replaces_the_reference(service: DispatchService) -> None:
    (created,) = service.submit_all([_create(FIRST, "1 Main St")])
    numbered = Incident(
        id=FIRST,
        number="F2612-000123",
        type="MEDICAL",
        priority=2,
        location=Location(address="1 Main St"),
    )
    data = msgspec.json.encode(IncidentCreated(incident=numbered))
    service.state.apply_event(1, "incident.created", data, 10.0, created.key)
    service.state.resolve_pending(created.key)
    incident = service.incident(FIRST)
    assert incident is not None and incident.local_ref is None
    assert incident_label(incident) == "F2612-000123"
    assert isinstance(find_incident(service.state.view, f"L{created.client_seq}"), Problem)
