"""The session and the shell in an outage (issue #10 points 2, 8, 9): queued work is never out
of sight, Quit and Ctrl+Q ask while commands wait, the outage bar says plainly what is
happening and reconnects on demand, and who is signed in, in which role, always shows.

Real server processes on loopback, real workstation databases, the real window offscreen,
driven as ``dispatch-desktop`` runs (`tests.ui.test_signin.Run`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.link import Backoff, LinkPhase
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from desktop.stranded import find_queued_work
from tests.integration.test_queued_work import DEAD_URL, p1
from tests.support.fixtures import FAST, ClientFactory
from tests.support.serverproc import PASSWORD, ServerProcess
from tests.support.waiting import wait_until
from tests.ui.test_signin import (  # noqa: F401  (app, dirs, launch: fixtures)
    USER,
    Run,
    app,
    dirs,
    fill,
    launch,
    press,
    visible_box,
)
from ui.bridge import Bridge
from ui.main_window import MainWindow


async def queue_p1_and_quit(run: Run, url: str) -> None:
    """Sign in to ``url`` (nothing answers), queue a P1 from the command line, Quit: asked."""
    fill(await run.dialog(), url, USER, PASSWORD, remember=False)
    await run.until(lambda: run.workstation.window is not None, "the window")
    window = run.workstation.window
    assert window is not None
    await run.until(
        lambda: window.banner.state_label.text().startswith("SERVER NEVER REACHED"),
        "the banner says the server was never reached",
    )
    window.command_line.input.setText("NEW FIRE-STRUCTURE P1 1 Market St")
    window.command_line.submit()
    await run.until(
        lambda: window.banner.state_label.text() == "SERVER NEVER REACHED · 1 queued, not sent",
        "1 queued",
    )
    assert window.outage_bar.isVisible()
    assert window.outage_bar.title.text().startswith("SERVER NEVER REACHED")
    assert "password has not been checked" in window.outage_bar.detail.text()
    assert window.identity.text() == f"{USER} · not signed in yet (server never reached)"

    window.close()  # File → Quit
    box = await press(run, "quit_question", "Quit anyway")
    assert box.text() == "1 command is queued and not sent."
    assert url in box.informativeText() and "never answered" in box.informativeText()
    assert await run.finished() == 0


async def test_a_p1_queued_under_a_dead_address_is_offered_and_moved_to_the_right_server(
    launch: Callable[[], Run],  # noqa: F811
    server: ServerProcess,
    make_client: ClientFactory,
) -> None:
    await queue_p1_and_quit(launch(), DEAD_URL)

    run = launch()  # relaunched with the right address
    fill(await run.dialog(), server.url, USER, PASSWORD, remember=False)
    box = await press(run, "queued_work_question", f"Move to {server.url}")
    assert "1 command from another sign-in" in box.text()
    assert f"{USER} on {DEAD_URL}: 1 command queued, not sent" in box.informativeText()
    assert "FIRE-STRUCTURE" in box.informativeText()
    assert "never answered" in box.informativeText()

    other = make_client("bob", server.url)
    await wait_until(
        lambda: [i.priority for i in other.incidents()] == [1], what="the P1 on the floor"
    )
    service = run.workstation.service
    assert service is not None
    await run.until(lambda: run.live() and not service.outbox, "sent")
    assert find_queued_work(service.config.data_dir.parent.parent) == []
    window = run.workstation.window
    assert window is not None
    assert window.identity.text() == f"{USER} · dispatcher"
    assert not window.outage_bar.isVisible()
    assert "Moved 1 command" in window.error_banner.text()
    assert await run.close() == 0


async def test_queued_work_is_sent_to_the_server_it_was_meant_for(
    launch: Callable[[], Run],  # noqa: F811
    server: ServerProcess,
    make_client: ClientFactory,
) -> None:
    port = server.port
    own_url = f"ws://localhost:{port}"  # the same server under another address
    server.stop()
    await queue_p1_and_quit(launch(), own_url)
    server.start(port)

    run = launch()
    fill(await run.dialog(), server.url, USER, PASSWORD, remember=False)
    await press(run, "queued_work_question", f"Send to {own_url}")
    asked = await run.dialog()  # that profile's password (no token remembered for it)
    assert asked.url.text() == own_url and asked.url.isReadOnly()
    fill(asked, own_url, USER, PASSWORD, remember=False)
    window = run.workstation.window
    assert window is not None
    await run.until(lambda: "Sent 1 command" in window.error_banner.text(), "sent there")
    other = make_client("bob", server.url)
    await wait_until(lambda: len(other.incidents()) == 1, what="applied on the server")
    assert find_queued_work(run.workstation.data_dir) == []
    assert await run.close() == 0


async def test_ctrl_q_with_queued_commands_asks_and_keep_working_keeps_the_window(
    qtbot: QtBot, tmp_path: Path
) -> None:
    service = DispatchService(
        ServiceConfig(data_dir=tmp_path / "ws", url=DEAD_URL), SignIn(USER, PASSWORD)
    )
    window = MainWindow(service, Bridge(), tmp_path / "config")
    qtbot.addWidget(window)
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    window.show()
    service.submit(p1())
    window.activateWindow()
    await wait_until(lambda: QApplication.activeWindow() is window, timeout=2.0, what="active")

    qtbot.keyClick(window.incidents_view, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)

    box = visible_box("quit_question")
    assert box is not None, "Ctrl+Q must ask while a command is queued"
    assert window.isVisible() and closed == []
    assert "1 command is queued" in box.text() and DEAD_URL in box.informativeText()
    (keep,) = [b for b in box.buttons() if b.text() == "Keep working"]
    keep.click()
    await wait_until(lambda: visible_box("quit_question") is None, timeout=2.0, what="closed")
    assert window.isVisible() and closed == []

    qtbot.keyClick(window.incidents_view, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    box = visible_box("quit_question")
    assert box is not None
    (quit_anyway,) = [b for b in box.buttons() if b.text() == "Quit anyway"]
    quit_anyway.click()
    await wait_until(lambda: closed == [True], timeout=2.0, what="window closed")
    assert not window.isVisible()
    assert len(service.outbox) == 1  # kept, to be sent
    service.db.close()


async def test_the_outage_bar_reconnects_now_and_hides_once_live(
    qtbot: QtBot, tmp_path: Path, server: ServerProcess
) -> None:
    port = server.port
    server.stop()
    bridge = Bridge()
    config = ServiceConfig(
        data_dir=tmp_path / "ws",
        url=server.url,
        heartbeat_interval=FAST["heartbeat_interval"],  # type: ignore[arg-type]
        dead_after=FAST["dead_after"],  # type: ignore[arg-type]
        backoff=Backoff(60.0, 2.0, 60.0),  # the next try would be 30-60 s away
        open_timeout=1.0,
    )
    service = DispatchService(config, SignIn(USER, PASSWORD), on_status=bridge.on_status)
    window = MainWindow(service, bridge, tmp_path / "config")
    qtbot.addWidget(window)
    window.show()
    service.start()
    try:
        bar = window.outage_bar
        await wait_until(lambda: bar.isVisible(), what="the outage bar")
        await wait_until(lambda: "Next try in" in bar.detail.text(), what="the countdown")
        assert bar.reconnect_button.isVisible() and bar.reconnect_button.isEnabled()
        assert bar.width() >= window.width() - 20  # full width
        server.start(port)

        bar.reconnect_button.click()

        await wait_until(lambda: service.status.phase is LinkPhase.LIVE, 10, "LIVE at once")
        await wait_until(lambda: not bar.isVisible(), what="the bar gone")
        assert window.identity.text() == f"{USER} · dispatcher"
    finally:
        window.close()
        await service.stop(close_within=2.0)
