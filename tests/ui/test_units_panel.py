"""The Units panel against a real server process: the context menu follows the transition
rules, keys change status and dispatch, a local refusal and a server rejection are explained
in place, and the selected unit follows the shared `Selection` both ways."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QContextMenuEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.domain.incidents import IncidentCreate
from desktop.domain.kinds import CommandArgs
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch
from desktop.link import LinkPhase
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from tests.support.faultproxy import FaultProxy
from tests.support.fixtures import FAST, ClientFactory
from tests.support.serverproc import PASSWORD, ServerProcess
from tests.support.waiting import wait_until
from ui.bridge import Bridge
from ui.models.board import BoardModels
from ui.panels.units import UnitsPanel
from ui.selection import Selection
from ui.widgets.message_line import MessageState

UNIT, STATUS, INCIDENT, LOCATION = 0, 2, 3, 7  # columns of the units table
NO_MODIFIER = Qt.KeyboardModifier.NoModifier


@dataclass
class Opened:
    panel: UnitsPanel
    service: DispatchService
    selection: Selection
    bridge: Bridge  # kept: it feeds the models

    def cell(self, unit_id: str, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        units = self.panel.models.units
        row = units.row_of(unit_id)
        assert row is not None, unit_id
        return units.index(row, column).data(role)

    def key(self, key: Qt.Key, unit_id: str | None = None) -> None:
        """Press ``key`` on the table, after selecting ``unit_id``'s row if given."""
        if unit_id is not None:
            self.selection.select_unit(unit_id)
        QTest.keyClick(self.panel.view, key)

    def actions(self, unit_id: str) -> dict[str, QAction]:
        menu = self.panel.build_menu(unit_id)
        return {a.objectName(): a for a in menu.actions() if a.objectName()}


@pytest.fixture
async def open_panel(qtbot: QtBot, tmp_path: Path) -> AsyncIterator[Callable[[str], Opened]]:
    opened: list[Opened] = []

    def open_one(url: str) -> Opened:
        bridge = Bridge()
        config = ServiceConfig(data_dir=tmp_path / "ws", url=url, workstation="test", **FAST)  # type: ignore[arg-type]
        service = DispatchService(config, SignIn("ann", PASSWORD), on_status=bridge.on_status)
        service.subscribe(bridge.on_change)
        models = BoardModels(service, sound=lambda: None)
        bridge.changed.connect(models.apply)
        selection = Selection()
        panel = UnitsPanel(service, models, selection)
        qtbot.addWidget(panel)
        panel.resize(900, 400)
        panel.show()
        service.start()
        opened.append(Opened(panel, service, selection, bridge))
        return opened[-1]

    yield open_one
    for one in opened:
        one.panel.close()
        await one.service.stop(close_within=2.0)


async def applied(service: DispatchService, *commands: CommandArgs) -> None:
    """Submit ``commands`` and wait until the server has applied them all."""
    for args in commands:
        service.submit(args)
    await wait_until(lambda: not service.outbox, what="commands applied")


def incident(incident_id: str, address: str) -> IncidentCreate:
    return IncidentCreate(
        incident_id=incident_id, type="FIRE", priority=2, location=LocationArgs(address=address)
    )


def number(service: DispatchService, incident_id: str) -> str:
    found = service.incident(incident_id)
    assert found is not None and found.number is not None
    return found.number


