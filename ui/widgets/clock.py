"""`ClockLabel`: local time, UTC, and the measured offset to the server's clock."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtWidgets import QLabel, QWidget

__all__ = ["ClockLabel", "clock_text"]


def clock_text(now: float, server_offset: float | None) -> str:
    local = time.strftime("%H:%M:%S", time.localtime(now))
    utc = time.strftime("%H:%M:%SZ", time.gmtime(now))
    if server_offset is None:
        offset = "server ±?"
    else:
        offset = f"server {server_offset:+.1f} s" if abs(server_offset) >= 0.05 else "server ±0.0 s"
    return f"{local}  ·  {utc}  ·  {offset}"


class ClockLabel(QLabel):
    """Call `tick` once a second."""

    def __init__(
        self,
        offset: Callable[[], float | None],
        parent: QWidget | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("clock")
        self._offset = offset
        self._clock = clock
        self.tick()

    def tick(self) -> None:
        self.setText(clock_text(self._clock(), self._offset()))
