"""Helper of test_layout_stacking.py, run under Xvfb with a window manager (openbox):
``python stacking.py STORE save|restore`` prints one JSON report as its last line.

``save`` floats the ``map`` dock onto a screen that is not there (x = 3000 on one 1920 px
screen, as if saved on a monitor since unplugged) and saves the layout. ``restore`` restores it
as `ui.main_window.MainWindow` does (restore at first show, then, once shown,
`LayoutManager.bring_floating_to_front`) and reports the window manager's stacking order
(``_NET_CLIENT_LIST_STACKING``), where the dock is, and whether it is visible.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QRect, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication, QDockWidget, QLabel, QMainWindow  # noqa: E402

from ui.layouts import LayoutManager, LayoutStore  # noqa: E402


def stacking() -> list[int]:
    """Window ids, bottom to top, as the window manager stacks them."""
    out = subprocess.run(
        ["xprop", "-root", "_NET_CLIENT_LIST_STACKING"], capture_output=True, text=True
    ).stdout
    return [int(x, 16) for x in out.split("#", 1)[-1].replace(" ", "").split(",") if x]


def main() -> None:
    store, action = Path(sys.argv[1]), sys.argv[2]
    app = QApplication(sys.argv[:1])
    window = QMainWindow()
    window.setObjectName("main_window")
    window.setCentralWidget(QLabel("board"))
    dock = QDockWidget("Map", window)
    dock.setObjectName("map")
    dock.setWidget(QLabel("map"))
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    manager = LayoutManager(window, LayoutStore(store), lambda w: dock.setFloating(False), 1)
    if action == "save":
        window.show()
        dock.setFloating(True)
        dock.setGeometry(QRect(3000, 100, 300, 300))
        dock.show()
        app.processEvents()
        print(json.dumps({"saved": manager.save()}))
        return
    manager.restore()
    window.resize(1000, 800)
    window.show()
    QTimer.singleShot(0, manager.bring_floating_to_front)

    def report() -> None:
        order = stacking()
        ids = int(window.winId()), int(dock.winId())
        screen = QGuiApplication.screenAt(dock.geometry().center())
        print(
            json.dumps(
                {
                    "dock_above_window": all(i in order for i in ids)
                    and order.index(ids[1]) > order.index(ids[0]),
                    "stacking_known": all(i in order for i in ids),
                    "visible": dock.isVisible() and dock.isFloating(),
                    "on_a_screen": screen is not None,
                }
            ),
            flush=True,
        )
        app.quit()

    QTimer.singleShot(800, report)
    app.exec()


if __name__ == "__main__":
    main()
