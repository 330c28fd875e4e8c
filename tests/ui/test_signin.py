"""Signing in at the workstation (ui/session.py): the login dialog, "remember me", logging out.

Each test drives `Workstation.run()` the way ``dispatch-desktop`` does, against a real server
process on loopback, on the qasync loop (tests/ui/conftest.py) so Qt events are processed at every
await. The keyring is the in-memory backend of `tests.support.fixtures.memory_keyring`.

The refresh token must live in the keyring and nowhere else: after each run every file under the
data and config directories (settings, layouts, workstation database, the log) is searched for
the token and the password.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import keyring
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QMessageBox

from desktop.credentials import SERVICE_NAME, TokenVault
from desktop.link import LinkPhase
from desktop.protocol.messages import Error, Welcome
from tests.support.memkeyring import MemoryKeyring
from tests.support.rawclient import RawClient
from tests.support.serverproc import PASSWORD, ServerProcess
from tests.support.waiting import wait_until
from ui.app import build_parser
from ui.dialogs.login import LoginDialog
from ui.session import Workstation

USER = "ann"


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    data_dir, config_dir = tmp_path / "data", tmp_path / "config"
    data_dir.mkdir()
    config_dir.mkdir()
    return data_dir, config_dir


@pytest.fixture
def app(qapp: QApplication) -> Iterator[QApplication]:
    """The test's QApplication set up as `ui.app.main` does; its look is restored afterwards."""
    assert isinstance(qapp, QApplication)
    style, palette, sheet, font = (
        qapp.style().name(),
        qapp.palette(),
        qapp.styleSheet(),
        qapp.font(),
    )
    quit_on_close = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)  # closing the window must not stop the qasync loop
    yield qapp
    qapp.setQuitOnLastWindowClosed(quit_on_close)
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setFont(font)


@pytest.fixture
def log_file(dirs: tuple[Path, Path]) -> Iterator[Path]:
    """The workstation log, at the production level (INFO), where `ui.app.main` puts it."""
    path = dirs[0] / "logs" / "workstation.log"
    path.parent.mkdir()
    handler = logging.FileHandler(path)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield path
    root.removeHandler(handler)
    root.setLevel(level)
    handler.close()


@pytest.fixture
async def launch(app: QApplication, dirs: tuple[Path, Path]) -> AsyncIterator[Callable[[], Run]]:
    """Start a run of the workstation; a run a failed test left going is ended afterwards."""
    runs: list[Run] = []

    def start() -> Run:
        runs.append(Run(app, dirs))
        return runs[-1]

    yield start
    for run in runs:
        if not run.task.done():
            for dialog in visible_dialogs():
                dialog.reject()
            if run.workstation.window is not None:
                run.workstation.window.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(run.task, 10)


# --- helpers -----------------------------------------------------------------------------------


class Run:
    """One run of the workstation (one `Workstation.run()` task), as one launch of the app."""

    def __init__(self, app: QApplication, dirs: tuple[Path, Path]) -> None:
        data_dir, config_dir = dirs
        args = build_parser().parse_args(
            ["--data-dir", str(data_dir), "--config-dir", str(config_dir)]
        )
        self.workstation = Workstation(app, args, data_dir, config_dir)
        self.errors: list[str] = []
        self.workstation.bridge.error.connect(self.errors.append)
        self.task = asyncio.get_running_loop().create_task(self.workstation.run())

    def check(self) -> None:
        """Fail at once if the run ended by an exception."""
        if self.task.done():
            self.task.result()

    async def until(self, predicate: Callable[[], bool], what: str, timeout: float = 8.0) -> None:
        def done() -> bool:
            self.check()
            return predicate()

        await wait_until(done, timeout, what)

    def live(self) -> bool:
        service = self.workstation.service
        return service is not None and service.status.phase is LinkPhase.LIVE

    async def dialog(self) -> LoginDialog:
        """The login dialog this run shows (it is a window: found among the top-level widgets)."""
        await self.until(lambda: bool(visible_dialogs()), "the login dialog")
        (dialog,) = visible_dialogs()
        return dialog

    async def finished(self) -> int:
        code = await asyncio.wait_for(self.task, 10)
        assert self.errors == []
        return code

    async def close(self) -> int:
        window = self.workstation.window
        assert window is not None
        window.close()
        return await self.finished()


def visible_box(name: str) -> QMessageBox | None:
    found = [
        w
        for w in QApplication.topLevelWidgets()
        if isinstance(w, QMessageBox) and w.objectName() == name and w.isVisible()
    ]
    return found[0] if found else None


