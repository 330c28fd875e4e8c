"""Map figures (DESIGN.md section 6: 5,000 units + 2,000 incidents + the SF road network).

- ``map_frame_p95``: milliseconds per frame of a scripted pan and zoom, 95th percentile
  (target <= 16): 300 view changes (the whole city down to a few blocks and back, panning all
  the while), each followed by the repaint it causes, timed from the view change to the end of
  that paint;
- ``map_avl_fps``: frames per second while 1,000 AVL updates per second go through the map's
  update path (`ui.map.model.MapModel.apply` with ``Change.positions``) and the map repaints at
  the display rate, 60 Hz (target >= 30);
- ``map_max_stall``: the longest time between two of those frames, ms (target <= 50);
- ``map_avl_speedup``: ``map_avl_fps`` over the same load drawn by pyqtgraph's plain path, a
  ``ScatterPlotItem`` given all 5,000 unit spots (positions and status brushes) with
  ``setData`` at each update (the map's units layer hidden meanwhile);
- ``map_avl_speedup_per_frame``: against a plain path that coalesces (the ``ScatterPlotItem``
  given every spot once per frame): its work per frame (applying the updates due, then
  painting; mean) over ours. Both may reach the display rate, so frames per second would hide
  what the arrays and the atlas save beyond coalescing.

Method. An offscreen QApplication (one 1920x1080 screen), the dark theme, one `MapPanel` the
size of the screen (a map on a monitor of its own) over a `MapModel` whose world holds 5,000
units (every status; nine in ten with an AVL fix up to three minutes old, so some are drawn
stale; the rest at their station) and 2,000 open incidents (priorities 1-5), all at random
vertices of the SF roads (seeded). A frame is counted when the map's viewport has painted: an
event filter counts its ``Paint`` events, and a frame whose events did not paint is painted with
``repaint()``; the figures' frames are exactly one paint each. The AVL load applies, before
each frame, every update due by then (a unit moves 5-30 m; ``at`` is now), then lets Qt paint
once, then waits for the next 60 Hz tick.

Run: ``python bench/map_frame.py`` (about 25 s; reads only resources/). ``--seconds`` sets the
AVL runs' length (default 5); ``--profile`` prints a cProfile of the pan and zoom.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import os
import pstats
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from bench._support import emit

UNITS = 5_000
INCIDENTS = 2_000
FRAMES = 300
AVL_RATE = 1_000  # updates per second
DISPLAY_HZ = 60.0
SEED = 911
SCREEN = {"name": "MAIN", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96,
          "logicalBaseDpi": 96, "dpr": 1}  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else math.nan


def build_world(render: Any, stations: Any, now: float) -> Any:
    """5,000 units and 2,000 incidents at random road vertices (seeded)."""
    from desktop.domain.types import (
        Incident,
        IncidentStatus,
        Location,
        Position,
        Unit,
        UnitStatus,
    )
    from desktop.domain.world import World

    rng = np.random.default_rng(SEED)
    vertices = rng.integers(0, len(render.lat), UNITS + INCIDENTS)
    lat, lon = render.lat[vertices], render.lon[vertices]
    statuses = list(UnitStatus)
    labels = list(stations)
    units = {}
    for i in range(UNITS):
        unit_id = f"{'EMTBR'[i % 5]}{i + 1}"
        fix = None
        if i % 10:
            fix = Position(
                lat=float(lat[i]), lon=float(lon[i]), at=now - float(rng.uniform(0, 180))
            )
        units[unit_id] = Unit(
            id=unit_id,
            type="ENGINE",
            station=labels[i % len(labels)],
            status=statuses[i % len(statuses)],
            position=fix,
        )
    incidents = {}
    for j in range(INCIDENTS):
        k = UNITS + j
        incident_id = f"inc-{j:05d}"
        incidents[incident_id] = Incident(
            id=incident_id,
            number=f"F2612-{j + 1:06d}",
            type="MEDICAL",
            priority=1 + j % 5,
            location=Location(lat=float(lat[k]), lon=float(lon[k])),
            status=IncidentStatus.PENDING if j % 3 else IncidentStatus.DISPATCHED,
        )
    return World(incidents=incidents, units=units)


@dataclass
class PaintCounter:
    """Counts the Paint events of one widget (installed as its event filter)."""

    paints: int = 0
    filter: Any = field(default=None, repr=False)

    def install(self, widget: Any) -> None:
        from PySide6.QtCore import QEvent, QObject

        counter = self

        class _Filter(QObject):
            def eventFilter(self, obj: Any, event: Any) -> bool:
                if event.type() == QEvent.Type.Paint:
                    counter.paints += 1
                return False

        self.filter = _Filter()
        widget.installEventFilter(self.filter)


def one_frame(app: Any, viewport: Any, counter: PaintCounter) -> None:
    """Let Qt process what the change posted (the scene's dirty items, the viewport's update
    request) and paint; paint now if it did not."""
    before = counter.paints
    app.processEvents()
    if counter.paints == before:
        viewport.repaint()


def view_script(home: Any) -> list[tuple[float, float, float]]:
    """(centre x, centre y, span) of each scripted frame: the whole city, zooming in to 600 m
    while panning east, panning about at close zoom, zooming out again."""
    cx0, cy0 = home.center().x(), home.center().y()
    whole = max(home.width(), home.height())
    steps = []
    third = FRAMES // 3
    for i in range(third):
        t = i / (third - 1)
        steps.append((cx0 + 2500 * t, cy0 + 800 * t, whole * (600 / whole) ** t))
    for i in range(third):
        a = 2 * math.pi * i / third
        steps.append((cx0 + 2500 + 1800 * math.sin(a), cy0 + 800 + 1200 * math.sin(2 * a), 600))
    for i in range(FRAMES - 2 * third):
        t = i / (FRAMES - 2 * third - 1)
        steps.append((cx0 + 2500 * (1 - t), cy0 + 800 * (1 - t), 600 * (whole / 600) ** t))
    return steps


def pan_and_zoom(app: Any, panel: Any, counter: PaintCounter) -> list[float]:
    view = panel.view
    times = []
    for cx, cy, span in view_script(view.home_rect):
        started = time.perf_counter()
        view.show_area(cx, cy, span)
        one_frame(app, view.viewport(), counter)
        times.append((time.perf_counter() - started) * 1000)
    return times


@dataclass
class AvlRun:
    frames: int
    seconds: float
    updates: int
    gaps_ms: list[float]
    busy_ms: list[float]  # per frame: applying the updates due, then painting

    @property
    def fps(self) -> float:
        return self.frames / self.seconds

    @property
    def max_stall(self) -> float:
        return max(self.gaps_ms, default=math.nan)


def avl_run(
    app: Any,
    panel: Any,
    counter: PaintCounter,
    seconds: float,
    apply: Any,
    before_frame: Any = None,
) -> AvlRun:
    """``seconds`` of AVL at `AVL_RATE`/s: before each frame every update due is given to
    ``apply(i)`` (then ``before_frame()``, if given); frames at the display rate."""
    view = panel.view
    tick = 1.0 / DISPLAY_HZ
    start = time.perf_counter()
    applied = frames = 0
    last = start
    gaps, busy = [], []
    deadline = start + seconds
    next_frame = start
    while True:
        now = time.perf_counter()
        if now >= deadline:
            break
        began = now
        due = int((now - start) * AVL_RATE)
        while applied < due and time.perf_counter() < deadline:
            apply(applied)
            applied += 1
        if before_frame is not None:
            before_frame()
        one_frame(app, view.viewport(), counter)
        done = time.perf_counter()
        frames += 1
        busy.append((done - began) * 1000)
        gaps.append((done - last) * 1000)
        last = done
        next_frame += tick
        if next_frame > done:
            time.sleep(next_frame - done)
        else:
            next_frame = done
    return AvlRun(frames, time.perf_counter() - start, applied, gaps, busy)


def run(args: argparse.Namespace) -> dict[str, Any]:
    import msgspec
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    from ui.collector import install_gui_thread_collector
    from ui.theme import DEFAULT_THEME, apply_theme, scale_font

    install_gui_thread_collector(app)
    apply_theme(app, DEFAULT_THEME)
    scale_font(app, 1.0)
    screen = app.primaryScreen().size()
    print(f"platform {app.platformName()}, screen {screen.toTuple()}", flush=True)

    import pyqtgraph as pg

    from desktop.domain.types import Position
    from desktop.geo.road_render import load_render
    from desktop.geo.stations import Stations
    from desktop.state import Change
    from ui.map.model import MapModel
    from ui.map.panel import MapPanel
    from ui.map.roads import RoadGeometry
    from ui.presentation import UNIT_STATUS_COLOUR
    from ui.selection import Selection

    avl_change: Any = Change
    if "positions" not in Change.__dataclass_fields__:  # a core before the AVL stream

        @dataclass
        class AvlChange(Change):
            positions: set[str] = field(default_factory=set)

        avl_change = AvlChange

    render = load_render()
    stations = Stations.load_default()
    clock = [time.time()]
    world = build_world(render, stations, clock[0])
    model = MapModel(lambda: world, render.projection, stations, clock=lambda: clock[0])
    panel = MapPanel(model, RoadGeometry.of(render), Selection())
    panel.setGeometry(app.primaryScreen().geometry())
    panel.show()
    app.processEvents()
    viewport = panel.view.viewport()
    counter = PaintCounter()
    counter.install(viewport)
    lines = int(render.line_ptr.size) - 1
    print(f"map {viewport.width()}x{viewport.height()} px, {len(model.units)} units, "
          f"{len(model.incidents)} incidents, {lines} road lines")  # fmt: skip

    pan_and_zoom(app, panel, counter)  # warm-up: atlases, paths, glyphs
    counter.paints = 0
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    frame_ms = pan_and_zoom(app, panel, counter)
    if profiler is not None:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        print(out.getvalue())
    paints_per_frame = counter.paints / FRAMES

    # AVL: a district in view (about 4 km across), unit ids not drawn at this zoom
    panel.view.show_area(1500.0, 500.0, 4000.0)
    app.processEvents()
    rng = np.random.default_rng(SEED + 1)
    ids = list(world.units)
    picks = rng.integers(0, len(ids), int(AVL_RATE * args.seconds * 1.2) + 10)
    steps = rng.uniform(-30, 30, (len(picks), 2)) / 111_000.0

    def move(i: int) -> Any:
        """Move one unit in the world (as the core does for a fix); its id."""
        unit_id = ids[int(picks[i])]
        unit = world.units[unit_id]
        old = unit.position
        lat = (old.lat if old else render.projection.lat0) + float(steps[i, 0])
        lon = (old.lon if old else render.projection.lon0) + float(steps[i, 1])
        world.units[unit_id] = msgspec.structs.replace(
            unit, position=Position(lat=lat, lon=lon, at=clock[0])
        )
        return unit_id

    def ours(i: int) -> None:
        model.apply(avl_change(positions={move(i)}))

    counter.paints = 0
    mine = avl_run(app, panel, counter, args.seconds, ours)

    # the plain path: a ScatterPlotItem given every spot at every update
    brushes = {s: pg.mkBrush(c) for s, c in UNIT_STATUS_COLOUR.items()}
    spot_brush = [brushes[world.units[u].status] for u in model.units.ids]
    pen = pg.mkPen("#0d1117")
    scatter = pg.ScatterPlotItem(size=10, pen=pen, symbol="o")
    scatter.setZValue(40)
    panel.box.addItem(scatter, ignoreBounds=True)
    panel.set_layer("units", False)
    x, y = model.units.x.copy(), model.units.y.copy()
    row_of = model.units.row

    def place(i: int) -> None:
        unit_id = move(i)
        fix = world.units[unit_id].position
        x[row_of[unit_id]], y[row_of[unit_id]] = model.xy(fix.lat, fix.lon)

    def plain(i: int) -> None:
        place(i)
        scatter.setData(x=x, y=y, brush=spot_brush)

    def plain_frame() -> None:
        scatter.setData(x=x, y=y, brush=spot_brush)

    scatter.setData(x=x, y=y, brush=spot_brush)
    app.processEvents()
    counter.paints = 0
    theirs = avl_run(app, panel, counter, args.seconds, plain)
    counter.paints = 0
    coalesced = avl_run(app, panel, counter, args.seconds, place, plain_frame)
    return {
        "frame_ms": frame_ms,
        "paints_per_frame": paints_per_frame,
        "ours": mine,
        "plain": theirs,
        "plain_per_frame": coalesced,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each AVL run")
    parser.add_argument("--profile", action="store_true", help="cProfile the pan and zoom")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-map-") as tmp:
        config = Path(tmp) / "screens.json"
        config.write_text(json.dumps({"screens": [SCREEN]}))
        os.environ.setdefault("QT_QPA_PLATFORM", f"offscreen:configfile={config}")
        result = run(args)
    frame_ms: list[float] = result["frame_ms"]
    ours: AvlRun = result["ours"]
    plain: AvlRun = result["plain"]
    per_frame: AvlRun = result["plain_per_frame"]
    print(
        f"pan/zoom: {len(frame_ms)} frames, {result['paints_per_frame']:.2f} paints per frame, "
        f"p50 {percentile(frame_ms, 50):.1f} ms, p95 {percentile(frame_ms, 95):.1f} ms, "
        f"max {max(frame_ms):.1f} ms"
    )
    runs = (
        ("map update path", ours),
        ("plain ScatterPlotItem.setData at each update", plain),
        ("plain ScatterPlotItem.setData once per frame", per_frame),
    )
    for name, r in runs:
        print(
            f"AVL {AVL_RATE:,}/s, {name}: {r.updates} updates, {r.frames} frames in "
            f"{r.seconds:.1f} s = {r.fps:.1f} fps (at most {DISPLAY_HZ:g}), longest gap "
            f"{r.max_stall:.1f} ms, work per frame {statistics.fmean(r.busy_ms):.1f} ms"
        )
    emit("map_frame_p95", percentile(frame_ms, 95), "ms", "<= 16")
    emit("map_avl_fps", ours.fps, "frames/s", ">= 30")
    emit("map_max_stall", ours.max_stall, "ms", "<= 50")
    emit("map_avl_speedup", ours.fps / plain.fps, "x", "> 1")
    work = statistics.fmean(per_frame.busy_ms) / statistics.fmean(ours.busy_ms)
    emit("map_avl_speedup_per_frame", work, "x", "> 1")


if __name__ == "__main__":
    main()
