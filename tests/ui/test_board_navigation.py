"""Going to a row on the boards (issue #10, point 7): the find field of the Incidents and the
Units panels (Ctrl+F, Enter, Esc), Home and End, and a unit chosen in Incident detail selected in
Units too. Real widgets of a real window, offline; keys typed with QTest."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.board_filter import IncidentFilter
from desktop.domain.types import Unit, UnitStatus
from desktop.domain.units import UnitSetStatus
from tests.support.offline_window import Offline, incident, open_offline, unit

CTRL = Qt.KeyboardModifier.ControlModifier


@pytest.fixture
def offline(qtbot: QtBot, tmp_path: Path) -> Offline:
    units = [unit(f"E{n}") for n in range(1, 13)]
    units.append(Unit(id="M55", type="MEDIC", status=UnitStatus.DP, incident_id="i-2"))
    fire = incident("i-2", "F2612-000124", kind="FIRE-STRUCTURE", priority=1)
    fire.units = ["M55"]
    incidents = [incident("i-1", "F2612-000123"), fire, incident("i-3", "F2612-000125")]
    return open_offline(qtbot, tmp_path, units, incidents)


def _focus(qtbot: QtBot, widget: object) -> None:
    widget.setFocus()  # type: ignore[attr-defined]
    QApplication.processEvents()


def test_the_incidents_find_field_goes_to_a_number(qtbot: QtBot, offline: Offline) -> None:
    window = offline.window
    panel, selection = window.incidents_panel, window.selection
    field = panel.find_field
    _focus(qtbot, panel.view)
    QTest.keyClick(panel.view, Qt.Key.Key_F, CTRL)  # from the table
    assert field.hasFocus()
    QTest.keyClicks(field, "124")  # the number's tail, as on the command line
    QTest.keyClick(field, Qt.Key.Key_Return)
    assert selection.incident_id == "i-2"
    assert panel.selected_id() == "i-2"
    assert panel.view.hasFocus()  # the keyboard is on the row found
    assert field.text() == ""
    assert panel.message.text() == "F2612-000124 selected"

    QTest.keyClick(panel.view, Qt.Key.Key_F, CTRL)
    QTest.keyClicks(field, "999")
    QTest.keyClick(field, Qt.Key.Key_Return)
    assert panel.message.text() == "no incident 999"
    assert panel.message.property("state") == "refused"
    assert field.text() == "999" and field.hasFocus()  # kept to correct
    assert selection.incident_id == "i-2"
    QTest.keyClick(field, Qt.Key.Key_Escape)
    assert field.text() == "" and panel.view.hasFocus()

    # an incident the filter hides is still found, and the panel says why its row is not shown
    panel.set_filter(IncidentFilter(priorities=frozenset({1})))
    QTest.keyClick(panel.view, Qt.Key.Key_F, CTRL)
    QTest.keyClicks(field, "F2612-000125")
    QTest.keyClick(field, Qt.Key.Key_Return)
    assert selection.incident_id == "i-3"
    assert "hidden by the filter" in panel.message.text()


def test_the_units_find_field_goes_to_a_unit_and_its_keys_act_on_it(
    qtbot: QtBot, offline: Offline
) -> None:
    window = offline.window
    panel = window.units_panel
    _focus(qtbot, panel.view)
    QTest.keyClick(panel.view, Qt.Key.Key_F, CTRL)
    assert panel.find_field.hasFocus()
    QTest.keyClicks(panel.find_field, "e7")
    QTest.keyClick(panel.find_field, Qt.Key.Key_Return)
    assert window.selection.unit_id == "E7"
    assert panel.selected_unit_id() == "E7"
    assert panel.view.hasFocus()
    assert panel.message.text() == "E7 selected: AV available"
    QTest.keyClick(panel.view, Qt.Key.Key_Q)  # in quarters, at once
    assert [p.args for p in offline.service.state.pending()] == [
        UnitSetStatus(unit_id="E7", status=UnitStatus.AQ)
    ]
    QTest.keyClick(panel.view, Qt.Key.Key_F, CTRL)
    QTest.keyClicks(panel.find_field, "E99")
    QTest.keyClick(panel.find_field, Qt.Key.Key_Return)
    assert panel.message.text() == "no unit E99"
    assert window.selection.unit_id == "E7"


def test_home_and_end_go_to_the_first_and_the_last_row(qtbot: QtBot, offline: Offline) -> None:
    window = offline.window
    for view, model, selected in (
        (window.incidents_view, window.models.incidents, lambda: window.selection.incident_id),
        (window.units_view, window.models.units, lambda: window.selection.unit_id),
    ):
        _focus(qtbot, view)
        view.selectRow(1)
        QTest.keyClick(view, Qt.Key.Key_End)
        assert selected() == model.id_at(model.rowCount() - 1)
        QTest.keyClick(view, Qt.Key.Key_Home)
        assert selected() == model.id_at(0)
    assert window.selection.unit_id == "E1"  # units in natural order: E1 ... E12, M55


def test_a_unit_chosen_in_incident_detail_is_selected_in_units(
    qtbot: QtBot, offline: Offline
) -> None:
    window = offline.window
    window.selection.select_unit("E3")
    window.selection.select_incident("i-2")
    detail = window.incident_detail
    offline.settle(qtbot)
    table = detail.units_table
    assert [table.item(row, 0).text() for row in range(table.rowCount())] == ["M55"]
    assert window.selection.unit_id == "E3"  # showing the incident chose nothing
    rect = table.visualItemRect(table.item(0, 0))
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.selection.unit_id == "M55"
    assert window.units_panel.selected_unit_id() == "M55"
    detail.refresh()  # a refill of the table keeps the choice and chooses nothing new
    window.selection.select_unit("E1")
    detail.refresh()
    assert window.selection.unit_id == "E1"
