"""UI figures under a steady 2,000 events/s (DESIGN.md section 6).

- ``ui_event_to_screen_p99``: milliseconds from the server sending an event to the table view
  having repainted with it, p99 (target <= 50);
- ``ui_max_stall``: the longest main-thread stall in milliseconds (target <= 50).

Method. A separate process speaks enough of protocol v1 to a real `DispatchService`: it answers
the hello with a welcome (``sync="replay"``), replays a roster (200 units, 100 open incidents),
answers pings, then streams live events at a steady 2,000 events/s for warm-up + measurement +
tail seconds: unit status cycles (dispatched, en route, on scene, available, in quarters),
incident notes, incident updates (a few re-prioritise, so the incidents table re-sorts) and
incident status changes; beside them, as the server coalesces the AVL stream, a ``positions``
frame every 0.2 s moves every unit (1,000 AVL updates/s, drawn on the map). Each event's
``at`` (and the envelope ``ts``) is ``time.time()`` when the frame is handed to the socket;
both processes share the machine's wall clock.

This process runs the product as `ui.session.Workstation` wires it: a QApplication (offscreen,
one 1920x1080 screen) on ``asyncio.Runner(loop_factory=qasync.QEventLoop)``, the dark theme, a
real `DispatchService` whose link observers feed a real `Bridge`, and the real `MainWindow`
shown with its default layout, the map open (loaded before the stream), the top incident open
in Incident detail (its units, timeline and recommendation follow the stream too) and the
Call-taking panel beside it with calls ringing. Nothing in the path is replaced:
websocket -> `Link` -> `ClientState` -> SQLite outbox/replica flush -> observers -> `Bridge`
(16 ms coalescing) -> `BoardModels` -> ``dataChanged`` -> view paint.

Instrumentation (it observes and times; it changes no behaviour):
- ``ClientState.add_event_listener`` gives each event's seq and send time on arrival;
- a `DispatchService` observer subscribed after the bridge notes ``last_seq`` at each flush, so
  a bridge emission covers every event up to the newest flush watermark;
- slots on ``Bridge.changed`` before and after the window's (its connection is made again
  between them; Qt calls slots in connection order) time the models' refresh; the one after
  marks each covered event "refreshed", waiting for its table (the units table for ``unit.*``
  events, the incidents table for ``incident.*``), and "visible" if its row is in the viewport;
- an event filter on each table viewport counts its ``Paint`` events, and one on the main window
  runs each ``UpdateRequest`` (the backing-store sync in which every dirty widget paints) through
  the window's own handler and notes when it returns: an event is shown at the end of the first
  update request, after its refresh, in which its table's viewport painted;
- a 5 ms ``PreciseTimer`` records the gaps between its timeouts: gap - 5 ms is a stall. For the
  longest gaps the report shows which timed work ran inside them: paint, models refresh, the
  window's 1 s tick (timed by slots around it), the link's flush (SQLite, observers; timed by
  wrapping ``Link._flush`` on the instance) and Python's cyclic garbage collector
  (``gc.callbacks``; a collection inside a flush counts for both).

Qt does not repaint a viewport for a changed row that is scrolled out of view, so only events
on rows visible when their refresh happened reach the screen; the headline p99 is over those.
The figure for every event (first paint of its table after its refresh, whatever row it was on)
is printed too: it adds the wait for some other visible change and is not a pixel latency.

Run: ``python bench/ui_latency.py`` (about 20 s). ``--rate`` and ``--seconds`` explore other
loads (figures are emitted for the defaults only); ``--profile`` adds a cProfile of the UI
process over the window (figures measured under the profiler are not comparable);
``--slow-disk-ms 20`` makes every fsync of the UI process 20 ms slower (``bench/slow_disk.c``
preloaded: a busy hard disk or a loaded virtual machine, where SQLite commits that wait for the
disk on the event loop would stall the screen) and emits the figures with ``_slow_disk_20ms``
appended.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import math
import multiprocessing
import os
import pstats
import random
import resource
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import msgspec

from bench._support import emit, slow_disk_env
from desktop.domain.calls import CallAbandoned, CallOffered
from desktop.domain.catalog import event_kind_of
from desktop.domain.incidents import (
    IncidentCreated,
    IncidentNoteAdded,
    IncidentStatusChanged,
    IncidentUpdated,
)
from desktop.domain.kinds import EventData
from desktop.domain.types import (
    Call,
    Caller,
    Incident,
    IncidentStatus,
    Location,
    NarrativeEntry,
    Unit,
    UnitStatus,
)
from desktop.domain.units import UnitAdded, UnitDispatched, UnitStatusChanged
from desktop.protocol.codec import decode_client_frame, encode
from desktop.protocol.errors import ProtocolError
from desktop.protocol.messages import (
    Event,
    EventBody,
    Hello,
    Limits,
    Ping,
    Pong,
    PongBody,
    PositionFix,
    Positions,
    PositionsBody,
    Welcome,
    WelcomeBody,
)

RATE = 2_000  # events per second (--rate changes it; figures are emitted only at this rate)
WARMUP = 2.0  # s of stream before the measurement window
MEASURE = 10.0  # s of measurement window (--seconds)
TAIL = 1.0  # s of stream after it, so the window's last events are not the stream's last
UNITS = 200
INCIDENTS = 100
CALLS_RINGING = 12  # calls ringing in the Call-taking panel, and as many abandoned
AVL_INTERVAL = 0.2  # s between positions frames: every unit moves (1,000 AVL updates/s)

STALL_TICK_MS = 5
SEED = 911
#: One 1920x1080 screen (Qt's offscreen default is 800x600, smaller than the window).
SCREEN = {"name": "MAIN", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96,
          "logicalBaseDpi": 96, "dpr": 1}  # fmt: skip

UNIT_KINDS = (("E", "ENGINE", 60), ("M", "MEDIC", 70), ("T", "TRUCK", 30), ("B", "BATTALION", 10),
              ("R", "RESCUE", 20), ("S", "SUPPORT", 10))  # fmt: skip
INCIDENT_TYPES = ("MEDICAL", "STRUCTURE FIRE", "ALARM", "TRAFFIC COLLISION", "GAS LEAK",
                  "RESCUE", "VEHICLE FIRE", "HAZMAT")  # fmt: skip
STREETS = ("Mission St", "Valencia St", "Market St", "Geary Blvd", "Van Ness Ave", "Folsom St",
           "Divisadero St", "Irving St", "Taraval St", "3rd St")  # fmt: skip


# --- the event stream (both processes build the same one) -----------------------------------


@dataclass(frozen=True, slots=True)
class Stream:
    roster: list[tuple[str, bytes, float]]  # (kind, data JSON, seconds before the stream)
    live: list[tuple[str, bytes]]  # (kind, data JSON)
    subjects: list[tuple[int, str]]  # per live event: (0 incidents table | 1 units table, id)


def _unit_ids() -> list[tuple[str, str]]:
    ids = [
        (f"{prefix}{n}", kind) for prefix, kind, count in UNIT_KINDS for n in range(1, count + 1)
    ]
    assert len(ids) == UNITS
    return ids


def build_stream(seconds: float, rate: float = RATE) -> Stream:
    """A deterministic roster and ``seconds`` of live traffic at ``rate`` events/s."""
    rng = random.Random(SEED)
    encoder = msgspec.json.Encoder()
    roster: list[tuple[str, bytes, float]] = []
    units = _unit_ids()
    for unit_id, kind in units:
        data: EventData = UnitAdded(
            unit=Unit(id=unit_id, type=kind, station=f"S{rng.randint(1, 40)}", status=UnitStatus.AQ)
        )
        roster.append((event_kind_of(data).name, encoder.encode(data), rng.uniform(600, 7200)))
    incident_ids = [f"inc-{n:04d}" for n in range(INCIDENTS)]
    for n, incident_id in enumerate(incident_ids):
        data = IncidentCreated(
            incident=Incident(
                id=incident_id,
                number=f"F2612-{n + 1:06d}",
                type=rng.choice(INCIDENT_TYPES),
                priority=rng.randint(1, 4),
                location=Location(
                    address=f"{rng.randint(1, 3999)} {rng.choice(STREETS)}", city="San Francisco"
                ),
                caller=Caller(name="Caller", callback=f"415555{n:04d}"),
                status=IncidentStatus.PENDING,
            )
        )
        roster.append((event_kind_of(data).name, encoder.encode(data), rng.uniform(60, 3600)))
    for n in range(2 * CALLS_RINGING):  # the Call-taking panel's ringing and callback lists
        call = Call(id=f"call-{n:03d}", ani=f"415555{n:04d}", class_of_service="wireless")
        roster.append(("call.offered", encoder.encode(CallOffered(call=call)), rng.uniform(5, 90)))
        if n >= CALLS_RINGING:
            data = CallAbandoned(call_id=call.id, reason="caller hung up")
            roster.append((event_kind_of(data).name, encoder.encode(data), 1.0))

    # unit state machine: AQ/AV -> (dispatched) DP -> ER -> OS -> AV -> AQ ...
    status = {unit_id: UnitStatus.AQ for unit_id, _ in units}
    on_incident: dict[str, str | None] = dict.fromkeys(status)
    incident_status = dict.fromkeys(incident_ids, IncidentStatus.PENDING)
    unit_list = [unit_id for unit_id, _ in units]
    live: list[tuple[str, bytes]] = []
    subjects: list[tuple[int, str]] = []
    for n in range(int(seconds * rate)):
        roll = rng.random()
        subject: tuple[int, str]
        if roll < 0.50:  # a unit moves on through its cycle
            unit_id = rng.choice(unit_list)
            current = status[unit_id]
            if current in (UnitStatus.AQ, UnitStatus.AV):
                incident_id = rng.choice(incident_ids)
                data = UnitDispatched(unit_id=unit_id, incident_id=incident_id)
                status[unit_id], on_incident[unit_id] = UnitStatus.DP, incident_id
            else:
                following = {
                    UnitStatus.DP: UnitStatus.ER,
                    UnitStatus.ER: UnitStatus.OS,
                    UnitStatus.OS: UnitStatus.AV,
                }[current]
                incident = on_incident[unit_id] if following is not UnitStatus.AV else None
                data = UnitStatusChanged(
                    unit_id=unit_id, status=following, previous=current, incident_id=incident
                )
                status[unit_id], on_incident[unit_id] = following, incident
            subject = (1, unit_id)
        elif roll < 0.80:  # narrative
            incident_id = rng.choice(incident_ids)
            entry = NarrativeEntry(at=0.0, author="dsp1", text=f"radio traffic {n}: {rng.random()}")
            data = IncidentNoteAdded(incident_id=incident_id, entry=entry)
            subject = (0, incident_id)
        elif roll < 0.95:  # location/caller corrections; one in twenty re-prioritises
            incident_id = rng.choice(incident_ids)
            if rng.random() < 0.05:
                data = IncidentUpdated(incident_id=incident_id, priority=rng.randint(1, 4))
            elif rng.random() < 0.5:
                address = f"{rng.randint(1, 3999)} {rng.choice(STREETS)}"
                data = IncidentUpdated(
                    incident_id=incident_id,
                    location=Location(address=address, city="San Francisco"),
                )
            else:
                data = IncidentUpdated(
                    incident_id=incident_id, caller=Caller(name=f"Caller {n}", callback="4155550")
                )
            subject = (0, incident_id)
        else:  # incident status
            incident_id = rng.choice(incident_ids)
            new = (
                IncidentStatus.ACTIVE
                if incident_status[incident_id] is not IncidentStatus.ACTIVE
                else IncidentStatus.DISPATCHED
            )
            incident_status[incident_id] = new
            data = IncidentStatusChanged(incident_id=incident_id, status=new)
            subject = (0, incident_id)
        live.append((event_kind_of(data).name, encoder.encode(data)))
        subjects.append(subject)
    return Stream(roster, live, subjects)


# --- the sender process ---------------------------------------------------------------------


def show_call_taking(window: Any) -> None:
    """The Call-taking dock beside Incident detail, with a verified address in its draft."""
    from PySide6.QtCore import Qt

    from desktop.domain.types import LocationArgs

    docks = window.docks
    window.splitDockWidget(docks["incident_detail"], docks["call_taking"], Qt.Orientation.Vertical)
    docks["call_taking"].show()
    where = LocationArgs(address="1200 MARKET ST", lat=37.77877, lon=-122.41484, verified=True)
    window.call_taking._on_address(where, "1200 MARKET ST")


class AvlFeed:
    """Every unit drives a random walk over the city: one `positions` frame per
    `AVL_INTERVAL` with a fix for each unit (200 units every 0.2 s: 1,000 AVL updates/s, as the
    server coalesces them)."""

    def __init__(self, units: list[tuple[str, str]]) -> None:
        rng = random.Random(SEED)
        self.rng = rng
        self.where = {
            unit_id: [37.72 + 0.08 * rng.random(), -122.51 + 0.12 * rng.random()]
            for unit_id, _ in units
        }

    def frame(self, now: float) -> bytes:
        fixes = []
        for unit_id, point in self.where.items():
            point[0] += self.rng.uniform(-2e-4, 2e-4)
            point[1] += self.rng.uniform(-2e-4, 2e-4)
            fixes.append(PositionFix(unit_id=unit_id, lat=point[0], lon=point[1], at=now))
        return encode(Positions(body=PositionsBody(fixes=fixes), ts=now))


def serve_forever(port_queue: Any, seconds: float, rate: float) -> None:
    """Serve protocol v1 on 127.0.0.1: welcome, roster replay, then live events at ``rate``/s."""
    from websockets.asyncio.server import ServerConnection, serve

    stream = build_stream(seconds, rate)

    def frame(seq: int, kind: str, data: bytes, at: float) -> bytes:
        body = EventBody(kind=kind, data=msgspec.Raw(data), at=at, actor="dsp1")
        return encode(Event(seq=seq, body=body, ts=at))

    async def answer_pings(ws: ServerConnection) -> None:
        async for message in ws:
            try:
                incoming = decode_client_frame(message)
            except ProtocolError:
                continue
            if isinstance(incoming, Ping):
                now = time.time()
                pong = Pong(body=PongBody(t=incoming.body.t, server_time=now), ts=now)
                await ws.send(encode(pong), text=True)

    async def handler(ws: ServerConnection) -> None:
        hello = decode_client_frame(await ws.recv())
        assert isinstance(hello, Hello), hello
        now = time.time()
        welcome = WelcomeBody(
            user="bench",
            role="dispatcher",
            server_seq=len(stream.roster),
            sync="replay",
            session_token="t",
            session_expires_at=now + 3600,
            server_time=now,
            limits=Limits(max_frame_bytes=1 << 20, commands_per_second=50, command_burst=100),
        )
        await ws.send(encode(Welcome(body=welcome, ts=now)), text=True)
        for seq, (kind, data, age) in enumerate(stream.roster, start=1):
            await ws.send(frame(seq, kind, data, now - age), text=True)
        pings = asyncio.get_running_loop().create_task(answer_pings(ws))
        base = len(stream.roster)
        total = len(stream.live)
        start = time.perf_counter()
        sent = 0
        avl = AvlFeed(_unit_ids())
        next_avl = start
        while sent < total:  # steady pacing: every event goes out at its due time (1 ms grain)
            due = min(total, int((time.perf_counter() - start) * rate) + 1)
            while sent < due:
                kind, data = stream.live[sent]
                sent += 1
                await ws.send(frame(base + sent, kind, data, time.time()), text=True)
            if time.perf_counter() >= next_avl:  # the server's coalesced positions frame
                await ws.send(avl.frame(time.time()), text=True)
                next_avl += AVL_INTERVAL
            await asyncio.sleep(0.001)
        await ws.wait_closed()
        pings.cancel()

    async def run() -> None:
        async with serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as server:
            port_queue.put(server.sockets[0].getsockname()[1])
            await asyncio.Future()

    asyncio.run(run())


# --- measurement in the UI process ----------------------------------------------------------


# What this process keeps per event is in arrays, which hold no Python objects: the bench adds
# nothing for Python's cyclic garbage collector to traverse, so the collections measured are the
# product's own (lists of a few hundred thousand items would add some 20 ms to each).


@dataclass(frozen=True, slots=True)
class Plan:
    """What the UI process needs of the stream: its size and each live event's table and row."""

    roster: int
    live: int
    tables: bytes  # per live event: 0 the incidents table, 1 the units table
    entities: array[int]  # per live event: index into ``names``
    names: tuple[str, ...]

    @classmethod
    def of(cls, stream: Stream) -> Plan:
        names = tuple(sorted({entity_id for _, entity_id in stream.subjects}))
        number = {name: n for n, name in enumerate(names)}
        return cls(
            len(stream.roster),
            len(stream.live),
            bytes(table for table, _ in stream.subjects),
            array("I", (number[entity_id] for _, entity_id in stream.subjects)),
            names,
        )


