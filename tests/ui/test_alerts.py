"""Timer alerts in the Alerts panel: an ALERT sounds once and is listed; Acknowledge (button or
Ctrl+K) submits ``alert.acknowledge``; once the world records it the row leaves and the
incident's timeline holds it; the same timer running again alerts again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import EntityKind, LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch, UnitSetStatus
from desktop.link import LinkPhase
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from desktop.timers import TimerEngine, load_timer_config
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until
from tests.support.workstation import Clock, Workstation
from ui.bridge import Bridge
from ui.main_window import MainWindow

Opened = tuple[MainWindow, DispatchService, Clock, list[int]]


@pytest.fixture
def open_window(open_workstation: Callable[..., Workstation]) -> Callable[[str], Opened]:
    def open_one(url: str) -> Opened:
        station = open_workstation(url)
        return station.window, station.service, station.clock, station.sounds

    return open_one


def alert_texts(window: MainWindow) -> list[list[str]]:
    model = window.models.alerts
    return [
        [model.index(row, column).data() for column in range(model.columnCount())]
        for row in range(model.rowCount())
    ]


async def test_alert_sounds_once_is_acknowledged_recorded_and_alerts_again(
    server: ServerProcess, open_window: Callable[[str], Opened]
) -> None:
    window, service, clock, sounds = open_window(server.url)
    panel = window.alerts_panel
    models = window.models
    dp = models.timers.config.unit_status[UnitStatus.DP]
    await wait_until(lambda: service.status.phase is LinkPhase.LIVE, what="LIVE")
    service.submit(UnitAdd(unit_id="E1", type="ENGINE", status=UnitStatus.AV))
    service.submit(
        IncidentCreate(
            incident_id="i-1", type="FIRE", priority=3, location=LocationArgs(address="1 Main")
        )
    )
    service.submit(UnitDispatch(incident_id="i-1", unit_ids=["E1"]))
    await wait_until(lambda: not service.outbox, what="dispatch applied")
    unit = service.unit("E1")
    assert unit is not None and unit.status is UnitStatus.DP
    started = unit.status_at

    # warn: amber on the board, but no alert and no sound yet
    clock.now = started + dp.warn_after
    models.tick()
    assert models.alerts.rowCount() == 0 and sounds == []
    assert panel.alerts_title.text() == "Timer alerts · none"

    clock.now = started + dp.alert_after
    models.tick()
    [row] = alert_texts(window)
    assert row[0] == "Unit E1 (DP)"
    assert row[1] == dp.reason
    assert row[3] == "ALERT"
    assert len(sounds) == 1
    assert panel.alerts_title.text() == "Timer alerts · 1"
    assert window.docks["alerts"].windowTitle() == "Alerts · 1"
    clock.now += 5
    for _ in range(3):  # still alerting: listed, elapsed moving, but silent
        models.tick()
    await asyncio.sleep(0.05)
    assert len(sounds) == 1
    assert alert_texts(window)[0][2] == "1:35"

    assert not panel.acknowledge_button.isEnabled()  # nothing selected
    panel.alerts_view.selectRow(0)
    assert panel.acknowledge_button.isEnabled()
    # choosing the alert selects its unit and the incident the unit is on, everywhere
    assert (window.selection.unit_id, window.selection.incident_id) == ("E1", "i-1")
    assert window.incident_detail.incident_id == "i-1"
    panel.acknowledge_button.click()
    [entry] = service.outbox.entries()
    assert entry.kind == "alert.acknowledge"
    assert models.alerts.rowCount() == 0  # the view holds the acknowledgement at once
    assert not panel.acknowledge_button.isEnabled()
    assert panel.alerts_title.text() == "Timer alerts · none"

    def recorded() -> bool:
        incident = service.incident("i-1")
        return not service.outbox and incident is not None and bool(incident.acknowledgements)

    await wait_until(recorded, what="acknowledgement applied")
    incident = service.incident("i-1")
    assert incident is not None
    [ack] = incident.acknowledgements
    assert (ack.entity, ack.entity_id, ack.reason, ack.started_at, ack.actor) == (
        EntityKind.UNIT,
        "E1",
        dp.reason,
        started,
        "ann",
    )
    assert service.state.confirmed.units["E1"].acknowledgements == [ack]
    models.tick()
    assert models.alerts.rowCount() == 0 and len(sounds) == 1

    # the same timer running again is a new alert
    service.submit(UnitSetStatus(unit_id="E1", status=UnitStatus.AV))
    service.submit(UnitDispatch(incident_id="i-1", unit_ids=["E1"]))
    await wait_until(lambda: not service.outbox, what="dispatched again")
    again = service.unit("E1")
    assert again is not None and again.status is UnitStatus.DP and again.status_at > started
    clock.now = again.status_at + dp.alert_after
    models.tick()
    assert models.alerts.rowCount() == 1
    assert len(sounds) == 2

    # Ctrl+K, nothing selected: the oldest alert is acknowledged, from anywhere in the window
    window.activateWindow()
    await wait_until(lambda: QApplication.activeWindow() is window, what="active window")
    QtBot.keyClick(window.units_view, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    [entry] = service.outbox.entries()
    assert entry.kind == "alert.acknowledge"
    assert models.alerts.rowCount() == 0
    await wait_until(lambda: not service.outbox, what="second acknowledgement applied")
    incident = service.incident("i-1")
    assert incident is not None
    assert [a.started_at for a in incident.acknowledgements] == [started, again.status_at]
    assert len(sounds) == 2


def test_pending_incident_alert_offline_and_the_oldest_first(qtbot: QtBot, tmp_path: Path) -> None:
    """Without a server: two pending incidents alert in one tick (one sound), listed oldest
    first; with none selected the button asks for a selection and Ctrl+K takes the oldest."""
    from desktop.domain.incidents import IncidentCreated
    from desktop.domain.types import Incident, Location
    from desktop.protocol.codec import encode_raw

    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    bridge = Bridge()
    service.subscribe(bridge.on_change)
    sounds: list[None] = []
    window = MainWindow(service, bridge, tmp_path / "config", sound=lambda: sounds.append(None))
    qtbot.addWidget(window)
    models = window.models
    clock = Clock()
    clock.now = 1000.0
    models.clock = clock
    models.timers = TimerEngine(load_timer_config(), clock)
    for seq, (incident_id, created) in enumerate([("i-new", 1030.0), ("i-old", 1000.0)], 1):
        incident = Incident(
            id=incident_id,
            type="FIRE",
            priority=1,
            location=Location(address="1 Main"),
            number=f"F-{seq}",
            times={"created": created},
        )
        data = IncidentCreated(incident=incident)
        service.state.apply_event(seq, "incident.created", bytes(encode_raw(data)), created)
    models.reload()
    p1 = models.timers.config.incident_pending[1]
    clock.now = 1030.0 + p1.alert_after
    models.tick()
    models.tick()
    assert len(sounds) == 1  # two new alerts in one tick: one sound
    assert [row[0] for row in alert_texts(window)] == ["Incident F-2 (P1)", "Incident F-1 (P1)"]
    assert window.alerts_panel.alerts_title.text() == "Timer alerts · 2"
    assert window.alerts_panel.acknowledge_selected() is False  # nothing selected: says so
    assert "Select" in window.alerts_panel.alerts_feedback.text()
    assert window.alerts_panel.acknowledge_selected_or_oldest()
    [entry] = service.outbox.entries()
    assert entry.kind == "alert.acknowledge" and b'"i-old"' in entry.args
    assert [row[0] for row in alert_texts(window)] == ["Incident F-1 (P1)"]
    assert window.docks["alerts"].windowTitle() == "Alerts · 1"
    window.close()
    service.db.close()
