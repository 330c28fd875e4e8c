"""Polling helpers for async tests (short poll interval, explicit deadline)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.service import DispatchService


async def wait_until(predicate: Callable[[], bool], timeout: float = 15.0, what: str = "") -> float:
    """Poll ``predicate`` every 10 ms; return seconds waited, or fail the test at ``timeout``."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        await asyncio.sleep(0.01)
    return time.monotonic() - start


async def wait_live(service: DispatchService) -> None:
    """Wait until ``service``'s link is LIVE (signed in and resynced)."""
    from desktop.link import LinkPhase

    await wait_until(lambda: service.status.phase is LinkPhase.LIVE, what="LIVE")
