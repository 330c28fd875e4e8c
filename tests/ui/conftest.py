"""Async tests under ``tests/ui`` run on a `qasync.QEventLoop`, the application's loop.

On a plain asyncio loop Qt events (dialogs opening, timers, signals queued across threads) are
only processed inside ``qtbot.wait*``; on the qasync loop they are processed at every ``await``,
as in production. The hook is found through this directory's conftest, so async tests elsewhere
keep pytest-asyncio's default loop (DESIGN.md section 8).

pytest-timeout's default ``signal`` method cannot end a test whose qasync loop hangs idle: the
loop then waits inside Qt's C++ ``exec()``, and Python runs the SIGALRM handler only when it runs
Python code again, which an idle loop never does (measured: a test awaiting a future nobody sets
outlives its 2 s timeout indefinitely). These tests therefore use the ``thread`` method: at the
timeout it prints every thread's stack and ends the pytest process, so a hang fails the run
instead of stalling it.

qasync's ``run_until_complete`` ends with one more pass of Qt events after it has cleared the
running loop, and pytest-qt processes events around teardown when no loop runs: both are made
to run with the loop current (``TestLoop``, ``_process_events_with_the_loop_running``).

Garbage is collected on the main thread only (as `ui.collector` does in the application):
automatic collection is off for these tests, and when each one ends what automatic collection
would have done by then is done, on the main thread (`ui.collector.collect_due`).
Otherwise a worker thread (the road graph's loader, the local database's writer) can trigger a
collection that destroys an earlier test's widgets from that thread, which crashes Qt.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import pytestqt.plugin
from pytest_asyncio import is_async_test
from pytestqt.qtbot import QtBot

from tests.support.workstation import Workstation, WorkstationFactory
from ui.collector import collect_due

HERE = Path(__file__).parent


_qasync_loops: list[asyncio.AbstractEventLoop] = []  # made for this directory's async tests


def _qt_event_loop() -> asyncio.AbstractEventLoop:
    import qasync
    from PySide6.QtWidgets import QApplication

    class TestLoop(qasync.QEventLoop):  # type: ignore[misc]
        """qasync's ``run_until_complete`` processes Qt events once more after ``run_forever``
        has cleared the running loop; a task woken then (a link reading a frame) would find
        no running loop and fail. pytest-asyncio runs each test and fixture step to completion
        on its own, so between them the loop stays current, as in the application, whose loop
        runs until it quits."""

        def run_forever(self) -> None:
            try:
                super().run_forever()
            finally:
                asyncio.events._set_running_loop(self)

        def run_until_complete(self, future: Any) -> Any:
            try:
                return super().run_until_complete(future)
            finally:
                asyncio.events._set_running_loop(None)

    app = QApplication.instance() or QApplication(["pytest-qt-qapp"])
    app.setQuitOnLastWindowClosed(False)  # as in production (ui/app.py): closing is not quitting
    loop = TestLoop(app)
    _qasync_loops[:] = [loop]
    return loop


def _process_events_with_the_loop_running() -> None:
    """pytest-qt processes Qt events before and after the fixtures are torn down, when the
    test's qasync loop has stopped; an asyncio callback those events run (a service's heartbeat
    waking) would then find no running loop and fail the teardown. So the loop counts as running
    while they are processed, as it does in the application."""
    loop = _qasync_loops[0] if _qasync_loops else None
    if loop is None or loop.is_closed() or asyncio.events._get_running_loop() is not None:
        _process_events()
        return
    asyncio.events._set_running_loop(loop)
    try:
        _process_events()
    finally:
        asyncio.events._set_running_loop(None)


_process_events: Callable[[], None] = pytestqt.plugin._process_events
pytestqt.plugin._process_events = _process_events_with_the_loop_running


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    return {"qasync": _qt_event_loop}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if not (item.path.is_relative_to(HERE) and is_async_test(item)):
            continue
        settings: dict[str, Any] = {"method": "thread"}
        marker = item.get_closest_marker("timeout")
        if marker is not None:  # keep a test's own timeout, change only the method
            timeout = marker.kwargs.get("timeout", marker.args[0] if marker.args else None)
            if timeout is not None:
                settings["timeout"] = timeout
            if "func_only" in marker.kwargs:
                settings["func_only"] = marker.kwargs["func_only"]
        item.add_marker(pytest.mark.timeout(**settings), append=False)


@pytest.fixture(autouse=True)
def collect_garbage_on_the_main_thread() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    yield
    collect_due()
    if was_enabled:
        gc.enable()


@pytest.fixture
async def open_workstation(
    qtbot: QtBot, tmp_path: Path
) -> AsyncIterator[Callable[..., Workstation]]:
    """``open_workstation(url, user="ann", name="ws")``: a shown `MainWindow` signed in to a
    real server, its service started; closed and stopped after the test
    (`tests.support.workstation`)."""
    factory = WorkstationFactory(qtbot, tmp_path)
    yield factory.open
    await factory.close_all()