async def press(run: Run, name: str, label: str) -> QMessageBox:
    """Wait for the question ``name`` and press the button whose text starts with ``label``."""
    await run.until(lambda: visible_box(name) is not None, f"the question {name}")
    box = visible_box(name)
    assert box is not None
    (button,) = [b for b in box.buttons() if b.text().startswith(label)]
    button.click()
    return box


def visible_dialogs() -> list[LoginDialog]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, LoginDialog) and w.isVisible()
    ]


def fill(dialog: LoginDialog, url: str, user: str, password: str, remember: bool) -> None:
    """Type into the dialog and press Sign in, as a dispatcher would."""
    dialog.url.setText(url)
    dialog.user.setText(user)
    dialog.password.setText(password)
    dialog.remember.setChecked(remember)
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()


def files_containing(secret: str, *roots: Path) -> list[Path]:
    needle = secret.encode()
    return [p for r in roots for p in r.rglob("*") if p.is_file() and needle in p.read_bytes()]


def assert_not_on_disk(secrets: list[str], dirs: tuple[Path, Path], log_file: Path) -> None:
    """No file the workstation wrote holds any of ``secrets`` (and there are files to search)."""
    data_dir, config_dir = dirs
    assert (config_dir / "workstation.ini").exists()
    assert (config_dir / "layouts.json").exists()
    assert list(data_dir.glob("profiles/*/*"))  # the workstation database
    assert log_file.stat().st_size > 0
    for secret in secrets:
        assert files_containing(secret, data_dir, config_dir) == []


def settings(config_dir: Path) -> QSettings:
    return QSettings(str(config_dir / "workstation.ini"), QSettings.Format.IniFormat)


def log_out(run: Run) -> None:
    """File > Log out."""
    window = run.workstation.window
    assert window is not None
    (file_menu,) = [a.menu() for a in window.menuBar().actions() if a.text() == "&File"]
    (action,) = [a for a in file_menu.actions() if a.text() == "Log &out"]
    action.trigger()


class SlowKeyring(MemoryKeyring):
    """A keyring whose writes take a while (a Secret Service over a busy D-Bus, an unlock)."""

    def __init__(self, store_delay: float, delete_delay: float) -> None:
        super().__init__()
        self.store_delay, self.delete_delay = store_delay, delete_delay

    def set_password(self, service: str, username: str, password: str) -> None:
        threading.Event().wait(self.store_delay)
        super().set_password(service, username, password)

    def delete_password(self, service: str, username: str) -> None:
        threading.Event().wait(self.delete_delay)
        super().delete_password(service, username)


async def sign_in_remembered(
    launch: Callable[[], Run], server: ServerProcess, backend: MemoryKeyring
) -> str:
    """First run: the dialog, remember me ticked, LIVE, window closed. Returns the token."""
    run = launch()
    dialog = await run.dialog()
    fill(dialog, server.url, USER, PASSWORD, remember=True)
    await run.until(run.live, "LIVE")
    account = (SERVICE_NAME, f"{USER}@{server.url}")
    await run.until(lambda: account in backend.secrets, "the token in the keyring")
    assert await run.close() == 0
    return backend.secrets[account]


# --- tests -------------------------------------------------------------------------------------


async def test_remember_me_keeps_the_token_in_the_keyring_and_nowhere_else(
    launch: Callable[[], Run],
    dirs: tuple[Path, Path],
    server: ServerProcess,
    memory_keyring: MemoryKeyring,
    log_file: Path,
) -> None:
    token = await sign_in_remembered(launch, server, memory_keyring)

    assert list(memory_keyring.secrets) == [(SERVICE_NAME, f"{USER}@{server.url}")]
    assert len(token) >= 32
    assert_not_on_disk([token, PASSWORD], dirs, log_file)
    stored = settings(dirs[1])
    assert stored.value("server") == server.url
    assert stored.value("user") == USER
    assert stored.value("remember", type=bool) is True


async def test_remembered_sign_in_is_silent_next_time(
    launch: Callable[[], Run],
    dirs: tuple[Path, Path],
    server: ServerProcess,
    memory_keyring: MemoryKeyring,
    log_file: Path,
) -> None:
    token = await sign_in_remembered(launch, server, memory_keyring)

    run = launch()  # no password anywhere in this run: only the keyring's token
    dialogs_seen: list[int] = []

    def live_without_asking() -> bool:
        dialogs_seen.append(len(visible_dialogs()))
        return run.live()

    await run.until(live_without_asking, "LIVE by the remembered token")
    assert max(dialogs_seen) == 0
    assert run.workstation.service is not None
    assert run.workstation.service.link.url == server.url
    assert await run.close() == 0
    assert memory_keyring.secrets == {(SERVICE_NAME, f"{USER}@{server.url}"): token}
    assert files_containing(token, *dirs) == []


