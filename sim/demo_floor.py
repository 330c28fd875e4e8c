"""`EmbeddedServer`: the reference server, and optionally the demo floor, in a background thread.

The demo floor is the server plus four simulators, each signed in to it as its own user: the
call feed (`sim.callfeed`, user ``floor-sim``: the other dispatchers of the floor, opening and
working incidents), the telephone network (`sim.calls`, user ``call-sim`` in the role
``telephony``: 911 calls ringing in the call-taking panel, some abandoned) and the vehicles'
AVL modems (`sim.avl`, user ``avl-sim`` in the role ``avl``: every unit's position, driving
its road route to its incident and back to quarters at the call feed's ``speed``) and the
radio console gateway (`sim.radio`, user ``radio-sim`` in the role ``radio``: the crews'
key-ups, and now and then an emergency button, every ``emergency_interval`` s on average; the
call feed gives every unit its synthetic radio id, `sim.demo_data.demo_radio_id`). Before
they start, the floor's setup flags a few demo addresses with premise hazards
(`DEMO_PREMISES`, set by the admin account ``floor-admin`` over the protocol), at the houses
the call simulator's civic addresses name, so premise warnings show up.
``dispatch-desktop --demo`` runs one (through `ui.demo_launcher`, the only way the workstation
reaches this package) so a newcomer sees a live floor with one command; so does
``dispatch-server demo`` (`sim.demo_cli`). The server gets its own thread and event loop, so
its SQLite commits never stall the user interface.

Contract: `start` returns once the server listens and the premises are set (raises if it cannot
listen); `stop` closes every connection, stops the simulators, checkpoints the database and
joins the thread. The simulators' accounts get a fresh random password on every start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import tempfile
import threading
import time
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.domain.premises import PremiseSet
from desktop.geo.geocoder import Geocoder
from desktop.link import Backoff
from desktop.protocol.errors import ErrorCode
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from server.admin_client import AdminClient, AdminError
from server.app import DispatchServer
from server.auth import hash_password
from server.store.sqlite import SqliteStore
from sim.avl import AvlSimulator
from sim.callfeed import CallFeedSimulator
from sim.calls import CallSimulator, caller_address
from sim.demo_data import CallTemplate, load_calls, load_roster
from sim.radio import RadioGatewaySimulator

__all__ = [
    "AVL_SIM_USER",
    "CALL_SIM_USER",
    "DEMO_PREMISES",
    "DEMO_USER",
    "PREMISE_USER",
    "RADIO_SIM_USER",
    "SIM_USER",
    "DemoLogin",
    "EmbeddedServer",
    "demo_premises",
]

log = logging.getLogger(__name__)

DEMO_USER = "demo"
SIM_USER = "floor-sim"
CALL_SIM_USER = "call-sim"
AVL_SIM_USER = "avl-sim"
RADIO_SIM_USER = "radio-sim"
PREMISE_USER = "floor-admin"
#: The AVL modems start reporting this long after the floor (seconds): the demo floor shares
#: the workstation's process, and every unit's first fix and route at once would compete with
#: the workstation's own start-up for the interpreter (units show at their stations meanwhile).
AVL_START_DELAY_S = 5.0
#: The radio gateway starts this long after the floor (seconds), for the same reason (and the
#: roster's radio ids are seeded by then).
RADIO_START_DELAY_S = 5.0
#: The demo floor's mean wall seconds between two simulated radio emergencies.
DEMO_EMERGENCY_INTERVAL_S = 600.0

#: Premise hazards of the demo floor: (a demo call's block address, hazards, note). Each is
#: set at the house the call simulator's civic addresses on that block name.
DEMO_PREMISES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("1000 Block of Polk St", ("dog on premises",), "Two large dogs; the tenant secures them."),
    (
        "500 Block of 5th St",
        ("oxygen in use",),
        "Resident on home oxygen, 3rd floor: no open flame.",
    ),
    (
        "100 Block of Golden Gate Ave",
        ("prior violence — stage for PD",),
        "Crew assaulted here last year; stage until PD clears the scene.",
    ),
    (
        "0 Block of 6th St",
        ("hazmat storage",),
        "Solvents and compressed gas cylinders in the basement.",
    ),
    (
        "200 Block of Eddy St",
        ("oxygen in use", "bariatric patient"),
        "Lift assist needs four; bariatric stretcher.",
    ),
)


def demo_premises(calls: Sequence[CallTemplate], geocoder: Geocoder) -> list[PremiseSet]:
    """The `DEMO_PREMISES` whose block the demo ``calls`` hold, as ``premise.set`` commands at
    the simulated callers' house on that block (`sim.calls.caller_address`)."""
    by_address = {call.address: call for call in reversed(calls)}  # the first call of each
    commands = []
    for address, hazards, note in DEMO_PREMISES:
        template = by_address.get(address)
        house = caller_address(template, geocoder) if template is not None else None
        if house is not None:
            commands.append(
                PremiseSet(
                    address=house.label,
                    hazards=list(hazards),
                    note=note,
                    lat=house.lat,
                    lon=house.lon,
                )
            )
    return commands


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
        ring_interval: float = 60.0,
        emergency_interval: float | None = DEMO_EMERGENCY_INTERVAL_S,
        port: int = 0,
        password: str | None = None,
    ) -> None:
        """``password`` for the demo user; None: a random one for this run only.
        ``call_interval``: mean seconds between the incidents the call feed opens, worked
        ``speed`` times faster than the real crews did; ``ring_interval``: mean seconds between
        911 calls (the callers keep real time); ``emergency_interval``: mean wall seconds
        between simulated radio emergencies (None: none)."""
        self.data_dir = data_dir
        self.port = port
        self.password = password
        self.demo = demo
        self.call_interval = call_interval
        self.speed = speed
        self.ring_interval = ring_interval
        self.emergency_interval = emergency_interval
        self.simulator: CallFeedSimulator | None = None
        self.call_simulator: CallSimulator | None = None
        self.avl_simulator: AvlSimulator | None = None
        self.radio_simulator: RadioGatewaySimulator | None = None
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
        await asyncio.to_thread(self._ensure_user, store, DEMO_USER, "dispatcher", password)
        server = DispatchServer(store, "127.0.0.1", self.port)
        await server.start()
        tasks: list[asyncio.Task[None]] = []
        try:
            if self.demo:
                tasks = await self._start_floor(store, server.url)
            self._ready.set_result(DemoLogin(server.url, DEMO_USER, password))
            await self._stopped.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for simulator in (
                self.simulator,
                self.call_simulator,
                self.avl_simulator,
                self.radio_simulator,
            ):
                if simulator is not None:
                    await simulator.stop()
            await server.stop()
            store.close()

    async def _start_floor(self, store: SqliteStore, url: str) -> list[asyncio.Task[None]]:
        """Set the demo premises, then start the four simulators; their running tasks."""
        calls = load_calls()
        users = (
            (SIM_USER, "dispatcher"),
            (CALL_SIM_USER, "telephony"),
            (AVL_SIM_USER, "avl"),
            (RADIO_SIM_USER, "radio"),
        )
        logins = {name: secrets.token_urlsafe(16) for name, _ in users}
        hashes = await asyncio.gather(  # in threads at once: scrypt lets go of the interpreter
            *(asyncio.to_thread(hash_password, logins[name]) for name, _ in users)
        )
        for (name, role), encoded in zip(users, hashes, strict=True):
            await asyncio.to_thread(self._store_user, store, name, role, encoded)
        await self._set_premises(store, url, calls)
        self.simulator = CallFeedSimulator(
            self._service(url, SIM_USER, logins[SIM_USER]),
            load_roster(),
            calls,
            interval=self.call_interval,
            speed=self.speed,
        )
        self.call_simulator = CallSimulator(
            self._service(url, CALL_SIM_USER, logins[CALL_SIM_USER]),
            calls,
            interval=self.ring_interval,
        )
        self.avl_simulator = AvlSimulator(
            self._service(url, AVL_SIM_USER, logins[AVL_SIM_USER]), speed=self.speed
        )
        self.radio_simulator = RadioGatewaySimulator(
            self._service(url, RADIO_SIM_USER, logins[RADIO_SIM_USER]),
            emergency_every=self.emergency_interval,
        )
        return [
            asyncio.create_task(self.simulator.run(), name="call feed simulator"),
            asyncio.create_task(self.call_simulator.run(), name="call simulator"),
            asyncio.create_task(
                _after(AVL_START_DELAY_S, self.avl_simulator.run()), name="AVL simulator"
            ),
            asyncio.create_task(
                _after(RADIO_START_DELAY_S, self.radio_simulator.run()),
                name="radio gateway simulator",
            ),
        ]

    async def _set_premises(self, store: SqliteStore, url: str, calls: list[CallTemplate]) -> None:
        """Flag `DEMO_PREMISES` as ``floor-admin`` (flags already set are refused ``no_change``
        and left). A failure is logged: the floor runs without them."""
        commands = await asyncio.to_thread(demo_premises, calls, Geocoder.load_default())
        admin_password = secrets.token_urlsafe(16)
        await asyncio.to_thread(self._ensure_user, store, PREMISE_USER, "admin", admin_password)
        try:
            async with await AdminClient.connect(
                url, PREMISE_USER, admin_password, tool="demo floor"
            ) as client:
                results = await client.submit(commands)
        except AdminError as exc:
            log.warning("demo premises not set: %s", exc)
            return
        for command, result in zip(commands, results, strict=True):
            if result.error is not None and result.error.code != ErrorCode.NO_CHANGE:
                log.warning("demo premise %s refused: %s", command.address, result.error.message)

    @staticmethod
    def _service(url: str, user: str, password: str) -> DispatchService:
        """A headless workstation core for a simulator, over a fresh temporary directory."""
        config = ServiceConfig(
            data_dir=Path(tempfile.mkdtemp(prefix=f"dispatch-{user}-")),
            url=url,
            workstation="simulator",
            backoff=Backoff(0.2, 2.0, 5.0),
        )
        return DispatchService(config, SignIn(user, password))

    @staticmethod
    def _ensure_user(store: SqliteStore, name: str, role: str, password: str) -> None:
        """Create the user, or give it this run's password (demo credentials live in memory)."""
        EmbeddedServer._store_user(store, name, role, hash_password(password))

    @staticmethod
    def _store_user(store: SqliteStore, name: str, role: str, encoded: str) -> None:
        """Create the user with the password hash ``encoded``, or give it that hash."""
        if store.get_user(name) is None:
            store.add_user(name, role, encoded, time.time())
        else:
            store.set_password(name, encoded)


async def _after(delay: float, run: Coroutine[Any, Any, None]) -> None:
    """Run ``run`` once ``delay`` seconds have passed (closed unstarted if cancelled first)."""
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        run.close()
        raise
    await run
