"""How a command kind and an event kind are declared: one record each, holding everything about it.

A **command kind** (`CommandKind`) is a name on the wire (``"unit.dispatch"``), the Struct its
arguments decode into (strict: unknown fields and wrong types are refused), the least role on the
command ladder that may issue it (`desktop.domain.roles`), the rule that turns it into events
(``decide``: pure, never mutates the world, raises `DomainError` to refuse) and its wording
(``describe``: what it asks for, in a dispatcher's words, e.g. "dispatch E12, M55 to F2612-000123").

An **event kind** (`EventKind`) is a name, the Struct of its data, how it changes the world
(``apply``: returns what it touched; an event about an entity the world does not hold touches
nothing) and its wording in an incident's timeline (``describe``: called with the world as it
was *before* the event, so it can say "priority 3 → 1").

Each aggregate module (`desktop.domain.incidents`, `desktop.domain.units`,
`desktop.domain.alerts`) ends with its ``COMMANDS`` and ``EVENTS``; `desktop.domain.catalog`
gathers them. Nothing else lists kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import msgspec

from desktop.protocol.errors import ErrorCode
from desktop.protocol.messages import Role

if TYPE_CHECKING:
    from desktop.domain.types import Position
    from desktop.domain.world import Touched, World

__all__ = [
    "CommandArgs",
    "CommandKind",
    "DecisionContext",
    "DomainError",
    "EventData",
    "EventKind",
    "Lines",
    "no_lines",
]


class CommandArgs(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every command's arguments."""


class EventData(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every event's data."""


class DomainError(Exception):
    """A command the rules refuse; ``code`` is an `ErrorCode`, ``message`` for the dispatcher."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class DecisionContext:
    """Who issues the command and when; ``number_incident`` returns the next incident number
    (the server's allocator) or None where numbers are not known (the client's forecast);
    ``position_of`` the newest AVL position of a unit where positions are kept beside the
    world (the server's position book; None: the unit's own ``position``)."""

    actor: str
    now: float
    number_incident: Callable[[], str | None] = lambda: None
    position_of: Callable[[str], Position | None] = lambda unit_id: None


#: One (incident id, text) per incident whose timeline records an event.
Lines = list[tuple[str, str]]

A = TypeVar("A", bound=CommandArgs)
D = TypeVar("D", bound=EventData)


@dataclass(frozen=True, slots=True)
class CommandKind(Generic[A]):
    """Everything about one command kind (see the module docstring)."""

    name: str
    args: type[A]
    least_role: Role
    decide: Callable[[World, A, DecisionContext], list[EventData]]
    describe: Callable[[World, A], str]


@dataclass(frozen=True, slots=True)
class EventKind(Generic[D]):
    """Everything about one event kind (see the module docstring)."""

    name: str
    data: type[D]
    apply: Callable[[World, D, float], Touched]
    describe: Callable[[World, D], Lines]


def no_lines(world: World, data: Any) -> Lines:
    """The wording of an event no timeline records (a unit added to the roster)."""
    return []
