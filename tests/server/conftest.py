"""Fixtures of the server tests: a SQLite store with users and an in-process server."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

# `pytest` (unlike `python -m pytest`) does not put the repository root on sys.path.
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from srvkit import ServerFactory, add_users  # noqa: E402

from desktop.protocol.session import ServerSessionLimits  # noqa: E402
from server.app import DispatchServer, ServerConfig  # noqa: E402
from server.store.sqlite import SqliteStore  # noqa: E402


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    """A fresh database holding the test users (srvkit.USERS)."""
    db = SqliteStore(tmp_path / "server.sqlite")
    add_users(db)
    yield db
    db.close()


@pytest.fixture
async def start_server(store: SqliteStore) -> AsyncIterator[ServerFactory]:
    """Start `DispatchServer`s on 127.0.0.1 port 0 over ``store``; all stopped afterwards."""
    started: list[DispatchServer] = []

    async def start(
        limits: ServerSessionLimits | None = None,
        config: ServerConfig | None = None,
        db: SqliteStore | None = None,
    ) -> DispatchServer:
        server = DispatchServer(db or store, "127.0.0.1", 0, limits, config)
        await server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.stop()


@pytest.fixture
async def server(start_server: ServerFactory) -> DispatchServer:
    return await start_server()
