"""Screen set-ups for the layout tests: the product's docks, a default layout, a subprocess runner.

Qt reads ``QT_QPA_PLATFORM`` once, when the QApplication is made, so each screen set-up runs in a
process of its own: ``python screens.py STORE ACTION [SCREEN]`` under
``QT_QPA_PLATFORM=offscreen:configfile=<screens.json>`` (DESIGN.md section 8) prints one JSON report
as its last line of output. Actions:

- ``restore``: restore the layout and report;
- ``float SCREEN``: restore, float the ``map`` dock onto ``SCREEN``, save, report;
- ``lost``: restore, float ``map`` where no screen is, call ``ensure_visible()``, report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QRect, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow  # noqa: E402

from ui.layouts import LayoutManager, LayoutStore  # noqa: E402

VERSION = 1
Area = Qt.DockWidgetArea
#: The product's docks and where the default layout puts them.
DEFAULT_AREAS: dict[str, Area] = {
    "call_taking": Area.LeftDockWidgetArea,
    "incident_detail": Area.LeftDockWidgetArea,
    "incidents": Area.BottomDockWidgetArea,
    "alerts": Area.BottomDockWidgetArea,
    "supervisor": Area.BottomDockWidgetArea,
    "units": Area.RightDockWidgetArea,
    "map": Area.RightDockWidgetArea,
    "radio": Area.RightDockWidgetArea,
}
DOCKS = tuple(DEFAULT_AREAS)


def screen(name: str, x: int, y: int = 0, width: int = 1920, height: int = 1080) -> dict[str, Any]:
    """One screen of an offscreen-platform config file."""
    return {
        "name": name,
        "x": x,
        "y": y,
        "width": width,
        "height": height,
        "logicalDpi": 96,
        "logicalBaseDpi": 96,
        "dpr": 1,
    }


#: Side-by-side set-ups; screens keep their names when one is unplugged or added.
SETUPS: dict[int, list[dict[str, Any]]] = {
    1: [screen("LEFT", 0)],
    2: [screen("LEFT", 0), screen("RIGHT", 1920)],
    3: [screen("LEFT", 0), screen("CENTER", 1920), screen("RIGHT", 3840)],
}


def build_window() -> QMainWindow:
    """A main window with a central widget and the product's eight docks (not yet arranged)."""
    window = QMainWindow()
    window.setObjectName("main_window")
    window.setCentralWidget(QLabel("central"))
    for name in DOCKS:
        dock = QDockWidget(name.replace("_", " ").title(), window)
        dock.setObjectName(name)
        dock.setWidget(QLabel(name))
        window.addDockWidget(Area.LeftDockWidgetArea, dock)
    return window


def apply_default(window: QMainWindow) -> None:
    """The default layout in code: every dock docked in its area, supervisor tabbed and hidden."""
    screen_area = (window.screen() or QGuiApplication.primaryScreen()).availableGeometry()
    window.setGeometry(screen_area.adjusted(20, 20, -20, -20))
    docks = {d.objectName(): d for d in window.findChildren(QDockWidget)}
    for name, area in DEFAULT_AREAS.items():
        docks[name].setFloating(False)
        window.addDockWidget(area, docks[name])
        docks[name].show()
    window.tabifyDockWidget(docks["alerts"], docks["supervisor"])
    docks["alerts"].raise_()
    docks["supervisor"].hide()


def rect(r: QRect) -> list[int]:
    return [r.x(), r.y(), r.width(), r.height()]


def report(manager: LayoutManager, used: bool, moved: list[str]) -> dict[str, Any]:
    """What a test needs to know about the window, its docks and the screens, as JSON-able data."""

    def at(r: QRect) -> str | None:
        found = QGuiApplication.screenAt(r.center())
        return found.name() if found else None

    window = manager.window
    docks = {
        name: {
            "floating": d.isFloating(),
            "visible": d.isVisible(),
            "area": window.dockWidgetArea(d).value,
            "geometry": rect(d.geometry()),
            "screen": d.screen().name(),
            "at_center": at(d.frameGeometry()),
        }
        for name, d in manager.docks().items()
    }
    return {
        "key": manager.key(),
        "used": used,
        "moved": moved,
        "primary": QGuiApplication.primaryScreen().name(),
        "screens": {s.name(): rect(s.geometry()) for s in QGuiApplication.screens()},
        "window": {
            "geometry": rect(window.frameGeometry()),
            "screen": window.screen().name(),
            "at_center": at(window.frameGeometry()),
        },
        "docks": docks,
    }


def main(argv: list[str]) -> int:
    store_path, action, *args = argv
    app = QApplication.instance() or QApplication([])
    window = build_window()
    manager = LayoutManager(window, LayoutStore(Path(store_path)), apply_default, VERSION)
    used = manager.restore()
    window.show()
    app.processEvents()
    moved: list[str] = []
    dock = manager.docks()["map"]
    if action == "float":
        (name,) = args
        target = next(s for s in QGuiApplication.screens() if s.name() == name)
        dock.setFloating(True)
        area = target.availableGeometry()
        dock.setGeometry(area.x() + 200, area.y() + 150, 640, 480)
        app.processEvents()
        assert dock.screen().name() == name, dock.screen().name()
        assert manager.save()
    elif action == "lost":
        dock.setFloating(True)
        dock.setGeometry(9000, 9000, 640, 480)
        app.processEvents()
        moved = manager.ensure_visible()
        app.processEvents()
    print(json.dumps(report(manager, used, moved)))
    window.close()
    return 0


def run_setup(
    tmp: Path,
    screens: int | list[dict[str, Any]],
    store: Path,
    action: str,
    *args: str,
    script: Path = Path(__file__),
) -> dict[str, Any]:
    """Run ``script`` (default: this file's ``main``) in a new process with the given screens
    (a ``SETUPS`` count or a list); return the JSON report it prints last."""
    layout = SETUPS[screens] if isinstance(screens, int) else screens
    config = tmp / f"screens-{'-'.join(s['name'] for s in layout)}.json"
    config.write_text(json.dumps({"screens": layout}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    done = subprocess.run(
        [sys.executable, str(script), str(store), action, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{action} failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
