"""Monitoring mode (#16): a read-only position (a supervisor, ``--monitor``) sees everything and
changes nothing. Every edit action of every panel is disabled and says why
(`desktop.domain.roles.READ_ONLY_HINT`), every edit key says it on its panel's message line and
queues nothing, navigation keeps working; and behind the UI the service and the server refuse a
supervisor's command anyway (``forbidden``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.roles import READ_ONLY_HINT
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitSetStatus
from desktop.link import LinkPhase
from desktop.service import CommandRefused
from tests.support.offline_window import Offline, incident, open_offline, unit
from tests.support.rawclient import RawClient
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until
from tests.support.workstation import Workstation
from ui.main_window import MainWindow
from ui.widgets.message_line import MessageLine

Control = QWidget | QAction


def edit_controls(window: MainWindow) -> dict[str, Control]:
    """Every edit button, field and checkbox of the window's panels, by a name for messages
    (menus built on demand are checked on their own)."""
    detail = window.incident_detail
    recommendation = detail.recommendation
    alerts = window.alerts_panel
    calls = window.call_taking
    box = calls.questioning.box
    radio = window.radio_panel
    return {
        "alerts.acknowledge": alerts.acknowledge_button,
        "alerts.retry": alerts.retry_button,
        "alerts.edit": alerts.edit_button,
        "alerts.discard": alerts.discard_button,
        "detail.note": detail.note,
        "detail.release": detail.release_button,
        "detail.type": detail.type_input,
        "detail.priority": detail.priority_input,
        "detail.address": detail.address_input,
        "detail.coordinates": detail.coordinates_input,
        "detail.update": detail.update_button,
        "detail.disposition": detail.disposition_input,
        "detail.close": detail.close_button,
        "recommendation.alarm": recommendation.alarm,
        "recommendation.add_unit": recommendation.add_unit,
        "recommendation.override_reason": recommendation.override_reason,
        "recommendation.accept (F9)": recommendation.accept_button,
        "recommendation.ticked": recommendation.ticked_button,
        "calls.address": calls.address.field,
        "calls.type": calls.type_field,
        "calls.caller_name": calls.caller_name,
        "calls.release": calls.release_button,
        "calls.use_caller": calls.use_caller_button,
        "calls.join": calls.join_button,
        "calls.child": calls.child_button,
        "questioning.complaint": box.complaint,
        "questioning.answer": box.answer_field,
        "radio.false_activation": radio.false_activation,
    }


def read_only_fields(window: MainWindow) -> dict[str, QLineEdit]:
    """Entries that stay focusable but read-only (their keys reach them, Enter says why)."""
    radio = window.radio_panel
    return {
        "command_line": window.command_line.input,
        "radio.entry": radio.entry,
        "radio.prompt_answer": radio.prompt_answer,
        "radio.clear_reason": radio.clear_reason,
    }


def set_role(opened: Offline, role: str | None) -> None:
    """The server's welcome granting ``role``, as the window hears of it (its status path)."""
    opened.service.link.role = role
    opened.window._on_status(opened.service.status)
    QApplication.processEvents()


def said_hint(line: MessageLine, press: Callable[[], object], what: str) -> None:
    """``press`` (a key) says the hint on ``line`` (cleared first: said now, not before)."""
    line.clear_message()
    press()
    QApplication.processEvents()
    assert line.text() == READ_ONLY_HINT, (what, line.text())


@pytest.fixture
def monitoring(qtbot: QtBot, tmp_path: Path) -> Offline:
    """An offline window, unit E51 on incident i-1 selected, the maps loaded, read-only."""
    opened = open_offline(
        qtbot,
        tmp_path,
        [unit("E51"), unit("M53", "MEDIC")],
        [incident("i-1", "F2601-000001")],
    )
    opened.window.maps.start(behind=False)
    QApplication.processEvents()
    opened.window.selection.select_incident("i-1")
    opened.window.selection.select_unit("E51")
    set_role(opened, "supervisor")
    return opened


def test_every_edit_action_is_disabled_saying_why(monitoring: Offline) -> None:
    window = monitoring.window
    for name, control in edit_controls(window).items():
        assert not control.isEnabled(), name
        assert control.toolTip() == READ_ONLY_HINT, name
    for name, field in read_only_fields(window).items():
        assert field.isReadOnly(), name
        assert field.placeholderText() == READ_ONLY_HINT, name
    # the Units panel's menu: every status and the dispatch disabled, the incident still shown
    window.units_view.selectRow(window.models.units.row_of("E51") or 0)
    menu = window.units_panel.build_menu("E51")
    actions = {a.objectName(): a for a in menu.actions() if a.objectName()}
    edits = [name for name in actions if name.startswith("unit_status_")] + ["unit_dispatch"]
    assert len(edits) == 8
    for name in edits:
        assert not actions[name].isEnabled(), name
        assert actions[name].toolTip() == READ_ONLY_HINT, name
    assert window.units_panel.hint.text().startswith(READ_ONLY_HINT)
    # the map's menu: no dispatch, no new incident; the route and the view still work
    panel = window.maps.holder("map").panel
    assert panel is not None
    map_menu = panel.menu_actions(QPointF(0, 0))
    by_name = {a.objectName(): a for a in map_menu.actions()}
    for name in ("map_dispatch_recommended", "map_create_incident"):
        assert not by_name[name].isEnabled(), name
        assert by_name[name].toolTip() == READ_ONLY_HINT, name
    assert by_name["map_show_route"].isEnabled()
    # the status bar says it: a monitoring position
    assert "monitoring" in window.identity.text()


