"""The audit trail (CJIS-style): one log line per command and per sign-in, on ``dispatch.audit``.

Lines are ``key=value`` pairs with values JSON-quoted, so they parse unambiguously whatever a
client put in a workstation name. Route the logger to a file or syslog in the deployment's
logging configuration.
"""

from __future__ import annotations

import json
import logging

__all__ = ["audit_command", "audit_logger", "audit_login"]

audit_logger = logging.getLogger("dispatch.audit")


def _fields(**values: object) -> str:
    return " ".join(f"{name}={json.dumps(value, default=str)}" for name, value in values.items())


def audit_command(
    *, user: str, workstation: str, role: str, kind: str, key: str, outcome: str, at: float
) -> None:
    """Record one command: ``outcome`` is ``ok seqs=[..]``, ``duplicate`` or an error code."""
    audit_logger.info(
        "command %s",
        _fields(
            at=round(at, 3),
            user=user,
            workstation=workstation,
            role=role,
            kind=kind[:100],
            key=key[:100],
            outcome=outcome,
        ),
    )


def audit_login(
    *, user: str, workstation: str, peer: str, outcome: str, role: str | None, at: float
) -> None:
    """Record one sign-in attempt: ``outcome`` is ``ok`` or the error code."""
    audit_logger.info(
        "login %s",
        _fields(
            at=round(at, 3),
            user=user[:100],
            workstation=workstation[:100],
            peer=peer,
            role=role,
            outcome=outcome,
        ),
    )
