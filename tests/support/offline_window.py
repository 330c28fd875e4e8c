"""A workstation window that has never reached its server, for UI tests that need the whole
window (the command line wired to the run cards and the shared selection, both boards) but no
server: its replica holds the units and incidents given, and whatever the test does stays queued
in the outbox, as when a workstation works offline."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.domain.catalog import event_kind_of
from desktop.domain.incidents import IncidentCreated
from desktop.domain.kinds import EventData
from desktop.domain.types import Incident, Location, Unit, UnitStatus
from desktop.domain.units import UnitAdded
from desktop.protocol.codec import encode_raw
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from ui.bridge import Bridge
from ui.main_window import MainWindow


@dataclass
class Offline:
    window: MainWindow
    service: DispatchService
    bridge: Bridge  # kept: it feeds the window
    radio_sounds: list[str]  # the radio alarm levels sounded

    def settle(self, qtbot: QtBot) -> None:
        """Let the bridge deliver what changed (it coalesces to one repaint per 16 ms)."""
        self.service.state.flush()
        qtbot.wait(40)
        QApplication.processEvents()


def unit(unit_id: str, kind: str = "ENGINE", status: UnitStatus = UnitStatus.AV) -> Unit:
    return Unit(id=unit_id, type=kind, status=status, station=unit_id[1:])


def incident(incident_id: str, number: str, kind: str = "MEDICAL", priority: int = 2) -> Incident:
    return Incident(
        id=incident_id,
        number=number,
        type=kind,
        priority=priority,
        location=Location(address=f"{number} Main St"),
        times={"created": time.time()},
    )


def open_offline(
    qtbot: QtBot, tmp_path: Path, units: list[Unit], incidents: list[Incident]
) -> Offline:
    """A shown window whose replica holds ``units`` and ``incidents`` (the server's events,
    seq 1...): the outbox is empty, so the first command queued has client_seq 1."""
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    now = time.time()
    events: list[EventData] = [UnitAdded(unit=u) for u in units]
    events += [IncidentCreated(incident=i) for i in incidents]
    for seq, data in enumerate(events, 1):
        service.state.apply_event(seq, event_kind_of(data).name, bytes(encode_raw(data)), now)
    bridge = Bridge()
    service.subscribe(bridge.on_change)
    radio_sounds: list[str] = []
    window = MainWindow(
        service, bridge, tmp_path / "config", sound=lambda: None, radio_sound=radio_sounds.append
    )
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    opened = Offline(window, service, bridge, radio_sounds)
    opened.settle(qtbot)
    return opened
