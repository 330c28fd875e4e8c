"""The rounds of a latest-value stream's fan-out (`server.presence`, `server.keyups`): a board
collects what changed, and `fan_out_every` has it sent every ``interval`` seconds.

- `positive_interval` is the check of a board's interval: ValueError unless it is a positive,
  finite number of seconds.
- `fan_out_every` calls ``fan_out`` every ``interval`` seconds, on the event loop, until its
  task is cancelled. A round that raises is logged (``"<what> fan-out failed"``, with the
  traceback) and the next round comes as usual: one bad round never ends the stream. The
  first round is one ``interval`` after the start; a slow round delays the next one (the
  interval is the pause between two rounds).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable

__all__ = ["fan_out_every", "positive_interval"]

log = logging.getLogger(__name__)


def positive_interval(interval: float) -> float:
    """``interval`` (seconds between two fan-outs); ValueError unless positive and finite."""
    if not (math.isfinite(interval) and interval > 0):
        raise ValueError(f"the fan-out interval must be positive, not {interval!r}")
    return interval


async def fan_out_every(interval: float, fan_out: Callable[[], object], what: str) -> None:
    """Call ``fan_out`` every ``interval`` seconds until cancelled (module docstring); what it
    returns (a board's count of what it sent) is ignored. ``what`` names the stream in the
    log."""
    while True:
        await asyncio.sleep(interval)
        try:
            fan_out()
        except Exception:
            log.exception("%s fan-out failed", what)
