"""The workstation configuration at the workstation: the system theme, text size and server
applied, the user's own settings over them unless IT locked them (the View menu's controls then
disabled and saying so), the centre's default layout when the user saved none, its CA used for
the sign-in; and every start-up failure ending with exit code 2 and the reason on stderr when
nobody can close a dialog (a bad file, a locked command-line option, no resources/, no display).

Runs `Workstation.run()` on the qasync loop as ``dispatch-desktop`` does, and ``python -m
ui.app`` in a subprocess for the paths that end before or just after Qt starts.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

import ui.app
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from desktop.sound import write_alert_tone
from desktop.workstation_config import (
    ENV_VAR,
    FONT_SCALE_RANGE,
    KEYS,
    THEME_NAMES,
    WorkstationConfig,
    WorkstationConfigError,
    load,
)
from tests.support.waiting import wait_until
from ui.app import build_parser, main, read_configuration
from ui.bridge import Bridge
from ui.dialogs.login import LoginDialog
from ui.layouts import CentreLayout, LayoutFileError, LayoutStore, read_centre_layout
from ui.main_window import LAYOUT_VERSION, MainWindow
from ui.session import Workstation
from ui.theme import DEFAULT_THEME, THEMES, scale_font

ROOT = Path(__file__).resolve().parents[2]
CA_PEM = ROOT / "tests" / "data" / "workstation_config" / "ca.pem"
CAD1, CAD2 = "wss://cad1.example.org:8765", "wss://cad2.example.org:8765"


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    """The test's QApplication; its look is put back afterwards (themes change it)."""
    assert isinstance(qapp, QApplication)
    look = (qapp.style().name(), qapp.palette(), qapp.styleSheet(), qapp.font())
    theme, scale = qapp.property("dispatch_theme"), qapp.property("dispatch_font_scale")
    yield qapp
    # Only what changed: each of these re-polishes every widget alive, which is slow once a
    # long run has made many.
    if qapp.style().name() != look[0]:
        qapp.setStyle(look[0])
    if qapp.palette() != look[1]:
        qapp.setPalette(look[1])
    if qapp.styleSheet() != look[2]:
        qapp.setStyleSheet(look[2])
    if qapp.font() != look[3]:
        qapp.setFont(look[3])
    qapp.setProperty("dispatch_theme", theme)
    qapp.setProperty("dispatch_font_scale", scale)


def centre_file(folder: Path, body: str) -> WorkstationConfig:
    """A configuration file IT deployed in ``folder`` (the CA beside it), loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(CA_PEM, folder / "ca.pem")
    path = folder / "config.toml"
    path.write_text(body, encoding="utf-8")
    return load(path)


def user_settings(config_dir: Path, **values: Any) -> None:
    """What the user chose before (their ``workstation.ini``)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    settings = QSettings(str(config_dir / "workstation.ini"), QSettings.Format.IniFormat)
    for key, value in values.items():
        settings.setValue(key, value)
    settings.sync()


def offline_window(
    qtbot: QtBot, tmp_path: Path, config_dir: Path, **options: Any
) -> tuple[MainWindow, DispatchService]:
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url="ws://127.0.0.1:9"), SignIn("ann", "x")
    )
    window = MainWindow(service, Bridge(), config_dir, **options)
    qtbot.addWidget(window)
    return window, service


def login_dialog() -> LoginDialog | None:
    found = [w for w in QApplication.topLevelWidgets() if isinstance(w, LoginDialog)]
    return next((w for w in found if w.isVisible()), None)


def start(
    app: QApplication, tmp_path: Path, argv: list[str], **options: Any
) -> tuple[Workstation, asyncio.Task[int]]:
    data_dir, config_dir = tmp_path / "data", tmp_path / "config"
    data_dir.mkdir(exist_ok=True)
    config_dir.mkdir(exist_ok=True)
    args = build_parser().parse_args(
        ["--data-dir", str(data_dir), "--config-dir", str(config_dir), *argv]
    )
    workstation = Workstation(app, args, data_dir, config_dir, **options)
    return workstation, asyncio.get_running_loop().create_task(workstation.run())


async def quit_at_sign_in(task: asyncio.Task[int]) -> int:
    """Cancel on the sign-in dialog, then Quit."""
    dialog = login_dialog()
    assert dialog is not None
    dialog.reject()

    def question() -> QMessageBox | None:
        boxes = [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox)]
        return next((b for b in boxes if b.objectName() == "quit_question" and b.isVisible()), None)

    await wait_until(lambda: question() is not None, 8, "the quit question")
    box = question()
    assert box is not None
    next(b for b in box.buttons() if b.text() == "Quit").click()
    return await asyncio.wait_for(task, 10)


