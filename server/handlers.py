"""Command handling: one command against the world -> the events it causes, or a typed error.

`handle` is pure (it reads ``world`` and never mutates it) and total: for any input at all it
returns an `Accepted` or a `Rejected`, never raises. The steps, in order:

1. a ``supervisor`` session (monitoring) is refused every command, known kind or not: ``forbidden``;
2. a kind not in `desktop.domain.commands.COMMAND_ARGS`: ``unknown_kind``;
3. a role not in ``ALLOWED_ROLES[kind]``: ``forbidden``;
4. ``args`` that do not decode strictly into the kind's Struct: ``invalid_command``;
5. a ``key`` that is not a canonical UUID string, or ``client_seq < 1``: ``invalid_command``;
6. `desktop.domain.rules.decide`; a `DomainError` becomes its code and message.

An unexpected exception (a bug in the rules) becomes ``internal``, which is transient, and is
logged; the fuzz tests assert it never happens.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from desktop.domain.commands import ALLOWED_ROLES, COMMAND_ARGS
from desktop.domain.events import EVENT_KIND, EventData
from desktop.domain.rules import DecisionContext, DomainError, decide
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
) -> Outcome:
    """Decide ``command`` issued by ``user`` in ``role`` at ``now`` (see the module docstring).

    ``number_incident`` is called at most once, only when an incident is created and accepted.
    """
    try:
        return _handle(world, command, user, role, now, number_incident)
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
) -> Outcome:
    if role == "supervisor":
        return _reject(ErrorCode.FORBIDDEN, "supervisor sessions are monitoring only")
    kind = command.kind
    args_type = COMMAND_ARGS.get(kind)
    if args_type is None:
        return _reject(ErrorCode.UNKNOWN_KIND, f"unknown command kind {kind[:80]!r}")
    if role not in ALLOWED_ROLES[kind]:
        return _reject(ErrorCode.FORBIDDEN, f"a {role} may not issue {kind}")
    try:
        args = decode_args(command.args, args_type)
    except ProtocolError as exc:
        return _reject(ErrorCode.INVALID_COMMAND, f"{kind}: {exc.message}")
    if not valid_key(command.key):
        return _reject(ErrorCode.INVALID_COMMAND, "key must be a UUID string")
    if command.client_seq < 1:
        return _reject(ErrorCode.INVALID_COMMAND, "client_seq must be 1 or more")
    ctx = DecisionContext(actor=user, now=now, number_incident=number_incident)
    try:
        events = decide(world, args, ctx)
    except DomainError as exc:
        return _reject(exc.code, exc.message)
    return Accepted([(EVENT_KIND[type(data)], data) for data in events])


def _reject(code: ErrorCode, message: str) -> Rejected:
    return Rejected(ErrorInfo(code=code.value, message=message))
