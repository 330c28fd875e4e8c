"""A TCP fault proxy for tests: sits between clients and the server on loopback.

Modes:
- ``pass``: bytes flow both ways.
- ``cut``: every proxied connection is aborted (RST) and new ones are closed at once, as when a
  cable is pulled and the far end answers nothing but refusals.
- ``blackhole``: connections stay open but no byte is forwarded either way and new connections
  are accepted and then ignored — the far end simply goes silent, with no FIN or RST.
`restore` returns to ``pass`` and aborts connections that were blackholed (their streams lost
bytes and cannot be resumed).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Literal

Mode = Literal["pass", "cut", "blackhole"]


class FaultProxy:
    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1") -> None:
        self.upstream_host = upstream_host
        self.upstream_port = upstream_port
        self.mode: Mode = "pass"
        self.port = 0
        self.connections_accepted = 0
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter | None]] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        self._abort_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def cut(self) -> None:
        self.mode = "cut"
        self._abort_all()

    def blackhole(self) -> None:
        self.mode = "blackhole"

    def restore(self) -> None:
        was = self.mode
        self.mode = "pass"
        if was == "blackhole":
            self._abort_all()

    def _abort_all(self) -> None:
        for client, upstream in list(self._pairs):
            client.transport.abort()
            if upstream is not None:
                upstream.transport.abort()
        self._pairs.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections_accepted += 1
        if self.mode == "cut":
            writer.transport.abort()
            return
        if self.mode == "blackhole":
            pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter | None] = (writer, None)
            self._pairs.add(pair)
            with contextlib.suppress(Exception):
                while await reader.read(65536):
                    pass
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(
                self.upstream_host, self.upstream_port
            )
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pump(source, sink, pair))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter | None],
    ) -> None:
        try:
            while data := await source.read(65536):
                if self.mode == "blackhole":
                    continue  # swallowed: the other side hears nothing
                if self.mode == "cut":
                    break
                sink.write(data)
                await sink.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if self.mode != "blackhole" and pair in self._pairs:
                self._pairs.discard(pair)
                for writer in pair:
                    if writer is not None:
                        writer.transport.abort()