async def test_log_out_forgets_the_token_and_the_next_run_asks(
    launch: Callable[[], Run],
    dirs: tuple[Path, Path],
    server: ServerProcess,
    memory_keyring: MemoryKeyring,
) -> None:
    token = await sign_in_remembered(launch, server, memory_keyring)
    run = launch()
    await run.until(run.live, "LIVE by the remembered token")
    assert visible_dialogs() == []

    log_out(run)

    assert await run.finished() == 0  # logging out closes the window and ends the run
    assert memory_keyring.secrets == {}
    assert settings(dirs[1]).value("remember", type=bool) is False
    # and the server revoked it: the token signs in nowhere any more
    refused = await (await RawClient.open(server.url)).hello(token=token)
    assert isinstance(refused, Error) and refused.body.code == "auth_failed"

    run = launch()
    dialog = await run.dialog()
    assert dialog.url.text() == server.url  # what is not secret is remembered
    assert dialog.user.text() == USER
    assert dialog.password.text() == ""
    dialog.reject()  # Cancel asks first; Quit ends the application without signing in
    await press(run, "quit_question", "Quit")
    assert await run.finished() == 0
    assert run.workstation.service is None


async def test_log_out_offline_forgets_the_token_here_and_the_server_keeps_it_until_its_ttl(
    launch: Callable[[], Run],
    dirs: tuple[Path, Path],
    server: ServerProcess,
    memory_keyring: MemoryKeyring,
) -> None:
    token = await sign_in_remembered(launch, server, memory_keyring)
    run = launch()
    await run.until(run.live, "LIVE by the remembered token")
    server.stop()
    await run.until(lambda: not run.live(), "offline")

    log_out(run)

    assert await run.finished() == 0  # at once: nothing waits for a server that is not there
    assert memory_keyring.secrets == {}
    assert settings(dirs[1]).value("remember", type=bool) is False
    server.start()  # the server was never told: the token lives until it expires
    assert isinstance(await (await RawClient.open(server.url)).hello(token=token), Welcome)


async def test_refused_password_asks_again_with_the_reason(
    launch: Callable[[], Run],
    dirs: tuple[Path, Path],
    server: ServerProcess,
    memory_keyring: MemoryKeyring,
) -> None:
    run = launch()
    fill(await run.dialog(), server.url, USER, "not the password", remember=False)

    await run.until(
        lambda: bool(visible_dialogs()) and run.workstation.window is not None,
        "the dialog again",
    )
    service = run.workstation.service
    assert service is not None
    assert service.status.phase is LinkPhase.SIGNED_OUT
    (again,) = visible_dialogs()
    assert again.message.isVisible()
    assert "Please sign in again" in again.message.text()
    # in the dispatcher's words: the server's reason, never the internal code
    assert "wrong user name or password" in again.message.text()
    assert "auth_failed" not in again.message.text()
    assert again.url.isReadOnly() and again.url.text() == server.url
    assert again.user.isReadOnly() and again.user.text() == USER

    again.password.setText(PASSWORD)
    buttons = again.findChild(QDialogButtonBox)
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    await run.until(run.live, "LIVE after the password was typed again")
    assert visible_dialogs() == []
    assert await run.close() == 0
    assert memory_keyring.secrets == {}  # remember me was not ticked
    assert files_containing(PASSWORD, *dirs) == []


async def test_cancelled_sign_in_again_leaves_the_board_signed_out_until_asked_from_the_menu(
    launch: Callable[[], Run], server: ServerProcess
) -> None:
    run = launch()
    fill(await run.dialog(), server.url, USER, "not the password", remember=False)
    await run.until(lambda: bool(visible_dialogs()), "the dialog again")

    (again,) = visible_dialogs()
    again.reject()  # Cancel: the dispatcher keeps the (read-only, signed-out) board

    await asyncio.sleep(0.2)  # a new dialog would be open by now
    assert visible_dialogs() == []
    service = run.workstation.service
    assert service is not None and service.status.phase is LinkPhase.SIGNED_OUT

    # File -> Sign in again asks once more, and the right password brings the board back
    window = run.workstation.window
    assert window is not None
    action = window.sign_in_again_action
    assert action.isVisible() and action.isEnabled()
    action.trigger()
    (asked,) = [await run.dialog()]
    assert asked.user.isReadOnly()
    asked.password.setText(PASSWORD)
    asked.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok).click()  # type: ignore[union-attr]
    await run.until(run.live, "LIVE again")
    assert not action.isEnabled()
    assert await run.close() == 0
    assert visible_dialogs() == []  # none popped up again while shutting down


