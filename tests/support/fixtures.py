"""Fixtures for tests against a real server process on loopback, through a fault proxy.

Registered for every test directory by `tests/conftest.py` (``pytest_plugins``)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import keyring
import pytest

from desktop.link import Backoff
from desktop.protocol.messages import Role
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from tests.support.faultproxy import FaultProxy
from tests.support.memkeyring import MemoryKeyring
from tests.support.serverproc import PASSWORD, ServerProcess

USERS: dict[str, Role] = {
    "ann": "dispatcher",
    "bob": "dispatcher",
    "cat": "dispatcher",
    "dan": "dispatcher",
    "sam": "supervisor",
    "carl": "calltaker",
    "tel": "telephony",  # the call-handling equipment: offers calls
    "avl": "avl",  # the AVL feed: reports unit positions
    "rad": "radio",  # the radio console gateway: key-ups and emergency buttons
    "adm": "admin",
}

#: Quick heartbeats and retries so tests of outages take seconds (the blackhole test uses the
#: product defaults instead, to prove the 10 s detection bound).
FAST = {"heartbeat_interval": 0.5, "dead_after": 2.0, "backoff": Backoff(0.05, 2.0, 0.5)}


@pytest.fixture(scope="session")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with the test users, made once (password hashing is deliberately slow)."""
    path = tmp_path_factory.mktemp("template") / "server.sqlite"
    maker = ServerProcess(path)
    for name, role in USERS.items():
        maker.add_user(name, role)
    return path


@pytest.fixture
def server(tmp_path: Path, template_db: Path) -> Iterator[ServerProcess]:
    db = tmp_path / "server.sqlite"
    shutil.copy(template_db, db)
    proc = ServerProcess(db)
    proc.start(0)
    yield proc
    proc.stop()


@pytest.fixture
async def proxy(server: ServerProcess) -> AsyncIterator[FaultProxy]:
    fault_proxy = FaultProxy(server.port)
    await fault_proxy.start()
    yield fault_proxy
    await fault_proxy.stop()


@pytest.fixture(autouse=True)
def memory_keyring() -> Iterator[MemoryKeyring]:
    """Every test gets a fresh in-memory keyring; none touches the machine's real one."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


ClientFactory = Callable[..., DispatchService]


@pytest.fixture
async def make_client(tmp_path: Path) -> AsyncIterator[ClientFactory]:
    """Build and start a DispatchService with its own data directory."""
    started: list[DispatchService] = []

    def make(
        user: str, url: str, *, data_dir: Path | None = None, **options: object
    ) -> DispatchService:
        config = ServiceConfig(
            data_dir=data_dir or tmp_path / f"client-{user}-{len(started)}",
            url=url,
            workstation=f"ws-{user}",
            **{**FAST, **options},  # type: ignore[arg-type]
        )
        service = DispatchService(config, SignIn(user, PASSWORD))
        service.start()
        started.append(service)
        return service

    yield make
    for service in started:
        await service.stop(close_within=2.0)
