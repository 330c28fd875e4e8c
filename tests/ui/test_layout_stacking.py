"""A floating dock restored from a screen that was unplugged comes back visible, on a screen
that exists, and *in front of* the main window (issue #10 point 9).

Stacking is the window manager's business, so this runs on a real X server (Xvfb) with a real
window manager (openbox, as ``/work/shared/tools/desk`` uses), in subprocesses
(``tests/ui/stacking.py``): one saves a layout with the dock on a screen not attached, the next
restores it on the one screen there is. Before the fix the dock came up behind the window.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
SCRIPT = HERE / "stacking.py"
TOOLS = ("xvfb-run", "Xvfb", "xauth", "openbox", "xprop")


def on_desktop(tmp: Path, action: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    shell = (
        "openbox >/dev/null 2>&1 & wm=$!; sleep 0.7; "
        f'"{sys.executable}" "{SCRIPT}" "{tmp / "layouts.json"}" {action}; '
        "status=$?; kill $wm; exit $status"
    )
    done = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 1920x1080x24", "sh", "-c", shell],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_a_dock_from_an_unplugged_screen_comes_back_in_front_of_the_window(
    tmp_path: Path,
) -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb xauth openbox x11-utils)")
    assert on_desktop(tmp_path, "save") == {"saved": True}

    report = on_desktop(tmp_path, "restore")

    assert report["visible"] and report["on_a_screen"], report
    assert report["stacking_known"], report
    assert report["dock_above_window"], report
