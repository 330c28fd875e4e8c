"""Two-screen acceptance with the real workstation window: the map dock floated onto the second
screen comes back there after a restart, and onto the visible screen when only one is left."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from screens import SETUPS

SCRIPT = Path(__file__).with_name("app_on_screens.py")


def run_app(tmp: Path, screens: int, action: str, *args: str) -> dict[str, Any]:
    config = tmp / f"screens-{screens}.json"
    config.write_text(json.dumps({"screens": SETUPS[screens]}))
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={config}"}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp / "profile"), action, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{action} failed:\n{done.stdout}\n{done.stderr}"
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def map_on(report: dict[str, Any], screen: str) -> None:
    info = report["docks"]["map"]
    assert info["floating"] and info["visible"], info
    assert info["at_center"] == screen, info


def test_map_floated_to_second_screen_survives_restart_and_losing_the_screen(
    tmp_path: Path,
) -> None:
    floated = run_app(tmp_path, 2, "float", "RIGHT")
    map_on(floated, "RIGHT")
    assert (tmp_path / "profile" / "layouts.json").exists()

    restarted = run_app(tmp_path, 2, "restore")
    map_on(restarted, "RIGHT")
    assert restarted["docks"]["map"]["geometry"] == floated["docks"]["map"]["geometry"]

    one_screen = run_app(tmp_path, 1, "restore")
    map_on(one_screen, "LEFT")
    assert one_screen["window"]["at_center"] == "LEFT"
    for name, dock in one_screen["docks"].items():
        if dock["visible"] and dock["floating"]:
            assert dock["at_center"] == "LEFT", name
