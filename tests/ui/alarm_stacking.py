"""Helper of test_radio_alarm_window.py: ``python alarm_stacking.py DATA`` prints one JSON
report last. Run twice: under Qt's offscreen platform with two screens (LEFT and RIGHT: real
QScreens, no window manager), and under Xvfb with a window manager (openbox: real stacking and
minimising, on one wide X screen, because Xvfb here ignores ``xrandr --setmonitor``).

The real workstation window (its server unreachable: no network needed) with the Radio dock
floated onto the right-hand monitor (the RIGHT screen, else the right half of the one there
is), covered there by another window, and the main window minimised. Then a radio emergency
arrives (an event applied as the link would apply it). The report says where the Radio dock
is in the window manager's stacking order against the window covering it (None without one),
whether the main window is still minimised, where the dock is, and what the alarm showed and
sounded.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QRect, QTimer  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication, QLabel  # noqa: E402

from desktop.domain.catalog import event_kind_of  # noqa: E402
from desktop.domain.kinds import EventData  # noqa: E402
from desktop.domain.radio import RadioEmergencyRaised  # noqa: E402
from desktop.domain.types import Position, RadioAlarm, Unit, UnitStatus  # noqa: E402
from desktop.domain.units import UnitAdded  # noqa: E402
from desktop.protocol.codec import encode_raw  # noqa: E402
from desktop.service import DispatchService, ServiceConfig  # noqa: E402
from desktop.signin import SignIn  # noqa: E402
from ui.bridge import Bridge  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402


def stacking() -> list[int]:
    """Window ids, bottom to top, as the window manager stacks them ([] without one)."""
    if QGuiApplication.platformName() != "xcb":
        return []
    out = subprocess.run(
        ["xprop", "-root", "_NET_CLIENT_LIST_STACKING"], capture_output=True, text=True
    ).stdout
    return [int(x, 16) for x in out.split("#", 1)[-1].replace(" ", "").split(",") if x]


def apply(service: DispatchService, seq: int, data: EventData) -> None:
    raw = bytes(encode_raw(data))
    service.state.apply_event(seq, event_kind_of(data).name, raw, time.time())
    service.state.flush()


def main() -> None:
    data = Path(sys.argv[1])
    app = QApplication(sys.argv[:1])
    service = DispatchService(
        ServiceConfig(data_dir=data / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    here = Position(lat=37.7793, lon=-122.4193, at=time.time())
    unit = Unit(id="E12", type="ENGINE", radio_id="710012", status=UnitStatus.OS, position=here)
    apply(service, 1, UnitAdded(unit=unit))
    bridge = Bridge()
    service.subscribe(bridge.on_change)
    sounds: list[str] = []
    window = MainWindow(
        service, bridge, data / "config", sound=lambda: None, radio_sound=sounds.append
    )
    window.show()
    app.processEvents()
    right = [s for s in QGuiApplication.screens() if s.name() == "RIGHT"]
    area = right[0].availableGeometry() if right else QRect(1920, 0, 1920, 1000)
    dock = window.docks["radio"]
    dock.setFloating(True)
    dock.setGeometry(area.x() + 200, area.y() + 150, 700, 600)
    dock.show()
    cover = QLabel("another application's window")
    cover.setGeometry(area.x() + 100, area.y() + 100, 1000, 800)
    report: dict[str, object] = {}

    def cover_and_minimise() -> None:
        cover.show()
        cover.raise_()
        cover.activateWindow()
        window.showMinimized()

    def above(upper: int, lower: int) -> bool | None:
        order = stacking()
        if upper not in order or lower not in order:
            return None
        return order.index(upper) > order.index(lower)

    def before() -> None:
        report["covered_before"] = above(int(cover.winId()), int(dock.winId()))
        report["minimised_before"] = window.isMinimized()
        alarm = RadioAlarm(
            id="a-1", radio_id="710012", unit_id="E12", position=here, raised_at=time.time()
        )
        apply(service, 2, RadioEmergencyRaised(alarm=alarm))

    def after() -> None:
        report["dock_above_cover"] = above(int(dock.winId()), int(cover.winId()))
        report["minimised_after"] = window.isMinimized()
        report["dock_visible"] = dock.isVisible() and dock.isFloating()
        screen = QGuiApplication.screenAt(dock.geometry().center())
        report["dock_screen"] = screen.name() if screen is not None else None
        report["dock_x"] = dock.geometry().center().x()
        report["banner"] = (
            window.radio_panel.banner.text() if window.radio_panel.banner.isVisible() else ""
        )
        report["sounds"] = sounds[:1]
        print(json.dumps(report), flush=True)
        window.close()
        app.quit()

    QTimer.singleShot(300, cover_and_minimise)
    QTimer.singleShot(1100, before)
    QTimer.singleShot(2000, after)
    app.exec()


if __name__ == "__main__":
    main()
