"""Two-screen acceptance with the real workstation window: the map dock floated onto the second
screen comes back there after a restart, and onto the visible screen when only one is left."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from screens import run_setup

SCRIPT = Path(__file__).with_name("app_on_screens.py")


def run_app(tmp: Path, screens: int, action: str, *args: str) -> dict[str, Any]:
    """The real workstation window (app_on_screens.py) on ``screens`` screens."""
    return run_setup(tmp, screens, tmp / "profile", action, *args, script=SCRIPT)


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
