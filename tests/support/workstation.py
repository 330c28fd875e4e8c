"""A workstation window on a real server, for UI tests (`open_workstation` in tests/ui)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from pytestqt.qtbot import QtBot

from desktop.link import LinkStatus
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from desktop.timers import TimerEngine, load_timer_config
from tests.support.fixtures import FAST
from tests.support.serverproc import PASSWORD
from ui.bridge import Bridge
from ui.main_window import MainWindow


class Clock:
    """The time the board's timers see, moved by the test."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@dataclass
class Workstation:
    """A `MainWindow` signed in as a user to a real server; ``sounds`` counts alert sounds,
    ``radio_sounds`` the radio alarm levels sounded, ``statuses`` every `LinkStatus` the
    service reported; ``clock`` drives the timers."""

    window: MainWindow
    service: DispatchService
    clock: Clock
    sounds: list[int]
    statuses: list[LinkStatus]
    radio_sounds: list[str]


class WorkstationFactory:
    """Opens workstations under ``tmp_path`` and closes them all at the end of a test."""

    def __init__(self, qtbot: QtBot, tmp_path: Path) -> None:
        self.qtbot = qtbot
        self.tmp_path = tmp_path
        self.opened: list[Workstation] = []

    def open(self, url: str, user: str = "ann", name: str = "ws") -> Workstation:
        """A shown window signed in as ``user``; ``name`` keeps workstations' data apart."""
        statuses: list[LinkStatus] = []
        bridge = Bridge()

        def on_status(status: LinkStatus) -> None:
            statuses.append(status)
            bridge.on_status(status)

        config = ServiceConfig(
            data_dir=self.tmp_path / name,
            url=url,
            workstation=name,
            **FAST,  # type: ignore[arg-type]
        )
        service = DispatchService(config, SignIn(user, PASSWORD), on_status=on_status)
        service.subscribe(bridge.on_change)
        sounds: list[int] = []
        radio_sounds: list[str] = []
        window = MainWindow(
            service,
            bridge,
            self.tmp_path / f"{name}-config",
            sound=lambda: sounds.append(len(sounds)),
            radio_sound=radio_sounds.append,
        )
        window.advisor.load()  # the road graph now, not behind the board: tests recommend at once
        clock = Clock()
        window.models.clock = clock
        window.models.timers = TimerEngine(load_timer_config(), clock)
        window.incident_detail.clock = clock
        self.qtbot.addWidget(window)
        window.show()
        service.start()
        station = Workstation(window, service, clock, sounds, statuses, radio_sounds)
        self.opened.append(station)
        return station

    async def close_all(self) -> None:
        for station in self.opened:
            if shiboken6.isValid(station.window):  # pytest-qt may have deleted it already
                station.window.close()
            await station.service.stop(close_within=2.0)