def test_navigation_layouts_and_finding_keep_working(monitoring: Offline, qtbot: QtBot) -> None:
    window = monitoring.window
    units = window.units_panel
    assert units.find_field.isEnabled() and window.incidents_panel.view.isEnabled()
    assert units.find_unit("M53") == "M53 selected: AV available"
    assert window.selection.unit_id == "M53"
    menu = units.build_menu("M53")
    assert all(a.isEnabled() or a.toolTip() == READ_ONLY_HINT for a in menu.actions() if a.text())
    assert window.theme_menu.isEnabled() and window.layouts_menu.isEnabled()
    assert all(a.isEnabled() for a in window.text_size_actions)
    assert window.incident_detail.recommendation.table.isEnabled()  # its units selectable
    window.go_to("units")  # the Go to keys' action
    assert window.docks["units"].isVisible()
    assert monitoring.service.outbox.entries() == []


def test_every_edit_key_says_read_only_and_queues_nothing(
    monitoring: Offline, qtbot: QtBot
) -> None:
    window, service = monitoring.window, monitoring.service
    units = window.units_panel
    window.units_view.setFocus()
    window.units_view.selectRow(window.models.units.row_of("E51") or 0)
    for letter in "AQEOTHXD":
        said_hint(
            units.message,
            functools.partial(qtbot.keyClick, window.units_view, letter),
            f"units {letter}",
        )
    said_hint(
        units.message,
        lambda: qtbot.keyClick(
            window.units_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier
        ),
        "units Ctrl+Z",
    )
    assert not units.set_status("E51", UnitStatus.OOS)  # the menu's actions, if triggered
    assert not units.dispatch_to_selected_incident("E51")

    # the window's keys: Ctrl+K acknowledge, F9 dispatch recommended, F12 acknowledge alarm
    alerts = window.alerts_panel
    said_hint(
        alerts.alerts_feedback,
        lambda: qtbot.keyClick(
            window.units_view, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier
        ),
        "Ctrl+K",
    )
    said_hint(alerts.alerts_feedback, alerts.acknowledge_selected, "Acknowledge")
    for refused in (alerts.retry_selected, alerts.edit_selected, alerts.discard_selected):
        said_hint(alerts.feedback, refused, refused.__name__)
    window.go_to("incident_detail")
    said_hint(
        window.incident_detail.message,
        lambda: qtbot.keyClick(window.units_view, Qt.Key.Key_F9),
        "F9",
    )
    detail = window.incident_detail
    for act in (
        detail.add_note,
        detail.update_incident,
        detail.close_incident,
        detail.release_selected,
    ):
        said_hint(detail.message, act, act.__name__)
    said_hint(detail.message, lambda: detail.set_alarm(2), "set_alarm")
    assert not detail.recommendation.dispatch_ticked()
    radio = window.radio_panel
    said_hint(radio.feedback, lambda: qtbot.keyClick(window.units_view, Qt.Key.Key_F12), "F12")

    # Call-taking: F3 from anywhere, its own keys in the panel, the questioning's F6 and F10
    calls = window.call_taking
    said_hint(calls.message, lambda: qtbot.keyClick(window.units_view, Qt.Key.Key_F3), "F3")
    window.go_to("call_taking")
    calls.ringing.setFocus()
    panel_keys: list[tuple[Qt.Key, Qt.KeyboardModifier]] = [
        (Qt.Key.Key_F4, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_F5, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier),
        (Qt.Key.Key_F7, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_F8, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier),
        (Qt.Key.Key_F6, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_F10, Qt.KeyboardModifier.NoModifier),
    ]
    for key, modifier in panel_keys:
        said_hint(
            calls.message,
            functools.partial(qtbot.keyClick, calls.ringing, key, modifier),
            f"call-taking {key.name} {modifier.name}",
        )
    for call_action in (calls.answer_oldest, calls.release_call, calls.mark_called_back):
        said_hint(calls.message, call_action, call_action.__name__)
    said_hint(calls.message, lambda: calls.set_address_text("1 Main St"), "map → Call-taking")
    assert calls.address.field.text() == ""
    assert calls.questioning.box.pick_complaint() is None
    assert not calls.questioning.start_instructions()

    # the radio entries: Enter says why, Alt+X does not tick the false activation
    for field, name in (
        (radio.entry, "radio log"),
        (radio.prompt_answer, "prompt"),
        (radio.clear_reason, "clear"),
    ):
        said_hint(radio.feedback, functools.partial(qtbot.keyClick, field, Qt.Key.Key_Return), name)
    radio.entry.setFocus()
    said_hint(
        radio.feedback,
        lambda: qtbot.keyClick(radio.entry, Qt.Key.Key_X, Qt.KeyboardModifier.AltModifier),
        "Alt+X",
    )
    assert not radio.false_activation.isChecked()

    # the command line: Enter says why
    said_hint(
        window.command_line.feedback,
        lambda: qtbot.keyClick(window.command_line.input, Qt.Key.Key_Return),
        "command line",
    )
    # the map's menu actions, if triggered anyway
    panel = window.maps.holder("map").panel
    assert panel is not None
    said_hint(panel.message, lambda: panel._create_at(37.78, -122.42), "map create")
    said_hint(panel.message, lambda: panel._dispatch("i-1"), "map dispatch")
    assert service.outbox.entries() == []


