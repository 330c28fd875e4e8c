"""Questioning figures (issue 14): how fast an answer shows, and how many keys a call takes.

- ``questioning_answer_to_screen_p99``: milliseconds from an answer key pressed in the
  Call-taking panel to the next question and the updated determinant painted (target <= 50);
- ``questioning_keys_to_dispatch``: the keys a typical cardiac-arrest call needs from answering
  the ringing call (F3) to the recommended units sent (F9): the address, the complaint, the
  case-entry answers, one key to send.

Method. The real `MainWindow` (offscreen, one 1920x1080 screen, dark theme) over a real
`DispatchService` whose workstation database holds a roster (an engine and a medic at station
01) and one ringing 911 call; no server: every command goes through the outbox as it does
offline, so each answer's narrative note is a real SQLite write. The keys are QTest key events on
the focused widgets, as a call-taker types them. After the dispatch, the complaint is changed
card after card (F6, its number, Enter) and every question of each is answered, cycling the
answers, so the figure covers every card: each answer is timed from the key event to the end of
the paint of the question's label after it (an event filter on it; Qt paints the question and
the determinant in the same backing-store update).

Run: ``python bench/questioning.py`` (about 15 s). ``--rounds N`` goes through the cards N
times (default 8: about 370 answers).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MS = 50.0


def emit(name: str, value: float, unit: str, target: str) -> None:
    print(json.dumps({"figure": name, "value": round(value, 4), "unit": unit, "target": target}))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()

    from PySide6.QtCore import QEvent, QObject, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from desktop.cards.library import CardLibrary
    from desktop.domain.calls import CallOffered
    from desktop.domain.catalog import event_kind_of
    from desktop.domain.kinds import EventData
    from desktop.domain.types import Call, CallStatus, Unit, UnitStatus
    from desktop.domain.units import UnitAdded
    from desktop.geo.geocoder import Geocoder
    from desktop.protocol.codec import encode_raw
    from desktop.service import DispatchService, ServiceConfig
    from desktop.signin import SignIn
    from ui.bridge import Bridge
    from ui.collector import install_gui_thread_collector
    from ui.main_window import MainWindow
    from ui.theme import DEFAULT_THEME, apply_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    install_gui_thread_collector(app)  # as ui/app.py does
    apply_theme(app, DEFAULT_THEME)
    work = Path(tempfile.mkdtemp(prefix="bench-questioning-"))
    service = DispatchService(
        ServiceConfig(data_dir=work / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    now = time.time()
    events: list[EventData] = [
        UnitAdded(unit=Unit(id="E1", type="ENGINE", station="01", status=UnitStatus.AV)),
        UnitAdded(unit=Unit(id="M1", type="MEDIC", station="01", status=UnitStatus.AV)),
        CallOffered(
            call=Call(
                id="c1",
                ani="+14155550177",
                status=CallStatus.RINGING,
                class_of_service="wireline",
                times={"received": now},
            )
        ),
    ]
    for seq, data in enumerate(events, 1):
        service.state.apply_event(seq, event_kind_of(data).name, bytes(encode_raw(data)), now)
    bridge = Bridge()
    service.subscribe(bridge.on_change)
    window = MainWindow(service, bridge, work / "config", sound=lambda: None)
    window.resize(1600, 950)
    window.show()
    panel = window.call_taking
    panel.address.set_geocoder(Geocoder.load_default())
    library = CardLibrary.load()
    questioning = panel.questioning
    questioning.box.set_library(library)
    window.advisor.load()
    window.maps.start(behind=False)
    for _ in range(20):
        app.processEvents()
    service.state.flush()
    app.processEvents()

    keys = 0

    def key(widget: Any, k: Any, text: str = "") -> None:
        nonlocal keys
        keys += 1
        if text:
            QTest.keyClicks(widget, text)
            keys += len(text) - 1
        else:
            QTest.keyClick(widget, k)
        app.processEvents()

    box = questioning.box
    key(window.incidents_view, Qt.Key.Key_F3)
    key(panel.address.field, None, "1200 mark")
    key(panel.address.field, Qt.Key.Key_Return)
    key(panel.type_field, Qt.Key.Key_F6)
    key(box.complaint, None, "9")
    key(box.complaint, Qt.Key.Key_Return)
    assert questioning.incident_id is not None, panel.message.text()
    key(box.answer_field, None, "62")
    key(box.answer_field, Qt.Key.Key_Return)
    key(box.answer_field, Qt.Key.Key_N)  # conscious
    key(box.answer_field, Qt.Key.Key_N)  # breathing
    for _ in range(50):
        app.processEvents()
        service.state.flush()
        if window._recommended_for(questioning.incident_id):
            break
        time.sleep(0.02)
    assert box.flow is not None and box.flow.determinant().send_now
    key(box.answer_field, Qt.Key.Key_F9)
    app.processEvents()
    service.state.flush()
    app.processEvents()
    sent = [u.id for u in service.units() if u.status is UnitStatus.DP]
    assert sorted(sent) == ["E1", "M1"], (sent, panel.message.text())
    keys_to_dispatch = keys

    painted = [0.0]

    class PaintProbe(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint:
                painted[0] = time.perf_counter()
            return False

    probe = PaintProbe()
    box.question_label.installEventFilter(probe)
    timings: list[float] = []
    cycle = 0
    for _ in range(args.rounds):
        for card in library.ordered():
            QTest.keyClick(box.answer_field, Qt.Key.Key_F6)
            QTest.keyClicks(box.complaint, str(card.number))
            QTest.keyClick(box.complaint, Qt.Key.Key_Return)
            app.processEvents()
            flow = box.flow
            assert flow is not None and flow.card.id == card.id
            while (question := box.current) is not None:
                if question.id in flow.answers:  # a case-entry answer kept: change it
                    break
                cycle += 1
                if question.answer == "yes_no":
                    answer = "YNU"[cycle % 3]
                elif question.answer == "choice":
                    answer = question.choices[cycle % len(question.choices)].key
                else:
                    answer = ""
                painted[0] = 0.0
                started = time.perf_counter()
                if answer:
                    QTest.keyClick(box.answer_field, answer)
                else:
                    low = int(question.min or 0)
                    QTest.keyClicks(box.answer_field, str(low + cycle % 50))
                    started = time.perf_counter()  # from the Enter key
                    QTest.keyClick(box.answer_field, Qt.Key.Key_Return)
                deadline = time.perf_counter() + 1.0
                while painted[0] == 0.0 and time.perf_counter() < deadline:
                    app.processEvents()
                if painted[0]:
                    timings.append((painted[0] - started) * 1000)
            service.state.flush()
    window.close()
    print(
        f"cards {len(library.cards)}, answers timed {len(timings)}; "
        f"answer to screen p50 {statistics.median(timings):.2f} ms, "
        f"p95 {percentile(timings, 95):.2f}, max {max(timings):.2f}; "
        f"outbox {len(service.outbox)} commands queued (offline)"
    )
    emit("questioning_answer_to_screen_p99", percentile(timings, 99), "ms", f"<= {TARGET_MS:g}")
    emit("questioning_keys_to_dispatch", keys_to_dispatch, "keys", "as few as possible")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
