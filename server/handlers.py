"""Command handling: one command against the world -> the events it causes, or a typed error.

`handle` is pure (it reads ``world`` and never mutates it) and total: for any input at all it
returns an `Accepted` or a `Rejected`, never raises. The steps, in order:

1. a read-only (monitoring) session is refused every command, known kind or not: ``forbidden``;
2. a kind not in `desktop.domain.catalog.COMMANDS`: ``unknown_kind``;
3. a role the kind does not allow (`desktop.domain.roles.may_issue`): ``forbidden``;
4. ``args`` that do not decode strictly into the kind's Struct: ``invalid_command``;
5. a ``key`` that is not a canonical UUID string, or ``client_seq < 1``: ``invalid_command``;
6. the kind's rule (`desktop.domain.catalog.decide`); a `DomainError` becomes its code and
   message.

An unexpected exception (a bug in the rules) becomes ``internal``, which is transient, and is
logged; the fuzz tests assert it never happens.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from desktop.domain.catalog import COMMANDS, decide, event_kind_of
from desktop.domain.kinds import DecisionContext, DomainError, EventData
from desktop.domain.roles import is_read_only, may_issue, refusal
from desktop.domain.types import Position
from desktop.domain.world import World
from desktop.protocol.codec import decode_args
from desktop.protocol.errors import ErrorCode, ProtocolError
from desktop.protocol.messages import CommandBody, ErrorInfo

__all__ = ["Accepted", "Outcome", "Rejected", "handle", "valid_key"]

log = logging.getLogger(__name__)

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True, slots=True)
class Accepted:
    """The command is valid; ``events`` record its effect, in order, as (kind, data)."""

    events: list[tuple[str, EventData]]


@dataclass(frozen=True, slots=True)
class Rejected:
    error: ErrorInfo


Outcome = Accepted | Rejected


def valid_key(key: object) -> bool:
    """True for an idempotency key in canonical UUID form (8-4-4-4-12 hex digits)."""
    return isinstance(key, str) and _UUID.match(key) is not None


def handle(
    world: World,
    command: CommandBody,
    user: str,
    role: str,
    now: float,
    number_incident: Callable[[], str],
    position_of: Callable[[str], Position | None] = lambda unit_id: None,
) -> Outcome:
    """Decide ``command`` issued by ``user`` in ``role`` at ``now`` (see the module docstring).

    ``number_incident`` is called at most once, only when an incident is created and accepted;
    ``position_of`` gives a unit's newest AVL position (the position book beside the world).
    """
    try:
        return _handle(world, command, user, role, now, number_incident, position_of)
    except Exception:  # a bug: report a transient error rather than crash the server
        log.exception("unexpected error handling %r", getattr(command, "kind", "?"))
        return _reject(ErrorCode.INTERNAL, "the server could not process this command")


def _handle(
    world: World,
    command: CommandBody,
    user: str,
    role: str,
    now: float,
    number_incident: Callable[[], str],
    position_of: Callable[[str], Position | None] = lambda unit_id: None,
) -> Outcome:
    if is_read_only(role):
        return _reject(ErrorCode.FORBIDDEN, refusal(role, command.kind[:80]))
    kind = COMMANDS.get(command.kind)
    if kind is None:
        return _reject(ErrorCode.UNKNOWN_KIND, f"unknown command kind {command.kind[:80]!r}")
    if not may_issue(role, kind.least_role):
        return _reject(ErrorCode.FORBIDDEN, refusal(role, kind.name))
    try:
        args = decode_args(command.args, kind.args)
    except ProtocolError as exc:
        return _reject(ErrorCode.INVALID_COMMAND, f"{kind.name}: {exc.message}")
    if not valid_key(command.key):
        return _reject(ErrorCode.INVALID_COMMAND, "key must be a UUID string")
    if command.client_seq < 1:
        return _reject(ErrorCode.INVALID_COMMAND, "client_seq must be 1 or more")
    ctx = DecisionContext(
        actor=user, now=now, number_incident=number_incident, position_of=position_of
    )
    try:
        events = decide(world, args, ctx)
    except DomainError as exc:
        return _reject(exc.code, exc.message)
    return Accepted([(event_kind_of(data).name, data) for data in events])


def _reject(code: ErrorCode, message: str) -> Rejected:
    return Rejected(ErrorInfo(code=code.value, message=message))
