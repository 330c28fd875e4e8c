"""The Radio panel, driven with the keyboard (issue #15): an emergency alarm shows, sounds,
repeats and escalates (an injected clock); F12 acknowledges it and the acknowledgement reaches a
second workstation; radio traffic logged from the panel's entry and from the command line,
with the status it names offered for one key; an unknown unit said in place, the entry kept;
a PAR falling due answered from the keyboard."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.domain.catalog import event_kind_of
from desktop.domain.incidents import IncidentCreate
from desktop.domain.kinds import EventData
from desktop.domain.radio import RadioEmergency, RadioEmergencyRaised
from desktop.domain.roles import READ_ONLY_HINT
from desktop.domain.types import (
    Incident,
    IncidentStatus,
    Location,
    LocationArgs,
    Position,
    RadioAlarm,
    Unit,
    UnitStatus,
)
from desktop.domain.units import UnitAdd, UnitDispatch
from desktop.ids import uuid7
from desktop.link import LinkPhase
from desktop.protocol.codec import encode_raw
from desktop.radio_clock import AlarmLevel
from tests.support.fixtures import ClientFactory
from tests.support.offline_window import Offline, open_offline
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until
from tests.support.workstation import Workstation

HERE = Position(lat=37.7793, lon=-122.4193, at=1000.0)


def _apply(opened: Offline, data: EventData, qtbot: QtBot) -> None:
    state = opened.service.state
    seq = state.last_seq + 1
    state.apply_event(seq, event_kind_of(data).name, bytes(encode_raw(data)), time.time())
    opened.settle(qtbot)


def _floor(qtbot: QtBot, tmp_path: Path, *, on_scene_for: float = 60.0) -> Offline:
    now = time.time()
    fire = Incident(
        id="i-1",
        number="F2612-000123",
        type="FIRE-STRUCTURE",
        priority=1,
        status=IncidentStatus.ACTIVE,
        location=Location(address="1200 MARKET ST"),
        units=["E12"],
        times={"created": now - on_scene_for - 120, "first_onscene": now - on_scene_for},
    )
    e12 = Unit(
        id="E12",
        type="ENGINE",
        radio_id="710012",
        status=UnitStatus.ER,
        incident_id="i-1",
        position=HERE,
    )
    return open_offline(qtbot, tmp_path, [e12], [fire])


def _key(qtbot: QtBot, opened: Offline, key: Qt.Key, modifier: Qt.KeyboardModifier) -> None:
    qtbot.keyClick(opened.window.command_line.input, key, modifier)


def test_an_emergency_shows_sounds_repeats_escalates_and_f12_acknowledges_it(
    qtbot: QtBot, tmp_path: Path
) -> None:
    opened = _floor(qtbot, tmp_path)
    window, panel = opened.window, opened.window.radio_panel
    watch = window.radio_watch
    now = [time.time()]
    watch._clock = lambda: now[0]  # the injected clock: escalation without waiting
    alarm = RadioAlarm(
        id="a-1", radio_id="710012", unit_id="E12", incident_id="i-1", position=HERE,
        raised_at=now[0],
    )  # fmt: skip
    _apply(opened, RadioEmergencyRaised(alarm=alarm), qtbot)

    assert panel.banner.isVisible()
    text = panel.banner.text()
    assert "EMERGENCY E12 (radio 710012)" in text and "F2612-000123" in text
    assert "37.77930, -122.41930" in text and "F12 acknowledges" in text
    assert opened.radio_sounds == ["normal"]
    assert window.docks["radio"].visibleRegion().isEmpty() is False  # brought to the front
    [item] = watch.queue
    assert item.level is AlarmLevel.SOUNDING

    watch._sound_again()  # the repeat timer's tick: still sounding
    assert opened.radio_sounds == ["normal", "normal"]

    now[0] += window.rules.radio.alarms.escalate_after_s
    watch.refresh()
    assert watch.queue[0].level is AlarmLevel.ESCALATED
    assert opened.radio_sounds[-1] == "loud"  # louder at once

    _key(qtbot, opened, Qt.Key.Key_F12, Qt.KeyboardModifier.NoModifier)
    [entry] = opened.service.outbox.entries()
    assert entry.kind == "radio.acknowledge"
    opened.settle(qtbot)
    assert watch.queue[0].level is AlarmLevel.ACKNOWLEDGED  # the view holds it at once
    assert watch.sounding == "none" and not watch._repeat.isActive()
    assert "F12" not in panel.banner.text()
    sounded = len(opened.radio_sounds)
    _key(qtbot, opened, Qt.Key.Key_F12, Qt.KeyboardModifier.NoModifier)
    assert panel.feedback.text() == "No radio emergency to acknowledge"
    assert len(opened.service.outbox.entries()) == 1 and len(opened.radio_sounds) == sounded

    # cleared with a reason, as a false activation: it leaves the queue
    _key(qtbot, opened, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)  # into the panel
    qtbot.keyClick(panel.entry, Qt.Key.Key_W, Qt.KeyboardModifier.AltModifier)
    assert panel.clear_reason.hasFocus()
    qtbot.keyClick(panel.clear_reason, Qt.Key.Key_X, Qt.KeyboardModifier.AltModifier)
    assert panel.false_activation.isChecked()
    qtbot.keyClicks(panel.clear_reason, "pressed by mistake, E12 confirmed OK")
    qtbot.keyClick(panel.clear_reason, Qt.Key.Key_Return)
    last = opened.service.outbox.entries()[-1]
    assert last.kind == "radio.clear"
    assert b'"false_activation":true' in last.args
    opened.settle(qtbot)
    assert watch.queue == [] and not panel.banner.isVisible()


def test_radio_traffic_is_logged_and_the_status_it_names_is_one_key_away(
    qtbot: QtBot, tmp_path: Path
) -> None:
    opened = _floor(qtbot, tmp_path)
    panel = opened.window.radio_panel
    _key(qtbot, opened, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    assert panel.entry.hasFocus()

    qtbot.keyClicks(panel.entry, "E99 on scene")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    assert "E99 is not a unit on the roster" in panel.feedback.text()
    assert panel.entry.text() == "E99 on scene"  # kept, to be corrected
    assert opened.service.outbox.entries() == []

    panel.entry.clear()
    qtbot.keyClicks(panel.entry, "e12 on scene, smoke showing")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    [logged] = opened.service.outbox.entries()
    assert logged.kind == "radio.log"
    assert panel.entry.text() == ""
    assert "Enter sets E12 on scene" in panel.feedback.text()
    opened.settle(qtbot)
    assert panel.log_list.count() == 1
    assert "E12: on scene, smoke showing · F2612-000123" in panel.log_list.item(0).text()
    incident = opened.service.incident("i-1")
    assert (
        incident is not None and incident.narrative[-1].text == "Radio E12: on scene, smoke showing"
    )

    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)  # the one key: E12 goes on scene
    status = opened.service.outbox.entries()[-1]
    assert status.kind == "unit.set_status" and b'"OS"' in status.args
    unit = opened.service.unit("E12")
    assert unit is not None and unit.status is UnitStatus.OS

    # from the command line, Esc declines the offer
    line = opened.window.command_line
    line.focus_input()
    qtbot.keyClicks(line.input, "RL E12 available in 5")
    qtbot.keyClick(line.input, Qt.Key.Key_Return)
    assert "Enter sets E12 available" in line.feedback.text()
    qtbot.keyClick(line.input, Qt.Key.Key_Escape)
    qtbot.keyClick(line.input, Qt.Key.Key_Return)
    assert [e.kind for e in opened.service.outbox.entries()][-1] == "radio.log"
    assert line.offer is None


def test_a_par_falling_due_is_listed_and_answered_from_the_keyboard(
    qtbot: QtBot, tmp_path: Path
) -> None:
    opened = _floor(qtbot, tmp_path, on_scene_for=1210.0)  # a PAR every 1,200 s on scene
    panel = opened.window.radio_panel
    plan = opened.window.rules.radio
    assert plan.marks_for("FIRE-STRUCTURE") is not None
    panel.tick()
    texts = [panel.prompt_list.item(i).text() for i in range(panel.prompt_list.count())]
    assert texts == [
        "F2612-000123: working 20 min — announce",
        "F2612-000123: PAR due (20 min on scene)",
    ]

    panel.prompt_list.setCurrentRow(1)
    _key(qtbot, opened, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(panel.entry, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
    assert panel.prompt_answer.hasFocus()
    qtbot.keyClick(panel.prompt_answer, Qt.Key.Key_Return)
    [mark] = opened.service.outbox.entries()
    assert mark.kind == "radio.mark" and b'"all accounted for"' in mark.args
    opened.settle(qtbot)
    assert [panel.prompt_list.item(i).text() for i in range(panel.prompt_list.count())] == [
        "F2612-000123: working 20 min — announce"
    ]


async def test_an_acknowledgement_reaches_the_other_workstation(
    server: ServerProcess,
    open_workstation: Callable[..., Workstation],
    make_client: ClientFactory,
    qtbot: QtBot,
) -> None:
    ann = open_workstation(server.url, user="ann", name="ann")
    bob = open_workstation(server.url, user="bob", name="bob")
    gateway = make_client("rad", server.url)
    for station in (ann, bob):
        await wait_until(lambda s=station: s.service.status.phase is LinkPhase.LIVE, what="LIVE")
    await wait_until(lambda: gateway.status.phase is LinkPhase.LIVE, what="gateway LIVE")
    ann.service.submit(
        UnitAdd(unit_id="E12", type="ENGINE", status=UnitStatus.AV, radio_id="710012")
    )
    ann.service.submit(
        IncidentCreate(
            incident_id="i-1", type="FIRE-STRUCTURE", priority=1,
            location=LocationArgs(address="1200 MARKET ST"),
        )
    )  # fmt: skip
    ann.service.submit(UnitDispatch(incident_id="i-1", unit_ids=["E12"]))
    await wait_until(
        lambda: gateway.unit("E12") is not None and not ann.service.outbox, what="roster"
    )

    gateway.submit(RadioEmergency(alarm_id=str(uuid7()), radio_id="710012", channel="FIRE TAC 2"))
    for station in (ann, bob):
        watch = station.window.radio_watch
        await wait_until(lambda w=watch: bool(w.queue), what="alarm shown")
        assert station.window.radio_panel.banner.isVisible()
        assert station.radio_sounds[:1] == ["normal"]
        assert watch.queue[0].incident_id == "i-1" and watch.queue[0].unit_id == "E12"

    # F12 is an application-wide key, and both windows live in this process: ann's panel
    # does what her F12 does (the key itself: the first test)
    assert ann.window.radio_panel.acknowledge_first()
    watch = bob.window.radio_watch
    await wait_until(
        lambda: watch.queue and watch.queue[0].level is AlarmLevel.ACKNOWLEDGED, what="broadcast"
    )
    alarm = watch.queue[0].alarm
    assert alarm is not None and alarm.acknowledged_by == "ann"
    assert watch.sounding == "none"
    incident = bob.service.incident("i-1")
    assert incident is not None
    assert [e.text for e in incident.timeline][-2:] == [
        "RADIO EMERGENCY: E12 (radio 710012)",
        "Radio emergency acknowledged: E12 (radio 710012)",
    ]


def test_a_monitoring_position_sees_the_radio_and_changes_nothing(
    qtbot: QtBot, tmp_path: Path
) -> None:
    opened = _floor(qtbot, tmp_path)
    panel = opened.window.radio_panel
    panel.set_read_only_role("supervisor")
    for field in (panel.entry, panel.prompt_answer, panel.clear_reason):
        assert field.isReadOnly() and field.placeholderText() == READ_ONLY_HINT
    assert not panel.false_activation.isEnabled()
    qtbot.keyClicks(panel.entry, "E12 on scene")
    qtbot.keyClick(panel.entry, Qt.Key.Key_Return)
    assert opened.service.outbox.entries() == []
