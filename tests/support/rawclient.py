"""A bare protocol client over a real websocket, for tests that must send exact frames."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
from websockets.asyncio.client import ClientConnection, connect

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
    Result,
    ResultBody,
    Role,
    ServerFrame,
    Welcome,
)
from tests.support.serverproc import PASSWORD


class RawClient:
    """Send frames by hand; frames received are kept in ``frames``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.frames: list[ServerFrame] = []
        self.welcome: Welcome | None = None

    @classmethod
    async def connect(
        cls, url: str, user: str | None = None, role: Role | None = None, last_seq: int = 0
    ) -> RawClient:
        ws = await connect(url, ping_interval=None, max_size=None, close_timeout=1)
        client = cls(ws)
        if user is not None:
            hello = HelloBody(
                auth=PasswordAuth(username=user, password=PASSWORD),
                client_id=f"raw-{user}",
                workstation="raw",
                last_seq=last_seq,
                role_requested=role,
            )
            await client.send_frame(encode(Hello(body=hello)))
            frame = await client.recv()
            assert isinstance(frame, Welcome), frame
            client.welcome = frame
        return client

    async def send_frame(self, data: bytes | str, *, text: bool = True) -> None:
        await self.ws.send(data, text=text)

    async def recv(self, timeout: float = 5.0) -> ServerFrame:
        frame = decode_server_frame(await asyncio.wait_for(self.ws.recv(), timeout), 1 << 30)
        self.frames.append(frame)
        return frame

    async def reply(self, timeout: float = 5.0) -> ServerFrame:
        """The next frame that is not an event (events are kept in ``frames``)."""
        while True:
            frame = await self.recv(timeout)
            if not isinstance(frame, Event):
                return frame

    async def command(self, kind: str, args: Any, key: str | None = None) -> ResultBody:
        """Send one command and return its result (events received meanwhile are kept)."""
        key = key or uuid7()
        body = CommandBody(
            key=key,
            client_seq=1,
            kind=kind,
            args=msgspec.Raw(msgspec.json.encode(args)),
            issued_at=time.time(),
        )
        await self.send_frame(encode(Command(body=body)))
        while True:
            frame = await self.recv()
            if isinstance(frame, Error):
                raise AssertionError(f"protocol error: {frame.body}")
            if isinstance(frame, Result) and frame.body.key == key:
                return frame.body

    def events(self) -> list[Event]:
        return [f for f in self.frames if isinstance(f, Event)]

    async def close(self) -> None:
        await self.ws.close()
