"""Roles: who may sign in as what, who may issue which command or send which stream, and what a
read-only position is.

The one home of every role rule: the server enforces these functions, the workstation mirrors
them so that it refuses at once what the server would refuse, and docs/protocol.md and
docs/operations.md describe them (a test checks the documents against `grant_role`).

- **The command ladder** is ``calltaker < dispatcher < admin``: each role may issue every
  command the one below it may, and more. A command kind names the least role that may issue it
  (`desktop.domain.kinds.CommandKind.least_role`).
- **``supervisor``** stands beside the ladder: it is monitoring, sees everything and issues no
  command at all (every command is refused ``forbidden``).
- **Gateway roles** (`GATEWAYS`) stand beside it too: the centre's equipment, each registered
  once with what it may do. A gateway may issue only the commands whose least role it is, and
  send only the streams it names; ``admin`` may do all of that as well. Today:
  ``telephony`` (the SIP intake, a call simulator: offers 911 calls and says when a caller
  hangs up), ``avl`` (the AVL/telemetry feed, an AVL simulator: reports vehicle positions,
  the ``position`` stream, and issues no command) and ``radio`` (the radio console gateway, a
  radio simulator: the ``keyup`` stream and ``radio.emergency``).
- **The floor.** A *position* is a person's workstation: a ladder role or the monitoring
  role (`is_position`), never a gateway. Every position reports what it has open (the
  ``activity`` stream); the floor's positions, and the shift report, go to supervisors and
  admins only (`may_watch_floor`).
- **Signing in.** A position works in its account's role unless it asks for another
  (``role_requested``). It may ask for its own role or one below it on the ladder; a supervisor
  or gateway account signs in as itself only; an admin may ask for any role. Anything else — a
  role the account does not hold — is refused with ``role_not_allowed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from desktop.protocol.messages import Role

__all__ = [
    "AVL",
    "COMMAND_LADDER",
    "GATEWAYS",
    "MONITOR",
    "RADIO",
    "READ_ONLY_HINT",
    "ROLES",
    "TELEPHONY",
    "Gateway",
    "Stream",
    "grant_role",
    "is_position",
    "is_read_only",
    "may_issue",
    "may_send",
    "may_sign_in_as",
    "may_watch_floor",
    "refusal",
    "roles_from",
]

#: Client -> server streams beside commands (frame types a gateway may be allowed to send).
Stream = Literal["position", "keyup"]

#: Every role the protocol knows.
ROLES: tuple[Role, ...] = get_args(Role)
#: Roles that issue commands, least to most: each may do everything the one before it may.
COMMAND_LADDER: tuple[Role, ...] = ("calltaker", "dispatcher", "admin")
#: The monitoring role: sees everything, issues nothing.
MONITOR: Role = "supervisor"
#: The call-handling equipment's role: offers calls, issues nothing else.
TELEPHONY: Role = "telephony"
#: The AVL feed's role: reports vehicle positions, issues no command.
AVL: Role = "avl"
#: The radio console gateway's role: reports key-ups and emergency activations.
RADIO: Role = "radio"
#: What a read-only position's command entries say instead of their usual hint.
READ_ONLY_HINT = "Monitoring mode: read-only"
#: The ladder's top: it may do whatever any gateway may.
_ADMIN: Role = "admin"


@dataclass(frozen=True, slots=True)
class Gateway:
    """A role for the centre's equipment, beside the ladder: it issues only the commands whose
    least role is ``role``, and sends only ``streams``; ``what`` says what it stands for."""

    role: Role
    streams: frozenset[Stream]
    what: str


#: Every gateway role, registered once.
GATEWAYS: tuple[Gateway, ...] = (
    Gateway(TELEPHONY, frozenset(), "call-handling equipment: offers calls, reports hang-ups"),
    Gateway(AVL, frozenset({"position"}), "the AVL feed: reports vehicle positions"),
    Gateway(
        RADIO,
        frozenset({"keyup"}),
        "the radio console gateway: reports key-ups and emergency activations",
    ),
)

_RUNG: dict[str, int] = {role: rung for rung, role in enumerate(COMMAND_LADDER)}
_GATEWAY: dict[str, Gateway] = {gateway.role: gateway for gateway in GATEWAYS}


def roles_from(least: Role) -> frozenset[Role]:
    """The roles that may issue a command whose least role is ``least``: those at or above it
    on the command ladder, or for a gateway's command that gateway and admin."""
    if least in _GATEWAY:
        return frozenset({least, _ADMIN})
    return frozenset(COMMAND_LADDER[_RUNG[least] :])


def is_read_only(role: str | None) -> bool:
    """True for a monitoring position (its panels disable every action and say why)."""
    return role == MONITOR


def is_position(role: str | None) -> bool:
    """True for a person's position (a ladder role or monitoring), False for a gateway."""
    return role == MONITOR or role in _RUNG


def may_watch_floor(role: str | None) -> bool:
    """Whether a position in ``role`` sees the floor's positions (and shadows them) and may
    ask for the shift report: supervisors and admins."""
    return role in (MONITOR, _ADMIN)


def may_issue(role: str, least_role: Role) -> bool:
    """Whether a position in ``role`` may issue a command whose least role is ``least_role``."""
    if least_role in _GATEWAY:
        return role in roles_from(least_role)
    rung = _RUNG.get(role)
    return rung is not None and rung >= _RUNG[least_role]


def may_send(role: str, stream: Stream) -> bool:
    """Whether a connection in ``role`` may send the client -> server ``stream`` (e.g.
    ``"position"``): the gateways that name it, and admin."""
    gateway = _GATEWAY.get(role)
    return role == _ADMIN or (gateway is not None and stream in gateway.streams)


def refusal(role: str, kind: str) -> str:
    """Why a position in ``role`` may not issue the command ``kind`` (or send the stream
    ``kind``), for a person (the wire name is for the audit log, not for the dispatcher: it is
    not shown)."""
    if is_read_only(role):
        return "a monitoring position is read-only: it cannot change anything"
    return f"a {role} position may not do that"


def may_sign_in_as(account_role: str) -> frozenset[Role]:
    """The roles a position of a ``account_role`` account may ask to work in."""
    if account_role == _ADMIN:
        return frozenset(ROLES)
    if account_role in _RUNG:
        return frozenset(COMMAND_LADDER[: _RUNG[account_role] + 1])
    for role in (MONITOR, *(gateway.role for gateway in GATEWAYS)):
        if account_role == role:
            return frozenset({role})
    return frozenset()


def grant_role(account_role: str, requested: str | None) -> Role | None:
    """The role a position of a ``account_role`` account gets when it asks for ``requested``
    (None: its own role); None means refused (``role_not_allowed``)."""
    allowed = may_sign_in_as(account_role)
    wanted = account_role if requested is None else requested
    for role in allowed:
        if role == wanted:
            return role
    return None
