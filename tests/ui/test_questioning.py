"""A whole 911 call, played with the keyboard on a real server: ring, answer, address verified,
chief complaint, key questions, the determinant set on the incident, the recommended units sent
with one key on a send-now determinant, and two minutes (of an injected clock) of hands-only CPR
read to the caller, every answer and every step on the incident's record."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.cards.library import CardLibrary
from desktop.domain.calls import CallOffer
from desktop.domain.types import CallStatus, UnitStatus
from desktop.domain.units import UnitAdd
from desktop.geo.geocoder import Geocoder
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_live, wait_until
from tests.support.workstation import Workstation


class FakeClock:
    """Time for the instructions: moved by the test, not by waiting."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def _keys(widget: object, text: str) -> int:
    QtBot.keyClicks(widget, text)  # type: ignore[arg-type]
    return len(text)


async def test_a_cardiac_arrest_call_from_ring_to_cpr(
    server: ServerProcess,
    open_workstation: Callable[..., Workstation],
    make_client: ClientFactory,
    qtbot: QtBot,
) -> None:
    tel, adm = make_client("tel", server.url), make_client("adm", server.url)
    await wait_live(tel)
    await wait_live(adm)
    for unit_id, kind in (("E1", "ENGINE"), ("M1", "MEDIC")):
        adm.submit(UnitAdd(unit_id=unit_id, type=kind, station="01", status=UnitStatus.AV))
    station = open_workstation(server.url, user="ann")
    window, service = station.window, station.service
    await wait_live(service)
    panel = window.call_taking
    questioning = panel.questioning
    panel.address.set_geocoder(Geocoder.load_default())
    questioning.box.set_library(CardLibrary.load())
    window.advisor.load()
    assert "DRAFT" in questioning.box.approval.text()  # said where the cards are loaded

    tel.submit(CallOffer(call_id="c1", ani="+14155550177", class_of_service="wireline"))
    await wait_until(lambda: panel.ringing.rowCount() == 1, what="ringing")
    window.activateWindow()
    keys = 0
    QtBot.keyClick(window.incidents_view, Qt.Key.Key_F3)
    keys += 1
    await wait_until(
        lambda: service.state.view.calls["c1"].status is CallStatus.ANSWERED, what="answered"
    )
    keys += _keys(panel.address.field, "1200 mark")
    QtBot.keyClick(panel.address.field, Qt.Key.Key_Return)
    keys += 1
    assert panel.address.verdict.text() == "Verified: 1200 MARKET ST"

    box = questioning.box
    QtBot.keyClick(panel.type_field, Qt.Key.Key_F6)
    keys += 1
    assert box.complaint.hasFocus()
    _keys(box.complaint, "cardiac")
    assert box.matches.text().startswith("9 Cardiac arrest")
    box.complaint.clear()
    keys += _keys(box.complaint, "9")  # or its number
    assert box.matches.text().startswith("9 Cardiac arrest")
    QtBot.keyClick(box.complaint, Qt.Key.Key_Return)
    keys += 1
    incident_id = questioning.incident_id
    assert incident_id is not None, panel.message.text()  # saved at once, for the dispatcher
    assert box.answer_field.hasFocus()
    assert window.selection.incident_id == incident_id
    assert window.docks["call_taking"].visibleRegion().isEmpty() is False  # still in front

    assert box.question_label.text() == "How old is the patient?"
    keys += _keys(box.answer_field, "62")
    QtBot.keyClick(box.answer_field, Qt.Key.Key_Return)
    keys += 1
    assert box.question_label.text() == "Is the patient awake (conscious)?"
    QtBot.keyClick(box.answer_field, Qt.Key.Key_N)
    keys += 1
    QtBot.keyClick(box.answer_field, Qt.Key.Key_U)  # breathing: unknown... then changed
    assert box.flow is not None and box.flow.answers["breathing"] == "unknown"
    QtBot.keyClick(box.answer_field, Qt.Key.Key_Backspace)  # take it back
    assert box.question_label.text() == "Is the patient breathing normally?"
    QtBot.keyClick(box.answer_field, Qt.Key.Key_N)
    keys += 1
    assert box.determinant_label.text().startswith("Determinant 09-E-1 ECHO, P1 MEDICAL")

    # send now: the recommended units shown beside the determinant, sent with F9
    await wait_until(lambda: "F9 sends" in box.determinant_label.text(), what="recommendation")
    assert "SEND NOW\nF9 sends E1 M1" in box.determinant_label.text()
    assert box.determinant_label.property("level") == "echo"  # drawn red
    QtBot.keyClick(box.answer_field, Qt.Key.Key_F9)
    keys += 1
    await wait_until(
        lambda: {u.status for u in service.units() if u.id in ("E1", "M1")} == {UnitStatus.DP},
        what="dispatched",
    )
    answer_to_dispatch = keys
    incident = service.incident(incident_id)
    assert incident is not None and incident.type == "MEDICAL" and incident.priority == 1

    for key in (Qt.Key.Key_Y, Qt.Key.Key_N, Qt.Key.Key_N):  # witnessed, AED, obvious death
        QtBot.keyClick(box.answer_field, key)
    assert box.question_label.text() == "Questioning complete"

    # two minutes of hands-only CPR on an injected clock
    instructions = questioning.instructions
    clock = FakeClock(service.now())
    instructions._clock = clock
    QtBot.keyClick(box.answer_field, Qt.Key.Key_F10)
    assert instructions.isVisible() and instructions.step.hasFocus()
    assert instructions.title.text() == "Hands-only CPR (adult)"
    run = instructions.run
    assert run is not None
    while run.cycles < 8:
        clock.now += 16.4 if run.compressing else 6.0
        QtBot.keyClick(instructions.step, Qt.Key.Key_Space)
        instructions.check_reminders()
    assert run.compressions == 240
    assert "switch rescuers" in instructions.reminder.text()
    assert run.compressing and instructions.beat.isVisible()  # the metronome beats
    beats = instructions.beats
    await wait_until(lambda: instructions.beats > beats, what="a metronome beat")

    await wait_until(lambda: not service.outbox, what="the record sent")
    incident = service.incident(incident_id)
    assert incident is not None
    narrative = [entry.text for entry in incident.narrative]
    record = "\n".join(narrative)
    for line in (
        "Chief complaint: Cardiac arrest / not breathing",
        "Age: 62 years",
        "Conscious: No",
        "Breathing: No",
        "Determinant 09-E-1 ECHO, P1 MEDICAL: Not breathing: cardiac arrest · SEND NOW",
        "Witnessed: Yes",
        "Obviously dead: No",
        "Instructions · Hands-only CPR (adult) · Started",
        "Compressions cycle 8 done (240 in all)",
        "2 min of compressions: switch rescuers",
    ):
        assert line in record, line
    for logged in run.log:  # every step and reminder on the record, in order, with its time
        assert any(text.endswith(logged.text) for text in narrative), logged.text
    times = [entry.at for entry in incident.narrative]
    assert times == sorted(times)
    assert answer_to_dispatch <= 20, answer_to_dispatch  # the correction (U, Backspace) aside


