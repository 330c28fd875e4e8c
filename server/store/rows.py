"""The records of `server.store.base` made from database rows: one home for the column order of
each query both stores run (`SqliteStore`, `PostgresStore`), whatever their SQL dialect.

Each ``*_COLUMNS`` is the select list a decoder below reads, in its order; the row types differ
between drivers (SQLite's plain values, psycopg's), so every value is converted here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from desktop.protocol.messages import PositionFix
from server.store.base import StoredEvent, TokenKind, TokenRecord, UserRecord

__all__ = [
    "EVENT_COLUMNS",
    "POSITION_COLUMNS",
    "USER_COLUMNS",
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


def position_of(row: Row) -> PositionFix:
    return PositionFix(
        unit_id=str(row[0]),
        lat=float(row[1]),
        lon=float(row[2]),
        at=float(row[3]),
        speed_mps=None if row[4] is None else float(row[4]),
        heading_deg=None if row[5] is None else float(row[5]),
    )
