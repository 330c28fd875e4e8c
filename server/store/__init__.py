"""Durable storage of the dispatch server: the `Store` contract and its SQLite implementation."""

from server.store.base import (
    Batch,
    NewEvent,
    NewResult,
    StorageUnavailable,
    Store,
    StoredEvent,
    StoreError,
    StoreOpenError,
    TokenKind,
    TokenRecord,
    UserExists,
    UserRecord,
)
from server.store.sqlite import SqliteStore

__all__ = [
    "Batch",
    "NewEvent",
    "NewResult",
    "SqliteStore",
    "StorageUnavailable",
    "Store",
    "StoreError",
    "StoreOpenError",
    "StoredEvent",
    "TokenKind",
    "TokenRecord",
    "UserExists",
    "UserRecord",
]
