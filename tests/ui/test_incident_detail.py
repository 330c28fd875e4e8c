"""Incident detail on a real server: the recommendation dispatched with one key (F9), an override
recorded in the timeline, notes, changes, release and close with a disposition, refusals
explained in place, and a monitoring position that can change nothing (nor from the Units
panel)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.domain.catalog import event_kind_of
from desktop.domain.incidents import IncidentCreate, IncidentCreated
from desktop.domain.kinds import EventData
from desktop.domain.roles import READ_ONLY_HINT
from desktop.domain.types import (
    Incident,
    IncidentStatus,
    Location,
    LocationArgs,
    Position,
    Unit,
    UnitStatus,
)
from desktop.domain.units import UnitAdd, UnitAdded, UnitDispatch
from desktop.geo.advice import Advisor, shipped_graph
from desktop.geo.roads import RoadGraph
from desktop.link import LinkPhase, LinkStatus
from desktop.protocol.codec import encode_raw
from desktop.protocol.messages import PositionFix
from desktop.runcards import RunCards
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until
from tests.support.workstation import Workstation
from ui.bridge import Bridge
from ui.main_window import ROADS_AT_THE_LATEST_MS, MainWindow
from ui.panels.incident_detail import IncidentDetailPanel, parse_coordinates

MARINA = (37.80516, -122.43296)  # 0 Block of MARINA BLVD: station 16's first-due area
# Units of the demo roster and their stations (whose positions, resources/geo/stations.json,
# stand in for AVL)
ROSTER = [
    ("E51", "ENGINE", "16"),
    ("E41", "ENGINE", "41"),
    ("E03", "ENGINE", "03"),
    ("M53", "MEDIC", "16"),
    ("M55", "MEDIC", "03"),
]


async def floor(
    open_workstation: Callable[..., Workstation],
    url: str,
    incident_type: str = "MEDICAL",
    priority: int = 1,
) -> tuple[Workstation, IncidentDetailPanel]:
    """A workstation with the demo units of ROSTER in quarters and incident i-1 at the Marina;
    returns it and its Incident detail panel."""
    station = open_workstation(url)
    service = station.service
    await wait_until(lambda: service.status.phase is LinkPhase.LIVE, what="LIVE")
    for unit_id, kind, home in ROSTER:
        service.submit(UnitAdd(unit_id=unit_id, type=kind, station=home, status=UnitStatus.AQ))
    service.submit(
        IncidentCreate(
            incident_id="i-1",
            type=incident_type,
            priority=priority,
            location=LocationArgs(address="0 Block of MARINA BLVD", lat=MARINA[0], lon=MARINA[1]),
        )
    )
    await wait_until(lambda: not service.outbox, what="floor set up")
    return station, station.window.incident_detail


def timeline(station: Workstation) -> list[str]:
    incident = station.service.incident("i-1")
    assert incident is not None
    return [entry.text for entry in incident.timeline]


def picks(panel: IncidentDetailPanel) -> list[str]:
    table = panel.recommendation.table
    return [table.item(row, 1).text() for row in range(table.rowCount())]


async def test_a_unit_moving_on_avl_is_recommended_from_where_it_is(
    server: ServerProcess,
    open_workstation: Callable[..., Workstation],
    make_client: ClientFactory,
) -> None:
    station, panel = await floor(open_workstation, server.url)
    station.window.selection.select_incident("i-1")
    assert picks(panel) == ["E51", "M53"]  # from their stations: no AVL yet
    avl = make_client("avl", server.url)
    await wait_until(lambda: avl.status.phase is LinkPhase.LIVE, what="the AVL feed LIVE")
    # E03 drives up to the Marina: a fix a few metres from the incident
    fix = PositionFix(unit_id="E03", lat=MARINA[0] + 0.0002, lon=MARINA[1], at=avl.server_now())
    assert avl.report_positions([fix]) == 1
    await wait_until(lambda: picks(panel)[:1] == ["E03"], what="E03 recommended from its AVL fix")
    why = panel.recommendation.table.item(0, 5).text()
    assert "no AVL" not in why


async def test_the_recommended_units_go_with_one_key(
    server: ServerProcess, open_workstation: Callable[..., Workstation]
) -> None:
    station, panel = await floor(open_workstation, server.url)
    window, service = station.window, station.service
    assert panel.stack.currentIndex() == 0  # nothing selected yet

    window.selection.select_incident("i-1")
    assert panel.stack.currentIndex() == 1
    assert "MEDICAL" in panel.header.text() and "P1" in panel.header.text()
    assert "Medical, life-threatening" in panel.recommendation.card_label.text()
    assert picks(panel) == ["E51", "M53"]  # the station 16 engine and medic
    why = panel.recommendation.table.item(0, 5).text()
    assert "closest ENGINE by road" in why and "no AVL: home station" in why

    window.activateWindow()
    await wait_until(lambda: QApplication.activeWindow() is window, what="active window")
    # F9 never sends what the dispatcher cannot see: a closed Incident detail comes up first
    window.docks["incident_detail"].close()
    QtBot.keyClick(window.units_view, Qt.Key.Key_F9)
    assert not service.outbox
    assert window.docks["incident_detail"].isVisible()
    assert panel.message.text() == "Check the recommendation, then press F9 again"
    assert panel.note.hasFocus()
    QtBot.keyClick(window.units_view, Qt.Key.Key_F9)  # F9 from anywhere in the window
    [entry] = service.outbox.entries()
    assert entry.kind == "unit.dispatch"
    assert b'"unit_ids":["E51","M53"]' in entry.args
    assert panel.message.text() == "Dispatched E51 M53"

    await wait_until(lambda: not service.outbox, what="dispatch confirmed")
    incident = service.incident("i-1")
    assert incident is not None and incident.status is IncidentStatus.DISPATCHED
    assert [service.unit(u).status for u in ("E51", "M53")] == [UnitStatus.DP] * 2  # type: ignore[union-attr]
    assert timeline(station)[-3:] == [
        "E51 dispatched",
        "M53 dispatched",
        "Incident PENDING → DISPATCHED",
    ]
    assert not any("overridden" in text for text in timeline(station))
    await wait_until(lambda: panel.timeline.rowCount() == len(timeline(station)), what="shown")

    # another incident shows its own timeline only, and back again
    service.submit(
        IncidentCreate(
            incident_id="i-2", type="FIRE", priority=3, location=LocationArgs(address="2 Elm")
        )
    )
    await wait_until(lambda: service.incident("i-2") is not None, what="i-2")
    window.selection.select_incident("i-2")
    shown = [panel.timeline.item(row, 2).text() for row in range(panel.timeline.rowCount())]
    assert shown == ["Created: FIRE P3 at 2 Elm"]
    window.selection.select_incident("i-1")
    shown = [panel.timeline.item(row, 2).text() for row in range(panel.timeline.rowCount())]
    assert shown == timeline(station)
    table = panel.units_table
    assert [table.item(row, 0).text() for row in range(table.rowCount())] == ["E51", "M53"]
    assert [table.item(row, 2).text() for row in range(table.rowCount())] == ["DP", "DP"]
    await wait_until(lambda: panel.recommendation.table.rowCount() == 0, what="advice again")
    assert "the plan is covered" in panel.recommendation.card_label.text()
    assert not panel.recommendation.accept_button.isEnabled()


async def test_an_override_is_recorded_and_actions_explain_refusals_in_place(
    server: ServerProcess, open_workstation: Callable[..., Workstation]
) -> None:
    station, panel = await floor(open_workstation, server.url)
    window, service = station.window, station.service
    window.selection.select_incident("i-1")
    box = panel.recommendation
    assert picks(panel) == ["E51", "M53"]
    assert not box.override_reason.isVisible()

    box.table.item(0, 0).setCheckState(Qt.CheckState.Unchecked)  # not E51...
    box.add_unit.setText("e41")  # ...E41 instead
    box.add_unit.returnPressed.emit()
    assert picks(panel) == ["E51", "M53", "E41"]
    assert box.ticked() == ["M53", "E41"]
    assert box.is_override() and box.override_reason.isVisibleTo(panel)
    box.override_reason.setText("E51 crew at a drill")
    box.ticked_button.click()
    assert panel.message.text() == "Dispatched M53 E41 (override recorded)"
    await wait_until(lambda: not service.outbox, what="override confirmed")
    assert (
        "Recommendation overridden: recommended E51, M53; sent M53, E41 — E51 crew at a drill"
        in timeline(station)
    )
    assert panel.timeline.rowCount() == len(timeline(station))
    assert panel.timeline.item(panel.timeline.rowCount() - 1, 1).text() == "ann"

    # a note, in the narrative with time and author
    panel.note.setText("caller says patient is breathing")
    panel.note.returnPressed.emit()
    await wait_until(lambda: panel.narrative.rowCount() == 1, what="note shown")
    assert panel.narrative.item(0, 1).text() == "ann"
    assert panel.narrative.item(0, 2).text() == "caller says patient is breathing"
    assert panel.note.text() == ""

    # change priority and location; bad coordinates are refused in place
    panel.coordinates_input.setText("north of here")
    assert not panel.update_incident()
    assert "latitude, longitude" in panel.message.text()
    panel.coordinates_input.setText("37.80, -122.44")
    panel.priority_input.setCurrentText("2")
    assert panel.update_incident()
    await wait_until(lambda: not service.outbox, what="update confirmed")
    incident = service.incident("i-1")
    assert incident is not None and incident.priority == 2
    assert (incident.location.lat, incident.location.lon) == (37.80, -122.44)
    changed = timeline(station)[-1]
    assert changed.startswith("Changed priority 1 → 2; location ")
    assert changed.endswith("(37.80000, -122.44000)"), "the timeline shows the new coordinates"

    # close is refused while units are on the incident: said in place, nothing queued
    panel.disposition_input.setCurrentText("Patient transported")
    assert not panel.close_incident()
    assert "still has E41, M53 assigned" in panel.message.text()
    assert panel.message.property("state") == "refused"
    assert not service.outbox

    # release both, then close
    for left in (1, 0):
        panel.units_table.selectRow(0)
        assert panel.release_selected()
        await wait_until(lambda: not service.outbox, what="release confirmed")
        await wait_until(lambda n=left: panel.units_table.rowCount() == n, what="units table")
    assert panel.units_table.rowCount() == 0
    assert any(text.startswith("M53 released (DP → AV)") for text in timeline(station))
    assert timeline(station)[-1] == "Incident DISPATCHED → PENDING"
    assert "pending 0:00" in panel.facts.text()  # the pending timer starts again
    assert panel.close_incident()
    await wait_until(lambda: not service.outbox, what="close confirmed")
    assert timeline(station)[-1] == "Closed: Patient transported"
    await wait_until(lambda: "closed: Patient transported" in panel.facts.text(), what="shown")
    assert not panel.close_button.isEnabled()
    assert box.table.rowCount() == 0
    await wait_until(lambda: "is closed" in box.card_label.text(), what="run card line")
    assert box.card_label.text().endswith("is closed (Patient transported): nothing to send")


async def test_a_second_alarm_is_struck_for_everyone_and_recommends_what_the_first_did_not_send(
    server: ServerProcess, open_workstation: Callable[..., Workstation]
) -> None:
    # FIRE-OUTSIDE: the 1st alarm is 1 engine; the 2nd adds an engine, a truck and a chief
    station, panel = await floor(open_workstation, server.url, "FIRE-OUTSIDE", 3)
    window, service = station.window, station.service
    window.selection.select_incident("i-1")
    assert picks(panel) == ["E51"]
    assert panel.dispatch_recommended()
    await wait_until(lambda: not service.outbox, what="first alarm sent")

    panel.recommendation.alarm.setCurrentIndex(1)  # strike the 2nd alarm: a command
    [entry] = service.outbox.entries()
    assert (entry.kind, entry.args) == ("incident.update", b'{"incident_id":"i-1","alarm":2}')
    assert panel.message.text() == "2nd alarm"
    assert picks(panel) == ["E41"]  # the next engine; no truck or chief on this roster
    shortfalls = panel.recommendation.shortfalls.text()
    assert "needs 1 TRUCK, 0 available within 10 min" in shortfalls
    assert "needs 1 CHIEF, 0 available within 10 min" in shortfalls
    await wait_until(lambda: not service.outbox, what="alarm confirmed")
    assert timeline(station)[-1] == "Changed 2nd alarm (was 1st)"
    await wait_until(lambda: "2nd alarm" in panel.header.text(), what="header")

    # another workstation opening the incident sees the 2nd alarm and its recommendation
    other = open_workstation(server.url, user="bob", name="other")
    await wait_until(lambda: other.service.incident("i-1") is not None, what="synced")
    other.window.selection.select_incident("i-1")
    assert other.window.incident_detail.recommendation.alarm.currentIndex() == 1
    assert picks(other.window.incident_detail) == ["E41"]


async def test_a_monitoring_position_sees_but_cannot_act(
    server: ServerProcess, open_workstation: Callable[..., Workstation]
) -> None:
    await floor(open_workstation, server.url)
    supervisor = open_workstation(server.url, user="sam", name="sup")
    service = supervisor.service
    await wait_until(lambda: service.incident("i-1") is not None, what="synced")
    panel = supervisor.window.incident_detail
    supervisor.window.selection.select_incident("i-1")
    await wait_until(lambda: not panel.note.isEnabled(), what="read-only")
    assert not panel.recommendation.accept_button.isEnabled()
    assert panel.recommendation.table.isEnabled()  # its units may still be selected
    assert not panel.close_button.isEnabled()
    assert not panel.dispatch_recommended()
    # the Units panel's keys and the command line are refused here too, in place
    units = supervisor.window.units_panel
    await wait_until(lambda: units.models.units.row_of("E51") is not None, what="E51 listed")
    supervisor.window.selection.select_unit("E51")
    QtBot.keyClick(units.view, Qt.Key.Key_X)
    assert units.message.text() == READ_ONLY_HINT
    assert not service.outbox


def test_coordinates_are_parsed_or_explained() -> None:
    assert parse_coordinates(" 37.7925, -122.4202 ") == (37.7925, -122.4202)
    assert parse_coordinates("37.7925 -122.4202") == (37.7925, -122.4202)
    assert parse_coordinates("") is None
    for bad in ("37.7", "north", "95, 10", "1, 200"):
        try:
            parse_coordinates(bad)
        except ValueError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


async def test_a_location_change_keeps_coordinates_honest_and_no_coordinates_no_override(
    server: ServerProcess, open_workstation: Callable[..., Workstation]
) -> None:
    station, panel = await floor(open_workstation, server.url)
    window, service = station.window, station.service
    window.selection.select_incident("i-1")
    assert picks(panel) == ["E51", "M53"]

    # a new address with the old coordinates would send units to the wrong place: refused
    panel.address_input.setText("100 Spear St")
    assert not panel.update_incident()
    assert "coordinates did not" in panel.message.text()
    assert not service.outbox
    panel.coordinates_input.clear()  # not known yet
    assert panel.update_incident()
    await wait_until(lambda: not service.outbox, what="location changed")
    incident = service.incident("i-1")
    assert incident is not None and incident.location.lat is None
    await wait_until(lambda: "no coordinates" in panel.recommendation.shortfalls.text(), what="")
    assert picks(panel) == []
    assert not panel.recommendation.accept_button.isEnabled()
    assert not panel.dispatch_recommended()

    # units sent by hand without a recommendation: nothing was overridden
    panel.recommendation.add("E03")
    assert panel.recommendation.ticked() == ["E03"]
    assert not panel.recommendation.override_reason.isVisibleTo(panel)
    panel.recommendation.ticked_button.click()
    assert panel.message.text() == "Dispatched E03"
    await wait_until(lambda: not service.outbox, what="dispatched")
    assert timeline(station)[-2:] == ["E03 dispatched", "Incident PENDING → DISPATCHED"]
    assert not any("overridden" in text for text in timeline(station))


def offline_window(
    qtbot: QtBot, tmp_path: Path, units: list[Unit], incident_type: str, priority: int
) -> tuple[DispatchService, MainWindow]:
    """A window on a workstation that has never reached its server, whose replica holds
    ``units`` and incident i-1 (F-1) at the Marina."""
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    now = time.time()
    incident = Incident(
        id="i-1",
        type=incident_type,
        priority=priority,
        number="F-1",
        location=Location(address="Marina Blvd", lat=MARINA[0], lon=MARINA[1]),
        times={"created": now},
    )
    events: list[EventData] = [UnitAdded(unit=unit) for unit in units]
    events.append(IncidentCreated(incident=incident))
    for seq, data in enumerate(events, 1):
        service.state.apply_event(seq, event_kind_of(data).name, bytes(encode_raw(data)), now)
    window = MainWindow(service, Bridge(), tmp_path / "config", sound=lambda: None)
    qtbot.addWidget(window)
    return service, window


def test_a_stale_avl_fix_is_flagged_next_to_the_unit_it_recommends(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """Offline, from the replica's point of view: E51 has a 5-minute-old fix next door, E41 a
    fresh one farther away; both are ranked by road, and the old fix is flagged in amber."""
    now = time.time()
    near, far = (MARINA[0] + 0.001, MARINA[1]), (37.7907, -122.4201)
    units = [
        Unit(id="E51", type="ENGINE", position=Position(lat=near[0], lon=near[1], at=now - 300)),
        Unit(id="E41", type="ENGINE", position=Position(lat=far[0], lon=far[1], at=now - 5)),
    ]
    service, window = offline_window(qtbot, tmp_path, units, "FIRE-OUTSIDE", 3)
    window.advisor.load()
    window.selection.select_incident("i-1")
    box = window.incident_detail.recommendation
    assert picks(window.incident_detail) == ["E51"]  # 1 engine: the near one, old fix or not
    why = box.table.item(0, 5)
    assert why.text().startswith("⚠ closest ENGINE by road")
    assert "stale AVL (5 min old)" in why.text()
    assert why.foreground().color().name() == "#e3b341"
    window.close()
    service.db.close()


async def test_the_board_comes_first_and_the_recommendation_follows_the_road_graph(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """The road graph (scipy, the graph file) loads in a worker thread behind a shown board:
    meanwhile Incident detail shows the run card and says the recommendation is on its way (F9
    says so too, and sends nothing); once loaded, the recommendation appears by itself."""
    units = [
        Unit(id=unit_id, type=kind, station=home, status=UnitStatus.AQ)
        for unit_id, kind, home in ROSTER
    ]
    service, window = offline_window(qtbot, tmp_path, units, "MEDICAL", 1)
    gate = threading.Event()

    def slow_graph() -> RoadGraph:
        assert gate.wait(10), "the test never let the road graph load"
        return shipped_graph()

    window.advisor = window.incident_detail.advisor = Advisor(window.advisor.runcards, slow_graph)
    window.show()
    window.bridge.status.emit(LinkStatus(LinkPhase.OFFLINE))  # the board shows what it has
    window.selection.select_incident("i-1")
    panel = window.incident_detail
    assert panel.incident_id == "i-1" and window.models.incidents.rowCount() == 1
    assert "still loading" in panel.recommendation.shortfalls.text()
    assert panel.recommendation.card_label.text().startswith("Run card:")
    assert picks(panel) == []
    assert not window.dispatch_recommended()
    assert "still loading" in panel.message.text() and not service.outbox
    gate.set()
    waited = await wait_until(lambda: bool(picks(panel)), what="the recommendation once loaded")
    assert waited < ROADS_AT_THE_LATEST_MS / 1000  # started by the settled board, not the timer
    assert window.advisor.ready and "still loading" not in panel.recommendation.shortfalls.text()
    window.close()
    service.db.close()


def test_a_road_graph_that_cannot_load_is_said_where_the_recommendation_would_be(
    tmp_path: Path,
) -> None:
    def broken() -> RoadGraph:
        raise OSError("sf_roads.npz: no such file")

    advisor = Advisor(RunCards.load(), broken)
    with pytest.raises(OSError):
        advisor.load()
    incident = Incident(
        id="i-1", type="FIRE", priority=1, location=Location(lat=MARINA[0], lon=MARINA[1])
    )
    advice = advisor.advise(incident, [], time.time(), wait_for_roads=False)
    assert advice.recommendation is None and not advice.loading
    assert "could not be loaded" in advice.problem and "no such file" in advice.problem


async def test_a_close_refused_on_the_command_line_is_read_whole(
    server: ServerProcess, open_workstation: Callable[..., Workstation]
) -> None:
    """#10.8: the refusal was cut at the window's edge ("…T05 assigne"); the command line's
    message wraps within its space instead."""
    station, _ = await floor(open_workstation, server.url)
    service, window = station.service, station.window
    service.submit(UnitDispatch(incident_id="i-1", unit_ids=["E41", "M53"]))
    await wait_until(lambda: not service.outbox, what="dispatched")
    window.resize(1000, 800)
    line = window.command_line
    line.input.setText(f"CLOSE {service.incident('i-1').number} Patient transported")  # type: ignore[union-attr]
    QTest.keyClick(line.input, Qt.Key.Key_Return)
    feedback = line.feedback
    await wait_until(lambda: "still has E41, M53 assigned" in feedback.text(), what="refused")
    await wait_until(lambda: feedback.height() >= feedback.heightForWidth(feedback.width()))
    needed = feedback.fontMetrics().boundingRect(
        QRect(0, 0, feedback.width(), 10_000), Qt.TextFlag.TextWordWrap, feedback.text()
    )
    assert needed.width() <= feedback.width() and needed.height() <= feedback.height()
    assert feedback.geometry().right() <= line.width()
