"""Refused commands as command lines to edit, and edited lines back as the replacing command."""

from __future__ import annotations

import msgspec
import pytest

from desktop.command_edit import command_text, edited_command
from desktop.commandline import Ok, Problem, parse
from desktop.domain.alerts import AlertAcknowledge
from desktop.domain.catalog import command_kind_of
from desktop.domain.incidents import IncidentAddNote, IncidentClose, IncidentCreate, IncidentUpdate
from desktop.domain.kinds import CommandArgs
from desktop.domain.types import EntityKind, Incident, Location, LocationArgs, Unit, UnitStatus
from desktop.domain.units import UnitDispatch, UnitSetStatus
from desktop.domain.world import World


def world() -> World:
    incident = Incident(
        id="0193c1f2-7d10-7e55-b1a9-3c2d4e5f6a7b",
        number="F2611-000123",
        type="FIRE",
        priority=2,
        location=Location(address="1 Main St"),
    )
    units = {u: Unit(id=u, type="ENGINE", status=UnitStatus.AV) for u in ("E1", "E2")}
    return World({incident.id: incident}, units)


INCIDENT = "0193c1f2-7d10-7e55-b1a9-3c2d4e5f6a7b"
EDITABLE: list[tuple[CommandArgs, str]] = [
    (
        IncidentCreate(
            incident_id="0193c1f2-0000-7000-8000-000000000001",
            type="FIRE",
            priority=1,
            location=LocationArgs(address="500 Market St"),
        ),
        "NEW FIRE P1 500 Market St",
    ),
    (UnitDispatch(incident_id=INCIDENT, unit_ids=["E1", "E2"]), "DISP E1 E2 F2611-000123"),
    (UnitSetStatus(unit_id="E1", status=UnitStatus.OS), "OS E1"),
    (IncidentAddNote(incident_id=INCIDENT, text="smoke"), "NOTE F2611-000123 smoke"),
    (IncidentClose(incident_id=INCIDENT, disposition="Fire out"), "CLOSE F2611-000123 Fire out"),
    (IncidentUpdate(incident_id=INCIDENT, alarm=2), "ALARM F2611-000123 2"),
]


def encoded(command: CommandArgs) -> tuple[str, bytes]:
    return command_kind_of(command).name, msgspec.json.encode(command)


@pytest.mark.parametrize(("command", "line"), EDITABLE, ids=[line for _, line in EDITABLE])
def test_a_refused_command_round_trips_through_its_line(command: CommandArgs, line: str) -> None:
    kind, args = encoded(command)
    assert command_text(kind, args, world()) == line
    assert edited_command(kind, args, parse(line, world(), 0.0)) == command


def test_an_incident_without_a_number_is_named_by_its_id() -> None:
    kind, args = encoded(UnitSetStatus(unit_id="E1", status=UnitStatus.AV))
    assert command_text(kind, args, World()) == "AV E1"
    kind, args = encoded(IncidentAddNote(incident_id="abcdef-123", text="x"))
    assert command_text(kind, args, World()) == "NOTE abcdef-123 x"


def test_kinds_without_a_verb_and_bad_json_are_not_editable() -> None:
    ack = AlertAcknowledge(entity=EntityKind.UNIT, entity_id="E1", reason="r", started_at=1.0)
    kind, args = encoded(ack)
    assert command_text(kind, args, world()) is None
    assert command_text("unit.dispatch", b"{not json", world()) is None
    assert command_text("radio.key_up", b"{}", world()) is None
    kind, args = encoded(IncidentUpdate(incident_id=INCIDENT, priority=1, alarm=2))
    assert command_text(kind, args, world()) is None  # a priority change has no verb
    problem = edited_command(kind, args, parse("OS E1", world(), 0.0))
    assert isinstance(problem, Problem) and "cannot be edited" in problem.message


def test_an_edit_stays_one_command_of_the_same_kind_and_keeps_a_new_incidents_id() -> None:
    created = EDITABLE[0][0]
    assert isinstance(created, IncidentCreate)
    kind, args = encoded(created)
    edited = edited_command(kind, args, parse("NEW FIRE P2 510 Market St", world(), 0.0))
    assert isinstance(edited, IncidentCreate)
    assert (edited.incident_id, edited.priority, edited.location.address) == (
        created.incident_id,
        2,
        "510 Market St",
    )
    kind, args = encoded(UnitSetStatus(unit_id="E1", status=UnitStatus.OS))
    for line in ("OS E1 E2", "NOTE 123 hi"):
        problem = edited_command(kind, args, parse(line, world(), 0.0))
        assert isinstance(problem, Problem)
        assert problem.message.startswith("an edit must stay one OS command")
    not_understood = parse("OS", world(), 0.0)
    assert edited_command(kind, args, not_understood) == not_understood
    assert isinstance(parse("AV E2", world(), 0.0), Ok)