async def test_menu_follows_the_rules_keys_change_status_refusal_in_place(
    server: ServerProcess, open_panel: Callable[[str], Opened]
) -> None:
    one = open_panel(server.url)
    panel, service = one.panel, one.service
    await wait_until(lambda: service.status.phase is LinkPhase.LIVE, what="LIVE")
    await applied(
        service,
        UnitAdd(unit_id="E1", type="ENGINE", station="7", status=UnitStatus.AQ),
        UnitAdd(unit_id="E2", type="ENGINE", station="3", status=UnitStatus.AV),
        incident("i-1", "1 Main St"),
        UnitDispatch(incident_id="i-1", unit_ids=["E2"]),
    )
    await wait_until(lambda: panel.models.units.rowCount() == 2, what="two rows")
    assert one.cell("E1", LOCATION) == "Stn 7"
    assert one.cell("E2", INCIDENT) == number(service, "i-1")
    assert one.cell("E2", LOCATION) == "→ 1 Main St"

    # AQ: only AV and OOS; the others say why, in the rules' words
    aq = one.actions("E1")
    enabled = {name for name, action in aq.items() if action.isEnabled()}
    assert enabled == {"unit_status_AV", "unit_status_OOS"}
    assert aq["unit_status_ER"].text() == "ER · En route\tE"
    assert aq["unit_status_OS"].toolTip() == "E1 cannot go AQ -> OS: on scene needs DP or ER first"
    assert aq["unit_status_OS"].statusTip() == aq["unit_status_OS"].toolTip()
    assert aq["unit_status_AQ"].toolTip() == "E1 is already AQ"
    assert aq["unit_dispatch"].toolTip() == "Select an incident first"
    assert "unit_show_incident" not in aq

    # DP: ER, OS, AV, AQ; not TR, AH, OOS; the incident can be shown
    dp = one.actions("E2")
    enabled = {name for name, action in dp.items() if action.isEnabled()}
    assert enabled == {
        "unit_status_ER",
        "unit_status_OS",
        "unit_status_AV",
        "unit_status_AQ",
        "unit_show_incident",
    }
    assert dp["unit_status_TR"].toolTip() == "E2 cannot go DP -> TR: transporting needs OS first"
    assert "must clear" in dp["unit_status_OOS"].toolTip()
    dp["unit_show_incident"].trigger()
    assert one.selection.incident_id == "i-1"
    assert one.actions("E2")["unit_dispatch"].toolTip() == f"E2 is DP on {number(service, 'i-1')}"

    # E on the DP unit: queued, and the view shows ER at once
    one.key(Qt.Key.Key_E, "E2")
    [entry] = service.outbox.entries()
    assert entry.kind == "unit.set_status" and b'"ER"' in entry.args
    assert one.cell("E2", STATUS) == "ER"
    assert not panel.message.isVisible()
    await wait_until(lambda: not service.outbox, what="ER applied")

    # O on the AQ unit: refused here, explained in place, nothing queued
    one.key(Qt.Key.Key_O, "E1")
    assert panel.message.isVisible()
    assert panel.message.text() == "E1 cannot go AQ -> OS: on scene needs DP or ER first"
    assert panel.message.property("state") == "refused"
    assert not service.outbox
    assert one.cell("E1", STATUS) == "AQ"

    # the next successful action clears the line
    one.key(Qt.Key.Key_X)
    assert not panel.message.isVisible()
    await wait_until(lambda: not service.outbox, what="applied")
    confirmed = service.state.confirmed.units
    assert (confirmed["E1"].status, confirmed["E2"].status) == (UnitStatus.OOS, UnitStatus.ER)


