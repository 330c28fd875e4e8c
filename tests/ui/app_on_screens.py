"""The real workstation window on a given screen set-up, in a process of its own.

    QT_QPA_PLATFORM=offscreen:configfile=screens.json python app_on_screens.py DATA ACTION [SCREEN]

Builds `ui.main_window.MainWindow` over a `DispatchService` whose server is unreachable (the
window does not need the network) with its config in DATA, shows it (which restores the layout),
optionally floats the map dock onto SCREEN, then closes the window the way a dispatcher does
(closeEvent saves the layout) and prints a JSON report (`screens.report`) as its last line.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for path in (ROOT, ROOT / "tests" / "ui"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from PySide6.QtGui import QGuiApplication  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from screens import report  # noqa: E402

from desktop.service import DispatchService, ServiceConfig  # noqa: E402
from desktop.signin import SignIn  # noqa: E402
from ui.bridge import Bridge  # noqa: E402
from ui.main_window import MainWindow  # noqa: E402


def main(argv: list[str]) -> int:
    data, action, *args = argv
    app = QApplication.instance() or QApplication([])
    config = ServiceConfig(data_dir=Path(data) / "ws", url="ws://127.0.0.1:9")
    service = DispatchService(config, SignIn("ann", "unused"))
    window = MainWindow(service, Bridge(), Path(data))
    window.show()  # restores the saved layout on first show
    app.processEvents()
    dock = window.docks["map"]
    if action == "float":
        (name,) = args
        target = next(s for s in QGuiApplication.screens() if s.name() == name)
        dock.setFloating(True)
        area = target.availableGeometry()
        dock.setGeometry(area.x() + 200, area.y() + 150, 640, 480)
        app.processEvents()
    result = report(window.layouts, True, [])
    window.close()  # saves the layout, as when the dispatcher quits
    service.db.close()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