@dataclass(frozen=True, slots=True)
class Record:
    """Per live event (index = seq - roster size - 1); times are ``time.time()``, NaN: not yet."""

    sent: array[float]
    received: array[float]
    refreshed: array[float]
    shown: array[float]
    visible: bytearray

    @classmethod
    def empty(cls, n: int) -> Record:
        def nans() -> array[float]:
            return array("d", [math.nan]) * n

        return cls(nans(), nans(), nans(), nans(), bytearray(n))


WORK = ("link flush", "models refresh", "paint", "1 s tick", "gc")  # gc: the cyclic collector


class Spans:
    """Timed main-thread work, for the stall attribution: perf_counter start, end, `WORK` index."""

    def __init__(self) -> None:
        self.start: array[float] = array("d")
        self.end: array[float] = array("d")
        self.what: array[int] = array("B")

    def add(self, start: float, what: int) -> None:
        self.start.append(start)
        self.end.append(time.perf_counter())
        self.what.append(what)

    def durations(self, what: int, start: float, end: float) -> list[float]:
        """Milliseconds of each span of ``what`` that started in [start, end)."""
        return [
            (b - a) * 1000
            for a, b, w in zip(self.start, self.end, self.what, strict=True)
            if w == what and start <= a < end
        ]

    def overlap(self, what: int, start: float, end: float) -> float:
        """Milliseconds of ``what`` inside [start, end]."""
        return 1000 * sum(
            max(0.0, min(end, b) - max(start, a))
            for a, b, w in zip(self.start, self.end, self.what, strict=True)
            if w == what and a < end and b > start
        )


