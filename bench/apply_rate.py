"""``apply_rate_ratio``: the client core's receive+decode+apply rate of event frames divided by the
raw `websockets` receive rate of the same frames, measured in one run (target >= 0.5).

A separate process serves a fixed stream of protocol v1 frames (a welcome, then N events: a
roster, incidents, then unit status changes and narrative notes) as fast as it can, to every
connection. The raw client only counts frames. The core client is a real `DispatchService`: its
`Link` decodes every frame with the sans-I/O session, `ClientState` applies it in seq order, and
the replica is written to SQLite in one transaction per burst. Each is timed from connection to
the last event, three times, best kept.

Run: ``python bench/apply_rate.py`` (reads nothing from ../shared).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from bench._support import emit
from desktop.domain.catalog import event_kind_of
from desktop.domain.incidents import IncidentCreated, IncidentNoteAdded
from desktop.domain.kinds import EventData
from desktop.domain.types import Incident, Location, NarrativeEntry, Unit, UnitStatus
from desktop.domain.units import UnitAdded, UnitStatusChanged
from desktop.protocol.codec import encode, encode_raw
from desktop.protocol.messages import Event, EventBody, Limits, Welcome, WelcomeBody
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn

EVENTS = 60_000
UNITS = 500
INCIDENTS = 300
ROUNDS = 3


def _event_data(n: int) -> EventData:
    if n < UNITS:
        return UnitAdded(unit=Unit(id=f"U{n}", type="ENGINE", status=UnitStatus.AQ))
    if n < UNITS + INCIDENTS:
        i = n - UNITS
        return IncidentCreated(
            incident=Incident(
                id=f"inc-{i}",
                type="MEDICAL",
                priority=2,
                location=Location(address=f"{i} Mission St"),
            )
        )
    if n % 2:
        unit = n % UNITS
        toggle = (n // UNITS) % 2
        status, previous = (
            (UnitStatus.AV, UnitStatus.AQ) if toggle else (UnitStatus.AQ, UnitStatus.AV)
        )
        return UnitStatusChanged(unit_id=f"U{unit}", status=status, previous=previous)
    entry = NarrativeEntry(at=1.0, author="dsp1", text=f"radio traffic {n}")
    return IncidentNoteAdded(incident_id=f"inc-{n % INCIDENTS}", entry=entry)


def build_frames() -> list[bytes]:
    welcome = WelcomeBody(
        user="bench",
        role="dispatcher",
        server_seq=EVENTS,
        sync="replay",
        session_token="t",
        session_expires_at=time.time() + 3600,
        server_time=time.time(),
        limits=Limits(max_frame_bytes=1 << 20, commands_per_second=5000, command_burst=5000),
    )
    frames = [encode(Welcome(body=welcome))]
    for n in range(EVENTS):
        data = _event_data(n)
        body = EventBody(
            kind=event_kind_of(data).name, data=encode_raw(data), at=1.0 + n, actor="dsp1"
        )
        frames.append(encode(Event(seq=n + 1, body=body, ts=1.0)))
    return frames


def serve_forever(port_queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    frames = build_frames()

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # the hello (or the raw client's "go")
        for frame in frames:
            await ws.send(frame, text=True)
        await ws.wait_closed()

    async def run() -> None:
        async with serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
            port_queue.put(server.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(run())


async def raw_rate(url: str) -> float:
    async with connect(url, max_size=None, compression=None, ping_interval=None) as ws:
        await ws.send("go")
        started = time.perf_counter()
        await ws.recv()  # welcome
        for _ in range(EVENTS):
            await ws.recv()
        return EVENTS / (time.perf_counter() - started)


async def core_rate(url: str) -> float:
    data_dir = Path(tempfile.mkdtemp(prefix="dispatch-bench-apply-"))
    config = ServiceConfig(data_dir=data_dir, url=url, workstation="bench")
    service = DispatchService(config, SignIn("bench", "unused"))
    started = time.perf_counter()
    service.start()
    while service.state.last_seq < EVENTS:
        await asyncio.sleep(0.001)
    elapsed = time.perf_counter() - started
    assert len(service.units()) == UNITS and len(service.incidents()) == INCIDENTS
    await service.stop()
    return EVENTS / elapsed


async def main() -> None:
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    sender = multiprocessing.Process(target=serve_forever, args=(ports,), daemon=True)
    sender.start()
    url = f"ws://127.0.0.1:{ports.get(timeout=120)}"
    raw, core = [], []
    try:
        for _ in range(ROUNDS):
            raw.append(await raw_rate(url))
            core.append(await core_rate(url))
            print(f"raw websockets {raw[-1]:,.0f} frames/s   core decode+apply {core[-1]:,.0f}/s")
    finally:
        sender.terminate()
    ratio = max(core) / max(raw)
    print(f"best raw {max(raw):,.0f}/s, best core {max(core):,.0f}/s over {EVENTS:,} events")
    emit("apply_rate_ratio", ratio, "ratio", ">= 0.5")


if __name__ == "__main__":
    asyncio.run(main())