async def test_log_out_is_complete_when_the_run_ends_even_with_a_slow_keyring(
    launch: Callable[[], Run], server: ServerProcess
) -> None:
    slow = SlowKeyring(0.0, 0.3)
    keyring.set_keyring(slow)  # the autouse memory_keyring fixture restores the previous one
    await sign_in_remembered(launch, server, slow)
    run = launch()
    await run.until(run.live, "LIVE by the remembered token")

    log_out(run)

    assert await run.finished() == 0
    assert slow.secrets == {}  # removed before the application ends, not cancelled on the way


async def test_vault_calls_take_effect_in_the_order_they_were_made() -> None:
    """A logout's forget is never overtaken by a store started just before it."""
    slow = SlowKeyring(0.1, 0.0)  # unordered, the forget would finish first
    keyring.set_keyring(slow)
    vault = TokenVault()
    url = "wss://cad.example.org:8765"
    stored = asyncio.create_task(vault.store(url, USER, "token-1"))
    forgotten = asyncio.create_task(vault.forget(url, USER))
    assert await stored is True
    await forgotten
    assert slow.secrets == {}
    assert await vault.load(url, USER) is None


async def test_broken_rules_files_stop_the_start_with_a_message_before_sign_in(
    launch: Callable[[], Run], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from PySide6.QtWidgets import QMessageBox

    import desktop.centre
    import ui.session

    broken = tmp_path / "runcards.json"
    broken.write_text('{"default": {"alarms": []}}')
    monkeypatch.setattr(
        ui.session, "load_centre_rules", lambda: desktop.centre.load_centre_rules(None, broken)
    )
    # as on a real display (offscreen nobody could close it: test_workstation_config_ui.py)
    monkeypatch.setattr(ui.session, "someone_to_read", lambda *_: True)
    run = launch()

    def box() -> QMessageBox | None:
        found = [
            w
            for w in QApplication.topLevelWidgets()
            if isinstance(w, QMessageBox) and w.objectName() == "fatal_dialog" and w.isVisible()
        ]
        return found[0] if found else None

    await run.until(lambda: box() is not None, "the message")
    message = box()
    assert message is not None
    assert "cannot be used" in message.text()
    assert str(broken) in message.informativeText()
    assert "list at least one alarm" in message.informativeText()
    assert visible_dialogs() == []  # no sign-in was asked for
    message.accept()
    assert await run.finished() == 2
    assert run.workstation.service is None


async def test_cancel_on_the_sign_in_dialog_asks_and_says_what_is_queued_here(
    launch: Callable[[], Run], dirs: tuple[Path, Path]
) -> None:
    from tests.integration.test_queued_work import DEAD_URL, queue_offline

    await queue_offline(dirs[0], DEAD_URL)  # a P1 queued under another server address
    run = launch()
    dialog = await run.dialog()
    dialog.url.setText("ws://cad.example.org:8765")
    dialog.user.setText(USER)
    dialog.reject()  # Cancel

    box = await press(run, "quit_question", "Back to sign in")
    assert "Quit without signing in?" in box.text()
    assert "1 command queued, not sent" in box.informativeText()
    assert f"{USER} on {DEAD_URL}" in box.informativeText()
    again = await run.dialog()  # the dialog is back, with what was typed
    assert again.url.text() == "ws://cad.example.org:8765"
    assert not run.task.done()

    again.reject()
    await press(run, "quit_question", "Quit")
    assert await run.finished() == 0
    assert run.workstation.service is None


async def test_remember_me_without_a_keyring_says_the_sign_in_was_not_remembered(
    launch: Callable[[], Run], dirs: tuple[Path, Path], server: ServerProcess
) -> None:
    from keyring.backends.fail import Keyring as NoKeyring

    keyring.set_keyring(NoKeyring())  # what a desktop without a keyring gives (restored after)
    run = launch()
    fill(await run.dialog(), server.url, USER, PASSWORD, remember=True)
    await run.until(run.live, "LIVE")
    window = run.workstation.window
    assert window is not None
    await run.until(lambda: window.error_bar.isVisible(), "the notice")
    said = window.error_banner.text()
    assert "could not be remembered" in said
    assert "asked for your password next time" in said
    assert settings(dirs[1]).value("remember", type=bool) is False
    assert await run.close() == 0

    run = launch()  # next time: the dialog, as said
    dialog = await run.dialog()
    assert dialog.user.text() == USER and dialog.password.text() == ""
    dialog.reject()
    await press(run, "quit_question", "Quit")
    assert await run.finished() == 0
