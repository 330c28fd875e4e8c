"""Garbage holding Qt objects is destroyed on the GUI thread, never in a worker thread."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest
import shiboken6
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from ui.collector import GuiThreadCollector


class Holder:
    """Something Python-side that a Qt object and it point at each other through."""

    widget: QObject | None = None


def garbage_with_a_qt_object() -> QObject:
    """Leave a cycle (holder <-> QObject) for the collector; return a child of its QObject, to
    see when the C++ objects are destroyed."""
    holder, owner = Holder(), QObject()
    holder.widget = owner
    owner.holder = holder  # type: ignore[attr-defined]
    return QObject(owner)


@pytest.fixture
def collector(qtbot: QtBot) -> Iterator[GuiThreadCollector]:
    gc.enable()  # as at start-up: the collector is what turns automatic collection off
    collector = GuiThreadCollector(interval_ms=20)
    yield collector
    collector.deleteLater()
    gc.disable()  # as tests/ui/conftest.py keeps it


def test_a_worker_thread_that_allocates_collects_nothing(
    collector: GuiThreadCollector, qtbot: QtBot
) -> None:
    assert not gc.isenabled()
    child = garbage_with_a_qt_object()

    def allocate() -> None:  # enough to pass every threshold of automatic collection
        junk = [[n] for n in range(300_000)]
        del junk

    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    assert shiboken6.isValid(child)  # not destroyed in the worker
    live = [[n] for n in range(2 * gc.get_threshold()[0])]  # the GUI thread's own allocations
    qtbot.waitUntil(lambda: not shiboken6.isValid(child), timeout=3000)  # destroyed on this one
    assert sum(collector.collections) >= 1
    del live


def test_the_oldest_generation_past_its_threshold_is_collected(
    collector: GuiThreadCollector,
) -> None:
    gc.collect()
    assert collector.collect() is None  # nothing past a threshold
    junk = [[n] for n in range(gc.get_threshold()[0] + 10)]
    assert collector.collect() == 0
    del junk
