"""A headless workstation in its own process, so tests can ``kill -9`` it.

    python -m tests.support.client_driver --url WS --data-dir DIR --user NAME \
        (--queue N --incident ID | --drain)

``--queue`` connects, waits until it knows the incident, prints ``ready``, waits for a line on
stdin (the test cuts the network meanwhile), durably queues N notes, prints ``queued N`` and
then waits forever (to be killed). ``--drain`` reconnects and prints ``drained`` and exits once
the outbox is empty and the link is LIVE; with ``--kill-after-acks K`` it instead SIGKILLs itself
as soon as K commands have been acknowledged, after printing ``remaining R``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from desktop.domain.incidents import IncidentAddNote
from desktop.link import Backoff, LinkPhase
from desktop.service import DispatchService, ServiceConfig
from desktop.signin import SignIn
from tests.support.serverproc import PASSWORD


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--queue", type=int, default=0)
    parser.add_argument("--incident", default="")
    parser.add_argument("--drain", action="store_true")
    parser.add_argument("--kill-after-acks", type=int, default=0)
    options = parser.parse_args()

    config = ServiceConfig(
        data_dir=options.data_dir,
        url=options.url,
        workstation=f"driver-{options.user}",
        heartbeat_interval=0.5,
        dead_after=2.0,
        backoff=Backoff(0.05, 2.0, 0.5),
        max_in_flight=10,  # small windows: acks arrive in many bursts, so a kill lands mid-replay
    )
    service = DispatchService(config, SignIn(options.user, PASSWORD))
    initial = len(service.outbox)

    def kill_mid_replay(_change: object) -> None:
        remaining = len(service.outbox)
        if initial - remaining >= options.kill_after_acks:
            print(f"remaining {remaining}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    if options.kill_after_acks:
        service.subscribe(kill_mid_replay)
    service.start()
    if options.queue:
        while service.incident(options.incident) is None:
            await asyncio.sleep(0.01)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        for i in range(options.queue):
            service.submit(IncidentAddNote(incident_id=options.incident, text=f"note {i:04d}"))
        print(f"queued {options.queue}", flush=True)
    if not options.drain:
        await asyncio.Event().wait()
    while not (service.status.phase is LinkPhase.LIVE and len(service.outbox) == 0):
        await asyncio.sleep(0.005)
    print("drained", flush=True)
    await service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
