"""Outbox figures.

- ``outbox_enqueue_rate``: commands per second through `DispatchService.submit` while offline
  (local check, durable SQLite commit with synchronous=FULL, optimistic overlay), target >= 2,000.
- ``outbox_replay_10k``: seconds from starting the link to the last of 10,000 queued commands
  acknowledged by a real local server process (2,000 incident creations, 8,000 notes), target <= 5.

Run: ``python bench/outbox.py`` (reads nothing from ../shared).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import PASSWORD, BenchServer, emit
from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.types import LocationArgs
from desktop.link import LinkPhase
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn

INCIDENTS = 2_000
NOTES_PER_INCIDENT = 4


def _queue(service: DispatchService) -> tuple[int, float]:
    """Queue the workload; return (commands, seconds)."""
    started = time.perf_counter()
    count = 0
    for n in range(INCIDENTS):
        service.submit(
            IncidentCreate(
                incident_id=f"inc-{n:05d}",
                type="MEDICAL",
                priority=2,
                location=LocationArgs(address=f"{100 + n} Market St"),
            )
        )
        count += 1
    for k in range(NOTES_PER_INCIDENT):
        for n in range(INCIDENTS):
            service.submit(IncidentAddNote(incident_id=f"inc-{n:05d}", text=f"update {k}"))
            count += 1
    return count, time.perf_counter() - started


async def main() -> None:
    server = BenchServer()
    data_dir = Path(tempfile.mkdtemp(prefix="dispatch-bench-client-"))
    # The server is not started yet: every submit happens offline.
    config = ServiceConfig(data_dir=data_dir, url="ws://127.0.0.1:9", workstation="bench")
    service = DispatchService(config, SignIn("bench", PASSWORD))
    count, seconds = _queue(service)
    rate = count / seconds
    print(f"queued {count} commands durably in {seconds:.2f} s ({rate:,.0f}/s)")
    await service.stop()

    server.start()
    try:
        config = ServiceConfig(data_dir=data_dir, url=server.url, workstation="bench")
        service = DispatchService(config, SignIn("bench", PASSWORD))
        assert len(service.outbox) == count
        started = time.perf_counter()
        service.start()
        while len(service.outbox) or service.status.phase is not LinkPhase.LIVE:
            await asyncio.sleep(0.002)
        replay = time.perf_counter() - started
        print(
            f"replayed and acknowledged {count} commands in {replay:.2f} s "
            f"({count / replay:,.0f}/s); needs attention: {len(service.needs_attention())}"
        )
        assert not service.needs_attention()
        await service.stop()
    finally:
        server.stop()
    emit("outbox_enqueue_rate", rate, "commands/s", ">= 2000")
    emit("outbox_replay_10k", replay, "s", "<= 5")


if __name__ == "__main__":
    asyncio.run(main())
