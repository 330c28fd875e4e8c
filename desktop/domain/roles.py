"""Roles: who may sign in as what, who may issue which command, and what a read-only position is.

The one home of every role rule: the server enforces these functions, the workstation mirrors
them so that it refuses at once what the server would refuse, and docs/protocol.md and
docs/operations.md describe them (a test checks the documents against `grant_role`).

- **The command ladder** is ``calltaker < dispatcher < admin``: each role may issue every
  command the one below it may, and more. A command kind names the least role that may issue it
  (`desktop.domain.kinds.CommandKind.least_role`).
- **``supervisor``** stands beside the ladder: it is monitoring, sees everything and issues no
  command at all (every command is refused ``forbidden``).
- **``telephony``** stands beside it too: the centre's call-handling equipment (the SIP intake,
  a call simulator) offering 911 calls and saying when a caller hangs up. It may issue only
  the commands whose least role is ``telephony`` (and an admin may issue those as well); it may
  not answer, dispatch or change anything else.
- **Signing in.** A position works in its account's role unless it asks for another
  (``role_requested``). It may ask for its own role or one below it on the ladder; a supervisor
  account signs in as supervisor only; an admin may ask for any role. Anything else — a role the
  account does not hold — is refused with ``role_not_allowed``.
"""

from __future__ import annotations

from typing import get_args

from desktop.protocol.messages import Role

__all__ = [
    "COMMAND_LADDER",
    "MONITOR",
    "READ_ONLY_HINT",
    "ROLES",
    "TELEPHONY",
    "grant_role",
    "is_read_only",
    "may_issue",
    "may_sign_in_as",
    "refusal",
    "roles_from",
]

#: Every role the protocol knows.
ROLES: tuple[Role, ...] = get_args(Role)
#: Roles that issue commands, least to most: each may do everything the one before it may.
COMMAND_LADDER: tuple[Role, ...] = ("calltaker", "dispatcher", "admin")
#: The monitoring role: sees everything, issues nothing.
MONITOR: Role = "supervisor"
#: The call-handling equipment's role: offers calls, issues nothing else.
TELEPHONY: Role = "telephony"
#: What a read-only position's command entries say instead of their usual hint.
READ_ONLY_HINT = "Monitoring mode: read-only"

_RUNG: dict[str, int] = {role: rung for rung, role in enumerate(COMMAND_LADDER)}


def roles_from(least: Role) -> frozenset[Role]:
    """The roles that may issue a command whose least role is ``least``: those at or above it
    on the command ladder, or for a telephony command the telephony role and admin."""
    if least == TELEPHONY:
        return frozenset({TELEPHONY, "admin"})
    return frozenset(COMMAND_LADDER[_RUNG[least] :])


def is_read_only(role: str | None) -> bool:
    """True for a monitoring position (its panels disable every action and say why)."""
    return role == MONITOR


def may_issue(role: str, least_role: Role) -> bool:
    """Whether a position in ``role`` may issue a command whose least role is ``least_role``."""
    if least_role == TELEPHONY:
        return role in roles_from(TELEPHONY)
    rung = _RUNG.get(role)
    return rung is not None and rung >= _RUNG[least_role]


def refusal(role: str, kind: str) -> str:
    """Why a position in ``role`` may not issue the command ``kind``, for a person (the kind's
    wire name is for the audit log, not for the dispatcher: it is not shown)."""
    if is_read_only(role):
        return "a monitoring position is read-only: it cannot change anything"
    return f"a {role} position may not do that"


def may_sign_in_as(account_role: str) -> frozenset[Role]:
    """The roles a position of a ``account_role`` account may ask to work in."""
    if account_role == "admin":
        return frozenset(ROLES)
    if account_role in _RUNG:
        return frozenset(COMMAND_LADDER[: _RUNG[account_role] + 1])
    if account_role in (MONITOR, TELEPHONY):
        return frozenset({account_role})
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