def floor_layout(qtbot: QtBot, tmp_path: Path) -> Path:
    """IT's layouts file: a configured workstation's layouts.json with the layout "Floor"
    (the Units dock closed, the Radio dock floating), as exported."""
    it_config = tmp_path / "it-workstation"
    window, service = offline_window(qtbot, tmp_path / "it", it_config)
    window.show()
    window.docks["units"].close()
    window.docks["radio"].setFloating(True)
    assert window.layouts.save_as("Floor")
    window.close()
    service.db.close()
    exported = tmp_path / "etc" / "layouts.json"
    exported.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(it_config / "layouts.json", exported)
    return exported


# --- one home for the themes and the text size --------------------------------------------------


def test_the_core_names_the_themes_the_ui_paints(app: QApplication) -> None:
    assert tuple(THEMES) == THEME_NAMES
    assert KEYS["workstation.theme"].default == DEFAULT_THEME
    assert scale_font(app, 100.0) == FONT_SCALE_RANGE[1]
    assert scale_font(app, 0.0) == FONT_SCALE_RANGE[0]


# --- the View menu ------------------------------------------------------------------------------


def test_a_locked_theme_and_text_size_cannot_be_changed_from_the_view_menu(
    qtbot: QtBot, tmp_path: Path, app: QApplication
) -> None:
    config = centre_file(
        tmp_path / "etc",
        '[workstation]\ntheme = "high-contrast"\n'
        '[locked]\nkeys = ["workstation.theme", "workstation.font_scale"]\n',
    )
    window, service = offline_window(qtbot, tmp_path, tmp_path / "config", config=config)
    window.show()
    said = f"Set by your centre's IT staff ({config.path})"
    theme_action = window.theme_menu.menuAction()
    assert not theme_action.isEnabled()
    assert theme_action.toolTip() == said and theme_action.statusTip() == said
    assert all(not a.isEnabled() and a.toolTip() == said for a in window.text_size_actions)
    before = app.palette().window().color().name()
    assert window.set_theme("light") is False
    assert app.palette().window().color().name() == before
    assert said in window.error_banner.text()  # told, not silently ignored
    scale = app.font().pointSizeF()
    window.zoom(0.3)
    assert app.font().pointSizeF() == scale
    settings = QSettings(str(tmp_path / "config" / "workstation.ini"), QSettings.Format.IniFormat)
    assert settings.value("theme") is None and settings.value("font_scale") is None
    window.close()
    service.db.close()


def test_an_unlocked_theme_is_the_user_s_and_remembered_under_its_setting(
    qtbot: QtBot, tmp_path: Path, app: QApplication
) -> None:
    config = centre_file(tmp_path / "etc", '[workstation]\ntheme = "high-contrast"\n')
    window, service = offline_window(qtbot, tmp_path, tmp_path / "config", config=config)
    assert window.theme_menu.menuAction().isEnabled()
    assert all(a.isEnabled() for a in window.text_size_actions)
    assert window.set_theme("light") is True
    window.zoom(0.2)
    settings = QSettings(str(tmp_path / "config" / "workstation.ini"), QSettings.Format.IniFormat)
    assert settings.value(KEYS["workstation.theme"].user_setting) == "light"
    assert float(settings.value(KEYS["workstation.font_scale"].user_setting)) > 1.0
    window.close()
    service.db.close()


# --- the default layout -------------------------------------------------------------------------


def test_the_centre_s_layout_applies_when_the_user_saved_none(
    qtbot: QtBot, tmp_path: Path, app: QApplication
) -> None:
    centre = read_centre_layout(floor_layout(qtbot, tmp_path), "Floor", LAYOUT_VERSION)
    user_config = tmp_path / "user"
    window, service = offline_window(qtbot, tmp_path / "a", user_config, centre_layout=centre)
    window.show()
    assert not window.docks["units"].isVisible()  # the centre's layout
    assert window.docks["radio"].isFloating()
    # the user makes it their own: that is what comes back next time
    window.docks["units"].show()
    window.docks["radio"].setFloating(False)
    window.close()
    service.db.close()
    again, service = offline_window(qtbot, tmp_path / "b", user_config, centre_layout=centre)
    again.show()
    assert again.docks["units"].isVisible() and not again.docks["radio"].isFloating()
    # Layouts → Reset to default: the centre's
    again.layouts.reset()
    assert not again.docks["units"].isVisible() and again.docks["radio"].isFloating()
    again.close()
    service.db.close()


