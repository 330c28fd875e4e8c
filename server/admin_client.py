"""A small protocol client for administration tools: sign in, read the floor, submit commands.

`AdminClient` is what ``dispatch-server units`` talks to a *running* server with (the server
is the only writer of its world, so a tool never writes its database behind its back). It
drives the sans-I/O `desktop.protocol.session.ClientSession` over one websocket:

- `AdminClient.connect` signs in with a password, asking for ``role`` (``admin`` by default: an
  account that may not work as one is refused with `AdminRefused`), and reads the resync
  (events or snapshot) into a `desktop.domain.world.World` until the sync is complete;
- `AdminClient.submit` sends commands with fresh UUID idempotency keys, in order, a few in
  flight at a time and paced below the rate the welcome announced, and returns each command's
  result (events arriving meanwhile keep the world current). Nothing is queued on disk: a tool
  that loses its connection fails (`AdminConnectionLost`), and is simply run again (what it
  sends is worked out again from the server's roster).
"""

from __future__ import annotations

import asyncio
import getpass
import os
import socket
import ssl
import sys
import time
import uuid
from collections.abc import Coroutine, Sequence
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from desktop.domain.catalog import EVENTS, command_kind_of
from desktop.domain.kinds import CommandArgs
from desktop.domain.types import Unit
from desktop.domain.world import World, snapshot_lists, world_from_lists
from desktop.protocol.errors import ProtocolError
from desktop.protocol.messages import CommandBody, PasswordAuth, ResultBody, Role, WelcomeBody
from desktop.protocol.session import (
    ClientConfig,
    ClientSession,
    EventReceived,
    ResultReceived,
    ServerErrorReceived,
    SnapshotReceived,
    SyncComplete,
)

__all__ = [
    "AdminClient",
    "AdminConnectionLost",
    "AdminError",
    "AdminRefused",
    "read_password",
    "run_action",
]

#: Commands in flight at once (results awaited before more are sent).
WINDOW = 32
#: The share of the announced command rate the client uses.
PACE = 0.5

_event_decoders = {name: msgspec.json.Decoder(kind.data) for name, kind in EVENTS.items()}
_json = msgspec.json.Encoder()


class AdminError(Exception):
    """The tool could not do its work; the message says why, for the operator."""


class AdminRefused(AdminError):
    """The server refused the sign-in (bad password, disabled account, role not allowed)."""


class AdminConnectionLost(AdminError):
    """The connection failed or ended before the work was done."""