class FakeSound:
    """Counts the plays the metronome asks for (the player itself is desktop.sound's)."""

    def __init__(self) -> None:
        self.plays = 0

    def play(self) -> bool:
        self.plays += 1
        return True


def test_the_metronome_sounds_only_when_turned_on(qtbot: QtBot) -> None:
    from desktop.cards.library import shipped_library
    from ui.widgets.instructions_box import InstructionsBox

    clock, sound = FakeClock(0.0), FakeSound()
    box = InstructionsBox(clock, sound=sound)  # type: ignore[arg-type]
    qtbot.addWidget(box)
    box.start(shipped_library().scripts["cpr-hands-only"])
    run = box.run
    assert run is not None
    while not run.compressing:
        QtBot.keyClick(box.step, Qt.Key.Key_Space)
    assert sound.plays == 0  # off by default: the call-taker's headset is on the caller
    QtBot.keyClick(box.step, Qt.Key.Key_M)
    assert box.sound_on and sound.plays == 1 and "metronome sound on" in box.progress.text()
    QtBot.keyClick(box.step, Qt.Key.Key_Space)  # the next cycle: the click track again
    assert sound.plays == 2
    QtBot.keyClick(box.step, Qt.Key.Key_Escape)
    assert run.ended and run.log[-1].text.startswith("Stopped: Hands-only CPR")
