"""`Workstation`: one run of the application — sign in, the window, and the shutdown sequence.

Sign-in order: ``--demo`` signs in to the embedded server with in-memory credentials; otherwise
a refresh token remembered in the OS keyring signs in silently; otherwise the login dialog.
Shutdown: save the layout, stop the link (socket closed within 3 s), checkpoint and close the
workstation database, stop the embedded server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from desktop.centre import CentreRulesError, load_centre_rules
from desktop.credentials import TokenVault
from desktop.link import LinkPhase, LinkStatus
from desktop.profiles import profile_dir
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from ui.bridge import Bridge
from ui.demo_launcher import demo_floor
from ui.dialogs.fatal import show_fatal
from ui.dialogs.login import LoginDialog, LoginRequest
from ui.main_window import MainWindow
from ui.theme import DEFAULT_THEME, apply_theme, scale_font

__all__ = ["Workstation"]

log = logging.getLogger("dispatch.ui")

DEFAULT_URL = "ws://127.0.0.1:8765"
SCREENSHOT_TIMEOUT = 60.0
#: At shutdown, how long a keyring write still running (logging out's removal) may take.
KEYRING_SHUTDOWN_TIMEOUT = 5.0


class Workstation:
    """Runs the workstation until the window closes; `run` returns the exit code."""

    def __init__(
        self, app: QApplication, args: argparse.Namespace, data_dir: Path, config_dir: Path
    ) -> None:
        self.app = app
        self.args = args
        self.data_dir = data_dir
        self.config_dir = config_dir
        self.settings = QSettings(str(config_dir / "workstation.ini"), QSettings.Format.IniFormat)
        self.vault = TokenVault()
        self.bridge = Bridge()
        self.window: MainWindow | None = None
        self.service: DispatchService | None = None
        self._embedded: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._keyring_writes: set[asyncio.Task[Any]] = set()
        self._closed = asyncio.Event()
        self._signin: SignIn | None = None
        self._remember = False
        self._prompting = False
        self._phase: LinkPhase | None = None

    # --- errors ----------------------------------------------------------------------------

    def report_error(self, message: str) -> None:
        self.bridge.error.emit(message)

    def on_loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, asyncio.CancelledError):
            return
        log.error("event loop error: %s", context.get("message"), exc_info=error)
        self.report_error(str(error or context.get("message")))

    # --- run -------------------------------------------------------------------------------

    async def run(self) -> int:
        """Sign in, open the window, run until it closes. Returns the exit code: 2 when the
        centre's rules files cannot be used (the user is told which and why)."""
        apply_theme(self.app, self.args.theme or str(self.settings.value("theme", DEFAULT_THEME)))
        scale = self.settings.value("font_scale", 1.0, type=float)
        scale_font(self.app, scale if isinstance(scale, float) else 1.0)
        try:
            rules = load_centre_rules()
        except CentreRulesError as exc:
            log.error("cannot start: %s", exc)
            await show_fatal(
                "dispatch-desktop cannot start",
                "The centre's rules files cannot be used. Call your IT support.",
                str(exc),
            )
            return 2
        login = await self._sign_in()
        if login is None:
            return 0
        url, signin = login
        user = signin.username
        config = ServiceConfig(
            data_dir=profile_dir(self.data_dir, url, user),
            url=url,
            role_requested="supervisor" if self.args.monitor else None,
        )
        self.service = service = DispatchService(config, signin, on_status=self._on_status)
        if service.db.recovered_from is not None:
            self.report_error(
                f"The workstation database could not be read; it was kept as "
                f"{service.db.recovered_from} and a new one started."
            )
        service.subscribe(self.bridge.on_change)
        service.start()
        self.window = MainWindow(
            service,
            self.bridge,
            self.config_dir,
            on_log_out=self._log_out,
            rules=rules,
            on_sign_in_again=self._sign_in_again,
        )
        self.window.closed.connect(self._closed.set)
        self.window.show()
        if self.args.screenshot is not None:
            self._spawn(self._screenshot(self.args.screenshot))
        await self._closed.wait()
        await self._shutdown()
        return 0

    async def _sign_in(self) -> tuple[str, SignIn] | None:
        if self.args.demo:
            self._embedded = demo_floor(
                self.data_dir / "demo-server", call_interval=self.args.call_interval
            )
            demo = await asyncio.to_thread(self._embedded.start)
            self._signin = SignIn(demo.username, demo.password)
            return demo.url, self._signin
        url = self.args.server or str(self.settings.value("server", DEFAULT_URL))
        user = self.args.user or str(self.settings.value("user", ""))
        if user and self.settings.value("remember", False, type=bool):
            token = await self.vault.load(url, user)
            if token:
                self._remember = True
                self._signin = SignIn(
                    user, refresh_token=token, on_refresh_token=self._token_saver(url, user)
                )
                return url, self._signin
        request = await LoginDialog(url, user).wait_submitted()
        if request is None:
            return None
        return request.url, self._signin_from(request)

    def _signin_from(self, request: LoginRequest) -> SignIn:
        self.settings.setValue("server", request.url)
        self.settings.setValue("user", request.user)
        self.settings.setValue("remember", request.remember)
        self._remember = request.remember
        saver = self._token_saver(request.url, request.user) if request.remember else None
        self._signin = SignIn(request.user, request.password, on_refresh_token=saver)
        return self._signin

    def _token_saver(self, url: str, user: str) -> Any:
        def save(token: str | None) -> None:
            if token is None:
                self._keyring_write(self.vault.forget(url, user))
            else:
                self._keyring_write(self.vault.store(url, user, token))

        return save

    def _on_status(self, status: LinkStatus) -> None:
        self.bridge.on_status(status)
        # Ask when the link becomes signed out, not at every later status it publishes while
        # still signed out (the link publishes one more as it stops), nor while shutting down.
        refused = status.phase is LinkPhase.SIGNED_OUT and self._phase is not LinkPhase.SIGNED_OUT
        self._phase = status.phase
        if refused and not self._prompting and not self._closed.is_set():
            self._spawn(self._ask_password_again(status.detail))

    def _sign_in_again(self) -> None:
        """File → Sign in again, after the dispatcher cancelled the question."""
        if not self._prompting:
            self._spawn(
                self._ask_password_again(self.service.status.detail if self.service else "")
            )

    async def _ask_password_again(self, reason: str) -> None:
        """The server refused every credential we hold: ask for the password, then retry."""
        if self.service is None or self._signin is None:
            return
        self._prompting = True
        dialog = LoginDialog(
            self.service.link.url,
            self._signin.username,
            f"Please sign in again ({reason}).",
            parent=self.window,
        )
        dialog.url.setReadOnly(True)
        dialog.user.setReadOnly(True)
        try:
            request = await dialog.wait_submitted()
            if request is not None:
                self._signin.use_password(request.password)
                self.service.link.credentials_changed()
        finally:
            self._prompting = False
            dialog.close()  # cancelled at shutdown: the question goes with the task

    def _log_out(self) -> None:
        """Forget the remembered sign-in (keyring entry removed) before the window closes."""
        if self._signin is not None and self.service is not None:
            self._signin.sign_out()
            self._keyring_write(self.vault.forget(self.service.link.url, self._signin.username))
            self.settings.setValue("remember", False)

    # --- screenshots -----------------------------------------------------------------------

    async def _screenshot(self, path: Path) -> None:
        """Once LIVE and the board is populated, open the top incident in detail, save every
        top-level window, then close."""
        assert self.window is not None and self.service is not None
        window, service = self.window, self.service
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SCREENSHOT_TIMEOUT
        while not (
            service.status.phase is LinkPhase.LIVE
            and window.models.units.rowCount() > 0
            and window.models.incidents.rowCount() > 0
        ):
            if loop.time() > deadline:
                log.error("screenshot: the board did not come alive in %.0f s", SCREENSHOT_TIMEOUT)
                window.close()
                return
            await asyncio.sleep(0.1)
        # as a dispatcher would: the top of the queue open in Incident detail
        window.selection.select_incident(window.models.incidents.id_at(0))
        await asyncio.sleep(1.5)  # a few frames and one clock tick after the data arrived
        self.bridge.flush_now()
        windows = [w for w in self.app.topLevelWidgets() if w.isVisible() and w.isWindow()]
        windows.sort(key=lambda w: (w is not window, w.objectName()))
        for index, widget in enumerate(windows):
            target = path if index == 0 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")
            widget.grab().save(str(target))
            print(f"screenshot: {target}", flush=True)
        window.close()

    # --- shutdown --------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        if self.service is not None:
            await self.service.stop(close_within=3.0)
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)
        if self._keyring_writes:
            # Logging out ends here: its removal of the token must be done, not cancelled.
            writes = set(self._keyring_writes)
            _, late = await asyncio.wait(writes, timeout=KEYRING_SHUTDOWN_TIMEOUT)
            if late:
                log.warning("keyring still busy after %.0f s at shutdown", KEYRING_SHUTDOWN_TIMEOUT)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _keyring_write(self, coro: Any) -> None:
        """Store or forget the token; `_shutdown` waits for these instead of cancelling them."""
        task = self._spawn(coro)
        self._keyring_writes.add(task)
        task.add_done_callback(self._keyring_writes.discard)