def run_action(
    where: str,
    work: Coroutine[Any, Any, int],
    *,
    file_errors: tuple[type[Exception], ...] = (),
    input_errors: tuple[type[Exception], ...] = (),
    refusals: tuple[type[Exception], ...] = (),
) -> int:
    """Run an admin tool's action and turn its failures into the tools' exit codes, said on
    stderr after ``where`` ("dispatch-server units import"): a file with problems (an
    exception with ``problems``) or bad input (``input_errors``, `AdminRefused`) → 2; a
    refusal (``refusals``, any other `AdminError`) → 1; the reader of stdout gone → 0."""
    bad_input: tuple[type[Exception], ...] = (*input_errors, AdminRefused)
    refused: tuple[type[Exception], ...] = (*refusals, AdminError)
    try:
        return asyncio.run(work)
    except file_errors as exc:
        count = len(getattr(exc, "problems", ()))
        print(
            f"{where}: {count} problem{'s' if count > 1 else ''}, nothing sent:\n{exc}",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:  # the reader went away (| head): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return 0
    except bad_input as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 2
    except refused as exc:
        print(f"{where}: {exc}", file=sys.stderr)
        return 1


def read_password(user: str) -> str:
    """The admin tools' password: a prompt on a terminal, otherwise the first line of stdin.
    Raises `AdminRefused` for an empty one (the tools exit 2, as for a refused sign-in)."""
    if sys.stdin.isatty():
        password = getpass.getpass(f"Password for {user}: ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise AdminRefused("no password given (a prompt, or the first line of stdin)")
    return password


class AdminClient:
    """One signed-in connection; use `connect`, then `world`/`units`, `submit`, `close`."""

    def __init__(self, ws: ClientConnection, session: ClientSession, timeout: float) -> None:
        self._ws = ws
        self._session = session
        self._timeout = timeout
        self.world = World()
        self._client_seq = 0
        self._results: dict[str, ResultBody] = {}
        self._next_send = 0.0

    @classmethod
    async def connect(
        cls,
        url: str,
        user: str,
        password: str,
        *,
        role: Role = "admin",
        ca_file: str | None = None,
        timeout: float = 15.0,
        tool: str = "dispatch-server",
    ) -> AdminClient:
        """Connect to ``url`` (``ws://`` or ``wss://``; ``ca_file``: a private CA to verify the
        server's certificate with), sign in as ``user`` in ``role`` and read the floor. Raises
        `AdminRefused` or `AdminConnectionLost`."""
        context: ssl.SSLContext | None = None
        if url.startswith("wss://"):
            context = ssl.create_default_context(cafile=ca_file)
        try:
            ws = await asyncio.wait_for(
                connect(url, ssl=context, max_size=None, ping_interval=None, close_timeout=2),
                timeout,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            reason = str(exc) or type(exc).__name__
            raise AdminConnectionLost(f"cannot connect to {url}: {reason}") from None
        config = ClientConfig(
            client_id=f"{tool}-{uuid.uuid4()}",
            workstation=f"{socket.gethostname()} ({tool})",
            role_requested=role,
            max_frame_bytes=1 << 30,
        )
        session = ClientSession(config, PasswordAuth(username=user, password=password), 0, 0.0)
        client = cls(ws, session, timeout)
        try:
            await client._sign_in()
        except BaseException:
            await client.close()
            raise
        return client

    @property
    def welcome(self) -> WelcomeBody:
        welcome = self._session.welcome
        assert welcome is not None, "not signed in"
        return welcome

    @property
    def units(self) -> dict[str, Unit]:
        """The roster as the server has it now (a copy)."""
        return dict(self.world.units)

    async def close(self) -> None:
        await self._ws.close()

    async def __aenter__(self) -> AdminClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- commands --------------------------------------------------------------------------

    async def submit(
        self,
        commands: Sequence[CommandArgs],
        *,
        issued_at: float | None = None,
        keys: Sequence[str] | None = None,
    ) -> list[ResultBody]:
        """Send ``commands`` in order and return their results in the same order. Raises
        `AdminConnectionLost` if the connection ends first (commands already applied stay
        applied: the server remembers their keys). ``issued_at`` stamps them all (default:
        now; a replay gives the file's time); ``keys`` are their idempotency keys (default:
        fresh UUIDs; a replay derives them, so running it again applies nothing twice)."""
        if keys is not None and len(keys) != len(commands):
            raise ValueError("one key per command")
        limits = self.welcome.limits
        interval = 1.0 / max(1e-3, limits.commands_per_second * PACE)
        window = max(1, min(WINDOW, limits.command_burst // 2))
        sent: list[str] = []
        in_flight: list[str] = []
        for index, args in enumerate(commands):
            while len(in_flight) >= window:
                await self._wait_for(in_flight.pop(0))
            delay = self._next_send - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            self._next_send = max(self._next_send, time.monotonic()) + interval
            key = keys[index] if keys is not None else str(uuid.uuid4())
            sent.append(await self._send(args, key, issued_at))
            in_flight.append(sent[-1])
        for key in in_flight:
            await self._wait_for(key)
        return [self._results.pop(key) for key in sent]

    async def _send(self, args: CommandArgs, key: str, issued_at: float | None) -> str:
        self._client_seq += 1
        body = CommandBody(
            key=key,
            client_seq=self._client_seq,
            kind=command_kind_of(args).name,
            args=msgspec.Raw(_json.encode(args)),
            issued_at=time.time() if issued_at is None else issued_at,
        )
        try:
            await self._ws.send(self._session.command(body, time.time()).decode())
        except ConnectionClosed as exc:
            raise AdminConnectionLost(f"the server closed the connection ({exc})") from None
        return key

    async def _wait_for(self, key: str) -> None:
        while key not in self._results:
            await self._receive()

    # --- frames ----------------------------------------------------------------------------

    async def _sign_in(self) -> None:
        try:
            await self._ws.send(self._session.start(time.time()).decode())
        except ConnectionClosed as exc:
            raise AdminConnectionLost(f"the server closed the connection ({exc})") from None
        snapshot: list[dict[str, bytes]] = []  # the snapshot's parts so far
        while True:
            for output in await self._receive(snapshot):
                if isinstance(output, SyncComplete):
                    return

    async def _receive(self, snapshot: list[dict[str, bytes]] | None = None) -> list[Any]:
        """Read one frame and digest it (``snapshot`` gathers a snapshot's parts during the
        sign-in); returns the session's outputs."""
        try:
            data = await asyncio.wait_for(self._ws.recv(), self._timeout)
        except TimeoutError:
            raise AdminConnectionLost(
                f"no answer from the server within {self._timeout:g} s"
            ) from None
        except ConnectionClosed as exc:
            raise AdminConnectionLost(f"the server closed the connection ({exc})") from None
        try:
            outputs = self._session.receive(data, time.time())
        except ProtocolError as exc:
            raise AdminConnectionLost(f"the server broke the protocol: {exc}") from None
        for output in outputs:
            if isinstance(output, EventReceived):
                body = output.event.body
                decoder = _event_decoders.get(body.kind)
                if decoder is not None:
                    self.world.apply(decoder.decode(body.data), body.at, body.actor)
            elif isinstance(output, SnapshotReceived) and snapshot is not None:
                part = output.snapshot.body
                snapshot.append(snapshot_lists(part))
                if part.last:
                    self.world = world_from_lists(
                        {field: [lists[field] for lists in snapshot] for field in snapshot[0]}
                    )
            elif isinstance(output, ResultReceived):
                self._results[output.result.key] = output.result
            elif isinstance(output, ServerErrorReceived):
                error = output.error
                if output.fatal:
                    raise AdminRefused(f"sign-in refused: {error.code}: {error.message}")
                raise AdminConnectionLost(f"server error {error.code}: {error.message}")
        return outputs
