"""The connection banner names the server the workstation is on (#17 failover): ``LIVE ·
127.0.0.1:PORT`` once the link has moved past a dead first server, with the URL and its place
in the failover order in the tooltip; the outage bar names every server when none answers.

A real server process, the real window offscreen (pytest-qt), and the words themselves."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtWidgets import QApplication, QDialogButtonBox
from pytestqt.qtbot import QtBot

from desktop.link import LinkPhase, LinkStatus
from desktop.profiles import profile_dir
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from desktop.workstation_config import WorkstationConfig
from tests.support.fixtures import FAST
from tests.support.serverproc import PASSWORD, ServerProcess
from tests.support.waiting import wait_until
from tests.ui.test_workstation_config_ui import (  # noqa: F401  (app: a fixture)
    app,
    centre_file,
    login_dialog,
    start,
)
from ui.bridge import Bridge
from ui.main_window import MainWindow
from ui.widgets.connection_banner import banner_text, banner_tooltip
from ui.widgets.outage_bar import outage_words

DEAD_URL = "ws://127.0.0.1:9"  # discard port: nothing answers
CAD1, CAD2 = "wss://cad1.example.org:8765", "wss://cad2.example.org:8765"


async def test_the_banner_names_the_second_server_once_live_on_it(
    qtbot: QtBot, tmp_path: Path, server: ServerProcess
) -> None:
    bridge = Bridge()
    config = ServiceConfig(
        data_dir=tmp_path / "ws",
        url=DEAD_URL,
        failover=(server.url,),
        **FAST,  # type: ignore[arg-type]
    )
    service = DispatchService(config, SignIn("ann", PASSWORD), on_status=bridge.on_status)
    window = MainWindow(service, bridge, tmp_path / "config")
    qtbot.addWidget(window)
    window.show()
    service.start()
    try:
        on = f"127.0.0.1:{server.port}"
        banner = window.banner
        await wait_until(lambda: banner.state_label.text() == f"LIVE · {on}", what=f"LIVE · {on}")
        assert banner.state_label.property("state") == "live"
        assert banner.toolTip() == f"Connected to {server.url} (server 2 of 2 in failover order)"
        assert not window.outage_bar.isVisible()  # moving past a dead server is no outage

        await asyncio.to_thread(server.stop)
        bar = window.outage_bar
        await wait_until(lambda: bar.isVisible(), what="the outage bar")
        assert f"127.0.0.1:9 and {on} are not answering." in bar.detail.text()
    finally:
        window.close()
        await service.stop(close_within=2.0)


async def sign_in_live(
    qt_app: QApplication, tmp_path: Path, argv: list[str], config: WorkstationConfig
) -> tuple[DispatchService, str]:
    """Run ``dispatch-desktop`` (``argv``), sign in as ann at the dialog, wait for the window;
    return the service and the banner's words once LIVE, after the window closed."""
    workstation, task = start(qt_app, tmp_path, ["--user", "ann", *argv], config=config)
    await wait_until(lambda: login_dialog() is not None, 8, "the sign-in dialog")
    dialog = login_dialog()
    assert dialog is not None
    dialog.password.setText(PASSWORD)
    buttons = dialog.findChild(QDialogButtonBox)
    assert buttons is not None
    buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    await wait_until(lambda: workstation.window is not None, 10, "the window")
    window, service = workstation.window, workstation.service
    assert window is not None and service is not None
    await wait_until(lambda: window.banner.state_label.text().startswith("LIVE · "), 15, "LIVE")
    text = window.banner.state_label.text()
    window.close()
    assert await asyncio.wait_for(task, 10) == 0
    return service, text


async def test_dispatch_desktop_works_on_the_centre_s_list_with_one_profile(
    tmp_path: Path,
    app: QApplication,  # noqa: F811
    server: ServerProcess,
) -> None:
    config = centre_file(tmp_path / "etc", f'[servers]\nurls = ["{DEAD_URL}", "{server.url}"]\n')
    profile = profile_dir(tmp_path / "data", DEAD_URL, "ann")  # named by the centre's first
    # signed in to the dialog's default (IT's first), then with --server naming the second
    for argv in ([], ["--server", f"{server.url},{DEAD_URL}"]):
        service, text = await sign_in_live(app, tmp_path, argv, config)
        assert set(service.config.servers) == {DEAD_URL, server.url}
        assert service.config.data_dir == profile  # one profile, whichever was signed in to
        assert text == f"LIVE · 127.0.0.1:{server.port}"


def test_every_connected_state_names_the_server_and_the_others_do_not() -> None:
    servers = (CAD1, CAD2)

    def text(phase: LinkPhase, **changes: object) -> str:
        status = LinkStatus(phase, server=CAD2, servers=servers, **changes)  # type: ignore[arg-type]
        return banner_text(status, 0.0)[0]

    assert text(LinkPhase.LIVE) == "LIVE · cad2.example.org:8765"
    assert text(LinkPhase.LIVE, queued=3) == "LIVE · cad2.example.org:8765 · 3 sending"
    assert text(LinkPhase.SYNCING, sync_done=4, sync_total=9) == (
        "SYNCING 4/9 · cad2.example.org:8765"
    )
    assert text(LinkPhase.REPLAYING, queued=5) == (
        "SYNCING · cad2.example.org:8765 · sending 5 queued"
    )
    assert text(LinkPhase.OFFLINE, queued=2, ever_connected=True) == "OFFLINE · 2 queued"
    assert banner_text(LinkStatus(LinkPhase.LIVE), 0.0) == ("LIVE", "live")  # no server known

    live = LinkStatus(LinkPhase.LIVE, server=CAD1, servers=(CAD1,))
    assert banner_tooltip(live) == f"Connected to {CAD1}"
    lost = LinkStatus(LinkPhase.CONNECTING, detail="cad1.example.org:8765: refused; trying cad2")
    assert banner_tooltip(lost) == lost.detail


def test_the_outage_bar_names_every_server_when_none_answers() -> None:
    down = LinkStatus(
        LinkPhase.OFFLINE,
        next_retry_at=10.0,
        ever_connected=True,
        server=CAD2,
        servers=(CAD1, CAD2),
    )
    words = outage_words(down, CAD1, 7.0)
    assert words is not None
    assert words[1].startswith(
        "cad1.example.org:8765 and cad2.example.org:8765 are not answering. "
    )
    assert "Next try in 3 s." in words[1]
    never = LinkStatus(LinkPhase.OFFLINE, next_retry_at=10.0, servers=(CAD1, CAD2))
    words = outage_words(never, CAD1, 7.0)
    assert words is not None and " have not answered since this sign-in" in words[1]
    alone = LinkStatus(LinkPhase.OFFLINE, next_retry_at=10.0, ever_connected=True, servers=(CAD1,))
    words = outage_words(alone, CAD1, 7.0)
    assert words is not None and words[1].startswith(f"{CAD1} is not answering. ")
