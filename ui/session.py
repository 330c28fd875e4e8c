"""`Workstation`: one run of the application — sign in, the window, and the shutdown sequence.

Sign-in order: ``--demo`` signs in to the embedded server with in-memory credentials; otherwise
a refresh token remembered in the OS keyring signs in silently; otherwise the login dialog.
Cancel on the dialog asks before quitting (and says what is queued on this workstation); a
token that cannot be remembered (no keyring) is said, not silently dropped.
Once the window is up, queued or refused commands left in *other* profiles (another server
address, another user) are offered: sent to their own server, or moved to this one
(`desktop.stranded`, whose docstring holds the rule).
Shutdown: save the layout, stop the link (socket closed within 3 s), checkpoint and close the
workstation database, stop the embedded server.

The workstation configuration IT deployed (`desktop.workstation_config`, read by `ui.app`)
gives the servers, theme, text size, TLS CA, alert sound and default layout; the user's own
settings (``workstation.ini``: theme, font_scale, server, user, remember) and the command line
come before it except for keys IT locked (`WorkstationConfig.effective` is the rule). A
command-line option for a locked key, a missing ``resources/`` folder or broken rules files
stop the start (`ui.dialogs.fatal`: a dialog, or stderr when nobody can read one), exit code 2.

Failover: the sign-in is to one URL (the dialog's), and the workstation works with that server
and the others of its centre in failover order (`_servers_for`): the link moves between them
(`desktop.link`), each with its own TLS context (`WorkstationConfig.ssl_context`), on one
profile named by `desktop.profiles.group_url`. The remembered sign-in is kept under the URL
signed in to (the tokens are valid on every instance: they live in the centre's database).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop.centre import CentreRulesError, load_centre_rules
from desktop.credentials import TokenVault
from desktop.link import LinkPhase, LinkStatus
from desktop.localdb import LocalStorageError
from desktop.profiles import group_url, profile_dir
from desktop.resources import resource_path
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from desktop.sound import AlertSound
from desktop.storage_words import cannot_open, recovered
from desktop.stranded import QueuedWork, find_queued_work, move_here, send_queued
from desktop.workstation_config import WorkstationConfig
from ui.app import STARTED_AT
from ui.bridge import Bridge
from ui.demo_launcher import demo_floor
from ui.dialogs.fatal import show_fatal, someone_to_read
from ui.dialogs.login import LoginDialog, LoginRequest
from ui.dialogs.questions import ask, commands, question_box, stranded_words
from ui.layouts import CentreLayout
from ui.main_window import MainWindow
from ui.theme import apply_theme, scale_font

__all__ = ["Workstation"]

log = logging.getLogger("dispatch.ui")

#: The log line that says the workstation is usable (shown, LIVE, the board filled).
READY = "workstation ready"
READY_POLL_S = 0.01

CANNOT_START = "dispatch-desktop cannot start"
SCREENSHOT_TIMEOUT = 60.0
#: At shutdown, how long a keyring write still running (logging out's removal) may take.
KEYRING_SHUTDOWN_TIMEOUT = 5.0


class Workstation:
    """Runs the workstation until the window closes; `run` returns the exit code.

    ``config``: the workstation configuration (default: no file, built-in defaults);
    ``centre_layout``: the default layout it names, already read."""

    def __init__(
        self,
        app: QApplication,
        args: argparse.Namespace,
        data_dir: Path,
        config_dir: Path,
        config: WorkstationConfig | None = None,
        centre_layout: CentreLayout | None = None,
    ) -> None:
        self.app = app
        self.args = args
        self.data_dir = data_dir
        self.config_dir = config_dir
        self.config = config or WorkstationConfig.defaults()
        self.centre_layout = centre_layout
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
        #: Logging out, and the refresh token that was held (the server revokes it at shutdown).
        self._logging_out = False
        self._revoke: str | None = None

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
        workstation cannot start (the user is told why): a command-line option for a key IT
        locked, no ``resources/`` folder, the centre's rules files cannot be used."""
        config, args = self.config, self.args
        apply_theme(self.app, config.theme(args.theme, self.settings.value("theme")))
        scale_font(self.app, config.font_scale(self.settings.value("font_scale")))
        dialog = someone_to_read(args.screenshot is not None, QGuiApplication.platformName())
        refused = [
            said
            for said in (
                config.refused_option("--server", "servers.urls", args.server),
                config.refused_option("--theme", "workstation.theme", args.theme),
            )
            if said is not None
        ]
        if refused:
            text = "A command-line option asks for what your centre's IT staff have set."
            return await show_fatal(CANNOT_START, text, "\n".join(refused), dialog=dialog)
        resources = resource_path()
        if not resources.is_dir():
            text = "dispatch-desktop is not installed completely. Call your IT support."
            detail = f"Its resources folder is missing: {resources}"
            return await show_fatal(CANNOT_START, text, detail, dialog=dialog)
        try:
            rules = load_centre_rules()
        except CentreRulesError as exc:
            text = "The centre's rules files cannot be used. Call your IT support."
            return await show_fatal(CANNOT_START, text, str(exc), dialog=dialog)
        login = await self._sign_in()
        if login is None:
            return 0
        url, signin = login
        user = signin.username
        servers = self._servers_for(url)
        service_config = ServiceConfig(
            data_dir=profile_dir(self.data_dir, group_url(servers, config.servers), user),
            url=servers[0],
            failover=servers[1:],
            role_requested="supervisor" if self.args.monitor else None,
            ssl=config.ssl_context,
        )
        try:
            service = DispatchService(service_config, signin, on_status=self._on_status)
        except LocalStorageError as exc:  # locked, disk full: nothing was moved or lost
            return await show_fatal(CANNOT_START, cannot_open(exc), str(exc), dialog=dialog)
        self.service = service
        service.subscribe(self.bridge.on_change)
        service.start()
        self.window = MainWindow(
            service,
            self.bridge,
            self.config_dir,
            on_log_out=self._log_out,
            sound=self._alert_sound(),
            rules=rules,
            on_sign_in_again=self._sign_in_again,
            config=config,
            centre_layout=self.centre_layout,
        )
        self.window.closed.connect(self._closed.set)
        self.bridge.notice.connect(self.window.show_notice)
        self.window.show()
        if service.db.recoveries:  # a damaged database replaced at start (said once shown)
            self.report_error(" ".join(recovered(r) for r in service.db.recoveries))
        service.db.on_recovery(lambda recovery: self.report_error(recovered(recovery)))
        if self.args.wallboard:
            self.window.toggle_wallboard()
        self._spawn(self._announce_ready())
        if self.args.screenshot is not None:
            self._spawn(self._screenshot(self.args.screenshot))
        else:
            self._spawn(self._offer_queued_work())
        await self._closed.wait()
        await self._shutdown()
        return 0

    def _servers_for(self, url: str) -> tuple[str, ...]:
        """The servers of a sign-in to ``url``, in failover order, ``url`` first: the embedded
        one alone for ``--demo``; the layered list (command line, then the user's setting, then
        IT's file: `WorkstationConfig.server_list`) when ``url`` is its first, as the dialog
        offered it; else ``url`` layered with IT's file."""
        if self._embedded is not None:
            return (url,)
        listed = self.config.server_list(self.args.server, self.settings.value("server"))
        return listed if listed[0] == url else self.config.server_list(url)

    async def _announce_ready(self) -> None:
        """Log `READY` once, when the window is shown and LIVE with the board filled from the
        server: IT reads the start-up time in the log; ``bench/frozen_start.py`` times it."""
        assert self.window is not None and self.service is not None
        window, service = self.window, self.service
        while service.status.phase is not LinkPhase.LIVE:
            if self._closed.is_set():
                return
            await asyncio.sleep(READY_POLL_S)
        self.bridge.flush_now()  # the board shows what the server sent, not a frame later
        log.info(
            "%s: live on %s with %d incidents and %d units, %.2f s after start",
            READY,
            service.link.url,
            window.models.incidents.rowCount(),
            window.models.units.rowCount(),
            time.monotonic() - STARTED_AT,
        )

    async def _sign_in(self) -> tuple[str, SignIn] | None:
        if self.args.demo:
            self._embedded = demo_floor(
                self.data_dir / "demo-server", call_interval=self.args.call_interval
            )
            demo = await asyncio.to_thread(self._embedded.start)
            self._signin = SignIn(demo.username, demo.password)
            return demo.url, self._signin
        url = self.config.server(self.args.server, self.settings.value("server"))
        user = self.args.user or str(self.settings.value("user", ""))
        message = ""
        if user and self.settings.value("remember", False, type=bool):
            token = await self.vault.load(url, user)
            if token:
                self._remember = True
                self._signin = SignIn(
                    user, refresh_token=token, on_refresh_token=self._token_saver(url, user)
                )
                return url, self._signin
            if self.vault.unavailable is not None:
                message = (
                    "Your remembered sign-in could not be read: this workstation's keyring is "
                    "not available. Type your password."
                )
        dialog = LoginDialog(url, user, message)
        if self.config.is_locked("servers.urls"):
            dialog.fix(dialog.url, why=self.config.locked_words("servers.urls"))
        while True:
            request = await dialog.wait_submitted()
            if request is not None:
                return request.url, self._signin_from(request)
            if await self._quit_without_signing_in(dialog.url.text().strip()):
                return None

    async def _quit_without_signing_in(self, url: str) -> bool:
        """Cancel on the sign-in dialog: ask whether to quit (the default is to go back to
        the dialog), saying what is queued on this workstation and stays here."""
        known = [u for u in (url, str(self.settings.value("server", ""))) if u]
        waiting = await asyncio.to_thread(find_queued_work, self.data_dir, known_urls=known)
        if waiting:
            detail = (
                "Commands are waiting on this workstation and have not reached a server:\n"
                f"{stranded_words(waiting)}\n\nThey stay here, and are offered again the "
                "next time someone signs in."
            )
        else:
            detail = "Nobody is signed in at this position."
        box, (back, _) = question_box(
            "quit_question",
            "Quit · dispatch-desktop",
            "Quit without signing in?",
            detail,
            [
                ("Back to sign in", QMessageBox.ButtonRole.RejectRole),
                ("Quit", QMessageBox.ButtonRole.DestructiveRole),
            ],
        )
        answer = await ask(box)
        return answer is not None and answer is not back

    def _alert_sound(self) -> Any:
        """What plays when timers raise alerts: nothing when IT turned sound off; IT's file
        (the system beep if it cannot play); else None, the shipped chime."""
        if not self.config.sound_enabled:
            return lambda: None
        if self.config.sound_file is None:
            return None
        player = AlertSound(self.config.sound_file)

        def play() -> None:
            if not player.play():
                QApplication.beep()

        return play

    def _signin_from(self, request: LoginRequest) -> SignIn:
        if not self.config.is_locked("servers.urls"):
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
                self._keyring_write(self._remember_token(url, user, token))

        return save

    async def _remember_token(self, url: str, user: str, token: str) -> None:
        """Store the refresh token; when the keyring cannot, say so plainly (and do not try
        to sign in silently next time)."""
        if await self.vault.store(url, user, token):
            return
        self.settings.setValue("remember", False)
        self.bridge.notice.emit(
            "Your sign-in could not be remembered: this workstation's keyring is not "
            f"available ({self.vault.unavailable}). You will be asked for your password "
            "next time."
        )

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
        said = f": {reason}" if reason else ""
        dialog = LoginDialog(
            self.service.link.url,
            self._signin.username,
            f"The server did not accept the sign-in{said}. Please sign in again.",
            parent=self.window,
        )
        dialog.fix(dialog.url, dialog.user)
        try:
            request = await dialog.wait_submitted()
            if request is not None:
                self._signin.use_password(request.password)
                self.service.link.credentials_changed()
        finally:
            self._prompting = False
            dialog.close()  # cancelled at shutdown: the question goes with the task

    def _log_out(self) -> None:
        """Forget the remembered sign-in (keyring entry removed) before the window closes; the
        server is asked to revoke the tokens at shutdown (`_revoke_on_server`)."""
        if self._signin is not None and self.service is not None:
            self._logging_out, self._revoke = True, self._signin.sign_out()
            # kept under the URL signed in to (`_token_saver`), wherever the link is now
            url = self.service.config.url
            self._keyring_write(self.vault.forget(url, self._signin.username))
            self.settings.setValue("remember", False)

    # --- queued work of other profiles -----------------------------------------------------

    async def _offer_queued_work(self) -> None:
        """Offer every other profile's queued or refused commands: send them to their own
        server, move them to this one, or later (they are offered again at the next start)."""
        assert self.service is not None
        here = self.service.config
        known = [u for u in (here.url, str(self.settings.value("server", ""))) if u]
        waiting = await asyncio.to_thread(
            find_queued_work, self.data_dir, known_urls=known, exclude=here.data_dir
        )
        for work in waiting:
            if self._closed.is_set():
                return
            await self._offer(work)

    async def _offer(self, work: QueuedWork) -> None:
        assert self.service is not None
        here = self.service.config.url
        counts = []
        if work.queued:
            counts.append(f"{commands(work.queued)} queued, not sent")
        if work.refused:
            counts.append(f"{commands(work.refused)} refused by the server")
        lines = [f"{work.where()}: {', '.join(counts)}"]
        lines += [f"  - {text}" for text in work.commands]
        more = work.queued + work.refused - len(work.commands)
        if more > 0:
            lines.append(f"  - and {commands(more)} more")
        if work.url is not None and not work.ever_connected:
            lines.append(f"{work.url} has never answered: that sign-in was never checked.")
        stuck = work.queued - work.unsent
        if stuck:
            lines.append(
                f"{commands(stuck)} went out to {work.url} once and can only be sent there "
                "(it may have been applied already)."
            )
        choices: list[tuple[str, QMessageBox.ButtonRole]] = []
        if work.url is not None and work.queued:
            choices.append((f"Send to {work.url}", QMessageBox.ButtonRole.AcceptRole))
        if work.movable and work.url != here:
            choices.append((f"Move to {here}", QMessageBox.ButtonRole.ActionRole))
        choices.append(("Later", QMessageBox.ButtonRole.RejectRole))
        lines.append(
            "Send: signs in as that user there and sends them. Move: they are queued here and "
            "sent to this server under their own keys, so nothing is applied twice; refused "
            "ones go to Needs attention here. Later: they stay, and are offered at next start."
        )
        box, buttons = question_box(
            "queued_work_question",
            "Commands waiting · dispatch-desktop",
            f"{commands(work.queued + work.refused)} from another sign-in have not been sent.",
            "\n".join(lines),
            choices,
            parent=self.window,
        )
        answer = await ask(box)
        label = next(
            (text for b, (text, _) in zip(buttons, choices, strict=True) if b is answer), ""
        )
        if label.startswith("Move to"):
            moved = move_here(work.profile, self.service)
            said = f"Moved {commands(moved.queued + moved.refused)} from {work.where()}"
            if moved.refused:
                said += f" ({moved.refused} refused: see Needs attention)"
            self.bridge.notice.emit(f"{said}; the queued ones are sent to {here}.")
        elif label.startswith("Send to"):
            signin = await self._signin_for(work)
            if signin is not None:
                self._spawn(self._send_elsewhere(work, signin))

    async def _signin_for(self, work: QueuedWork) -> SignIn | None:
        """The credentials of ``work``'s user on its server: the remembered token, or the
        password asked for (None if the dispatcher cancels)."""
        assert work.url is not None
        token = await self.vault.load(work.url, work.user)
        if token:
            return SignIn(
                work.user,
                refresh_token=token,
                on_refresh_token=self._token_saver(work.url, work.user),
            )
        dialog = LoginDialog(
            work.url,
            work.user,
            f"Sign in as {work.user} on {work.url} to send {commands(work.queued)} there.",
            parent=self.window,
        )
        dialog.fix(dialog.url, dialog.user)
        dialog.remember.hide()
        try:
            request = await dialog.wait_submitted()
        finally:
            dialog.close()
        return None if request is None else SignIn(work.user, request.password)

    async def _send_elsewhere(self, work: QueuedWork, signin: SignIn) -> None:
        """Run ``work``'s own profile until its queue has drained, then say how it went."""
        self.bridge.notice.emit(f"Sending {commands(work.queued)} to {work.url} as {work.user}…")
        assert work.url is not None
        tls = ServiceConfig(work.profile, work.url, ssl=self.config.ssl_context(work.url))
        result = await send_queued(work, signin, config=tls)
        if result.left == 0:
            said = f"Sent {commands(result.sent)} to {work.url} as {work.user}."
            if result.refused:
                said += (
                    f" {commands(result.refused)} refused there wait for {work.user}'s next "
                    "sign-in to it (or move them here at the next start)."
                )
        else:
            why = f" ({result.detail})" if result.detail else ""
            said = (
                f"{work.url} did not take the commands{why}: {commands(result.left)} stay "
                f"queued for {work.user} there, and are offered again at the next start."
            )
        self.bridge.notice.emit(said)

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

    async def _revoke_on_server(self, refresh_token: str | None) -> None:
        """Logging out: the server deletes this sign-in's tokens when it can be told now;
        offline they are only forgotten here, and expire on the server at their TTL."""
        assert self.service is not None
        if not await self.service.link.log_out(refresh_token):
            log.info("logged out here only: the server's tokens of it expire at their TTL")

    async def _shutdown(self) -> None:
        if self.service is not None:
            if self._logging_out:
                await self._revoke_on_server(self._revoke)
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
