"""Positions and shadowing (#16), as a supervisor uses them: two real workstations on a real
server. The dispatcher's position reports what it has open and types
(ui/activity_watch.py); the supervisor's positions overview lists it, Enter on its row shadows
it, and the shadow follows the dispatcher's incident and typing live; Esc stops. The shift
report is asked for from the Supervisor panel and written by the workstation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QScrollArea
from pytestqt.qtbot import QtBot

from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import LocationArgs
from desktop.floor_positions import ShadowView
from desktop.link import LinkPhase
from desktop.service import CommandRefused
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until
from tests.support.workstation import Workstation
from ui.widgets.floor_positions import ShadowPane


def _incident(incident_id: str, address: str) -> IncidentCreate:
    return IncidentCreate(
        incident_id=incident_id, type="MEDICAL", priority=2, location=LocationArgs(address=address)
    )


async def test_the_supervisor_shadows_a_dispatcher_following_incident_and_typing(
    server: ServerProcess, open_workstation: Callable[..., Workstation]
) -> None:
    ann = open_workstation(server.url, user="ann", name="ann")
    await wait_until(lambda: ann.service.status.phase is LinkPhase.LIVE, what="ann LIVE")
    ann.service.submit(_incident("i-1", "1200 Market St"))
    ann.service.submit(_incident("i-2", "400 Castro St"))
    await wait_until(lambda: not ann.service.outbox, what="incidents saved")

    sam = open_workstation(server.url, user="sam", name="sam")
    panel = sam.window.supervisor_panel
    table = panel.positions.table
    await wait_until(lambda: sam.service.link.role == "supervisor", what="sam signed in")
    await wait_until(lambda: table.rowCount() == 2, what="both positions listed")
    users = [table.item(row, 0).text() for row in range(table.rowCount())]
    assert users == ["ann", "sam"]
    assert table.item(0, 2).text() == "ann"  # the workstation

    # ann opens an incident: the overview says so
    ann.window.selection.select_incident("i-1")
    number_1 = ann.service.incident("i-1").number  # type: ignore[union-attr]
    assert number_1
    await wait_until(lambda: number_1 in table.item(0, 3).text(), what="ann's incident listed")

    # Enter on ann's row shadows her; the pane below the overview is brought into view
    sam.window.resize(1900, 1040)
    sam.window.maps.start(behind=False)  # pyqtgraph loaded: the charts above the overview
    await wait_until(lambda: panel.charts is not None, timeout=10.0, what="charts built")
    sam.window.go_to("supervisor")
    table.setFocus()
    table.setCurrentCell(0, 0)
    scroll = sam.window.docks["supervisor"].findChild(QScrollArea)
    assert scroll is not None and scroll.verticalScrollBar().maximum() > 0  # the panel scrolls
    scroll.verticalScrollBar().setValue(0)  # looking at the tiles at the top
    QTest.keyClick(table, Qt.Key.Key_Return)
    shadow = panel.positions.shadow
    assert panel.positions.shadowed is not None and shadow.isVisible()
    await wait_until(
        lambda: shadow.visibleRegion().boundingRect().size() == shadow.size(),
        what="the whole shadow in view",
    )
    assert "Shadowing ann (dispatcher) at ann" in shadow.title.text()
    assert number_1 in shadow.open.text() and "1200 Market St" in shadow.open.text()

    # her typing shows live, and where her keyboard is
    line = ann.window.command_line.input
    ann.window.activateWindow()  # one process holds both windows: the keyboard goes to hers
    line.setFocus()
    QTest.keyClicks(line, "D E51")
    await wait_until(lambda: "D E51" in shadow.drafts.text(), what="typing shadowed")
    assert "Command line" in shadow.drafts.text()
    await wait_until(lambda: table.item(0, 4).text() == "Command line", what="her keyboard")
    sam.window.activateWindow()  # her window inactive: the panel is where her keyboard will be
    await wait_until(lambda: QApplication.activeWindow() is sam.window, what="sam's window")
    assert ann.window.activity.panel() == "command_line"
    ann.window.incident_detail.note.setFocus()
    QTest.keyClicks(ann.window.incident_detail.note, "caller on 2nd floor")
    await wait_until(lambda: "caller on 2nd floor" in shadow.drafts.text(), what="note shadowed")
    assert "Narrative note" in shadow.drafts.text()

    # she moves to another incident: the shadow follows
    ann.window.selection.select_incident("i-2")
    number_2 = ann.service.incident("i-2").number  # type: ignore[union-attr]
    assert number_2
    await wait_until(lambda: number_2 in shadow.open.text(), what="the shadow followed")
    assert "400 Castro St" in shadow.open.text()

    # nothing was sent to, or changed on, ann's position by the shadow
    assert ann.window.command_line.input.text() == "D E51"
    assert not any(p.user == "ann" for p in ann.service.presence().values())  # ann sees none

    # Esc stops shadowing
    QTest.keyClick(table, Qt.Key.Key_Escape)
    assert panel.positions.shadowed is None and not shadow.isVisible()


async def test_the_shift_report_is_made_from_the_supervisor_panel(
    server: ServerProcess, open_workstation: Callable[..., Workstation], tmp_path: Path
) -> None:
    pypdfium2 = pytest.importorskip("pypdfium2")
    ann = open_workstation(server.url, user="ann", name="ann")
    await wait_until(lambda: ann.service.status.phase is LinkPhase.LIVE, what="ann LIVE")
    ann.service.submit(_incident("i-1", "1200 Market St"))
    await wait_until(lambda: not ann.service.outbox, what="incident saved")
    with pytest.raises(CommandRefused) as refused:  # a dispatcher may not ask for it
        await ann.service.shift_report(0.0, 1.0, "UTC")
    assert refused.value.code == "forbidden"

    sam = open_workstation(server.url, user="sam", name="sam")
    await wait_until(lambda: sam.service.status.phase is LinkPhase.LIVE, what="sam LIVE")
    panel = sam.window.supervisor_panel
    sam.window.go_to("supervisor")
    QTest.keyClick(panel, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    dialog = panel.report_dialog
    assert dialog is not None and dialog.isVisible()
    for fmt in ("json", "pdf"):
        dialog.format.setCurrentText(fmt.upper())
        target = tmp_path / f"shift.{fmt}"
        dialog.path.setText(str(target))
        QTest.keyClick(dialog, Qt.Key.Key_Return)
        await wait_until(lambda t=target: dialog.written == t, what=f"{fmt} written")
        dialog.written = None
    figures = json.loads((tmp_path / "shift.json").read_text())
    assert figures["incidents"] == 1
    pdf = pypdfium2.PdfDocument(str(tmp_path / "shift.pdf"))
    text = pdf[0].get_textpage().get_text_range()
    assert "Shift report" in text
    assert "Written:" in dialog.outcome.text()


def test_the_shadow_shows_what_positions_send_as_text_never_as_markup(qtbot: QtBot) -> None:
    pane = ShadowPane()
    qtbot.addWidget(pane)
    view = ShadowView(
        title="Shadowing ann (dispatcher) at <b>ws-4</b>",
        open="<i>F2612-000001</i>",
        details=("Status pending",),
        narrative=("caller says <script>",),
        drafts=(("Command line", "NOTE <b>x</b> & y"),),
        panel="command_line",
    )
    pane.show_view(view)
    for label in (pane.title, pane.open, pane.details):
        assert label.textFormat() is Qt.TextFormat.PlainText
    assert "<b>ws-4</b>" in pane.title.text() and "<script>" in pane.details.text()
    assert "&lt;b&gt;x&lt;/b&gt; &amp; y" in pane.drafts.text()  # escaped into its rich text
