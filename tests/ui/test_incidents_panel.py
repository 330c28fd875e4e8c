"""The Incidents panel against a real server: the pending queue first (priority, then the
longest waiting) and the active incidents after it, the pending timer's amber and red, the
filters (type, priority, area) with the hidden count, the shared selection both ways, Escape
and Clear, keyboard access, and the filter kept per workstation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from desktop.board_filter import EN_DASH, IncidentFilter
from desktop.domain.incidents import IncidentClose, IncidentCreate
from desktop.domain.types import Incident, IncidentStatus, LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch, UnitSetStatus
from desktop.link import LinkPhase
from desktop.runcards import RunCards
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from desktop.timers import TimerEngine, load_timer_config
from tests.support.fixtures import FAST
from tests.support.serverproc import PASSWORD, ServerProcess
from tests.support.waiting import wait_until
from tests.support.workstation import Clock
from ui.bridge import Bridge
from ui.models.board import BoardModels
from ui.panels.incidents import FILTER_KEY, IncidentsPanel
from ui.selection import Selection

AREAS = {"1 Main St": "B01 · Stn 1", "2 Oak St": "B02 · Stn 5", "3 Pine St": "B02 · Stn 6"}
AMBER = "#3b2e00"
RED = "#8e1519"
AREA, AGE = 5, 7  # incidents table columns


def area_of(incident: Incident) -> str:
    return AREAS.get(incident.location.address, "")


@dataclass
class Board:
    service: DispatchService
    models: BoardModels
    selection: Selection
    panel: IncidentsPanel
    clock: Clock
    settings: QSettings

    def create(self, incident_id: str, kind: str, priority: int, address: str) -> None:
        self.service.submit(
            IncidentCreate(
                incident_id=incident_id,
                type=kind,
                priority=priority,
                location=LocationArgs(address=address),
            )
        )

    def rows(self) -> list[str]:
        model = self.models.incidents
        return [model.id_at(row) or "" for row in range(model.rowCount())]

    async def settled(self) -> None:
        """Every command confirmed and the tables refreshed."""
        await wait_until(lambda: not self.service.outbox, what="commands confirmed")
        await asyncio.sleep(0.05)  # the bridge's 16 ms coalescing


OpenBoard = Callable[[], Board]


@pytest.fixture
async def open_board(
    qtbot: QtBot, tmp_path: Path, server: ServerProcess
) -> AsyncIterator[OpenBoard]:
    services: list[DispatchService] = []

    def open_one() -> Board:
        bridge = Bridge()
        config = ServiceConfig(data_dir=tmp_path / "ws", url=server.url, workstation="test", **FAST)  # type: ignore[arg-type]
        service = DispatchService(config, SignIn("ann", PASSWORD), on_status=bridge.on_status)
        service.subscribe(bridge.on_change)
        clock = Clock()
        models = BoardModels(
            service,
            clock=clock,
            timers=TimerEngine(load_timer_config(), clock),
            sound=lambda: None,
            area_of=area_of,
        )
        bridge.changed.connect(models.apply)
        selection = Selection()
        settings = QSettings(str(tmp_path / "workstation.ini"), QSettings.Format.IniFormat)
        panel = IncidentsPanel(
            service,
            models,
            selection,
            areas=["B01", "B02"],
            settings=settings,
            types=RunCards.load().incident_types(),
        )
        qtbot.addWidget(panel)
        panel.resize(1000, 400)
        panel.show()
        service.start()
        services.append(service)
        return Board(service, models, selection, panel, clock, settings)

    yield open_one
    for service in services:
        await service.stop(close_within=2.0)


async def live(board: Board) -> None:
    await wait_until(lambda: board.service.status.phase is LinkPhase.LIVE, what="LIVE")


def background(board: Board, incident_id: str, column: int) -> QColor | None:
    model = board.models.incidents
    row = model.row_of(incident_id)
    assert row is not None
    brush = model.index(row, column).data(Qt.ItemDataRole.BackgroundRole)
    return None if brush is None else brush.color()


async def test_pending_queue_first_by_priority_then_waiting_and_its_timer(
    open_board: OpenBoard,
) -> None:
    board = open_board()
    service, models = board.service, board.models
    await live(board)
    assert models.incidents.headerData(AREA, Qt.Orientation.Horizontal) == "Area"
    assert models.incidents.headerData(AGE, Qt.Orientation.Horizontal) == "Age"
    service.submit(UnitAdd(unit_id="E1", type="ENGINE", status=UnitStatus.AV))
    board.create("p3", "FIRE", 3, "1 Main St")
    board.create("p1-old", "FIRE", 1, "2 Oak St")
    board.create("p2", "MEDICAL", 2, "3 Pine St")
    board.create("p1-new", "MEDICAL", 1, "9 Nowhere")
    await board.settled()
    assert board.rows() == ["p1-old", "p1-new", "p2", "p3"]
    assert board.panel.header.text() == "4 pending · 0 active"
    area_texts = [models.incidents.index(row, AREA).data() for row in range(4)]
    assert area_texts == ["B02 · Stn 5", "", "B02 · Stn 6", "B01 · Stn 1"]

    # dispatched: it leaves the pending queue for the active part
    service.submit(UnitDispatch(incident_id="p1-old", unit_ids=["E1"]))
    await board.settled()
    assert board.rows() == ["p1-new", "p2", "p3", "p1-old"]
    assert board.panel.header.text() == "3 pending · 1 active"

    # the pending timer of a P1: amber at warn, red at alert (the Age cell)
    p1 = models.timers.config.incident_pending[1]
    incident = service.incident("p1-new")
    assert incident is not None
    since = incident.times["pending"]
    board.clock.now = since + p1.warn_after - 1
    models.tick()
    assert background(board, "p1-new", AGE) is None
    board.clock.now = since + p1.warn_after + 0.5
    models.tick()
    amber = background(board, "p1-new", AGE)
    assert amber is not None and amber.name() == AMBER
    assert background(board, "p1-new", AGE - 1) is None  # only the Age cell
    board.clock.now = since + p1.alert_after + 0.5
    models.tick()
    red = background(board, "p1-new", AGE)
    assert red is not None and red.name() == RED
    assert background(board, "p1-old", AGE) is None  # dispatched: no pending timer

    # its unit released, the incident is pending again, its timer from now: the newest P1
    service.submit(UnitSetStatus(unit_id="E1", status=UnitStatus.AV))
    await board.settled()
    released = service.incident("p1-old")
    assert released is not None and released.status is IncidentStatus.PENDING
    assert released.times["pending"] > since
    assert board.rows() == ["p1-new", "p1-old", "p2", "p3"]
    assert board.panel.header.text() == "4 pending · 0 active"
    board.clock.now = released.times["pending"] + 5
    models.tick()
    assert background(board, "p1-old", AGE) is None
    row = models.incidents.row_of("p1-old")
    assert row is not None and models.incidents.index(row, AGE).data() == "0:05"


async def test_filters_hide_rows_and_say_so(open_board: OpenBoard, qtbot: QtBot) -> None:
    board = open_board()
    panel, models = board.panel, board.models
    await live(board)
    board.create("fire-b01", "FIRE", 1, "1 Main St")
    board.create("fire-b02", "FIRE", 3, "2 Oak St")
    board.create("med-b02", "MEDICAL", 2, "3 Pine St")
    board.create("med-none", "Medical", 1, "9 Nowhere")
    await board.settled()
    assert panel.windowTitle() == "Incidents"
    assert not panel.clear_button.isEnabled()

    # type: the board's types (once each, whatever their case) and the run cards' types
    panel.type_filter.showPopup()
    panel.type_filter.hidePopup()
    labels = panel.type_filter.labels()
    assert labels[0] == "All types"
    assert "FIRE" in labels and "FIRE-STRUCTURE" in labels
    assert labels.count("MEDICAL") + labels.count("Medical") == 1
    panel.type_filter.setCurrentIndex(labels.index("FIRE"))
    assert board.rows() == ["fire-b01", "fire-b02"]
    assert panel.header.text() == "2 pending · 0 active · filter: FIRE (2 hidden)"
    assert panel.windowTitle() == "Incidents · FIRE"
    assert panel.clear_button.isEnabled()

    # priority, combined with type
    priorities = panel.priority_filter.labels()
    assert priorities == ["All priorities", "P1", f"P1{EN_DASH}2", f"P1{EN_DASH}3"]
    panel.priority_filter.setCurrentIndex(2)
    assert board.rows() == ["fire-b01"]
    assert panel.header.text() == (f"1 pending · 0 active · filter: P1{EN_DASH}2 · FIRE (3 hidden)")
    panel.type_filter.setCurrentIndex(0)
    assert board.rows() == ["fire-b01", "med-none", "med-b02"]
    assert models.incident_filter == IncidentFilter(priorities=frozenset({1, 2}))

    # area: "B02" holds both of its stations; an incident of no known area is in none
    panel.priority_filter.setCurrentIndex(0)
    assert panel.area_filter.labels() == ["All areas", "B01", "B02"]
    panel.area_filter.setCurrentIndex(2)
    assert board.rows() == ["med-b02", "fire-b02"]
    assert panel.header.text() == "2 pending · 0 active · filter: B02 (2 hidden)"

    # a new incident the filter hides counts at once; one it shows appears
    board.create("fire-b01-2", "FIRE", 2, "1 Main St")
    await wait_until(lambda: models.incident_counts.hidden == 3, what="hidden count")
    assert panel.header.text() == "2 pending · 0 active · filter: B02 (3 hidden)"
    board.create("new-b02", "GAS LEAK", 1, "2 Oak St")
    await wait_until(lambda: "new-b02" in board.rows(), what="shown")
    assert board.rows()[0] == "new-b02"
    await board.settled()
    panel.type_filter.showPopup()
    panel.type_filter.hidePopup()
    assert "GAS LEAK" in panel.type_filter.labels()

    # the filter is kept for this workstation
    saved = IncidentFilter.from_json(str(board.settings.value(FILTER_KEY)))
    assert saved == IncidentFilter(areas=frozenset({"B02"}))
    again = BoardModels(board.service, clock=board.clock, sound=lambda: None, area_of=area_of)
    other = IncidentsPanel(
        board.service, again, Selection(), areas=["B01", "B02"], settings=board.settings
    )
    qtbot.addWidget(other)
    assert other.area_filter.currentText() == "B02"
    assert again.incident_filter == saved
    assert [again.incidents.id_at(r) for r in range(again.incidents.rowCount())] == [
        "new-b02",
        "med-b02",
        "fire-b02",
    ]

    # Clear shows everything again
    panel.clear_button.click()
    assert len(board.rows()) == 6
    assert panel.header.text() == "6 pending · 0 active"
    assert panel.windowTitle() == "Incidents"
    assert IncidentFilter.from_json(str(board.settings.value(FILTER_KEY))).is_everything


async def test_keyboard_alt_keys_reach_the_filters_and_escape_clears(
    open_board: OpenBoard, qtbot: QtBot
) -> None:
    board = open_board()
    panel = board.panel
    await live(board)
    board.create("a", "FIRE", 1, "1 Main St")
    board.create("b", "MEDICAL", 3, "2 Oak St")
    await board.settled()
    panel.activateWindow()
    await wait_until(lambda: QApplication.activeWindow() is panel, what="active window")
    panel.view.setFocus()
    combos: list[tuple[Qt.Key, QWidget]] = [
        (Qt.Key.Key_P, panel.priority_filter),
        (Qt.Key.Key_A, panel.area_filter),
        (Qt.Key.Key_T, panel.type_filter),
    ]
    for key, combo in combos:
        qtbot.keyClick(panel, key, Qt.KeyboardModifier.AltModifier)
        await wait_until(combo.hasFocus, timeout=2.0, what=combo.objectName())
    # a type new to the board is offered as soon as the type filter takes the focus
    assert "DRONE SIGHTING" not in panel.type_filter.labels()
    board.create("c", "DRONE SIGHTING", 5, "2 Oak St")
    await board.settled()
    panel.view.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_T, Qt.KeyboardModifier.AltModifier)
    await wait_until(panel.type_filter.hasFocus, timeout=2.0, what="type filter")
    assert "DRONE SIGHTING" in panel.type_filter.labels()
    # with the priority combo focused, arrow down picks P1
    panel.priority_filter.setFocus()
    qtbot.keyClick(panel.priority_filter, Qt.Key.Key_Down)
    assert board.rows() == ["a"]
    assert "(2 hidden)" in panel.header.text()
    panel.view.setFocus()
    qtbot.keyClick(panel.view, Qt.Key.Key_Escape)
    assert board.models.incident_filter.is_everything
    assert panel.priority_filter.currentIndex() == 0
    assert board.rows() == ["a", "b", "c"]
    assert panel.header.text() == "3 pending · 0 active"
    qtbot.keyClick(panel.view, Qt.Key.Key_Escape)  # nothing to clear: harmless
    assert board.rows() == ["a", "b", "c"]


async def test_selection_follows_both_ways_without_loops(
    open_board: OpenBoard, qtbot: QtBot
) -> None:
    board = open_board()
    panel, selection, view = board.panel, board.selection, board.panel.view
    await live(board)
    for n in range(40):  # enough rows to scroll
        board.create(f"i{n:02d}", "FIRE" if n % 2 else "MEDICAL", 3, "1 Main St")
    await board.settled()
    changes: list[str | None] = []
    selection.incident_changed.connect(changes.append)
    opened: list[str] = []
    panel.open_requested.connect(opened.append)

    # a click selects the incident everywhere
    model = board.models.incidents
    rect = view.visualRect(model.index(2, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert selection.incident_id == "i02"
    assert changes == ["i02"]
    # arrow keys move it; Enter opens it
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert selection.incident_id == "i03"
    qtbot.keyClick(view, Qt.Key.Key_Return)
    assert opened == ["i03"]
    assert changes == ["i02", "i03"]

    # selected elsewhere: the row is selected and scrolled to, with no echo
    selection.select_incident("i39")
    assert panel.selected_id() == "i39"
    assert changes == ["i02", "i03", "i39"]
    row = model.row_of("i39")
    assert row is not None
    assert view.viewport().rect().intersects(view.visualRect(model.index(row, 0)))

    # hidden by the filter: the table's selection clears, the incident stays selected
    panel.type_filter.select(frozenset({"MEDICAL"}), "MEDICAL")
    assert "i39" not in board.rows()
    assert panel.selected_id() is None
    assert selection.incident_id == "i39"
    # selected elsewhere while hidden: nothing selected here
    selection.select_incident("i37")
    assert panel.selected_id() is None
    # shown again: selected again
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert panel.selected_id() == "i37"
    assert changes == ["i02", "i03", "i39", "i37"]

    # closed: it leaves the board and the table's selection
    board.service.submit(IncidentClose(incident_id="i37", disposition="handled"))
    await wait_until(lambda: "i37" not in board.rows(), what="closed")
    assert panel.selected_id() is None
    selection.select_incident(None)
    assert panel.selected_id() is None
    # a double click opens too
    view.scrollToTop()
    where = view.visualRect(model.index(0, 2)).center()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=where)
    assert opened == ["i03", model.id_at(0)]
    assert selection.incident_id == model.id_at(0)
    await board.settled()
