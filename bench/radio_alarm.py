"""``radio_alarm_p99``: milliseconds from the radio gateway's emergency activation to the alarm
shown and sounding on two connected workstations, p99 (target <= 250 on loopback), under a
load of 2,000 events/s (the rate of ``bench/ui_latency.py``).

Method. Everything is the product, on loopback: a real server process (``dispatch-server
serve``, SQLite); a load process whose `DispatchService` (a dispatcher) moves 200 units between
available and in quarters at 2,000 status changes a second (each one event, fanned out to every
connection); two workstation processes, each the real `MainWindow` on the qasync loop
(offscreen, dark theme) signed in as its own dispatcher; and the radio gateway, a
`DispatchService` in the role ``radio`` in this process, which presses the emergency button of
one radio every ``--every`` seconds, each radio once, stamping ``activated_at`` with the wall
clock (the alarm's ``raised_at``; every process shares the machine's clock).

On each workstation the alarm counts as shown and sounding when `ui.radio_alarms.AlarmWatch`
has brought the Radio panel forward, started the sound (the player is replaced by one that
notes the call: no audio device here) and the banner has painted with it (the first ``Paint``
of the banner after ``shown``): latency = that paint's wall time - ``raised_at``.

Run: ``python bench/radio_alarm.py`` (about 40 s). Prints both workstations' percentiles, the
load actually delivered, then the figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._support import PASSWORD, BenchServer, emit  # noqa: E402

RATE = 2000.0
UNITS = 200
ALARMS = 40
WARMUP = 4.0


def _service(url: str, user: str, data_dir: Path, role: str | None = None) -> Any:
    from desktop.service import DispatchService, ServiceConfig
    from desktop.signin import SignIn

    config = ServiceConfig(data_dir=data_dir, url=url, workstation=user, role_requested=role)
    return DispatchService(config, SignIn(user, PASSWORD))


async def _live(service: Any, timeout: float = 30.0) -> None:
    from desktop.link import LinkPhase

    deadline = time.monotonic() + timeout
    while service.status.phase is not LinkPhase.LIVE:
        if time.monotonic() > deadline:
            raise SystemExit(f"{service.state.actor} did not get LIVE")
        await asyncio.sleep(0.02)


def load(url: str, work: str, seconds: float, rate: float) -> None:
    """The load process: ``rate`` unit status changes a second for ``seconds``."""

    async def run() -> None:
        from desktop.domain.types import UnitStatus
        from desktop.domain.units import UnitSetStatus

        service = _service(url, "load", Path(work) / "load")
        service.start()
        await _live(service)
        ids = sorted(u for u in service.state.view.units if u.startswith("U"))
        start, sent = time.monotonic(), 0
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate) - sent
            batch = []
            for _ in range(max(0, due)):
                unit = service.state.view.units[ids[sent % len(ids)]]
                status = UnitStatus.AQ if unit.status is UnitStatus.AV else UnitStatus.AV
                batch.append(UnitSetStatus(unit_id=unit.id, status=status))
                sent += 1
            if batch:
                try:
                    service.submit_all(batch)
                except Exception:  # a forecast refusal of a unit changed twice: one by one
                    for command in batch:
                        with contextlib.suppress(Exception):
                            service.submit(command)
            await asyncio.sleep(0.005)
        await service.stop(close_within=2.0)

    asyncio.run(run())


def workstation(url: str, user: str, work: str, alarms: int, seconds: float) -> None:
    """One workstation process: the real window; writes its latencies to WORK/USER.json."""
    import qasync
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from ui.bridge import Bridge
    from ui.main_window import MainWindow
    from ui.theme import DEFAULT_THEME, apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setQuitOnLastWindowClosed(False)
    apply_theme(app, DEFAULT_THEME)
    latencies: list[float] = []
    sounded: list[str] = []
    events_seen = [0]

    async def run() -> None:
        service = _service(url, user, Path(work) / user)
        bridge = Bridge()
        service.subscribe(bridge.on_change)
        service.state.add_event_listener(lambda *_: events_seen.__setitem__(0, events_seen[0] + 1))
        window = MainWindow(
            service, bridge, Path(work) / f"{user}-config", sound=lambda: None,
            radio_sound=sounded.append,
        )  # fmt: skip
        window.show()
        service.start()
        await _live(service)
        watch, banner = window.radio_watch, window.radio_panel.banner
        waiting: list[float] = []  # raised_at of alarms shown, banner not yet painted

        def on_shown(key: str) -> None:
            alarm = service.state.view.alarms.get(key.removeprefix("alarm:"))
            if alarm is not None and sounded:
                waiting.append(alarm.raised_at)

        class Painted(QObject):
            def eventFilter(self, watched: QObject, event: QEvent) -> bool:
                if event.type() is QEvent.Type.Paint and waiting:
                    now = time.time()
                    latencies.extend((now - at) * 1000 for at in waiting)
                    waiting.clear()
                return False

        painted = Painted()
        banner.installEventFilter(painted)
        watch.shown.connect(on_shown)
        loaded: list[bool] = []
        window.maps.loaded.connect(lambda *_: loaded.append(True))
        until = time.monotonic() + 60
        while not loaded and time.monotonic() < until:
            await asyncio.sleep(0.05)  # start-up's loads done: the map, the cards
        (Path(work) / f"{user}.ready").write_text("ready")
        deadline = time.monotonic() + seconds
        first: tuple[float, int] | None = None
        while len(latencies) < alarms and time.monotonic() < deadline:
            if latencies and first is None:
                first = (time.monotonic(), events_seen[0])
            await asyncio.sleep(0.05)
        span = time.monotonic() - first[0] if first else 0.0
        rate = (events_seen[0] - first[1]) / span if first and span else 0.0
        result = {"latencies": latencies, "rate": rate, "sounds": len(sounded)}
        (Path(work) / f"{user}.json").write_text(json.dumps(result))
        window.close()
        await service.stop(close_within=2.0)

    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        runner.run(run())


async def gateway(url: str, work: Path, alarms: int, every: float) -> None:
    """The radio gateway: one emergency every ``every`` s, each of a different radio."""
    from desktop.domain.radio import RadioEmergency
    from desktop.ids import uuid7

    service = _service(url, "gw", work / "gw")
    service.start()
    await _live(service)
    for n in range(alarms):
        service.submit(
            RadioEmergency(
                alarm_id=str(uuid7()),
                radio_id=f"{700001 + n}",
                channel="FIRE DISPATCH",
                activated_at=time.time(),
            )
        )
        await asyncio.sleep(every)
    await service.stop(close_within=2.0)


async def seed(url: str, work: Path) -> None:
    """The roster: ``UNITS`` units for the load, each radio the gateway presses bound."""
    from desktop.domain.types import UnitStatus
    from desktop.domain.units import UnitAdd

    service = _service(url, "bench", work / "seed")
    service.start()
    await _live(service)
    service.submit_all(
        [
            UnitAdd(
                unit_id=f"U{n:03d}", type="ENGINE", status=UnitStatus.AV,
                radio_id=f"{700001 + n}",
            )
            for n in range(UNITS)
        ]
    )  # fmt: skip
    while service.outbox:
        await asyncio.sleep(0.05)
    await service.stop(close_within=2.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alarms", type=int, default=ALARMS)
    parser.add_argument("--every", type=float, default=0.5, help="seconds between activations")
    parser.add_argument("--rate", type=float, default=RATE, help="load, events per second")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dispatch-bench-radio-"))
    screens = work / "screens.json"
    screens.write_text(json.dumps({"screens": [{"name": "S", "x": 0, "y": 0, "width": 1920,
        "height": 1080, "logicalDpi": 96, "logicalBaseDpi": 96, "dpr": 1}]}))  # fmt: skip
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={screens}"
    server = BenchServer("--rate-limit", "20000", "--burst", "20000")
    for name, role in (("ws1", "dispatcher"), ("ws2", "dispatcher"), ("load", "dispatcher"),
                       ("gw", "radio")):  # fmt: skip
        server.add_user(name, role, PASSWORD)
    server.start()
    url = server.url
    span = WARMUP + args.alarms * args.every + 10
    procs: list[multiprocessing.Process] = []
    try:
        asyncio.run(seed(url, work))
        for user in ("ws1", "ws2"):
            proc = multiprocessing.Process(
                target=workstation, args=(url, user, str(work), args.alarms, span + 30)
            )
            proc.start()
            procs.append(proc)
        while not all((work / f"{u}.ready").exists() for u in ("ws1", "ws2")):
            time.sleep(0.1)
        loader = multiprocessing.Process(target=load, args=(url, str(work), span, args.rate))
        loader.start()
        procs.append(loader)
        time.sleep(WARMUP)
        asyncio.run(gateway(url, work, args.alarms, args.every))
        for proc in procs[:2]:
            proc.join(span + 60)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        server.stop()
    results = {u: json.loads((work / f"{u}.json").read_text()) for u in ("ws1", "ws2")}
    every: list[float] = []
    for user, result in results.items():
        values = result["latencies"]
        every += values
        if values:
            print(
                f"{user}: {len(values)} alarms, p50 {percentile(values, 50):.1f} ms, "
                f"p99 {percentile(values, 99):.1f} ms, max {max(values):.1f} ms; "
                f"{result['rate']:,.0f} events/s received meanwhile, {result['sounds']} sounds"
            )
    if len(every) < 2 * args.alarms:
        raise SystemExit(f"only {len(every)} of {2 * args.alarms} alarms were shown")
    emit("radio_alarm_p99", percentile(every, 99), "ms", "<= 250")


if __name__ == "__main__":
    main()
