"""A bare protocol v1 client over a real websocket, for tests that must send exact frames.

Serves both the in-process server tests (``tests/server``) and the tests against a real server
process (``tests/integration``): every test user, in either setup, has the password
`tests.support.serverproc.PASSWORD`.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, TypeVar

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from desktop.ids import uuid7
from desktop.protocol.codec import decode_server_frame, encode
from desktop.protocol.messages import (
    Command,
    CommandBody,
    Error,
    Event,
    Hello,
    HelloBody,
    PasswordAuth,
    Ping,
    PingBody,
    Pong,
    Result,
    ResultBody,
    Role,
    ServerFrame,
    Snapshot,
    TokenAuth,
    Welcome,
)
from tests.support.serverproc import PASSWORD

#: Frames the client accepts: anything the server sends (the tests check the server's limits).
MAX_FRAME_BYTES = 1 << 30

F = TypeVar("F", bound=ServerFrame)


def new_key() -> str:
    """A fresh idempotency key (a canonical UUID string, as the server requires)."""
    return uuid7()


class RawClient:
    """Send frames by hand; every frame received is kept in ``frames``, in order."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[ServerFrame] = []
        self.welcome: Welcome | None = None
        self.client_seq = 0

    @classmethod
    async def open(cls, url: str) -> RawClient:
        """Connect without signing in."""
        return cls(await connect(url, ping_interval=None, max_size=None, close_timeout=1))

    @classmethod
    async def login(
        cls,
        url: str,
        user: str = "ann",
        *,
        password: str = PASSWORD,
        role: Role | None = None,
        last_seq: int = 0,
        token: str | None = None,
    ) -> RawClient:
        """Connect and sign in; asserts the welcome."""
        client = await cls.open(url)
        frame = await client.hello(
            user, password=password, role=role, last_seq=last_seq, token=token
        )
        assert isinstance(frame, Welcome), frame
        return client

    async def hello(
        self,
        user: str = "ann",
        *,
        password: str = PASSWORD,
        role: Role | None = None,
        last_seq: int = 0,
        token: str | None = None,
    ) -> ServerFrame:
        """Send a hello (with ``token`` if given, else the password) and return the answer."""
        auth: PasswordAuth | TokenAuth = (
            TokenAuth(token=token)
            if token is not None
            else PasswordAuth(username=user, password=password)
        )
        body = HelloBody(
            auth=auth,
            client_id=f"test-{user}",
            workstation=f"ws-{user}",
            last_seq=last_seq,
            role_requested=role,
        )
        await self.send(encode(Hello(body=body)))
        frame = await self.recv()
        if isinstance(frame, Welcome):
            self.welcome = frame
        return frame

    async def send(self, data: bytes | str, *, text: bool = True) -> None:
        """Send ``data`` as is, in a text frame unless ``text`` is false."""
        await self.ws.send(data, text=text)

    async def recv(self, timeout: float = 5.0) -> ServerFrame:
        async with asyncio.timeout(timeout):
            raw = await self.ws.recv()
        frame = decode_server_frame(raw, MAX_FRAME_BYTES)
        self.frames.append(frame)
        return frame

    async def reply(self, timeout: float = 5.0) -> ServerFrame:
        """The next frame that is not an event (events are kept in ``frames``)."""
        while True:
            frame = await self.recv(timeout)
            if not isinstance(frame, Event):
                return frame

    async def send_command(
        self,
        kind: str,
        args: Any,
        *,
        key: str | None = None,
        client_seq: int | None = None,
        issued_at: float | None = None,
    ) -> str:
        """Send one command (``client_seq`` counts up from 1 unless given; ``issued_at`` is now
        unless given); return its key."""
        key = key or new_key()
        if client_seq is None:
            self.client_seq += 1
            client_seq = self.client_seq
        body = CommandBody(
            key=key,
            client_seq=client_seq,
            kind=kind,
            args=msgspec.Raw(msgspec.json.encode(args)),
            issued_at=time.time() if issued_at is None else issued_at,
        )
        await self.send(encode(Command(body=body)))
        return key

    async def command(
        self,
        kind: str,
        args: Any,
        *,
        key: str | None = None,
        client_seq: int | None = None,
        issued_at: float | None = None,
    ) -> ResultBody:
        """Send one command and return its result (frames before it stay in ``frames``)."""
        key = await self.send_command(
            kind, args, key=key, client_seq=client_seq, issued_at=issued_at
        )
        return await self.result(key)

    async def result(self, key: str, timeout: float = 5.0) -> ResultBody:
        """The result of the command ``key``, already received or the next to arrive.

        Raises `AssertionError` if a protocol error frame arrives while waiting.
        """
        for frame in self.frames:
            if isinstance(frame, Result) and frame.body.key == key:
                return frame.body
        while True:
            frame = await self.recv(timeout)
            if isinstance(frame, Error):
                raise AssertionError(f"protocol error: {frame.body}")
            if isinstance(frame, Result) and frame.body.key == key:
                return frame.body

    async def ping(self, queued: int | None = None) -> Pong:
        """Ping (saying ``queued`` commands are unacknowledged, if given) and await the pong."""
        await self.send(encode(Ping(body=PingBody(t=time.time(), queued=queued))))
        return await self.next_of(Pong)

    async def next_of(self, kind: type[F], timeout: float = 5.0) -> F:
        """The next frame of type ``kind`` (frames before it stay in ``frames``)."""
        while True:
            frame = await self.recv(timeout)
            if isinstance(frame, kind):
                return frame

    async def events_until(self, seq: int, timeout: float = 5.0) -> list[Event]:
        """Receive until the event ``seq`` has arrived; return every event received so far."""
        while not any(isinstance(f, Event) and f.seq >= seq for f in self.frames):
            await self.recv(timeout)
        return self.events

    @property
    def events(self) -> list[Event]:
        return [f for f in self.frames if isinstance(f, Event)]

    @property
    def errors(self) -> list[Error]:
        return [f for f in self.frames if isinstance(f, Error)]

    @property
    def snapshots(self) -> list[Snapshot]:
        return [f for f in self.frames if isinstance(f, Snapshot)]

    async def closed_with(self, timeout: float = 5.0) -> int | None:
        """Read (keeping frames) until the server closes; return its close code."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    raw = await self.ws.recv()
                    self.frames.append(decode_server_frame(raw, MAX_FRAME_BYTES))
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None

    async def close(self) -> None:
        await self.ws.close()