def test_without_a_centre_layout_reset_is_the_layout_in_code(
    qtbot: QtBot, tmp_path: Path, app: QApplication
) -> None:
    window, service = offline_window(qtbot, tmp_path, tmp_path / "user")
    window.show()
    assert window.layouts.centre is None and window.docks["units"].isVisible()
    window.docks["units"].close()
    window.layouts.reset()
    assert window.docks["units"].isVisible()
    window.close()
    service.db.close()


def test_a_centre_layouts_file_is_checked_and_never_written(
    qtbot: QtBot, tmp_path: Path, app: QApplication
) -> None:
    exported = floor_layout(qtbot, tmp_path)
    with pytest.raises(LayoutFileError, match=r'has no layout named "Day" \(it has: "Floor"\)'):
        read_centre_layout(exported, "Day", LAYOUT_VERSION)
    with pytest.raises(LayoutFileError, match="saved by another version of dispatch-desktop"):
        read_centre_layout(exported, "Floor", LAYOUT_VERSION + 1)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(LayoutFileError, match="is not a layouts file"):
        LayoutStore(broken, read_only=True)
    assert broken.read_text() == "{not json"  # kept where IT put it, never moved aside
    with pytest.raises(LayoutFileError, match="cannot be read"):
        LayoutStore(tmp_path / "absent.json", read_only=True)
    before = exported.read_bytes()
    centre = read_centre_layout(exported, "Floor", LAYOUT_VERSION)
    assert isinstance(centre, CentreLayout)
    assert centre.store.set_named("any", "Mine", centre.store.all_named("Floor")[0]) is False
    assert exported.read_bytes() == before