async def test_dispatch_key_menu_key_enter_and_selection_both_ways(
    server: ServerProcess, open_panel: Callable[[str], Opened]
) -> None:
    one = open_panel(server.url)
    panel, service, selection = one.panel, one.service, one.selection
    view, units = panel.view, panel.models.units
    await wait_until(lambda: service.status.phase is LinkPhase.LIVE, what="LIVE")
    roster = [f"E{n}" for n in range(1, 40)] + ["M1"]
    await applied(
        service,
        *(UnitAdd(unit_id=u, type="ENGINE", status=UnitStatus.AV) for u in roster),
        incident("i-1", "5 Oak Ave"),
    )
    await wait_until(lambda: units.rowCount() == len(roster), what="roster")

    # a row picked in the table becomes the selected unit
    row = units.row_of("E3")
    assert row is not None
    rect = view.visualRect(units.index(row, 0))
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, NO_MODIFIER, rect.center())
    assert selection.unit_id == "E3"

    # a unit selected elsewhere is selected and scrolled to here
    selection.select_unit("E39")
    assert panel.selected_unit_id() == "E39"
    assert view.viewport().rect().intersects(view.visualRect(units.index(units.rowCount() - 2, 0)))
    selection.select_unit(None)
    assert panel.selected_unit_id() is None and selection.unit_id is None

    # letters are commands, never a type-ahead search
    one.key(Qt.Key.Key_M, "E3")
    assert panel.selected_unit_id() == "E3"

    # D without a selected incident says what to do; with one, it dispatches
    one.key(Qt.Key.Key_D)
    assert panel.message.text() == "Select an incident first, then D dispatches E3"
    assert not service.outbox
    selection.select_incident("i-1")
    assert not panel.message.isVisible()  # a new selection clears the line
    assert one.actions("E3")["unit_dispatch"].text() == f"Dispatch to {number(service, 'i-1')}\tD"
    one.key(Qt.Key.Key_D)
    [entry] = service.outbox.entries()
    assert entry.kind == "unit.dispatch" and b'"E3"' in entry.args
    assert one.cell("E3", STATUS) == "DP"
    await wait_until(lambda: not service.outbox, what="dispatch applied")
    assert one.cell("E3", LOCATION) == "→ 5 Oak Ave"

    # a right click selects the row under the pointer and opens that unit's menu
    rect = view.visualRect(units.index(units.row_of("M1") or 0, 0))
    at = rect.center()
    QApplication.sendEvent(
        view.viewport(),
        QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at, view.viewport().mapToGlobal(at)),
    )
    menu = panel.menu
    assert menu is not None and selection.unit_id == "M1"
    await wait_until(menu.isVisible, what="menu shown")
    assert "unit_show_incident" not in {a.objectName() for a in menu.actions()}
    menu.close()
    selection.select_unit("E3")

    # the Menu key and Shift+F10 open the unit's menu on its row
    for key, modifier in (
        (Qt.Key.Key_Menu, NO_MODIFIER),
        (Qt.Key.Key_F10, Qt.KeyboardModifier.ShiftModifier),
    ):
        QTest.keyClick(view, key, modifier)
        menu = panel.menu
        assert menu is not None
        await wait_until(menu.isVisible, what="menu shown")
        shown = {a.objectName() for a in menu.actions()}
        assert {"unit_status_ER", "unit_show_incident"} <= shown
        menu.close()

    # Enter and a double click on a committed unit select its incident
    selection.select_incident(None)
    one.key(Qt.Key.Key_Return)
    assert selection.incident_id == "i-1"
    selection.select_incident(None)
    rect = view.visualRect(units.index(units.row_of("E3") or 0, 0))
    QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, NO_MODIFIER, rect.center())
    assert selection.incident_id == "i-1"
    one.key(Qt.Key.Key_Return, "M1")
    assert selection.incident_id == "i-1"
    assert panel.message.text() == "M1 is not on an incident"


