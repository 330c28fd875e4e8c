"""A radio emergency brings the Radio panel in front wherever it is (issue #15): floated onto
the other monitor, covered there by another application's window, with the main window
minimised. One script (``tests/ui/alarm_stacking.py``) runs twice, in subprocesses: under Qt's
offscreen platform with two screens (the dock on the RIGHT one is shown there and the window
restored), and on a real X server with a real window manager (Xvfb and openbox: stacking and
minimising are the window manager's business), where the dock must end above the window that
covered it. Xvfb here gives one wide screen only (it ignores ``xrandr --setmonitor``), so the
dock is on its right half there."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).parent / "alarm_stacking.py"
TOOLS = ("xvfb-run", "Xvfb", "xauth", "openbox", "xprop")
SCREENS = [
    {"name": name, "x": x, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96,
     "logicalBaseDpi": 96, "dpr": 1}
    for name, x in (("LEFT", 0), ("RIGHT", 1920))
]  # fmt: skip


def _report(done: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _env(platform: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = platform
    return env


def test_an_emergency_shows_the_radio_panel_on_the_other_screen(tmp_path: Path) -> None:
    config = tmp_path / "screens.json"
    config.write_text(json.dumps({"screens": SCREENS}))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path)],
        env=_env(f"offscreen:configfile={config}"),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    report = _report(done)

    assert report["minimised_before"] and not report["minimised_after"], report
    assert report["dock_visible"] and report["dock_screen"] == "RIGHT", report
    assert "EMERGENCY E12 (radio 710012)" in report["banner"], report
    assert report["sounds"] == ["normal"], report


def test_an_emergency_raises_the_covered_radio_panel_above_the_window_covering_it(
    tmp_path: Path,
) -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (apt-get install xvfb xauth openbox x11-utils)")
    shell = (
        "openbox >/dev/null 2>&1 & wm=$!; sleep 0.7; "
        f'"{sys.executable}" "{SCRIPT}" "{tmp_path}"; status=$?; kill $wm; exit $status'
    )
    done = subprocess.run(
        ["xvfb-run", "-a", "-s", "-screen 0 3840x1080x24", "sh", "-c", shell],
        env=_env("xcb"),
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    report = _report(done)

    assert report["covered_before"] is True and report["minimised_before"], report  # set up
    assert report["dock_above_cover"] is True, report
    assert not report["minimised_after"], report
    assert report["dock_visible"] and report["dock_x"] > 1920, report
    assert "EMERGENCY E12 (radio 710012)" in report["banner"], report
    assert report["sounds"] == ["normal"], report