@dataclass
class Counters:
    paints: list[int] = field(default_factory=lambda: [0, 0])  # viewport paints per table
    stray_paints: int = 0  # viewport paints outside the main window's update requests
    update_requests: int = 0
    emissions: int = 0
    spans: Spans = field(default_factory=Spans)


LINK_FLUSH, MODELS_REFRESH, PAINT, TICK, GC = range(len(WORK))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def _spread(values: list[float]) -> str:
    if not values:
        return "none"
    return (
        f"p50 {percentile(values, 50):6.2f}  p95 {percentile(values, 95):6.2f}  "
        f"p99 {percentile(values, 99):6.2f}  max {max(values):6.2f}  (n={len(values):,})"
    )


async def measure(args: argparse.Namespace, url: str, plan: Plan, work_dir: Path) -> dict[str, Any]:
    from PySide6.QtCore import QEvent, QObject, Qt, QTimer

    from desktop.link import LinkPhase
    from desktop.service import DispatchService, ServiceConfig
    from desktop.signin import SignIn
    from ui.bridge import Bridge
    from ui.main_window import MainWindow

    base = plan.roster
    n_live = plan.live
    last_seq = base + n_live
    record = Record.empty(n_live)
    counters = Counters()
    spans = counters.spans
    tables, entities, names = plan.tables, plan.entities, plan.names

    # As ui.session.Workstation.run wires it.
    bridge = Bridge()
    config = ServiceConfig(data_dir=work_dir / "data", url=url, workstation="bench")
    service = DispatchService(config, SignIn("bench", "unused"), on_status=bridge.on_status)
    service.subscribe(bridge.on_change)
    window = MainWindow(service, bridge, work_dir / "config")
    window.show()
    # the map open before the stream, as it is a few seconds into a shift (it loads behind the
    # board: the start-up benches time that); its markers then follow the AVL feed
    window.advisor.load()
    window.maps.start(behind=False)
    moved = [0]  # AVL fixes applied (units moved)
    service.subscribe(lambda change: moved.__setitem__(0, moved[0] + len(change.positions)))
    service.start()

    views = (window.incidents_view, window.units_view)
    models = (window.models.incidents, window.models.units)
    viewports = tuple(view.viewport() for view in views)
    state = service.state

    # arrival: seq and send time of every event
    def on_event(seq: int, kind: str, data: bytes, at: float, key: str | None) -> None:
        i = seq - base - 1
        if i >= 0:
            record.sent[i] = at
            record.received[i] = time.time()

    state.add_event_listener(on_event)

    # flush watermark: the bridge has been told about every event up to it
    watermark = [0]

    def on_flush(change: object) -> None:
        watermark[0] = state.last_seq

    service.subscribe(on_flush)

    # refresh: bridge.changed slots before and after the window's (connected in its __init__)
    awaiting: tuple[list[int], list[int]] = ([], [])
    next_index = [0]
    refresh_started = [0.0]
    bridge.changed.disconnect(window._on_changed)
    bridge.changed.connect(lambda _change: refresh_started.__setitem__(0, time.perf_counter()))
    bridge.changed.connect(window._on_changed)

    def on_refreshed(_change: object) -> None:
        spans.add(refresh_started[0], MODELS_REFRESH)
        counters.emissions += 1
        now = time.time()
        upto = watermark[0] - base  # exclusive index bound
        heights = [vp.height() for vp in viewports]
        for i in range(next_index[0], upto):
            table = tables[i]
            record.refreshed[i] = now
            row = models[table].row_of(names[entities[i]])
            if row is not None:
                y = views[table].rowViewportPosition(row)
                record.visible[i] = y + views[table].rowHeight(row) > 0 and y < heights[table]
            awaiting[table].append(i)
        next_index[0] = max(next_index[0], upto)

    bridge.changed.connect(on_refreshed)

    # paint: viewport Paint inside the main window's UpdateRequest; shown when that request ends
    painted_in_request: set[int] = set()
    in_request = [0]

    def stamp(table: int, at: float) -> None:
        shown = record.shown
        for i in awaiting[table]:
            shown[i] = at
        awaiting[table].clear()

    class PaintProbe(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            kind = event.type()
            if kind == QEvent.Type.Paint:
                for table, viewport in enumerate(viewports):
                    if watched is viewport:
                        counters.paints[table] += 1
                        if in_request[0]:
                            painted_in_request.add(table)
                        else:
                            counters.stray_paints += 1
                            stamp(table, time.time())
                return False
            if kind == QEvent.Type.UpdateRequest and watched is window:
                counters.update_requests += 1
                started = time.perf_counter()
                in_request[0] += 1
                try:
                    window.event(event)  # the window's own handler: sync the backing store
                finally:
                    in_request[0] -= 1
                ended = time.time()
                spans.add(started, PAINT)
                for table in painted_in_request:
                    stamp(table, ended)
                painted_in_request.clear()
                return True  # handled above
            return False

    probe = PaintProbe()
    for viewport in viewports:
        viewport.installEventFilter(probe)
    window.installEventFilter(probe)

    # the other main-thread work, timed for the stall attribution (wrappers only measure)
    link = service.link
    link_flush = link._flush

    def timed_flush(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        try:
            link_flush(*args, **kwargs)
        finally:
            spans.add(started, LINK_FLUSH)

    link._flush = timed_flush  # type: ignore[method-assign]  # call_soon looks it up each time
    tick_started = [0.0]
    window._second.timeout.disconnect(window._tick)
    window._second.timeout.connect(lambda: tick_started.__setitem__(0, time.perf_counter()))
    window._second.timeout.connect(window._tick)
    window._second.timeout.connect(lambda: spans.add(tick_started[0], TICK))

    gc_started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            gc_started[0] = time.perf_counter()
        else:
            spans.add(gc_started[0], GC)

    gc.callbacks.append(on_gc)

    # stalls: a 5 ms precise timer; every gap between timeouts, with the wall time it ended
    gap_at: array[float] = array("d")  # time.time() at the end of each gap
    gap_start: array[float] = array("d")  # perf_counter at its start and end
    gap_end: array[float] = array("d")
    last_tick = [time.perf_counter()]

    def on_tick() -> None:
        now = time.perf_counter()
        gap_at.append(time.time())
        gap_start.append(last_tick[0])
        gap_end.append(now)
        last_tick[0] = now

    ticker = QTimer()
    ticker.setTimerType(Qt.TimerType.PreciseTimer)
    ticker.setInterval(STALL_TICK_MS)
    ticker.timeout.connect(on_tick)
    ticker.start()

    profiler = cProfile.Profile() if args.profile else None
    profiling = False
    loop = asyncio.get_running_loop()
    started = loop.time()
    print(f"connecting to {url} ...", flush=True)
    while state.last_seq <= base:
        if loop.time() - started > 30:
            raise SystemExit(f"no live events after 30 s (link: {service.status})")
        await asyncio.sleep(0.01)
    stream_start = record.sent[0]
    # as at a real position: the top incident of the queue is open in Incident detail, whose
    # units, timeline and recommendation follow the stream too; the Call-taking panel is shown
    # beside it with calls ringing (their times tick) and an address entered for a call, whose
    # duplicates and prior incidents are looked up again as incidents change
    window.selection.select_incident(window.models.incidents.id_at(0))
    show_call_taking(window)
    measure_s = args.seconds
    window_start, window_end = stream_start + WARMUP, stream_start + WARMUP + measure_s
    print(
        f"LIVE={service.status.phase is LinkPhase.LIVE}; roster {len(service.units())} units, "
        f"{len(service.incidents())} incidents; window {window.width()}x{window.height()}, "
        f"incidents viewport {viewports[0].width()}x{viewports[0].height()}, "
        f"units viewport {viewports[1].width()}x{viewports[1].height()}",
        flush=True,
    )
    map_panel = window.maps.holders["map"].panel
    assert map_panel is not None and window.docks["map"].isVisible(), "the map is not open"
    moves_in_window = [0, 0]  # AVL unit moves applied at the window's start and end
    progress_at = stream_start
    cpu_at_start: float | None = None
    cpu_at_end: float | None = None
    perf_window = [0.0, 0.0]
    while state.last_seq < last_seq or awaiting[0] or awaiting[1]:
        now = time.time()
        if cpu_at_start is None and now >= window_start:
            cpu_at_start, perf_window[0] = _cpu_seconds(), time.perf_counter()
            moves_in_window[0] = moved[0]
            if profiler is not None:
                profiler.enable()
                profiling = True
        if cpu_at_end is None and now >= window_end:
            cpu_at_end, perf_window[1] = _cpu_seconds(), time.perf_counter()
            moves_in_window[1] = moved[0]
            if profiler is not None:
                profiler.disable()
                profiling = False
        if now - progress_at >= 1.0:
            progress_at = now
            phase = "warm-up" if now < window_start else "measuring" if now < window_end else "tail"
            print(
                f"  t={now - stream_start:5.1f}s {phase:9} "
                f"seq {state.last_seq - base:6,}/{n_live:,}"
                f"  paints {counters.paints[0]:4}/{counters.paints[1]:4}"
                f"  emissions {counters.emissions:4}",
                flush=True,
            )
        if now - stream_start > WARMUP + measure_s + TAIL + 30:
            raise SystemExit(f"stream not finished 30 s after its end (seq {state.last_seq})")
        await asyncio.sleep(0.05)
    ticker.stop()
    gc.callbacks.remove(on_gc)
    if profiler is not None and profiling:
        profiler.disable()
    await service.stop()
    window.close()

    in_window = [i for i in range(n_live) if window_start <= record.sent[i] < window_end]
    visible = [i for i in in_window if record.visible[i]]
    unshown = [i for i in in_window if math.isnan(record.shown[i])]
    ms = 1000.0

    def lat(indices: list[int], a: array[float], b: array[float]) -> list[float]:
        return [(b[i] - a[i]) * ms for i in indices if not math.isnan(b[i])]

    gaps_in_window = [
        (a, b)
        for at, a, b in zip(gap_at, gap_start, gap_end, strict=True)
        if window_start <= at < window_end
    ]
    stalls = [(b - a) * ms - STALL_TICK_MS for a, b in gaps_in_window]
    worst = sorted(gaps_in_window, key=lambda g: g[0] - g[1])[:5]
    attribution = []
    for a, b in worst:
        parts = {what: spans.overlap(n, a, b) for n, what in enumerate(WORK)}
        attribution.append(((b - a) * ms - STALL_TICK_MS, (b - a) * ms, parts))
    assert cpu_at_start is not None and cpu_at_end is not None
    result = {
        "events_in_window": len(in_window),
        "avl_moves": moves_in_window[1] - moves_in_window[0],
        "visible": len(visible),
        "unshown": len(unshown),
        "latency_visible": lat(visible, record.sent, record.shown),
        "latency_all": lat(in_window, record.sent, record.shown),
        "net": lat(visible, record.sent, record.received),
        "to_refresh": lat(visible, record.received, record.refreshed),
        "to_paint": lat(visible, record.refreshed, record.shown),
        "stalls": stalls,
        "attribution": attribution,
        "work": {what: spans.durations(n, *perf_window) for n, what in enumerate(WORK)},
        "cpu": (cpu_at_end - cpu_at_start) / measure_s,
        "seconds": measure_s,
        "load": os.getloadavg(),
        "counters": counters,
        "profile": profiler,
    }
    return result


def report(result: dict[str, Any]) -> None:
    counters: Counters = result["counters"]
    seconds = result["seconds"]
    print()
    print(
        f"events sent in the {seconds:.0f} s window: {result['events_in_window']:,} "
        f"({result['events_in_window'] / seconds:,.0f}/s); on visible rows: {result['visible']:,}; "
        f"never painted: {result['unshown']:,}"
    )
    print(
        f"map open; AVL unit moves applied in the window: {result['avl_moves']:,} "
        f"({result['avl_moves'] / seconds:,.0f}/s)"
    )
    print(
        f"paints (whole run): incidents viewport {counters.paints[0]:,}, units viewport "
        f"{counters.paints[1]:,} ({counters.stray_paints} outside an update request); "
        f"main-window update requests {counters.update_requests:,}; "
        f"bridge emissions {counters.emissions:,}"
    )
    print("latency, ms (send -> table repainted)")
    print(f"  visible rows (headline)  {_spread(result['latency_visible'])}")
    print(f"  every event              {_spread(result['latency_all'])}")
    print("  stages for visible rows:")
    print(f"    send -> received+applied  {_spread(result['net'])}")
    print(f"    applied -> models refreshed {_spread(result['to_refresh'])}")
    print(f"    refreshed -> paint done   {_spread(result['to_paint'])}")
    work: dict[str, list[float]] = result["work"]
    print(
        f"main-thread work in the window, ms each (CPU of this process: "
        f"{result['cpu']:.0%} of one core; load average {result['load'][0]:.2f})"
    )
    for what in WORK:
        total = sum(work[what]) / seconds / 10  # ms per s -> percent
        print(f"  {what:15} {_spread(work[what])}  {total:4.1f}% of the time")
    stalls = result["stalls"]
    print(f"stall (timer gap - {STALL_TICK_MS} ms), ms: {_spread(stalls)}")
    if stalls:
        inf = float("inf")
        buckets = [(-inf, 1), (1, 5), (5, 10), (10, 20), (20, 50), (50, 100), (100, inf)]
        counts = [sum(lo <= s < hi for s in stalls) for lo, hi in buckets]
        print(
            "  histogram: "
            + "  ".join(
                f"[{'' if lo == -inf else lo},{'' if hi == inf else hi}) {c}"
                for (lo, hi), c in zip(buckets, counts, strict=True)
            )
        )
        print("  longest gaps and the timed work inside them (the rest: socket reads, decode,")
        print("  apply, asyncio and Qt dispatch, or the CPU given to other processes):")
        for stall, gap, parts in result["attribution"]:
            inside = ", ".join(f"{what} {v:.1f}" for what, v in parts.items() if v >= 0.05)
            print(f"    stall {stall:5.1f} (gap {gap:5.1f}): {inside or 'no timed work'}")
    if result["profile"] is not None:
        out = io.StringIO()
        stats = pstats.Stats(result["profile"], stream=out)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(40)
        print(out.getvalue())


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _screen_config(directory: Path) -> str:
    path = directory / "screens.json"
    path.write_text(json.dumps({"screens": [SCREEN]}))
    return str(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", action="store_true", help="cProfile the measurement window")
    parser.add_argument("--rate", type=float, default=RATE, help="events per second")
    parser.add_argument("--seconds", type=float, default=MEASURE, help="measurement window (s)")
    parser.add_argument(
        "--slow-disk-ms",
        type=float,
        default=0.0,
        help="make every fsync of this process this much slower (a busy disk); Linux and gcc",
    )
    args = parser.parse_args()
    if args.slow_disk_ms and "FSYNC_DELAY_US" not in os.environ:
        env = slow_disk_env(args.slow_disk_ms)  # preloaded at start-up: run again with it
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    seconds = WARMUP + args.seconds + TAIL
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-ui-") as tmp:
        os.environ.setdefault(
            "QT_QPA_PLATFORM", f"offscreen:configfile={_screen_config(Path(tmp))}"
        )
        result = run(args, seconds, Path(tmp))
    report(result)
    if not result["latency_visible"]:
        raise SystemExit("no event reached the screen: the views did not paint")
    if (args.rate, args.seconds) != (RATE, MEASURE):
        print(f"(the figures are emitted only for the defaults, {RATE:,}/s for {MEASURE:.0f} s)")
        return
    disk = f"_slow_disk_{args.slow_disk_ms:g}ms" if args.slow_disk_ms else ""
    emit(f"ui_event_to_screen_p99{disk}", percentile(result["latency_visible"], 99), "ms", "<= 50")
    emit(f"ui_max_stall{disk}", max(0.0, max(result["stalls"])), "ms", "<= 50")


def run(args: argparse.Namespace, seconds: float, work_dir: Path) -> dict[str, Any]:
    """Start the sender, run the window on the qasync loop, stop the sender."""
    ports: multiprocessing.Queue[int] = multiprocessing.Queue()
    sender = multiprocessing.Process(
        target=serve_forever, args=(ports, seconds, args.rate), daemon=True
    )
    sender.start()
    try:
        print(f"building the stream ({seconds:.0f} s at {args.rate:,.0f}/s) ...", flush=True)
        plan = Plan.of(build_stream(seconds, args.rate))  # the sender builds the same stream
        url = f"ws://127.0.0.1:{ports.get(timeout=120)}"

        import qasync
        from PySide6.QtWidgets import QApplication

        from ui.theme import DEFAULT_THEME, apply_theme, scale_font

        app = QApplication.instance() or QApplication(sys.argv[:1])
        assert isinstance(app, QApplication)
        app.setQuitOnLastWindowClosed(False)
        from ui.collector import install_gui_thread_collector

        install_gui_thread_collector(app)  # as ui/app.py does
        apply_theme(app, DEFAULT_THEME)
        scale_font(app, 1.0)
        print(f"platform {app.platformName()}, screen {app.primaryScreen().size().toTuple()}")
        with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
            return runner.run(measure(args, url, plan, work_dir))
    finally:
        sender.terminate()
        sender.join(5)


if __name__ == "__main__":
    main()
