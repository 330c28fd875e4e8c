"""The workstation window against a real server process: live tables, the connection banner
through a real drop and reconnect, the command line, docks, themes and the error banner."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDockWidget
from pytestqt.qtbot import QtBot

from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd
from desktop.link import LinkPhase, LinkStatus
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from tests.support.faultproxy import FaultProxy
from tests.support.fixtures import FAST, ClientFactory
from tests.support.serverproc import PASSWORD, ServerProcess
from tests.support.waiting import wait_until
from tests.support.workstation import Workstation
from ui.bridge import Bridge
from ui.docks import DOCKS, GO_TO_KEYS
from ui.main_window import MainWindow
from ui.widgets.connection_banner import banner_text

Shell = tuple[MainWindow, DispatchService, list[LinkStatus]]


@pytest.fixture
def open_shell(open_workstation: Callable[..., Workstation]) -> Callable[[str], Shell]:
    def open_window(url: str) -> Shell:
        station = open_workstation(url)
        return station.window, station.service, station.statuses

    return open_window


def texts(model: object, column: int) -> list[str]:
    return [model.index(row, column).data() for row in range(model.rowCount())]  # type: ignore[attr-defined]


async def test_tables_show_live_server_data(
    server: ServerProcess, make_client: ClientFactory, open_shell: Callable[[str], Shell]
) -> None:
    window, service, _ = open_shell(server.url)
    other = make_client("bob", server.url)
    await wait_until(lambda: service.status.phase is LinkPhase.LIVE)
    other.submit(UnitAdd(unit_id="E12", type="ENGINE", status=UnitStatus.AV))
    other.submit(
        IncidentCreate(
            incident_id="i-1", type="FIRE", priority=1, location=LocationArgs(address="1 Market St")
        )
    )
    await wait_until(
        lambda: window.models.units.rowCount() == 1 and window.models.incidents.rowCount() == 1,
        what="rows",
    )
    assert texts(window.models.units, 0) == ["E12"]
    assert texts(window.models.units, 2) == ["AV"]
    [number] = texts(window.models.incidents, 0)
    assert number.startswith("F") and "-" in number
    assert texts(window.models.incidents, 4) == ["1 Market St"]
    priority = window.models.incidents.index(0, 1)
    assert priority.data(Qt.ItemDataRole.ForegroundRole).color().name() == "#ff7b72"  # P1 red
    assert priority.data(Qt.ItemDataRole.FontRole).bold()
    pending = window.models.incidents.index(0, 3)
    assert pending.data() == "PENDING"
    assert pending.data(Qt.ItemDataRole.ForegroundRole) is not None


async def test_banner_follows_a_real_drop_and_reconnect(
    server: ServerProcess,
    proxy: FaultProxy,
    make_client: ClientFactory,
    open_shell: Callable[[str], Shell],
) -> None:
    window, service, statuses = open_shell(proxy.url)
    other = make_client("bob", server.url)
    live = f"LIVE · 127.0.0.1:{proxy.port}"  # the banner names the server it is on
    await wait_until(lambda: window.banner.state_label.text() == live, what=live)
    other.submit(
        IncidentCreate(
            incident_id="i-1", type="FIRE", priority=1, location=LocationArgs(address="1 Market St")
        )
    )
    await wait_until(lambda: service.incident("i-1") is not None)

    proxy.cut()
    await wait_until(lambda: service.status.phase is not LinkPhase.LIVE, what="drop noticed")
    window.command_line.input.setText("NOTE i-1 caller says smoke on the 2nd floor")
    window.command_line.submit()
    window.command_line.input.setText("NOTE i-1 second floor, rear")
    window.command_line.submit()
    for i in range(1500):  # meanwhile the floor goes on: something to resync
        other.submit(IncidentAddNote(incident_id="i-1", text=f"other {i}"))
    await wait_until(lambda: len(other.outbox) == 0, timeout=30)
    await wait_until(
        lambda: window.banner.state_label.text() == "OFFLINE · 2 queued", what="OFFLINE · 2 queued"
    )
    assert window.banner.state_label.property("state") == "alert"

    statuses.clear()
    proxy.restore()
    await wait_until(
        lambda: window.banner.state_label.text() == live and not service.outbox,
        timeout=30,
        what="LIVE again",
    )
    shown = [banner_text(s, time.monotonic())[0].split(" ")[0] for s in statuses]
    assert "SYNCING" in shown
    assert shown.index("SYNCING") < len(shown) - 1 - shown[::-1].index("LIVE")
    syncing = [s for s in statuses if s.phase is LinkPhase.SYNCING and s.sync_total]
    assert syncing and syncing[-1].sync_total >= 1500
    assert "last confirmed" in window.banner.confirmed_label.text()


async def test_command_line_verbs_autocomplete_and_history(
    server: ServerProcess, make_client: ClientFactory, open_shell: Callable[[str], Shell]
) -> None:
    window, service, _ = open_shell(server.url)
    other = make_client("bob", server.url)
    other.submit(UnitAdd(unit_id="E12", type="ENGINE", status=UnitStatus.AV))
    other.submit(UnitAdd(unit_id="M55", type="MEDIC", status=UnitStatus.AQ))
    await wait_until(lambda: service.unit("M55") is not None, what="roster")
    line = window.command_line

    def run(text: str) -> str:
        line.input.setText(text)
        line.submit()
        return line.feedback.text()

    run("NEW MEDICAL P2 1 Market St")
    assert line.feedback.property("state") == "ok"
    await wait_until(lambda: window.models.incidents.rowCount() == 1)
    await wait_until(lambda: all(i.number for i in service.incidents()), what="numbered")
    number = service.incidents()[0].number
    assert number is not None
    run(f"DISP E12 M55 {number}")
    assert line.feedback.property("state") == "ok", line.feedback.text()
    run("ER E12")
    assert line.feedback.property("state") == "ok", line.feedback.text()
    message = run("TR M55")  # M55 is dispatched, not on scene: refused in place
    assert line.feedback.property("state") == "refused"
    assert "M55" in message
    assert line.input.text() == "TR M55"  # kept for correction
    assert "unknown verb" in run("DSIP E12 1").lower()
    run("ER M55 E12")  # all or nothing: M55 could go ER, E12 already is, so nothing is queued
    assert line.feedback.property("state") == "refused"
    assert service.unit("M55").status is UnitStatus.DP  # type: ignore[union-attr]
    run(f"NOTE {number} caller is conscious and breathing")
    await wait_until(lambda: not service.outbox, what="all applied")
    incident = service.incidents()[0]
    assert [n.text for n in incident.narrative] == ["caller is conscious and breathing"]
    assert service.unit("E12").status is UnitStatus.ER  # type: ignore[union-attr]

    line.input.clear()
    line.input.setFocus()
    qt_type(line.input, "DISP E")
    assert "E12" in line._completions.stringList()
    assert line.completer.popup().isVisible()
    qt_key(line.completer.popup(), Qt.Key.Key_Escape)
    line.input.clear()
    qt_key(line.input, Qt.Key.Key_Up)
    assert line.input.text().startswith("NOTE ")
    qt_key(line.input, Qt.Key.Key_Up)
    assert line.input.text() == "ER E12"


def qt_type(widget: object, text: str) -> None:
    from pytestqt.qtbot import QtBot as Bot

    Bot.keyClicks(widget, text)  # type: ignore[arg-type]


def qt_key(widget: object, key: Qt.Key) -> None:
    from pytestqt.qtbot import QtBot as Bot

    Bot.keyClick(widget, key)  # type: ignore[arg-type]


def test_docks_float_tab_close_and_come_back_from_the_view_menu(
    qtbot: QtBot, tmp_path: Path
) -> None:
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    window = MainWindow(service, Bridge(), tmp_path / "config")
    qtbot.addWidget(window)
    window.show()
    names = sorted(d.objectName() for d in window.findChildren(QDockWidget))
    assert names == sorted(spec.name for spec in DOCKS)
    for name, dock in window.docks.items():
        assert dock.isVisible(), name
        assert dock.features() & dock.DockWidgetFeature.DockWidgetFloatable
    QApplication.processEvents()
    assert window.tabifiedDockWidgets(window.docks["alerts"])  # tabbed by default
    window.docks["units"].close()
    assert not window.docks["units"].isVisible()
    action = next(a for a in window.findChildren(QAction) if a.objectName() == "show_units")
    action.trigger()
    assert window.docks["units"].isVisible()
    window.docks["map"].setFloating(True)
    assert window.docks["map"].isFloating()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    for key in (Qt.Key.Key_F2, "Ctrl+L"):
        window.incidents_view.setFocus()
        if isinstance(key, str):
            qtbot.keyClick(window.incidents_view, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
        else:
            qtbot.keyClick(window.incidents_view, key)
        assert window.command_line.input.hasFocus(), key
    # Ctrl+1..5 put the keyboard in a panel from anywhere, bringing a tabbed one to the front
    targets = {
        "incidents": window.incidents_view,
        "units": window.units_view,
        "incident_detail": window.incident_detail.note,
        "alerts": window.alerts_panel.alerts_view,
        "call_taking": window.call_taking.address.field,
        "map": window.maps.holder("map"),  # the map still loading: its holder
        "radio": window.radio_panel.entry,
        "supervisor": window.supervisor_panel,
    }
    window.docks["supervisor"].raise_()  # Alerts tabbed away behind Supervisor
    QApplication.processEvents()
    assert window.docks["alerts"].visibleRegion().isEmpty()
    for name, keys in GO_TO_KEYS.items():
        qtbot.keyClick(window.command_line.input, keys[-1], Qt.KeyboardModifier.ControlModifier)
        target = targets[name]
        # a floating dock is its own window, which offscreen may not activate; once it was
        # active, the main window's panels that follow get the focus in an inactive window
        active = target.window() is QApplication.activeWindow()
        assert target.hasFocus() or (not active and target.window().focusWidget() is target), name
        QApplication.processEvents()
        assert not window.docks[name].visibleRegion().isEmpty(), name  # brought to the front
    window.layouts.reset()
    assert not window.docks["map"].isFloating()
    window.close()
    service.db.close()


def test_themes_font_scale_and_error_banner(qtbot: QtBot, tmp_path: Path) -> None:
    from ui.app import _install_excepthook

    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    window = MainWindow(service, Bridge(), tmp_path / "config")
    qtbot.addWidget(window)
    window.show()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    window.set_theme("light")
    light = app.palette().window().color().lightness()
    window.set_theme("dark")
    dark = app.palette().window().color().lightness()
    assert light > 200 > 60 > dark
    window.set_theme("high-contrast")
    assert app.palette().windowText().color().name() == "#ffffff"
    window.set_theme("dark")
    window.zoom(None)
    size = app.font().pointSizeF()
    window.zoom(0.2)
    assert app.font().pointSizeF() == pytest.approx(size * 1.2)
    window.zoom(None)

    class Reporter:
        def report_error(self, message: str) -> None:
            window.show_error(message)

    previous = sys.excepthook
    try:
        _install_excepthook(Reporter())
        try:
            raise RuntimeError("printer on fire")
        except RuntimeError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = previous
    assert window.error_bar.isVisible()
    assert "printer on fire" in window.error_banner.text()
    window.close()
    service.db.close()


def test_needs_attention_lists_refusals_with_retry_and_discard(
    qtbot: QtBot, tmp_path: Path
) -> None:
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    bridge = Bridge()
    service.subscribe(bridge.on_change)
    window = MainWindow(service, bridge, tmp_path / "config")
    qtbot.addWidget(window)
    window.show()
    for unit in ("E1", "E2"):
        entry = service.outbox.enqueue(
            "unit.add", b'{"unit_id":"%s","type":"ENGINE"}' % unit.encode(), 1.0
        )
        service.outbox.reject(entry.key, "forbidden", "monitoring positions cannot add units", 2.0)
    service.state.note_attention_changed()
    service.state.flush()
    bridge.flush_now()
    panel = window.alerts_panel
    assert panel.view.model().rowCount() == 2
    assert panel.title.text() == "Needs attention · 2"
    assert not panel.retry_button.isEnabled() and not panel.discard_button.isEnabled()
    panel.view.selectRow(0)
    assert panel.discard_button.isEnabled()
    panel.discard_selected()
    bridge.flush_now()
    assert panel.view.model().rowCount() == 1
    assert [action for _, _, action, _ in service.outbox.journal()] == ["discard"]
    panel.view.selectRow(0)
    panel.retry_selected()
    bridge.flush_now()
    assert panel.view.model().rowCount() == 0
    assert len(service.outbox) == 1  # queued again under a new key
    assert panel.title.text() == "Needs attention · none"
    window.close()
    service.db.close()


async def test_monitoring_position_has_a_read_only_command_line(
    server: ServerProcess, qtbot: QtBot, tmp_path: Path
) -> None:
    bridge = Bridge()
    config = ServiceConfig(
        data_dir=tmp_path / "ws",
        url=server.url,
        role_requested="supervisor",
        **FAST,  # type: ignore[arg-type]
    )
    service = DispatchService(config, SignIn("sam", PASSWORD), on_status=bridge.on_status)
    window = MainWindow(service, bridge, tmp_path / "config")
    qtbot.addWidget(window)
    window.show()
    service.start()
    try:
        # read-only by the role asked for, and still once the server granted it
        await wait_until(lambda: window.command_line.input.isReadOnly(), what="read-only")
        await wait_until(lambda: service.link.role == "supervisor", what="welcomed")
        assert window.command_line.input.isReadOnly()
        assert "Monitoring" in window.command_line.input.placeholderText()
        window.command_line.input.setText("NEW FIRE P1 1 Main St")
        window.command_line.submit()
        assert not service.outbox.entries()  # nothing queued from a monitoring position
    finally:
        window.close()
        await service.stop(close_within=2.0)


def test_pending_and_status_timers_turn_amber_then_red(qtbot: QtBot, tmp_path: Path) -> None:
    from desktop.domain.incidents import IncidentCreated
    from desktop.domain.types import Incident, Location, Unit
    from desktop.domain.units import UnitAdded, UnitDispatched
    from desktop.protocol.codec import encode_raw
    from desktop.timers import TimerEngine, load_timer_config

    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    now = [1000.0]
    window = MainWindow(service, Bridge(), tmp_path / "config", sound=lambda: None)
    qtbot.addWidget(window)
    models = window.models
    models.clock = lambda: now[0]
    models.timers = TimerEngine(load_timer_config(), lambda: now[0])
    incident = Incident(id="i1", type="FIRE", priority=1, location=Location(address="1 Main"))
    for seq, data in enumerate(
        [
            IncidentCreated(incident=incident),
            UnitAdded(unit=Unit(id="E1", type="ENGINE", status=UnitStatus.AV)),
            UnitAdded(unit=Unit(id="E2", type="ENGINE", status=UnitStatus.AV)),
            UnitDispatched(unit_id="E2", incident_id="i1"),
        ],
        start=1,
    ):
        kind = {
            IncidentCreated: "incident.created",
            UnitAdded: "unit.added",
            UnitDispatched: "unit.dispatched",
        }[type(data)]
        service.state.apply_event(seq, kind, bytes(encode_raw(data)), 1000.0)
    models.reload()
    rules = models.timers.config
    p1 = rules.incident_pending[1]
    acknowledge = rules.unit_status[UnitStatus.DP]

    def age_cell() -> object:
        return models.incidents.index(models.incidents.row_of("i1") or 0, 7)  # Age

    def e2_cell() -> object:
        return models.units.index(models.units.row_of("E2") or 0, 6)

    models.tick()
    assert age_cell().data(Qt.ItemDataRole.BackgroundRole) is None  # type: ignore[attr-defined]
    now[0] = 1000.0 + p1.warn_after
    models.tick()
    warn = age_cell().data(Qt.ItemDataRole.BackgroundRole)  # type: ignore[attr-defined]
    assert warn is not None and warn.color().name() == "#3b2e00"  # amber
    now[0] = 1000.0 + max(p1.alert_after, acknowledge.alert_after)
    models.tick()
    red = age_cell().data(Qt.ItemDataRole.BackgroundRole)  # type: ignore[attr-defined]
    assert red.color().name() == "#8e1519"
    assert "P1" in age_cell().data(Qt.ItemDataRole.ToolTipRole)  # type: ignore[attr-defined]
    dispatched = e2_cell().data(Qt.ItemDataRole.BackgroundRole)  # type: ignore[attr-defined]
    assert dispatched.color().name() == "#8e1519"  # DP without ER for too long
    idle = models.units.index(models.units.row_of("E1") or 0, 6)
    assert idle.data(Qt.ItemDataRole.BackgroundRole) is None  # AV units have no timer
    window.close()
    service.db.close()


def test_a_local_storage_error_overrides_the_banner() -> None:
    status = LinkStatus(LinkPhase.LIVE, local_error="database or disk is full")
    assert banner_text(status, 0.0) == ("LOCAL STORAGE ERROR · see tooltip", "alert")
    assert banner_text(LinkStatus(LinkPhase.LIVE), 0.0) == ("LIVE", "live")
