"""A long shift: 200,000 events through a real server into a running workstation, whose memory
must stay flat (no list, dict or cache keyed by event or command that is never trimmed).

- ``long_shift_memory_growth_mb``: Python memory (tracemalloc, after a full collection) of the
  workstation process at the end of the shift, less what it held at 20 % of it (target <= 0.5:
  about 5,000 commands and 160,000 events in between, so a leak of 100 bytes a command or 3 bytes
  an event shows);
- ``long_shift_rss_growth_mb``: the same for its resident set size (the allocator's view,
  noisier; target <= 20).

Method. A real server process (``python -m server serve``). A floor process (a headless
`DispatchService`, a simulator standing in for the rest of the centre) puts 300 units on the
roster and then moves units between available and in quarters in batches, paced to about
3,000 events/s, until it has caused the shift's events. The workstation under test is this
process, wired as `ui.session.Workstation` wires it: a QApplication (offscreen), a real
`DispatchService`, `Bridge` and `MainWindow` shown with its default layout. It works too: every
20 ms it moves one of its own units, and every 40 ms it sends a floor unit a status its view
may already be behind on, so the server refuses some (stale view) and they go to Needs
attention, where it discards them every 2 s, as a dispatcher would.

The world is held constant on purpose (the same units, no incident: a unit's status change off
an incident adds no timeline line), so whatever grows is plumbing: the link, the state, the
outbox, the replica, the models and panels. (Closed incidents do stay in the world and its
replica for the rest of the shift: that is data, and a later issue's retention question.)

Run: ``python bench/long_shift.py`` (about 90 s; ``--events`` for a shorter shift, figures
emitted only for the default). Reads nothing from ../shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import PASSWORD, BenchServer, emit

EVENTS = 200_000
UNITS = 300
OWN_UNITS = 20  # moved only by the workstation under test (its commands are accepted)
FLOOR_RATE = 3_000.0  # events/s the floor causes
BATCH = 150  # commands the floor queues at once
SAMPLES = 20  # memory samples over the shift
WARM = 0.2  # share of the shift after which growth is counted


def floor_unit(n: int) -> str:
    return f"F{n:03d}"


def own_unit(n: int) -> str:
    return f"W{n:02d}"


def run_floor(
    url: str, work_dir: str, events: int, ready: multiprocessing.Event, go: multiprocessing.Event
) -> None:
    """The rest of the centre: a roster (then ``ready``), and once told to ``go``, units moving
    AV <-> AQ at ``FLOOR_RATE`` until ``events`` status changes."""
    asyncio.run(_floor(url, Path(work_dir), events, ready, go))


async def _floor(
    url: str, work_dir: Path, events: int, ready: multiprocessing.Event, go: multiprocessing.Event
) -> None:
    from desktop.domain.types import UnitStatus
    from desktop.domain.units import UnitAdd, UnitSetStatus
    from desktop.link import LinkPhase
    from desktop.service import DispatchService, ServiceConfig
    from desktop.signin import SignIn

    service = DispatchService(
        ServiceConfig(data_dir=work_dir / "floor", url=url, workstation="floor"),
        SignIn("bench", PASSWORD),
    )
    service.start()
    while service.status.phase is not LinkPhase.LIVE:
        await asyncio.sleep(0.05)
    roster = [
        UnitAdd(unit_id=floor_unit(n), type="ENGINE", status=UnitStatus.AV) for n in range(UNITS)
    ]
    roster += [
        UnitAdd(unit_id=own_unit(n), type="MEDIC", status=UnitStatus.AV) for n in range(OWN_UNITS)
    ]
    service.submit_all(roster)
    while service.outbox:
        await asyncio.sleep(0.05)
    ready.set()
    while not go.is_set():
        await asyncio.sleep(0.05)
    sent, started, n = 0, time.monotonic(), 0
    while sent < events:
        batch = []
        for _ in range(min(BATCH, events - sent)):
            unit = service.unit(floor_unit(n % UNITS))
            n += 1
            if unit is None:
                continue
            target = UnitStatus.AQ if unit.status is UnitStatus.AV else UnitStatus.AV
            batch.append(UnitSetStatus(unit_id=unit.id, status=target))
        try:
            service.submit_all(batch)
        except Exception as exc:  # a unit the workstation moved meanwhile: skip this batch
            print(f"floor: batch skipped: {exc}", flush=True)
            continue
        sent += len(batch)
        ahead = sent / FLOOR_RATE - (time.monotonic() - started)
        if ahead > 0:
            await asyncio.sleep(ahead)
        while len(service.outbox) > 4 * BATCH:
            await asyncio.sleep(0.01)
    while service.outbox:
        await asyncio.sleep(0.05)
    for rejection in service.needs_attention():
        service.discard(rejection.entry.key, "floor simulator")
    await service.stop()


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def traced_mb() -> float:
    gc.collect()
    return tracemalloc.get_traced_memory()[0] / 1e6


async def shift(
    url: str, work_dir: Path, events: int, go: multiprocessing.Event
) -> dict[str, list[float]]:
    """Run the workstation until the floor has caused ``events``; sample its memory. The floor
    is told to ``go`` once the board is live and the road graph loaded (the baseline)."""
    from desktop.domain.types import UnitStatus
    from desktop.domain.units import UnitSetStatus
    from desktop.link import LinkPhase
    from desktop.service import CommandRefused, DispatchService, ServiceConfig
    from desktop.signin import SignIn
    from ui.bridge import Bridge
    from ui.main_window import MainWindow

    bridge = Bridge()
    service = DispatchService(
        ServiceConfig(data_dir=work_dir / "ws", url=url, workstation="bench-shift"),
        SignIn("bench", PASSWORD),
        on_status=bridge.on_status,
    )
    service.subscribe(bridge.on_change)
    service.start()
    window = MainWindow(service, bridge, work_dir / "config", sound=lambda: None)
    window.resize(1600, 950)
    window.show()
    while not (
        service.status.phase is LinkPhase.LIVE
        and len(service.units()) == UNITS + OWN_UNITS
        and window.advisor.ready
    ):
        await asyncio.sleep(0.05)
    window.selection.select_unit(own_unit(0))
    base = service.state.last_seq
    go.set()
    samples: dict[str, list[float]] = {"events": [], "traced": [], "rss": [], "refused": []}
    next_sample, n, refused, last_discard = 0, 0, 0, time.monotonic()
    started = time.monotonic()
    deadline = time.monotonic() + 3 * events / FLOOR_RATE + 60
    while True:
        done = service.state.last_seq - base
        if done >= next_sample * events / SAMPLES:
            samples["events"].append(done)
            samples["traced"].append(traced_mb())
            samples["rss"].append(rss_mb())
            samples["refused"].append(refused)
            print(
                f"  {time.monotonic() - started:5.1f} s {done:>7,} events  "
                f"python {samples['traced'][-1]:6.1f} MB  "
                f"rss {samples['rss'][-1]:6.1f} MB  refused so far {refused}",
                flush=True,
            )
            next_sample += 1
            if next_sample > SAMPLES:
                break
        if time.monotonic() > deadline:
            raise SystemExit(f"the shift stopped at {done:,} events")
        n += 1
        mine = service.unit(own_unit(n % OWN_UNITS))
        if mine is not None:
            target = UnitStatus.AQ if mine.status is UnitStatus.AV else UnitStatus.AV
            with contextlib.suppress(CommandRefused):
                service.submit(UnitSetStatus(unit_id=mine.id, status=target))
        if n % 2 == 0:  # a floor unit, on a view that may be behind: sometimes refused
            other = service.unit(floor_unit(n % UNITS))
            if other is not None:
                target = UnitStatus.AQ if other.status is UnitStatus.AV else UnitStatus.AV
                with contextlib.suppress(CommandRefused):
                    service.submit(UnitSetStatus(unit_id=other.id, status=target))
        if time.monotonic() - last_discard > 2.0:
            for rejection in service.needs_attention():
                service.discard(rejection.entry.key, "stale view (bench)")
                refused += 1
            last_discard = time.monotonic()
        await asyncio.sleep(0.02)
    window.close()
    await service.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS, help="events in the shift")
    args = parser.parse_args()
    server = BenchServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="dispatch-bench-shift-") as tmp:
            work = Path(tmp)
            ready, go = multiprocessing.Event(), multiprocessing.Event()
            floor = multiprocessing.Process(
                target=run_floor, args=(server.url, tmp, args.events, ready, go), daemon=True
            )
            floor.start()  # before Qt exists in this process
            if not ready.wait(60):
                raise SystemExit("the floor did not come up")
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
            import qasync
            from PySide6.QtWidgets import QApplication

            from ui.theme import DEFAULT_THEME, apply_theme

            app = QApplication.instance() or QApplication(sys.argv[:1])
            assert isinstance(app, QApplication)
            app.setQuitOnLastWindowClosed(False)
            from ui.collector import install_gui_thread_collector

            install_gui_thread_collector(app)  # as ui/app.py does
            apply_theme(app, DEFAULT_THEME)
            tracemalloc.start()
            started = time.monotonic()
            print(f"a shift of {args.events:,} events (about {args.events / FLOOR_RATE:.0f} s):")
            with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
                samples = runner.run(shift(server.url, work, args.events, go))
            floor.join(30)
            print(f"shift done in {time.monotonic() - started:.0f} s")
    finally:
        server.stop()
    warm = round(WARM * SAMPLES)
    traced = samples["traced"][-1] - samples["traced"][warm]
    rss = samples["rss"][-1] - samples["rss"][warm]
    print(
        f"from {samples['events'][warm]:,} to {samples['events'][-1]:,} events: python memory "
        f"{traced:+.2f} MB, rss {rss:+.1f} MB; {samples['refused'][-1]} refused commands discarded"
    )
    if args.events != EVENTS:
        print(f"(the figures are emitted only for the default shift, {EVENTS:,} events)")
        return
    emit("long_shift_memory_growth_mb", traced, "MB", "<= 0.5")
    emit("long_shift_rss_growth_mb", rss, "MB", "<= 20")


if __name__ == "__main__":
    main()
