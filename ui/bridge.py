"""`Bridge`: the one place where core callbacks become Qt signals.

Core observers fire on every burst of frames; the bridge merges their `Change`s and the newest
`LinkStatus` and emits them at most once per frame (16 ms), so the tables repaint at most once
per frame however fast events arrive. Frames are counted from the previous emission, not from
the first change after it: a change after a quiet spell goes out at once, and under a steady
stream the emissions come every 16 ms (not 16 ms plus the time it took to repaint).
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.link import LinkStatus
from desktop.state import Change

__all__ = ["FRAME_MS", "Bridge"]

FRAME_MS = 16


class Bridge(QObject):
    """Coalesces core notifications into ``changed`` and ``status`` signals."""

    changed = Signal(object)  # Change: everything that changed since the last emission
    status = Signal(object)  # LinkStatus: the newest
    error = Signal(str)  # an unexpected error, for the banner
    notice = Signal(str)  # something the dispatcher must know that is not an error

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._change = Change()
        self._status: LinkStatus | None = None
        self._emitted_at = float("-inf")  # time.monotonic() of the last emission
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(FRAME_MS)
        self._timer.timeout.connect(self._emit)

    def on_change(self, change: Change) -> None:
        """Core observer: merge and schedule (called on the event loop's thread)."""
        self._change.merge(change)
        self._schedule()

    def on_status(self, status: LinkStatus) -> None:
        self._status = status
        self._schedule()

    def flush_now(self) -> None:
        """Emit what is pending at once (tests, shutdown)."""
        self._timer.stop()
        self._emit()

    def _schedule(self) -> None:
        if not self._timer.isActive():
            since_ms = (time.monotonic() - self._emitted_at) * 1000
            self._timer.start(round(max(0.0, FRAME_MS - since_ms)))

    def _emit(self) -> None:
        self._emitted_at = time.monotonic()
        change, self._change = self._change, Change()
        if change:
            self.changed.emit(change)
        if self._status is not None:
            status, self._status = self._status, None
            self.status.emit(status)
