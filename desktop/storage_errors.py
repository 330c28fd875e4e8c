"""The failures of the workstation's local database, typed (`desktop.localdb` raises them and
re-exports them; `desktop.storage_words` words them for the dispatcher).

`storage_error` classifies an SQLite error by its code: SQLITE_FULL is `DiskFull` (the disk,
or a size cap); SQLITE_CORRUPT, SQLITE_NOTADB and a short read (a truncated file) are
`DatabaseDamaged`; anything else (locked, read-only, I/O error) is a plain `LocalStorageError`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from desktop.salvage import Recovery

__all__ = ["DatabaseDamaged", "DiskFull", "LocalStorageError", "storage_error"]

_SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_NOTADB = 11, 13, 26
_SQLITE_IOERR_SHORT_READ = 522  # the file ends before its pages do: truncated
#: SQLite's own words for these, for an error made without a code (tests, wrappers).
_FULL_WORDS = "database or disk is full"
_DAMAGED_WORDS = ("database disk image is malformed", "file is not a database")


class LocalStorageError(Exception):
    """The local database could not record something (disk full, damaged, read-only, I/O).

    Whatever was being recorded did not happen: the transaction was rolled back. ``detail`` is
    what SQLite said; the words for the dispatcher are `desktop.storage_words`'."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class DiskFull(LocalStorageError):
    """The disk (or the database's size cap) is full: nothing was written. The next write
    after space is freed works; nothing already recorded is affected."""


class DatabaseDamaged(LocalStorageError):
    """SQLite found the database file damaged. ``recovery`` is the replacement this failure led
    to (the fresh database holds everything queued), or None when none was made yet."""

    recovery: Recovery | None = None


def storage_error(error: sqlite3.Error, path: Path) -> LocalStorageError:
    """The typed failure of an SQLite error on the database at ``path``."""
    code = getattr(error, "sqlite_errorcode", None)
    words = str(error)
    primary = code & 0xFF if isinstance(code, int) else None
    kind: type[LocalStorageError] = LocalStorageError
    if primary == _SQLITE_FULL or (code is None and words == _FULL_WORDS):
        kind = DiskFull
    elif (
        primary in (_SQLITE_CORRUPT, _SQLITE_NOTADB)
        or code == _SQLITE_IOERR_SHORT_READ
        or (code is None and words in _DAMAGED_WORDS)
    ):
        kind = DatabaseDamaged
    return kind(f"local database {path}: {words}", detail=words)
