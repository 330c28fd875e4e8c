"""Acceptance e: the workstation process is killed with SIGKILL while commands are queued, and
again in the middle of replaying them; after restart every command is applied exactly once."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import LocationArgs
from tests.integration.test_sync import live, settled
from tests.support.faultproxy import FaultProxy
from tests.support.fixtures import ClientFactory
from tests.support.serverproc import ServerProcess
from tests.support.waiting import wait_until

COUNT = 200
ROOT = Path(__file__).resolve().parents[2]


async def _driver(proxy: FaultProxy, data_dir: Path, *args: str) -> asyncio.subprocess.Process:
    """Start the headless workstation; its pipes are async so the proxy (in this loop) runs."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.client_driver",
        "--url",
        proxy.url,
        "--data-dir",
        str(data_dir),
        "--user",
        "ann",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )


async def _line(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()


async def test_e_kill_9_with_200_queued_and_mid_replay_then_all_applied_once(
    server: ServerProcess, proxy: FaultProxy, make_client: ClientFactory, tmp_path: Path
) -> None:
    watcher = make_client("bob", server.url)
    await wait_until(lambda: live(watcher))
    watcher.submit(
        IncidentCreate(
            incident_id="inc-1", type="FIRE", priority=1, location=LocationArgs(address="x")
        )
    )
    await wait_until(lambda: settled(watcher))
    data_dir = tmp_path / "killed-workstation"

    def notes() -> int:
        return len(watcher.incident("inc-1").narrative)  # type: ignore[union-attr]

    # 1. Synced, then offline: queue 200 commands, then SIGKILL.
    queued = await _driver(proxy, data_dir, "--queue", str(COUNT), "--incident", "inc-1")
    assert await _line(queued) == "ready"
    proxy.cut()
    assert queued.stdin is not None
    queued.stdin.write(b"go\n")
    await queued.stdin.drain()
    assert await _line(queued) == f"queued {COUNT}"
    queued.send_signal(signal.SIGKILL)
    await queued.wait()
    assert notes() == 0

    # 2. Online: restart; it SIGKILLs itself once 50 of the 200 have been acknowledged.
    proxy.restore()
    replaying = await _driver(proxy, data_dir, "--drain", "--kill-after-acks", "50")
    out, _ = await asyncio.wait_for(replaying.communicate(), 60)
    assert replaying.returncode == -signal.SIGKILL
    remaining = int(out.split()[-1])
    assert 0 < remaining <= COUNT - 50, out

    # 3. Restart once more and let it drain.
    draining = await _driver(proxy, data_dir, "--drain")
    out, err = await asyncio.wait_for(draining.communicate(), 60)
    assert draining.returncode == 0, err.decode()
    assert out.decode().strip().endswith("drained")

    await wait_until(lambda: notes() >= COUNT, what="every note seen")
    texts = [e.text for e in watcher.incident("inc-1").narrative]  # type: ignore[union-attr]
    assert texts == [f"note {i:04d}" for i in range(COUNT)]
