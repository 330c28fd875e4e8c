"""The command line as a dispatcher types it (issue #10, points 5-7): incident types from the run
cards completed and checked, a preview of what Enter would do, Enter with the completion popup
open, offline incidents named by their local reference (L1) on the line and on the board, and GO
to select an incident or a unit. Real widgets of a real window, offline; keys typed with QTest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import UnitStatus
from desktop.domain.units import UnitDispatch, UnitSetStatus
from desktop.outbox import OutboxEntry
from tests.support.offline_window import Offline, incident, open_offline, unit
from ui.widgets.command_line import CommandLine

INCIDENT_COLUMN = 0


@pytest.fixture
def offline(qtbot: QtBot, tmp_path: Path) -> Offline:
    units = [unit("E36"), unit("E3"), unit("M55", "MEDIC")]
    return open_offline(qtbot, tmp_path, units, [incident("i-1", "F2612-000123")])


def _line(offline: Offline) -> CommandLine:
    line = offline.window.command_line
    line.input.clear()
    line.input.setFocus()
    return line


def _type(line: CommandLine, text: str) -> None:
    QTest.keyClicks(line.input, text)


def _commands(offline: Offline) -> list[object]:
    return [p.args for p in offline.service.state.pending()]


def _entries(offline: Offline) -> list[OutboxEntry]:
    return offline.service.outbox.entries()


def test_a_two_word_type_is_refused_with_the_code_to_type(offline: Offline) -> None:
    line = _line(offline)
    _type(line, "NEW STRUCTURE FIRE P1 1200 Market St")
    # before Enter the line says it cannot read it, and why
    assert line.feedback.property("state") == "preview"
    assert line.feedback.text().startswith("a type is one word: FIRE-STRUCTURE")
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    assert line.feedback.property("state") == "refused"
    assert "FIRE-STRUCTURE" in line.feedback.text()
    assert line.input.text() == "NEW STRUCTURE FIRE P1 1200 Market St"  # kept to correct
    assert not _entries(offline)  # nothing was made of it

    line.input.clear()
    _type(line, "NEW STRU")  # the run cards' codes complete by any of their words
    assert line._completions.stringList() == ["FIRE-STRUCTURE"]
    QTest.keyClick(line.input, Qt.Key.Key_Tab)
    assert line.input.text() == "NEW FIRE-STRUCTURE "
    _type(line, "P1 1200 Market St")
    assert line.feedback.text() == "Enter → new FIRE-STRUCTURE P1 at 1200 Market St"
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    assert line.feedback.property("state") == "ok", line.feedback.text()
    (command,) = _commands(offline)
    assert isinstance(command, IncidentCreate)
    assert (command.type, command.priority, command.location.address) == (
        "FIRE-STRUCTURE",
        1,
        "1200 Market St",
    )


def test_the_preview_shows_the_default_priority_and_unknown_units(offline: Offline) -> None:
    line = _line(offline)
    _type(line, "NEW MEDICAL 1 Main St")
    assert line.feedback.text() == "Enter → new MEDICAL P3 (default) at 1 Main St"
    line.input.clear()
    _type(line, "NEW MEDICAL P9 1 Main St")
    assert line.feedback.text() == "no priority P9: priorities are P1-P5"
    line.input.clear()
    _type(line, "OS E99")
    assert line.feedback.text() == "no unit E99"
    assert line.feedback.property("state") == "preview"


def test_enter_with_the_completion_popup_open_leaves_an_empty_line(
    qtbot: QtBot, offline: Offline
) -> None:
    line = _line(offline)
    _type(line, "OOS E36")
    popup = line.completer.popup()
    assert popup.isVisible() and line._completions.stringList() == ["E36"]
    QTest.keyClick(popup, Qt.Key.Key_Return)  # the popup has the keyboard while it is open
    qtbot.wait(20)
    assert line.input.text() == ""
    assert not popup.isVisible()
    assert _commands(offline) == [UnitSetStatus(unit_id="E36", status=UnitStatus.OOS)]
    assert line.feedback.text() == "E36 out of service (OOS)"

    # a candidate picked with the arrow keys is put on the line, not sent
    _type(line, "AV E3")
    # E36 first: it can go AV (it is out of service), E3 already is
    assert popup.isVisible() and line._completions.stringList() == ["E36", "E3"]
    QTest.keyClick(popup, Qt.Key.Key_Down)
    QTest.keyClick(popup, Qt.Key.Key_Return)
    assert line.input.text() == "AV E36 "
    assert len(_commands(offline)) == 1
    assert line.feedback.text() == "Enter → E36 available (AV)"


def test_an_offline_incident_is_named_l1_on_the_board_and_on_the_line(
    qtbot: QtBot, offline: Offline
) -> None:
    line = _line(offline)
    _type(line, "NEW MEDICAL P2 5 Main St")
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    _type(line, "NEW MEDICAL P2 6 Main St")
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    offline.settle(qtbot)
    first, second = (e for e in _entries(offline))
    assert (first.client_seq, second.client_seq) == (1, 2)
    created = [c for c in _commands(offline) if isinstance(c, IncidentCreate)]
    view = offline.service.state.view
    assert [view.incidents[c.incident_id].local_ref for c in created] == ["L1", "L2"]

    model = offline.window.models.incidents
    cells = {str(model.index(row, INCIDENT_COLUMN).data()) for row in range(model.rowCount())}
    assert "○ L1 (number pending)" in cells and "○ L2 (number pending)" in cells
    # every character the board shows is in the font it is drawn with (no "□")
    metrics = QFontMetrics(offline.window.incidents_view.font())
    for text in cells:
        assert all(metrics.inFontUcs4(ord(ch)) for ch in text), text
    # ... and whole in its column (it was cut to "○ L1 (number pen…"), drawn in italics
    italic = QFont(offline.window.incidents_view.font())
    italic.setItalic(True)
    room = offline.window.incidents_view.columnWidth(INCIDENT_COLUMN) - 12  # cell margins
    assert max(QFontMetrics(italic).horizontalAdvance(text) for text in cells) <= room

    _type(line, "DISP E3 l2")
    assert line.feedback.text() == "Enter → E3 dispatched to L2 (number pending)"
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    assert line.feedback.property("state") == "ok", line.feedback.text()
    assert _commands(offline)[-1] == UnitDispatch(
        incident_id=created[1].incident_id, unit_ids=["E3"]
    )
    _type(line, "NOTE L")
    assert line._completions.stringList()[:2] == ["L2", "L1"]  # newest first


def test_local_references_come_back_after_a_restart(qtbot: QtBot, tmp_path: Path) -> None:
    first = open_offline(qtbot, tmp_path, [unit("E3")], [])
    line = _line(first)
    _type(line, "NEW MEDICAL P2 5 Main St")
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    first.window.close()
    first.service.db.close()
    again = open_offline(qtbot, tmp_path, [], [])  # the same workstation's files
    (made,) = again.service.incidents()
    assert made.local_ref == "L1"
    line = _line(again)
    _type(line, "GO L1")
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    assert again.window.selection.incident_id == made.id


def test_go_selects_an_incident_or_a_unit_on_every_panel(qtbot: QtBot, offline: Offline) -> None:
    line = _line(offline)
    window = offline.window
    _type(line, "GO E36")
    assert line.feedback.text() == "Enter → unit E36 selected"
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    assert window.selection.unit_id == "E36"
    assert window.units_panel.selected_unit_id() == "E36"
    assert line.input.text() == ""
    _type(line, "GO 123")
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    assert window.selection.incident_id == "i-1"
    assert window.incidents_panel.selected_id() == "i-1"
    assert line.feedback.text() == "incident F2612-000123 selected"
    _type(line, "GO 999")
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    assert line.feedback.property("state") == "refused"
    assert line.feedback.text() == "no incident or unit 999"