def test_the_role_changing_back_restores_every_action(monitoring: Offline) -> None:
    window = monitoring.window
    set_role(monitoring, "dispatcher")
    for name, control in edit_controls(window).items():
        assert control.toolTip() != READ_ONLY_HINT, name
    for name, field in read_only_fields(window).items():
        assert not field.isReadOnly(), name
        assert field.placeholderText() != READ_ONLY_HINT, name
    alerts = window.alerts_panel
    assert alerts.edit_button.toolTip().startswith("Edit the refused command")
    assert not alerts.edit_button.isEnabled()  # nothing refused is selected: as it was
    detail = window.incident_detail
    assert detail.note.isEnabled() and detail.close_button.isEnabled()
    assert window.call_taking.address.field.isEnabled()
    menu = window.units_panel.build_menu("E51")
    statuses = [a for a in menu.actions() if a.objectName().startswith("unit_status_")]
    assert any(a.isEnabled() for a in statuses)
    assert all(a.toolTip() != READ_ONLY_HINT for a in statuses)
    assert window.units_panel.hint.text().startswith("Keys:")
    assert detail.add_note() is False  # an empty note: not the hint any more
    assert detail.message.text() != READ_ONLY_HINT


# --- against the real server ---------------------------------------------------------------


async def test_a_supervisor_workstation_is_read_only_and_the_server_refuses_it_anyway(
    server: ServerProcess, open_workstation: Callable[..., Workstation]
) -> None:
    ann = open_workstation(server.url, user="ann", name="ann")
    await wait_until(lambda: ann.service.status.phase is LinkPhase.LIVE, what="ann LIVE")
    ann.service.submit(UnitAdd(unit_id="E51", type="ENGINE", status=UnitStatus.AV))
    ann.service.submit(
        IncidentCreate(
            incident_id="i-1", type="MEDICAL", priority=2, location=LocationArgs(address="1 Main")
        )
    )
    await wait_until(lambda: not ann.service.outbox, what="floor set up")

    sam = open_workstation(server.url, user="sam", name="sam")
    window, service = sam.window, sam.service
    await wait_until(lambda: service.link.role == "supervisor", what="signed in as supervisor")
    await wait_until(lambda: service.incident("i-1") is not None, what="synced")
    window.selection.select_incident("i-1")
    window.selection.select_unit("E51")
    # the status bar follows the link's next status (the role comes with the welcome)
    await wait_until(lambda: "monitoring" in window.identity.text(), what="said monitoring")
    for name, control in edit_controls(window).items():
        assert not control.isEnabled() and control.toolTip() == READ_ONLY_HINT, name
    for name, field in read_only_fields(window).items():
        assert field.isReadOnly(), name
    assert not window.units_panel.set_status("E51", UnitStatus.OOS)
    assert window.units_panel.message.text() == READ_ONLY_HINT

    # forced through the service anyway: refused in place, nothing queued
    for args in (
        UnitSetStatus(unit_id="E51", status=UnitStatus.OOS),
        IncidentAddNote(incident_id="i-1", text="from the supervisor"),
    ):
        with pytest.raises(CommandRefused) as refused:
            service.submit(args)
        assert refused.value.code == "forbidden"
    assert service.outbox.entries() == [] and not service.needs_attention()

    # and the server itself refuses a supervisor's raw command
    raw = await RawClient.login(server.url, "sam")
    try:
        assert raw.welcome is not None and raw.welcome.body.role == "supervisor"
        result = await raw.command("unit.set_status", {"unit_id": "E51", "status": "OOS"})
        assert not result.ok and result.error is not None
        assert result.error.code == "forbidden"
        note = await raw.command("incident.add_note", {"incident_id": "i-1", "text": "raw"})
        assert note.error is not None and note.error.code == "forbidden"
    finally:
        await raw.close()
    unit_now = ann.service.unit("E51")
    assert unit_now is not None and unit_now.status is UnitStatus.AV  # nothing changed
