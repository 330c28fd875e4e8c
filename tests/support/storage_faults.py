"""Faults of the workstation's own storage, on real files: a disk that fills, damaged pages.

`full_disk` (a fixture, parametrized) gives a `FullDisk` of each kind this machine can make:

- ``tmpfs``: a real small filesystem (a 4 MiB tmpfs mounted on a temporary directory; needs
  root, as on the development and CI machines, else skipped). `FullDisk.fill` writes a filler
  file until the kernel answers ENOSPC, so SQLite's next write that needs space fails with a
  real SQLITE_FULL; `FullDisk.free` deletes the filler.
- ``page_cap``: anywhere, the database's size cap (``PRAGMA max_page_count`` at its current
  size): the same SQLITE_FULL, raised by SQLite itself.

`damage_page` overwrites one page of a database file with garbage, `checkpointed` folds the WAL
into the main file first (so the damage is where SQLite will read), `page_of` finds a table's
root page.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from desktop.localdb import LocalDatabase

__all__ = ["FullDisk", "checkpointed", "damage_page", "full_disk", "page_of"]

PAGE = 4096
TMPFS_SIZE = "4m"


class FullDisk:
    """A place for workstation data whose disk can be filled and freed (module docstring)."""

    def __init__(self, kind: str, directory: Path) -> None:
        self.kind = kind
        self.directory = directory
        self._filler = directory / "filler"
        self._capped: list[LocalDatabase] = []

    def fill(self, *databases: LocalDatabase) -> None:
        """No space left: for the filesystem, or (``page_cap``) for each of ``databases``."""
        if self.kind == "page_cap":
            for db in databases:
                db.set_max_page_count(db.page_count())
                self._capped.append(db)
            return
        fd = os.open(self._filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            for chunk in (1 << 16, 1 << 12, 1 << 9):
                with contextlib.suppress(OSError):
                    while True:
                        os.write(fd, b"\0" * chunk)
        finally:
            os.close(fd)

    def free(self) -> None:
        """Space again."""
        for db in self._capped:
            db.set_max_page_count(None)
        self._capped.clear()
        self._filler.unlink(missing_ok=True)


def _mount_tmpfs(where: Path) -> bool:
    if os.name != "posix" or os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


@pytest.fixture(params=["tmpfs", "page_cap"])
def full_disk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FullDisk]:
    directory = tmp_path / f"disk-{uuid.uuid4().hex[:8]}"
    directory.mkdir()
    if request.param == "page_cap":
        yield FullDisk("page_cap", directory)
        return
    if not _mount_tmpfs(directory):
        pytest.skip("cannot mount a tmpfs here (not root): the page_cap variant covers it")
    try:
        yield FullDisk("tmpfs", directory)
    finally:  # lazily: a database the test left open must not keep the mount
        subprocess.run(["umount", "-l", str(directory)], capture_output=True, check=False)


def page_of(path: Path, table: str) -> int:
    """The root page of ``table`` in the database at ``path``."""
    conn = sqlite3.connect(path)
    try:
        return int(
            conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()[
                0
            ]
        )
    finally:
        conn.close()


def checkpointed(db: LocalDatabase) -> None:
    """Fold the WAL into the main file, so damage to the main file is what SQLite reads."""
    db.wait_for_writes()
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()


def damage_page(path: Path, page: int, garbage: bytes | None = None) -> None:
    """Overwrite page ``page`` (1-based) of the database file at ``path`` with garbage."""
    with open(path, "r+b") as file:
        file.seek(PAGE * (page - 1))
        file.write(garbage if garbage is not None else os.urandom(PAGE))
