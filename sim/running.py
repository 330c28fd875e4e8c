"""What every simulator does the same way: stop its running task and its service."""

from __future__ import annotations

import asyncio
import contextlib

from desktop.service import DispatchService

__all__ = ["stop_runner", "stop_service"]


async def stop_runner(runner: asyncio.Task[None] | None) -> None:
    """Cancel ``runner`` (a simulator's `run`, unless it is the task calling) and wait for it."""
    if runner is not None and runner is not asyncio.current_task():
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)


async def stop_service(service: DispatchService) -> None:
    """Stop a simulator's service within 2 s; a failure to stop cleanly is no concern here."""
    with contextlib.suppress(Exception):
        await service.stop(close_within=2.0)
