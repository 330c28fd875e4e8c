"""Garbage collection on the GUI thread only.

Python's cyclic collector runs in whichever thread happens to allocate when a threshold is
crossed. A garbage cycle holding a Qt object made from Python (a closed dialog or menu, a
window of an earlier sign-in) is then destroyed, C++ object and children with it, in that
thread: the worker loading the road graph, the local database's writer, the embedded demo
server. Qt objects must be deleted in the thread they live in; deleting widgets from another
one is undefined behaviour and was seen to crash the process. So `install_gui_thread_collector`
turns automatic collection off and a timer on the GUI thread collects instead, generation by
generation, by the interpreter's own thresholds.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

__all__ = [
    "INTERVAL_MS",
    "GuiThreadCollector",
    "collect_due",
    "freeze_survivors",
    "install_gui_thread_collector",
]

#: How often the GUI thread looks at the collector's counts (ms).
INTERVAL_MS = 250
_frozen = False  # freeze_survivors has run in this process


class GuiThreadCollector(QObject):
    """Collects garbage on the thread it lives in (the GUI thread) every `INTERVAL_MS`, the
    youngest generations often and the oldest rarely, as the interpreter would."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        gc.disable()
        self.collections = [0, 0, 0]  # per generation, for tests and benchmarks
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.collect)
        self._timer.start()

    def collect(self) -> int | None:
        """`collect_due`, counted per generation."""
        generation = collect_due()
        if generation is not None:
            self.collections[generation] += 1
        return generation


def collect_due() -> int | None:
    """Collect, here, the oldest generation whose count passed its threshold (what automatic
    collection would have done); returns it, or None when none was due."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    generation = None
    for level in range(3):
        if counts[level] > thresholds[level]:
            generation = level
    if generation is not None:
        gc.collect(generation)
    return generation


def install_gui_thread_collector(parent: QObject) -> GuiThreadCollector:
    """Turn automatic collection off and collect on the GUI thread from now on (call it from
    the GUI thread, with the application object as ``parent``)."""
    return GuiThreadCollector(parent)


def freeze_survivors() -> bool:
    """Collect once, then move every object still alive into the permanent generation
    (`gc.freeze`), so later collections leave it alone (module docstring). Call it on the GUI
    thread once start-up has loaded what lives all shift. Frozen objects are never collected,
    so only the process's first call does it (a later sign-in's window is not frozen); returns
    whether this call did."""
    global _frozen
    if _frozen:
        return False
    _frozen = True
    gc.collect()
    gc.freeze()
    return True
