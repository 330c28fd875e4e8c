"""Start-up with a busy floor (DESIGN.md section 6: cold start to a usable window with 1,000 active
incidents, target <= 2 s).

- ``cold_start_s``: seconds from launching the workstation process, with no local data, to a
  usable window: shown, LIVE, every open incident of the floor in the Incidents table, the table
  painted, and the top incident open in Incident detail;
- ``warm_restart_s``: the same for the next launch, which shows the board from its local replica
  and then resyncs;
- ``cold_start_recommended_s``: from the same launch as ``cold_start_s`` until the top incident's
  recommended units are shown (the road graph loads in a worker thread behind the board, so a
  dispatcher works the board meanwhile).

Method. A real server process (``python -m server serve``) is given a floor through the public
protocol by a headless `DispatchService`: 500 units of the demo roster, 1,000 incidents from the
demo calls (SFFD locations), a quarter of them dispatched (half the units busy). Each launch is
a new Python process (the same interpreter) timed from just before it is spawned: it imports
the product, builds the QApplication (offscreen) with the dark theme, the `DispatchService`,
`Bridge` and `MainWindow` as `ui.session.Workstation` wires them, shows the window and waits,
polling every 5 ms, until the board is complete; it then repaints the incidents table, opens the
top incident in Incident detail and reports the wall-clock time. Sign-in is a password (no login
dialog: the dialog waits for a person).

Run: ``python bench/cold_start.py`` (about 20 s; reads nothing from ../shared).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import PASSWORD, BenchServer, emit

INCIDENTS = 1_000
UNITS = 500
TIMEOUT = 60.0


async def populate(url: str, work_dir: Path) -> None:
    """Give the server its floor through a headless `DispatchService`."""
    from desktop.domain.incidents import IncidentCreate
    from desktop.domain.types import LocationArgs
    from desktop.domain.units import UnitAdd, UnitDispatch
    from desktop.ids import uuid7
    from desktop.service import DispatchService, ServiceConfig
    from desktop.signin import SignIn
    from sim.demo_data import load_calls, load_roster

    service = DispatchService(
        ServiceConfig(data_dir=work_dir / "populate", url=url, workstation="bench-populate"),
        SignIn("bench", PASSWORD),
    )
    service.start()
    roster = load_roster()
    units = [roster[n % len(roster)] for n in range(UNITS)]
    for n, unit in enumerate(units):
        unit_id = unit.id if n < len(roster) else f"{unit.id}X{n // len(roster)}"
        service.submit(UnitAdd(unit_id=unit_id, type=unit.type, station=unit.station))
    calls = load_calls()
    unit_ids = sorted(service.state.view.units)
    for n in range(INCIDENTS):
        call = calls[n % len(calls)]
        incident_id = uuid7()
        location = LocationArgs(address=call.address, lat=call.lat, lon=call.lon)
        service.submit(
            IncidentCreate(
                incident_id=incident_id, type=call.type, priority=call.priority, location=location
            )
        )
        if n % 4 == 1:  # a quarter dispatched: half the units busy, half free to recommend
            busy = unit_ids[2 * (n // 4)]  # every other unit, so each type keeps some free
            service.submit(UnitDispatch(incident_id=incident_id, unit_ids=[busy]))
    deadline = time.monotonic() + TIMEOUT
    while service.outbox or service.needs_attention():
        if service.needs_attention():
            raise SystemExit(f"the server refused the floor: {service.needs_attention()[0]}")
        if time.monotonic() > deadline:
            raise SystemExit("the floor was not accepted in time")
        await asyncio.sleep(0.05)
    open_incidents = sum(1 for i in service.incidents() if i.status != "closed")
    print(f"floor: {len(service.units())} units, {open_incidents} open incidents", flush=True)
    await service.stop()


def launch(url: str, data_dir: Path, config_dir: Path) -> dict[str, float]:
    """Run one workstation process; returns its phases (seconds from the spawn)."""
    env = dict(os.environ)
    env["QT_QPA_PLATFORM"] = "offscreen"
    started = time.time()
    child = subprocess.run(
        [sys.executable, __file__, "--child", url, str(data_dir), str(config_dir), repr(started)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT + 30,
        check=False,
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
    if child.returncode != 0 or not lines:
        raise SystemExit(f"workstation process failed:\n{child.stdout}\n{child.stderr}")
    phases: dict[str, float] = json.loads(lines[-1])
    return phases


def child(url: str, data_dir: Path, config_dir: Path, started: float) -> None:
    """One launch of the workstation, as `ui.session.Workstation` wires it."""
    import qasync
    from PySide6.QtWidgets import QApplication

    phases: dict[str, float] = {"imports_qt": time.time() - started}
    from desktop.link import LinkPhase
    from desktop.service import DispatchService, ServiceConfig
    from desktop.signin import SignIn
    from ui.bridge import Bridge
    from ui.main_window import MainWindow
    from ui.theme import DEFAULT_THEME, apply_theme, scale_font

    phases["imports"] = time.time() - started
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    from ui.collector import install_gui_thread_collector

    install_gui_thread_collector(app)  # as ui/app.py does
    apply_theme(app, DEFAULT_THEME)
    scale_font(app, 1.0)

    async def run() -> None:
        bridge = Bridge()
        config = ServiceConfig(data_dir=data_dir, url=url, workstation="bench-start")
        service = DispatchService(config, SignIn("bench", PASSWORD), on_status=bridge.on_status)
        service.subscribe(bridge.on_change)
        service.start()
        window = MainWindow(service, bridge, config_dir)
        window.show()
        phases["window_shown"] = time.time() - started
        models = window.models
        deadline = time.monotonic() + TIMEOUT
        while not (
            service.status.phase is LinkPhase.LIVE and models.incidents.rowCount() >= INCIDENTS
        ):
            if "board_from_replica" not in phases and models.incidents.rowCount() >= INCIDENTS:
                phases["board_from_replica"] = time.time() - started
            if time.monotonic() > deadline:
                rows = models.incidents.rowCount()
                raise SystemExit(f"no usable board: {service.status}, {rows} incidents shown")
            await asyncio.sleep(0.005)
        phases["live"] = time.time() - started
        bridge.flush_now()
        window.incidents_view.viewport().repaint()
        window.selection.select_incident(models.incidents.id_at(0))
        window.incident_detail.repaint()
        phases["usable"] = time.time() - started
        detail = window.incident_detail
        while not detail.recommendation.recommended():  # the road graph loads behind the board
            if time.monotonic() > deadline:
                raise SystemExit(f"no recommendation: {detail.recommendation.advice}")
            await asyncio.sleep(0.005)
        detail.repaint()
        phases["recommended"] = time.time() - started
        phases["picks"] = float(len(detail.recommendation.recommended()))
        window.close()
        await service.stop()

    with asyncio.Runner(loop_factory=qasync.QEventLoop) as runner:
        runner.run(run())
    print(json.dumps(phases), flush=True)


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5]))
        return
    server = BenchServer()
    server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="dispatch-bench-start-") as tmp:
            work = Path(tmp)
            asyncio.run(populate(server.url, work))
            data_dir, config_dir = work / "ws", work / "config"
            results = {}
            for name in ("cold start", "warm restart"):
                phases = launch(server.url, data_dir, config_dir)
                results[name] = phases
                shown = ", ".join(f"{k} {v:.2f}" for k, v in phases.items() if k != "picks")
                picks = f"recommended for the top incident: {phases['picks']:.0f}"
                print(f"{name}: {shown} (s); {picks}", flush=True)
    finally:
        server.stop()
    emit("cold_start_s", results["cold start"]["usable"], "s", "<= 2")
    emit("warm_restart_s", results["warm restart"]["usable"], "s", "<= 2")
    emit("cold_start_recommended_s", results["cold start"]["recommended"], "s", "<= 2")


if __name__ == "__main__":
    main()
