"""Garbage holding Qt objects is destroyed on the GUI thread, never in a worker thread."""

from __future__ import annotations

import gc
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from ui.collector import GuiThreadCollector

ROOT = Path(__file__).resolve().parents[2]


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


def test_start_ups_survivors_are_frozen_once_per_process() -> None:
    """In a process of its own (freezing is for the whole process): what is alive is frozen,
    garbage is collected first, and a second call (a later sign-in) freezes nothing."""
    script = (
        "import gc, weakref\n"
        "from ui.collector import freeze_survivors\n"
        "class Node: pass\n"
        "kept = [Node() for _ in range(1000)]\n"
        "cycle = Node(); cycle.me = cycle; gone = weakref.ref(cycle); del cycle\n"
        "assert freeze_survivors()\n"
        "assert gone() is None, 'garbage frozen'\n"
        "frozen = gc.get_freeze_count()\n"
        "assert frozen > 1000, frozen\n"
        "more = [Node() for _ in range(1000)]\n"
        "assert not freeze_survivors() and gc.get_freeze_count() == frozen\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
