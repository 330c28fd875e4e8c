"""The Supervisor panel's tiles follow the floor live (issue #16): a supervisor workstation
watches a dispatcher answer a call, create and dispatch its incident; the tiles show the call
answered, processed and the unit's turnout from the events the supervisor received, coloured
against their targets; Ctrl+8 brings the panel forward."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.domain.calls import CallAnswer, CallLink, CallOffer
from desktop.domain.floor_figures import HOUR_S
from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch, UnitSetStatus
from desktop.link import LinkPhase
from tests.support.fixtures import ClientFactory
from tests.support.offline_window import open_offline, unit
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until
from tests.support.workstation import Workstation
from ui.panels.supervisor import CHART_HEIGHT_PX


async def test_the_tiles_follow_the_floor(
    server: ServerProcess,
    open_workstation: Callable[..., Workstation],
    make_client: ClientFactory,
    qtbot: QtBot,
) -> None:
    sam = open_workstation(server.url, user="sam", name="sam")  # a supervisor
    ann = make_client("ann", server.url)
    tel = make_client("tel", server.url)
    for service in (sam.service, ann, tel):
        await wait_until(lambda s=service: s.status.phase is LinkPhase.LIVE, what="LIVE")
    panel = sam.window.supervisor_panel
    panel.tick()
    assert panel.boxes["answered_15s"].value.text() == "—"
    assert panel.boxes["unacknowledged"].value.text() == "0"

    tel.submit(CallOffer(call_id="c-1", ani="4155550100"))
    await wait_until(lambda: ann.state.view.calls.get("c-1") is not None, what="call offered")
    ann.submit_all(
        [
            UnitAdd(unit_id="M1", type="MEDIC", status=UnitStatus.AV),
            CallAnswer(call_id="c-1"),
            IncidentCreate(
                incident_id="i-1", type="MEDICAL", priority=1,
                location=LocationArgs(address="1200 MARKET ST"),
            ),
            CallLink(call_id="c-1", incident_id="i-1"),
            UnitDispatch(incident_id="i-1", unit_ids=["M1"]),
            UnitSetStatus(unit_id="M1", status=UnitStatus.ER),
        ]
    )  # fmt: skip
    await wait_until(lambda: not ann.outbox, what="applied")
    await wait_until(lambda: sam.service.unit("M1") is not None, what="seen by the supervisor")
    qtbot.keyClick(sam.window.command_line.input, Qt.Key.Key_8, Qt.KeyboardModifier.ControlModifier)
    await wait_until(
        lambda: sam.service.state.view.units["M1"].status is UnitStatus.ER, what="ER seen"
    )
    panel.tick()
    answered = panel.boxes["answered_15s"]
    assert (answered.value.text(), answered.standing) == ("100%", "ok")
    assert answered.detail.text() == "target 90% · 1 calls"
    assert panel.boxes["processed_60s"].value.text() == "100%"
    assert panel.boxes["turnout_p90"].standing == "ok"
    assert panel.boxes["active"].value.text() == "1"
    assert panel.boxes["active"].detail.text() == "P1 1"
    assert not sam.window.docks["supervisor"].visibleRegion().isEmpty()

    sam.window.maps.start(behind=False)  # pyqtgraph loaded: the charts are built with the map
    await wait_until(lambda: panel.charts is not None, timeout=10.0, what="charts built")
    volume, _bars, processing_chart, _curve = panel.charts  # type: ignore[misc]
    sam.window.resize(1900, 1600)  # room to spare: the charts keep their height
    await wait_until(lambda: volume.height() == processing_chart.height() == CHART_HEIGHT_PX)
    now = sam.service.server_now()
    panel.draw_charts(now)
    received = sam.service.state.view.calls["c-1"].times["received"]
    hours_ago = int(received // HOUR_S) - int(now // HOUR_S)  # 0, or -1 if the hour has turned
    ago, calls, processing = panel.chart_points
    assert ago[-1] == 0 and len(ago) == 24 and sum(calls) == 1
    assert calls[ago.index(hours_ago)] == 1
    assert len(processing) == 1 and processing[0][0] == hours_ago


def test_the_wall_board_shows_the_tiles_in_large_type_and_f11_closes_it(
    qtbot: QtBot, tmp_path: Path
) -> None:
    opened = open_offline(qtbot, tmp_path, [unit("E1")], [])
    window = opened.window
    qtbot.keyClick(window.command_line.input, Qt.Key.Key_F11)
    board = window.wallboard
    assert board is not None and board.isVisible()
    assert board.geometry().contains(window.screen().geometry())  # the window's monitor, whole
    assert set(board.boxes) == set(window.supervisor_panel.boxes)
    assert board.boxes["available"].value.text() == "1"
    big = board.boxes["available"].value
    small = window.supervisor_panel.boxes["available"].value
    assert big.fontInfo().pointSizeF() > small.fontInfo().pointSizeF() * 2  # large type
    assert window.banner.state_label.text() in board.corner.text()  # a stale board says so
    qtbot.keyClick(board, Qt.Key.Key_F11)
    assert window.wallboard is None and not board.isVisible()


def test_a_monitoring_position_opens_on_the_supervisor_panel(qtbot: QtBot, tmp_path: Path) -> None:
    opened = open_offline(qtbot, tmp_path, [unit("E1")], [])
    window = opened.window
    window.docks["radio"].raise_()  # the Supervisor panel tabbed away
    assert window.docks["supervisor"].visibleRegion().isEmpty()
    opened.service.link.role = "supervisor"
    window._on_status(opened.service.status)
    QApplication.processEvents()
    assert not window.docks["supervisor"].visibleRegion().isEmpty()
    window.docks["radio"].raise_()
    window._on_status(opened.service.status)  # once, not at every status
    QApplication.processEvents()
    assert window.docks["supervisor"].visibleRegion().isEmpty()
