"""Editing a refused command on the command line: the command as a line to edit, and the line
back as the command to send again. Qt-free.

`command_text` writes a refused command in the command line's grammar (`desktop.commandline`),
or returns None for kinds the line has no verb for (they can be retried or discarded, not
edited). `edited_command` turns the edited line into the one command that replaces the refused
one: it must be a single command of the same kind, and an edited ``incident.create`` keeps its
incident id, because commands queued after it may refer to that incident.
"""

from __future__ import annotations

from msgspec.structs import replace

from desktop.commandline import Ok, Parsed, Problem
from desktop.domain.catalog import read_command
from desktop.domain.incidents import IncidentAddNote, IncidentClose, IncidentCreate, IncidentUpdate
from desktop.domain.kinds import CommandArgs
from desktop.domain.units import UnitDispatch, UnitSetStatus
from desktop.domain.world import World

__all__ = ["command_text", "edited_command"]


def _reference(world: World, incident_id: str) -> str:
    """The incident's number, else its local reference (``L17``), else its whole id."""
    incident = world.incidents.get(incident_id)
    if incident is None:
        return incident_id
    return incident.number or incident.local_ref or incident_id


def command_text(kind: str, args: bytes, world: World) -> str | None:
    """The command line that would issue this command again, or None if it has no verb."""
    command = read_command(kind, args)
    if isinstance(command, IncidentCreate):
        return f"NEW {command.type} P{command.priority} {command.location.address}".strip()
    if isinstance(command, UnitDispatch):
        units = " ".join(command.unit_ids)
        return f"DISP {units} {_reference(world, command.incident_id)}"
    if isinstance(command, UnitSetStatus):
        return f"{command.status} {command.unit_id}"
    if isinstance(command, IncidentAddNote):
        return f"NOTE {_reference(world, command.incident_id)} {command.text}"
    if isinstance(command, IncidentClose):
        return f"CLOSE {_reference(world, command.incident_id)} {command.disposition}"
    if isinstance(command, IncidentUpdate) and command.alarm is not None:
        only_alarm = IncidentUpdate(incident_id=command.incident_id, alarm=command.alarm)
        if command == only_alarm:  # other changes have no verb
            return f"ALARM {_reference(world, command.incident_id)} {command.alarm}"
    return None


def edited_command(kind: str, args: bytes, parsed: Parsed) -> CommandArgs | Problem:
    """The command replacing the refused ``kind``/``args``, from the edited line ``parsed``."""
    if isinstance(parsed, Problem):
        return parsed
    original = read_command(kind, args)
    line = command_text(kind, args, World())
    if original is None or line is None:
        return Problem(f"a refused {kind} cannot be edited here: retry or discard it", None)
    if (
        not isinstance(parsed, Ok)
        or len(parsed.commands) != 1
        or type(parsed.commands[0]) is not type(original)
    ):
        verb = line.split(" ", 1)[0]
        return Problem(
            f"an edit must stay one {verb} command; discard this one and type a new line", None
        )
    command = parsed.commands[0]
    if isinstance(command, IncidentCreate) and isinstance(original, IncidentCreate):
        return replace(command, incident_id=original.incident_id)
    return command
