"""`run_behind`: slow start-up work (loading the road graph) in a worker thread, its outcome
delivered on the GUI thread, so the board is shown and usable first.

The worker touches no Qt object at all: a timer of the owner, on the GUI thread, looks for the
outcome every `POLL_MS` (emitting a signal from a Python thread races with the owner's
deletion). If the owner is gone before the work ends, its timer went with it and the outcome is
dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from PySide6.QtCore import QObject, QTimer

__all__ = ["POLL_MS", "run_behind"]

log = logging.getLogger("dispatch.ui")

#: How often the GUI thread looks for the outcome (ms).
POLL_MS = 50


def run_behind(
    owner: QObject, name: str, work: Callable[[], None], done: Callable[[str | None], None]
) -> Future[None]:
    """Run ``work`` in a worker thread called ``name``; then call ``done`` on the GUI thread
    with None, or the text of the exception ``work`` raised (which is logged)."""
    executor = ThreadPoolExecutor(1, thread_name_prefix=name)
    future = executor.submit(work)
    executor.shutdown(wait=False)  # the thread ends with the work
    timer = QTimer(owner)
    timer.setInterval(POLL_MS)

    def look() -> None:
        if not future.done():
            return
        timer.stop()
        timer.deleteLater()
        error = future.exception()
        if error is not None:
            log.error("%s failed", name, exc_info=error)
        done(None if error is None else f"{type(error).__name__}: {error}")

    timer.timeout.connect(look)
    timer.start()
    return future
