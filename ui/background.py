"""`run_behind`: slow start-up work (loading the road graph) in a worker thread, its outcome
delivered on the GUI thread, so the board is shown and usable first.

The worker holds no Qt object but a signal's emitter: the emission is queued to the GUI
thread's event loop (the receiver lives there). If the owner is gone before the work ends, the
outcome is dropped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

__all__ = ["run_behind"]

log = logging.getLogger("dispatch.ui")


class _Outcome(QObject):
    finished = Signal(object)  # None when the work succeeded, else the error's text


def run_behind(
    owner: QObject, name: str, work: Callable[[], None], done: Callable[[str | None], None]
) -> threading.Thread:
    """Run ``work`` in a daemon thread called ``name``; then call ``done`` on the GUI thread
    with None, or the text of the exception ``work`` raised (which is logged)."""
    outcome = _Outcome(owner)
    outcome.finished.connect(done)
    outcome.finished.connect(outcome.deleteLater)

    def run() -> None:
        error: str | None = None
        try:
            work()
        except Exception as exc:
            log.exception("%s failed", name)
            error = f"{type(exc).__name__}: {exc}"
        try:
            outcome.finished.emit(error)
        except RuntimeError:  # the owner (and the outcome with it) was deleted meanwhile
            log.info("%s finished after its window closed", name)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
