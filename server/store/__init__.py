"""Durable storage of the dispatch server: the `Store` contract, its SQLite implementation and
`open_store`, which also opens `server.store.postgres.PostgresStore` for a ``postgresql://`` DSN."""

from pathlib import Path
from urllib.parse import urlsplit

from server.store.base import (
    AuditRecord,
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
    "AuditRecord",
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
    "describe_db",
    "is_dsn",
    "open_store",
]

_DSN_SCHEMES = ("postgresql://", "postgres://")


def is_dsn(db: str | Path) -> bool:
    """Whether ``db`` (a ``--db`` value) names a PostgreSQL database rather than a SQLite file."""
    return isinstance(db, str) and db.lower().startswith(_DSN_SCHEMES)


def describe_db(db: str | Path) -> str:
    """``db`` for messages: a path as given, a DSN as ``host:port/dbname`` (never its password)."""
    if not is_dsn(db):
        return str(db)
    try:
        url = urlsplit(str(db))
        host, port = url.hostname or "localhost", url.port or 5432
    except ValueError:
        return "a PostgreSQL database (DSN not understood)"
    return f"{host}:{port}{url.path}"


def open_store(db: str | Path, *, read_only: bool = False) -> Store:
    """A `PostgresStore` for a ``postgresql://`` or ``postgres://`` DSN, else a `SqliteStore` at
    the path ``db``. Raises `StoreOpenError` (also when psycopg, the ``[postgres]`` extra, is not
    installed: the SQLite path never imports it). ``read_only``: an existing database of this
    version, opened for reading only (each store's module docstring)."""
    if not is_dsn(db):
        return SqliteStore(db, read_only=read_only)
    try:
        from server.store.postgres import PostgresStore
    except ImportError as exc:
        raise StoreOpenError(
            f"cannot open a PostgreSQL database: psycopg is missing ({exc.name or exc});"
            " install the [postgres] extra (pip install 'dispatch-desktop[postgres]')"
        ) from None
    return PostgresStore(str(db), read_only=read_only)
