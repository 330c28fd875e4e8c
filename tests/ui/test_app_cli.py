"""The ``dispatch-desktop`` entry point: ``--version``, ``--help`` and argument checks."""

from __future__ import annotations

import subprocess
import sys

import pytest

import desktop
from ui.app import main


def test_version_prints_name_and_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"dispatch-desktop {desktop.__version__}"
    assert desktop.__version__ == "0.1.0"


def test_help_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: dispatch-desktop")
    assert "--version" in out


def test_screenshot_needs_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--screenshot", "x.png"]) == 2
    assert "--screenshot needs --demo" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--no-such-option"])
    assert exit_info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ui.app", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"dispatch-desktop {desktop.__version__}"


def test_demo_without_a_demo_server_says_so() -> None:
    """A workstation packaged without sim/ and server/: --demo explains itself, exit code 2."""
    runner = (
        "import sys; sys.modules['sim'] = None; sys.modules['server'] = None; "
        "from ui.app import main; sys.exit(main(['--demo']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", runner], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 2, done.stderr
    assert "this installation has no demo server" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_launcher_raises_other_import_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only a missing sim/ or server/ means "no demo server"; any other failure is a bug."""
    from ui.demo_launcher import DemoUnavailable, check_demo_available

    check_demo_available()  # this installation has one
    monkeypatch.delitem(sys.modules, "sim.demo_floor", raising=False)
    monkeypatch.setitem(sys.modules, "sim.callfeed", None)
    with pytest.raises(ModuleNotFoundError) as raised:
        check_demo_available()
    assert raised.value.name == "sim.callfeed" and not isinstance(raised.value, DemoUnavailable)
    monkeypatch.setitem(sys.modules, "sim.demo_floor", None)
    with pytest.raises(DemoUnavailable, match="no demo server"):
        check_demo_available()


def test_the_window_icon_has_every_rendered_size(qapp: object) -> None:
    from ui.theme import application_icon

    sizes = {(s.width(), s.height()) for s in application_icon().availableSizes()}
    assert {(16, 16), (32, 32), (48, 48), (256, 256)} <= sizes
