"""The records of `server.store.base` made from database rows: one home for the column order of
each query both stores run (`SqliteStore`, `PostgresStore`), whatever their SQL dialect.

Each ``*_COLUMNS`` is the select list a decoder below reads, in its order; the row types differ
between drivers (SQLite's plain values, psycopg's), so every value is converted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from desktop.protocol.messages import PositionFix
from server.store.base import AuditRecord, StoredEvent, TokenKind, TokenRecord, UserRecord

__all__ = [
    "AUDIT_COLUMNS",
    "AUDIT_INSERT_COLUMNS",
    "EVENT_COLUMNS",
    "POSITION_COLUMNS",
    "USER_COLUMNS",
    "audit_insert",
    "audit_of",
    "audit_query",
    "audit_values",
    "event_of",
    "position_of",
    "token_of",
    "user_of",
]

Row = Sequence[Any]

#: The columns `event_of` reads.
EVENT_COLUMNS = "seq, kind, data, at, actor, key, acted_at"
#: The columns `user_of` reads.
USER_COLUMNS = "name, role, password_hash, created_at, disabled"
#: The columns `position_of` reads.
POSITION_COLUMNS = "unit_id, lat, lon, at, speed_mps, heading_deg"
#: The columns of the ``audit`` table an append writes, in `AuditRecord`'s order (``user`` is
#: reserved in PostgreSQL: the column is ``user_name`` in both schemas).
AUDIT_INSERT_COLUMNS = "at, user_name, workstation, peer, role, kind, key, outcome, detail"
#: The columns `audit_of` reads: those and the id.
AUDIT_COLUMNS = f"{AUDIT_INSERT_COLUMNS}, id"


def event_of(row: Row) -> StoredEvent:
    return StoredEvent(
        int(row[0]),
        str(row[1]),
        bytes(row[2]),
        float(row[3]),
        str(row[4]),
        None if row[5] is None else str(row[5]),
        None if row[6] is None else float(row[6]),
    )


def user_of(row: Row) -> UserRecord:
    return UserRecord(
        name=str(row[0]),
        role=str(row[1]),
        password_hash=str(row[2]),
        created_at=float(row[3]),
        disabled=bool(row[4]),
    )


def token_of(row: Row) -> TokenRecord:
    """A token from (token hash, user, kind, expires at, created at): the user column is named
    differently in the two schemas (``user`` is reserved in PostgreSQL)."""
    kind: TokenKind = "refresh" if row[2] == "refresh" else "session"
    return TokenRecord(str(row[0]), str(row[1]), kind, float(row[3]), float(row[4]))


def audit_insert(mark: str) -> str:
    """The INSERT of one audit record; ``mark`` is the driver's placeholder (``?``, ``%s``)."""
    marks = ", ".join([mark] * len(AUDIT_INSERT_COLUMNS.split(",")))
    return f"INSERT INTO audit({AUDIT_INSERT_COLUMNS}) VALUES ({marks})"


def audit_query(
    mark: str,
    *,
    user: str | None,
    since: float | None,
    until: float | None,
    kind: str | None,
    limit: int,
) -> tuple[str, list[object]]:
    """The SELECT of `Store.query_audit` (its contract) and its parameters; ``mark`` is the
    driver's placeholder."""
    conditions: list[str] = []
    params: list[object] = []
    for condition, value in (
        ("user_name =", user),
        ("at >=", since),
        ("at <", until),
        ("kind =", kind),
    ):
        if value is not None:
            conditions.append(f"{condition} {mark}")
            params.append(value)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    params.append(max(0, limit))
    return f"SELECT {AUDIT_COLUMNS} FROM audit{where} ORDER BY at, id LIMIT {mark}", params


def audit_values(record: AuditRecord) -> tuple[float, str, str, str, str, str, str, str, str]:
    """The values of `AUDIT_INSERT_COLUMNS` for ``record``."""
    return (
        record.at,
        record.user,
        record.workstation,
        record.peer,
        record.role,
        record.kind,
        record.key,
        record.outcome,
        record.detail,
    )


def audit_of(row: Row) -> AuditRecord:
    """An audit record from a row of `AUDIT_COLUMNS`."""
    return AuditRecord(
        at=float(row[0]),
        user=str(row[1]),
        workstation=str(row[2]),
        peer=str(row[3]),
        role=str(row[4]),
        kind=str(row[5]),
        key=str(row[6]),
        outcome=str(row[7]),
        detail=str(row[8]),
        id=int(row[9]),
    )


def position_of(row: Row) -> PositionFix:
    return PositionFix(
        unit_id=str(row[0]),
        lat=float(row[1]),
        lon=float(row[2]),
        at=float(row[3]),
        speed_mps=None if row[4] is None else float(row[4]),
        heading_deg=None if row[5] is None else float(row[5]),
    )
