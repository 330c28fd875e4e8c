"""Roles: one rule for who may sign in as what and who may issue which command, and the two
documents that describe it say the same."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from desktop.domain.catalog import COMMANDS
from desktop.domain.roles import (
    COMMAND_LADDER,
    MONITOR,
    ROLES,
    grant_role,
    is_read_only,
    may_issue,
    may_sign_in_as,
    refusal,
    roles_from,
)

DOCS = Path(__file__).resolve().parents[2] / "docs"

GRANTS = {
    # (account role, requested) -> granted (None: role_not_allowed)
    ("calltaker", None): "calltaker",
    ("calltaker", "calltaker"): "calltaker",
    ("calltaker", "dispatcher"): None,
    ("calltaker", "supervisor"): None,
    ("calltaker", "admin"): None,
    ("calltaker", "telephony"): None,
    ("calltaker", "avl"): None,
    ("dispatcher", None): "dispatcher",
    ("dispatcher", "calltaker"): "calltaker",
    ("dispatcher", "dispatcher"): "dispatcher",
    ("dispatcher", "supervisor"): None,
    ("dispatcher", "admin"): None,
    ("dispatcher", "telephony"): None,
    ("dispatcher", "avl"): None,
    ("supervisor", None): "supervisor",
    ("supervisor", "calltaker"): None,
    ("supervisor", "dispatcher"): None,
    ("supervisor", "supervisor"): "supervisor",
    ("supervisor", "admin"): None,
    ("supervisor", "telephony"): None,
    ("supervisor", "avl"): None,
    ("admin", None): "admin",
    ("admin", "calltaker"): "calltaker",
    ("admin", "dispatcher"): "dispatcher",
    ("admin", "supervisor"): "supervisor",
    ("admin", "admin"): "admin",
    ("admin", "telephony"): "telephony",
    ("admin", "avl"): "avl",
    ("telephony", None): "telephony",
    ("telephony", "telephony"): "telephony",
    ("telephony", "calltaker"): None,
    ("telephony", "dispatcher"): None,
    ("telephony", "supervisor"): None,
    ("telephony", "admin"): None,
    ("telephony", "avl"): None,
    ("avl", None): "avl",
    ("avl", "avl"): "avl",
    ("avl", "calltaker"): None,
    ("avl", "dispatcher"): None,
    ("avl", "supervisor"): None,
    ("avl", "admin"): None,
    ("avl", "telephony"): None,
    ("calltaker", "radio"): None,
    ("dispatcher", "radio"): None,
    ("supervisor", "radio"): None,
    ("admin", "radio"): "radio",
    ("telephony", "radio"): None,
    ("avl", "radio"): None,
    ("radio", None): "radio",
    ("radio", "radio"): "radio",
    ("radio", "calltaker"): None,
    ("radio", "dispatcher"): None,
    ("radio", "supervisor"): None,
    ("radio", "admin"): None,
    ("radio", "telephony"): None,
    ("radio", "avl"): None,
}


def test_role_grant_table_is_complete() -> None:
    assert {(a, r) for a in ROLES for r in (None, *ROLES)} == set(GRANTS)


@pytest.mark.parametrize(("account", "requested"), sorted(GRANTS, key=str))
def test_role_grants(account: str, requested: str | None) -> None:
    assert grant_role(account, requested) == GRANTS[account, requested]


def test_unknown_roles_are_refused() -> None:
    assert grant_role("dispatcher", "janitor") is None
    assert grant_role("janitor", None) is None
    assert may_sign_in_as("janitor") == frozenset()


def test_the_ladder_and_the_monitor() -> None:
    assert COMMAND_LADDER == ("calltaker", "dispatcher", "admin")
    assert roles_from("calltaker") == {"calltaker", "dispatcher", "admin"}
    assert roles_from("dispatcher") == {"dispatcher", "admin"}
    assert is_read_only(MONITOR) and not is_read_only("admin") and not is_read_only(None)
    for kind in COMMANDS.values():
        assert not may_issue(MONITOR, kind.least_role)
        assert may_issue("admin", kind.least_role)
        for role in COMMAND_LADDER:
            assert may_issue(role, kind.least_role) == (role in roles_from(kind.least_role))
    assert not may_issue("janitor", "calltaker")


def test_one_wording_of_a_refusal() -> None:
    assert refusal("supervisor", "unit.dispatch") == (
        "a monitoring position is read-only: it cannot change anything"
    )
    assert refusal("calltaker", "unit.dispatch") == "a calltaker position may not do that"


def _table(text: str, header: str) -> list[list[str]]:
    """The rows of the markdown table whose header row starts with ``header``."""
    lines = [line.strip() for line in text.splitlines()]
    start = next(n for n, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _roles(cell: str) -> set[str]:
    """The role names a table cell mentions."""
    return {word for word in re.findall(r"[a-z]+", cell) if word in ROLES}


@pytest.mark.parametrize("document", ["protocol.md", "operations.md"])
def test_the_documents_give_the_same_sign_in_rule(document: str) -> None:
    rows = _table((DOCS / document).read_text(), "| account role | may sign in as")
    documented = {_roles(account).pop(): _roles(may) for account, may, *_ in rows}
    assert documented == {role: set(may_sign_in_as(role)) for role in ROLES}


def test_the_protocol_documents_who_may_issue_each_command() -> None:
    rows = _table((DOCS / "protocol.md").read_text(), "| kind | args | roles allowed")
    documented = {kind.strip("`"): _roles(roles) for kind, _args, roles, *_ in rows}
    assert documented == {name: set(roles_from(k.least_role)) for name, k in COMMANDS.items()}
