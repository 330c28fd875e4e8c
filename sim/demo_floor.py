"""`EmbeddedServer`: the reference server, and optionally the demo floor, in a background thread.

The demo floor is the server plus the call-feed simulator (`sim.callfeed`), which signs in to it
as its own user. ``dispatch-desktop --demo`` runs one (through `ui.demo_launcher`, the only way
the workstation reaches this package) so a newcomer sees a live floor with one command; so does
``dispatch-server demo`` (`sim.demo_cli`). The server gets its own thread and event loop, so its
SQLite commits never stall the user interface.

Contract: `start` returns once the server listens (raises if it cannot); `stop` closes every
connection, stops the simulator, checkpoints the database and joins the thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from desktop.link import Backoff
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from server.app import DispatchServer
from server.auth import hash_password
from server.store.sqlite import SqliteStore
from sim.callfeed import CallFeedSimulator
from sim.demo_data import load_calls, load_roster

__all__ = ["DEMO_USER", "SIM_USER", "DemoLogin", "EmbeddedServer"]

log = logging.getLogger(__name__)

DEMO_USER = "demo"
SIM_USER = "floor-sim"


@dataclass(frozen=True, slots=True)
class DemoLogin:
    """Where and as whom to sign in to a started `EmbeddedServer`."""

    url: str
    username: str
    password: str


class EmbeddedServer:
    """A server over ``data_dir/server.sqlite`` on 127.0.0.1 (any free port)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        demo: bool = True,
        call_interval: float = 20.0,
        speed: float = 10.0,
        port: int = 0,
        password: str | None = None,
    ) -> None:
        """``password`` for the demo user; None: a random one for this run only."""
        self.data_dir = data_dir
        self.port = port
        self.password = password
        self.demo = demo
        self.call_interval = call_interval
        self.speed = speed
        self.simulator: CallFeedSimulator | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self._ready: Future[DemoLogin] = Future()

    def start(self, timeout: float = 30.0) -> DemoLogin:
        """Start the thread; return where and how to sign in once the server listens."""
        self._thread = threading.Thread(target=self._run, name="embedded-server", daemon=True)
        self._thread.start()
        return self._ready.result(timeout)

    def wait(self) -> None:
        """Block until the server thread ends (after `stop`, or a failure)."""
        if self._thread is not None:
            self._thread.join()

    def stop(self, timeout: float = 10.0) -> None:
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopped.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to start() if it never got ready
            if not self._ready.done():
                self._ready.set_exception(exc)
            else:
                log.exception("embedded server failed")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        store = SqliteStore(self.data_dir / "server.sqlite")
        password = self.password or secrets.token_urlsafe(16)
        sim_password = secrets.token_urlsafe(16)
        await asyncio.to_thread(self._ensure_user, store, DEMO_USER, "dispatcher", password)
        await asyncio.to_thread(self._ensure_user, store, SIM_USER, "dispatcher", sim_password)
        server = DispatchServer(store, "127.0.0.1", self.port)
        await server.start()
        sim_task: asyncio.Task[None] | None = None
        try:
            if self.demo:
                sim_dir = Path(tempfile.mkdtemp(prefix="dispatch-floor-sim-"))
                config = ServiceConfig(
                    data_dir=sim_dir,
                    url=server.url,
                    workstation="simulator",
                    backoff=Backoff(0.2, 2.0, 5.0),
                )
                service = DispatchService(config, SignIn(SIM_USER, sim_password))
                self.simulator = CallFeedSimulator(
                    service,
                    load_roster(),
                    load_calls(),
                    interval=self.call_interval,
                    speed=self.speed,
                )
                sim_task = asyncio.create_task(self.simulator.run(), name="call feed simulator")
            self._ready.set_result(DemoLogin(server.url, DEMO_USER, password))
            await self._stopped.wait()
        finally:
            if sim_task is not None:
                sim_task.cancel()
                await asyncio.gather(sim_task, return_exceptions=True)
            if self.simulator is not None:
                await self.simulator.stop()
            await server.stop()
            store.close()

    @staticmethod
    def _ensure_user(store: SqliteStore, name: str, role: str, password: str) -> None:
        """Create the user, or give it this run's password (demo credentials live in memory)."""
        encoded = hash_password(password)
        if store.get_user(name) is None:
            store.add_user(name, role, encoded, time.time())
        else:
            store.set_password(name, encoded)
