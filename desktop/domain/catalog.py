"""Every command kind and event kind of the domain, gathered from its aggregates, and the lookups
the server, the workstation and the tools use.

`AGGREGATES` is the only list of aggregate modules: a new one (calls, radio, positions) is a
module with ``COMMANDS`` and ``EVENTS`` tuples (`desktop.domain.kinds`) named here once.
A name or an arguments/data type declared twice stops the import.

A client meeting an event kind it does not know (a newer server) skips it and keeps its seq;
the server refuses a command kind it does not know with ``unknown_kind``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, ModuleType
from typing import TYPE_CHECKING, Any

import msgspec

from desktop.domain import alerts, calls, incidents, links, premises, radio, units
from desktop.domain.kinds import (
    CommandArgs,
    CommandKind,
    DecisionContext,
    DomainError,
    EventData,
    EventKind,
)
from desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from desktop.domain.world import World

__all__ = [
    "AGGREGATES",
    "COMMANDS",
    "EVENTS",
    "command_kind_of",
    "decide",
    "describe_command",
    "event_kind_of",
    "event_kind_or_none",
    "read_command",
]

#: The aggregate modules, each with its COMMANDS and EVENTS.
AGGREGATES: tuple[ModuleType, ...] = (incidents, units, alerts, calls, links, premises, radio)


def _by_name(records: list[Any], what: str) -> Mapping[str, Any]:
    table: dict[str, Any] = {}
    for record in records:
        if record.name in table:
            raise ValueError(f"{what} {record.name!r} is declared twice")
        table[record.name] = record
    return MappingProxyType(table)


def _by_type(records: list[Any], field: str, what: str) -> dict[type, Any]:
    table: dict[type, Any] = {}
    for record in records:
        cls = getattr(record, field)
        if cls in table:
            raise ValueError(f"{cls.__name__} is the {field} of two {what}s")
        table[cls] = record
    return table


_commands: list[CommandKind[Any]] = [k for module in AGGREGATES for k in module.COMMANDS]
_events: list[EventKind[Any]] = [k for module in AGGREGATES for k in module.EVENTS]

#: Command kinds by wire name ("unit.dispatch").
COMMANDS: Mapping[str, CommandKind[Any]] = _by_name(_commands, "command kind")
#: Event kinds by wire name ("unit.dispatched").
EVENTS: Mapping[str, EventKind[Any]] = _by_name(_events, "event kind")
_COMMAND_OF: dict[type, CommandKind[Any]] = _by_type(_commands, "args", "command kind")
_EVENT_OF: dict[type, EventKind[Any]] = _by_type(_events, "data", "event kind")


def command_kind_of(args: CommandArgs) -> CommandKind[Any]:
    """The kind whose arguments ``args`` are (KeyError for a Struct no kind declares)."""
    return _COMMAND_OF[type(args)]


def event_kind_of(data: EventData) -> EventKind[Any]:
    """The kind whose data ``data`` is (KeyError for a Struct no kind declares)."""
    return _EVENT_OF[type(data)]


def event_kind_or_none(data: EventData) -> EventKind[Any] | None:
    """The kind whose data ``data`` is, or None."""
    return _EVENT_OF.get(type(data))


def read_command(name: str, args: bytes) -> CommandArgs | None:
    """The arguments of a stored command (an outbox row, a refused command), or None when its
    kind is unknown here or they no longer decode."""
    kind = COMMANDS.get(name)
    if kind is None:
        return None
    try:
        command: CommandArgs = msgspec.json.decode(args, type=kind.args)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return command


def decide(world: World, args: CommandArgs, ctx: DecisionContext) -> list[EventData]:
    """Events recording the effect of ``args`` on ``world``; raises `DomainError` if refused.

    Pure: ``world`` is never changed. The server runs it authoritatively (with numbering), the
    workstation on its view to refuse at once and to forecast a queued command's effect."""
    kind = _COMMAND_OF.get(type(args))
    if kind is None:
        raise DomainError(ErrorCode.UNKNOWN_KIND, f"no rule for {type(args).__name__}")
    return kind.decide(world, args, ctx)


def describe_command(world: World, args: CommandArgs) -> str:
    """What ``args`` asks for, in a dispatcher's words, names resolved in ``world``."""
    return command_kind_of(args).describe(world, args)
