"""Helpers for the server tests: fast user creation and a bare protocol client."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

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
from server.auth import hash_password
from server.store.base import Store

if TYPE_CHECKING:
    from server.app import DispatchServer

#: The ``start_server`` fixture: ``await start_server(limits=None, config=None, db=None)``.
ServerFactory = Callable[..., Awaitable["DispatchServer"]]

PASSWORD = "s3cret-pass"
#: Cheap scrypt parameters for test users (the verifier reads them from the hash).
FAST_N = 2**8

USERS: dict[str, str] = {
    "ann": "dispatcher",
    "bob": "dispatcher",
    "carl": "calltaker",
    "sam": "supervisor",
    "root": "admin",
}


def add_users(store: Store, users: dict[str, str] | None = None) -> None:
    for name, role in (users or USERS).items():
        store.add_user(name, role, hash_password(PASSWORD, n=FAST_N), time.time())


def new_key() -> str:
    return str(uuid.uuid4())


class Client:
    """A protocol v1 client over a real websocket; every frame received is kept in ``frames``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[ServerFrame] = []
        self.welcome: Welcome | None = None
        self.client_seq = 0

    @classmethod
    async def open(cls, url: str) -> Client:
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
    ) -> Client:
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
        await self.ws.send(data, text=text)

    async def recv(self, timeout: float = 5.0) -> ServerFrame:
        async with asyncio.timeout(timeout):
            raw = await self.ws.recv()
        frame = decode_server_frame(raw, max_bytes=64 * 1024 * 1024)
        self.frames.append(frame)
        return frame

    async def send_command(
        self, kind: str, args: Any, *, key: str | None = None, client_seq: int | None = None
    ) -> str:
        key = key or new_key()
        if client_seq is None:
            self.client_seq += 1
            client_seq = self.client_seq
        body = CommandBody(
            key=key,
            client_seq=client_seq,
            kind=kind,
            args=msgspec.Raw(msgspec.json.encode(args)),
            issued_at=time.time(),
        )
        await self.send(encode(Command(body=body)))
        return key

    async def command(
        self, kind: str, args: Any, *, key: str | None = None, client_seq: int | None = None
    ) -> ResultBody:
        """Send a command and return its result (frames before it stay in ``frames``)."""
        key = await self.send_command(kind, args, key=key, client_seq=client_seq)
        return await self.result(key)

    async def result(self, key: str, timeout: float = 5.0) -> ResultBody:
        for frame in self.frames:
            if isinstance(frame, Result) and frame.body.key == key:
                return frame.body
        while True:
            frame = await self.recv(timeout)
            if isinstance(frame, Result) and frame.body.key == key:
                return frame.body

    async def ping(self) -> Pong:
        await self.send(encode(Ping(body=PingBody(t=time.time()))))
        while True:
            frame = await self.recv()
            if isinstance(frame, Pong):
                return frame

    async def next_of(self, kind: type[Any], timeout: float = 5.0) -> Any:
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
        """Read until the server closes; return its close code."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    raw = await self.ws.recv()
                    self.frames.append(decode_server_frame(raw, max_bytes=64 * 1024 * 1024))
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd is not None else None

    async def close(self) -> None:
        await self.ws.close()