def test_a_default_layout_missing_from_its_file_names_the_key(
    qtbot: QtBot, tmp_path: Path, app: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    floor_layout(qtbot, tmp_path)
    path = tmp_path / "etc" / "config.toml"
    path.write_text('[workstation]\nlayouts_file = "layouts.json"\ndefault_layout = "Night"\n')
    monkeypatch.setenv(ENV_VAR, str(path))
    with pytest.raises(WorkstationConfigError) as caught:
        read_configuration()
    assert str(caught.value).startswith(f"{path}: workstation.default_layout: ")
    assert 'no layout named "Night"' in str(caught.value)
    path.write_text('[workstation]\nlayouts_file = "layouts.json"\ndefault_layout = "Floor"\n')
    config, centre = read_configuration()
    assert centre is not None and centre.name == "Floor" and config.path == path


# --- the start: theme, server, layout, CA -------------------------------------------------------


async def test_the_system_file_gives_theme_server_layout_and_ca(
    qtbot: QtBot, tmp_path: Path, app: QApplication
) -> None:
    exported = floor_layout(qtbot, tmp_path)
    config = centre_file(
        tmp_path / "etc",
        f'[servers]\nurls = ["{CAD1}", "{CAD2}"]\nca_cert = "ca.pem"\n'
        '[workstation]\ntheme = "light"\nfont_scale = 1.2\n'
        'layouts_file = "layouts.json"\ndefault_layout = "Floor"\n[sound]\nenabled = false\n',
    )
    centre = read_centre_layout(exported, "Floor", LAYOUT_VERSION)
    workstation, task = start(app, tmp_path, [], config=config, centre_layout=centre)
    await wait_until(lambda: login_dialog() is not None, 8, "the sign-in dialog")
    dialog = login_dialog()
    assert dialog is not None
    assert dialog.url.text() == CAD1 and not dialog.url.isReadOnly()
    assert app.property("dispatch_theme") == "light"
    assert app.property("dispatch_font_scale") == pytest.approx(1.2)
    dialog.url.setText("wss://127.0.0.1:9")  # nothing listens: refused at once
    dialog.user.setText("ann")
    dialog.password.setText("secret")
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    await wait_until(lambda: workstation.window is not None, 10, "the window")
    window, service = workstation.window, workstation.service
    assert window is not None and service is not None
    context = service.link.ssl_for(service.link.url)  # each server's own: ssl_context(url)
    assert isinstance(context, ssl.SSLContext) and context.verify_mode is ssl.CERT_REQUIRED
    assert ["dispatch-desktop test CA" in str(c["subject"]) for c in context.get_ca_certs()] == [
        True
    ]
    await wait_until(lambda: window.isVisible(), 5, "the window shown")
    assert not window.docks["units"].isVisible()  # the centre's "Floor"
    window.close()
    assert await asyncio.wait_for(task, 10) == 0


async def test_the_user_s_settings_win_unless_locked(tmp_path: Path, app: QApplication) -> None:
    body = f'[servers]\nurls = ["{CAD1}", "{CAD2}"]\n[workstation]\ntheme = "light"\n'
    user_settings(tmp_path / "config", theme="high-contrast", server="ws://mine:8765")
    config = centre_file(tmp_path / "etc", body)
    _, task = start(app, tmp_path, [], config=config)
    await wait_until(lambda: login_dialog() is not None, 8, "the sign-in dialog")
    dialog = login_dialog()
    assert dialog is not None and dialog.url.text() == "ws://mine:8765"
    assert app.property("dispatch_theme") == "high-contrast"
    assert await quit_at_sign_in(task) == 0

    locked = centre_file(
        tmp_path / "etc2", body + '[locked]\nkeys = ["servers.urls", "workstation.theme"]\n'
    )
    _, task = start(app, tmp_path, [], config=locked)
    await wait_until(lambda: login_dialog() is not None, 8, "the sign-in dialog")
    dialog = login_dialog()
    assert dialog is not None and dialog.url.text() == CAD1
    assert dialog.url.isReadOnly()
    assert dialog.url.toolTip() == f"Set by your centre's IT staff ({locked.path})"
    assert dialog.focusWidget() is dialog.user  # typing starts with the user, not the fixed URL
    assert app.property("dispatch_theme") == "light"
    assert await quit_at_sign_in(task) == 0


async def test_a_command_line_option_for_a_locked_key_is_refused(
    tmp_path: Path, app: QApplication, capsys: pytest.CaptureFixture[str]
) -> None:
    config = centre_file(
        tmp_path / "etc", '[workstation]\ntheme = "light"\n[locked]\nkeys = ["workstation.theme"]\n'
    )
    workstation, task = start(app, tmp_path, ["--theme", "dark"], config=config)
    assert await asyncio.wait_for(task, 10) == 2
    err = capsys.readouterr().err
    assert err.startswith("dispatch-desktop: cannot start: A command-line option asks for")
    said = f"Set by your centre's IT staff ({config.path})"
    assert f"--theme dark: workstation.theme is locked. {said}." in err
    assert login_dialog() is None and workstation.service is None


async def test_a_missing_resources_folder_ends_the_start(
    tmp_path: Path,
    app: QApplication,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import ui.session

    gone = tmp_path / "install" / "resources"
    monkeypatch.setattr(ui.session, "resource_path", lambda *parts: gone.joinpath(*parts))
    _, task = start(app, tmp_path, [])
    assert await asyncio.wait_for(task, 10) == 2
    err = capsys.readouterr().err
    assert "dispatch-desktop is not installed completely" in err
    assert f"Its resources folder is missing: {gone}" in err


# --- the alert sound ----------------------------------------------------------------------------


def test_the_alert_sound_is_the_centre_s_or_none(
    tmp_path: Path, app: QApplication, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ui.session

    played: list[object] = []

    class Player:
        def __init__(self, path: Path) -> None:
            played.append(path)

        def play(self) -> bool:
            return False  # no player on this machine

    monkeypatch.setattr(ui.session, "AlertSound", Player)
    monkeypatch.setattr(QApplication, "beep", staticmethod(lambda: played.append("beep")))
    args = build_parser().parse_args([])

    def sound(body: str) -> Any:
        config = centre_file(tmp_path / "etc", body)
        return Workstation(app, args, tmp_path, tmp_path, config)._alert_sound()

    assert sound("") is None  # the shipped chime (the board's default)
    silent = sound("[sound]\nenabled = false\n")
    silent()
    assert played == []  # off: no sound, not even a beep
    write_alert_tone(tmp_path / "etc" / "mine.wav")
    chime = sound('[sound]\nfile = "mine.wav"\n')
    chime()
    assert played == [tmp_path / "etc" / "mine.wav", "beep"]


# --- the command line: exit codes and stderr ----------------------------------------------------


def test_an_invalid_file_stops_main_with_the_file_and_key_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[servers]\nurls = ["wss://cad1:8765", "http://x"]\n')
    monkeypatch.setenv(ENV_VAR, str(bad))
    monkeypatch.setattr(ui.app, "_configure_logging", lambda _: None)  # no handlers left behind
    dirs = ["--data-dir", str(tmp_path / "d"), "--config-dir", str(tmp_path / "c")]
    assert main(dirs) == 2
    err = capsys.readouterr().err
    assert "This workstation's configuration cannot be used" in err
    assert f'{bad}: servers.urls[1]: "http://x" is not a ws:// or wss:// URL' in err


def test_check_config_says_what_each_key_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = centre_file(
        tmp_path, f'[servers]\nurls = ["{CAD1}"]\n[locked]\nkeys = ["servers.urls"]\n'
    )
    monkeypatch.setenv(ENV_VAR, str(config.path))
    assert main(["--check-config"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{config.path}: can be used"
    assert f'  servers.urls = ["{CAD1}"]  (from the file, locked)' in out
    assert '  workstation.theme = "dark"  (built-in default)' in out
    config.path.write_text('[workstation]\nthem = "dark"\n')
    assert main(["--check-config"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"{config.path}: workstation.them: unknown key (did you mean workstation.theme?) "
        "([workstation] has: theme, font_scale, layouts_file, default_layout)"
    )
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "typo.toml"))
    assert main(["--check-config"]) == 2
    assert "does not exist (named by DISPATCH_DESKTOP_CONFIG)" in capsys.readouterr().err


def _run(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
        env=env,
    )


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    env.update(extra)
    return env


def _dirs(tmp_path: Path) -> list[str]:
    return ["--data-dir", str(tmp_path / "d"), "--config-dir", str(tmp_path / "c")]


def test_dispatch_desktop_with_an_invalid_file_exits_2_under_screenshot(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text('[workstation]\ntheme = "purple"\n')
    shot = tmp_path / "shot.png"
    done = _run(
        ["-m", "ui.app", "--demo", "--screenshot", str(shot), *_dirs(tmp_path)],
        _env(tmp_path, **{ENV_VAR: str(bad)}),
    )
    assert done.returncode == 2, done.stderr
    assert f'{bad}: workstation.theme: "purple" is not a theme' in done.stderr
    assert "Traceback" not in done.stderr and not shot.exists()


def test_dispatch_desktop_without_its_resources_exits_2(tmp_path: Path) -> None:
    """Installed without resources/ (resource_path looks beside the packages, or in a frozen
    build's folder): a clear message, not a dialog waiting forever offscreen."""
    empty = tmp_path / "frozen"
    empty.mkdir()
    runner = (
        f"import sys; sys._MEIPASS = {str(empty)!r}; from ui.app import main; "
        f"sys.exit(main(['--demo', '--screenshot', {str(tmp_path / 's.png')!r}, "
        f"*{_dirs(tmp_path)!r}]))"
    )
    done = _run(["-c", runner], _env(tmp_path, QT_QPA_PLATFORM="offscreen"))
    assert done.returncode == 2, done.stderr
    assert f"Its resources folder is missing: {empty / 'resources'}" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_invalid_file_shows_a_dialog_when_someone_can_close_it(tmp_path: Path) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("[sound]\nenabled = 1\n")
    runner = (
        "import sys\n"
        "import ui.dialogs.fatal as fatal\n"
        "from PySide6.QtCore import QTimer\n"
        "fatal.someone_to_read = lambda *_: True  # as on a real display\n"
        "opened = fatal.QMessageBox.open\n"
        "def read_and_close(box):\n"
        "    opened(box)\n"
        "    print('dialog:', box.objectName(), box.text(), box.informativeText())\n"
        "    QTimer.singleShot(0, box.accept)\n"
        "fatal.QMessageBox.open = read_and_close\n"
        "from ui.app import main\n"
        f"sys.exit(main({_dirs(tmp_path)!r}))\n"
    )
    done = _run(["-c", runner], _env(tmp_path, **{ENV_VAR: str(bad)}))
    assert done.returncode == 2, done.stderr
    assert "dialog: fatal_dialog This workstation's configuration cannot be used" in done.stdout
    assert f"{bad}: sound.enabled: must be true or false, not 1" in done.stdout


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="X11/Wayland only")
def test_no_display_is_said_instead_of_qt_aborting(tmp_path: Path) -> None:
    env = _env(tmp_path)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)
    done = _run(["-m", "ui.app", *_dirs(tmp_path)], env)
    assert done.returncode == 2, done.stderr
    assert "cannot start: there is no display" in done.stderr
    bad = tmp_path / "config.toml"
    bad.write_text("[locked]\nkeys = [1]\n")
    env[ENV_VAR] = str(bad)
    done = _run(["-m", "ui.app", *_dirs(tmp_path)], env)
    assert done.returncode == 2, done.stderr
    assert f"{bad}: locked.keys[0]: must be a key name, not 1" in done.stderr