async def test_server_rejection_is_explained_in_place_until_discarded(
    server: ServerProcess,
    proxy: FaultProxy,
    make_client: ClientFactory,
    open_panel: Callable[[str], Opened],
) -> None:
    other = make_client("bob", server.url)
    one = open_panel(proxy.url)
    panel, service = one.panel, one.service
    await applied(
        other,
        UnitAdd(unit_id="E1", type="ENGINE", status=UnitStatus.AV),
        incident("i-1", "1 Main St"),
        incident("i-2", "2 Elm St"),
    )
    await wait_until(
        lambda: (
            service.status.phase is LinkPhase.LIVE
            and service.incident("i-2") is not None
            and panel.models.units.row_of("E1") is not None
        ),
        what="synced and shown",
    )

    # this workstation goes offline; meanwhile E1 is dispatched elsewhere
    proxy.cut()
    await wait_until(lambda: service.status.phase is not LinkPhase.LIVE, what="offline")
    await applied(other, UnitDispatch(incident_id="i-1", unit_ids=["E1"]))
    one.selection.select_incident("i-2")
    one.key(Qt.Key.Key_D, "E1")  # allowed on the stale view: queued
    assert [e.kind for e in service.outbox.entries()] == ["unit.dispatch"]
    assert panel.message.state is MessageState.OK
    assert panel.message.text().startswith("E1 dispatched to ")

    # the server's refusal replaces the success on the same line: never both
    proxy.restore()
    await wait_until(lambda: panel.message.state is MessageState.SERVER, what="rejection explained")
    [rejection] = service.needs_attention()
    i1, i2 = number(service, "i-1"), number(service, "i-2")
    assert rejection.message == f"E1 is DP on {i1}"
    told = f"Server refused dispatch E1 to {i2}: E1 is DP on {i1} (see Needs attention)"
    assert panel.message.text() == told  # the same words on the row and in the panel
    assert panel.message.property("state") == "server"
    assert one.cell("E1", UNIT) == "✖ E1"
    assert one.cell("E1", STATUS) == "DP"
    tooltip = one.cell("E1", INCIDENT, Qt.ItemDataRole.ToolTipRole)
    assert tooltip == told
    foreground = one.cell("E1", UNIT, Qt.ItemDataRole.ForegroundRole)
    assert foreground.color().name() == "#ff7b72"  # type: ignore[attr-defined]

    service.discard(rejection.entry.key, "test")
    await wait_until(lambda: not panel.message.isVisible(), what="message cleared")
    assert one.cell("E1", UNIT) == "E1"
    assert one.cell("E1", INCIDENT, Qt.ItemDataRole.ToolTipRole) is None


async def test_d_dispatches_to_the_target_in_sight_and_ctrl_z_undoes_it(
    server: ServerProcess,
    open_panel: Callable[[str], Opened],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """#10.4: the incident D sends to is shown above the table; D says what it did in one
    line; Ctrl+Z within the undo window releases the unit back, recording why."""
    one = open_panel(server.url)
    panel, service = one.panel, one.service
    await applied(
        service,
        UnitAdd(unit_id="E01", type="ENGINE", status=UnitStatus.AQ),
        incident("i-1", "1200 Market St"),
    )
    await wait_until(lambda: panel.models.units.row_of("E01") is not None, what="shown")
    assert panel.target.text() == "D: select an incident to dispatch to"
    one.key(Qt.Key.Key_D, "E01")
    assert panel.message.state is MessageState.REFUSED and not service.outbox

    one.selection.select_incident("i-1")
    label = number(service, "i-1")
    assert panel.target.text() == f"D → {label} · FIRE P2 · 1200 Market St"
    one.key(Qt.Key.Key_D, "E01")
    assert panel.message.state is MessageState.OK
    assert panel.message.text() == f"E01 dispatched to {label} · Ctrl+Z undoes it within 10 s"
    await wait_until(lambda: not service.outbox, what="dispatch applied")

    QTest.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.message.text() == f"Undone: E01 released from {label}, back AQ"
    await wait_until(lambda: not service.outbox, what="undo applied")
    unit = service.unit("E01")
    assert unit is not None and unit.status is UnitStatus.AQ and unit.incident_id is None
    found = service.incident("i-1")
    assert found is not None
    assert found.timeline[-2].text == "E01 released (DP → AQ) — dispatched in error (undone)"
    assert found.status == "pending"  # back to waiting for a unit

    # Once undone, or after the window, there is nothing to undo: said, nothing queued.
    QTest.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.message.state is MessageState.REFUSED
    assert panel.message.text().startswith("Nothing to undo")
    one.key(Qt.Key.Key_D, "E01")
    monkeypatch.setattr("ui.panels.units.UNDO_DISPATCH_S", -1.0)
    QTest.keyClick(panel.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert panel.message.text().startswith("Nothing to undo")
    await wait_until(lambda: not service.outbox, what="second dispatch applied")
    assert service.unit("E01").status is UnitStatus.DP  # type: ignore[union-attr]
