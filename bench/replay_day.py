"""An SFFD day replayed at 1,000x through the server to a workstation core (DESIGN.md §6):

- ``replay_loss``: events of the server's log, and unit status rows, missing at the workstation
  at the end (target 0);
- ``replay_lag_p99``: seconds from when the replay was due to send a step (the file's time
  scaled by the speed, from the start) to the workstation applying its event, p99 (target <= 1);
- ``replay_lag_growth``: the lag's p99 over the last quarter of the day minus over the first
  (target: none, i.e. about 0).

Method. A new replay database (a simulated clock) is served on loopback by a real
`server.app.DispatchServer` in this process; a real workstation core (`desktop.service.
DispatchService`, a dispatcher, its own SQLite outbox and replica) signs in before the replay
starts and listens to every event it applies (`ClientState.add_event_listener`); the replay
(`sim.replay`, the ``dispatch-server sim replay`` code) sends the day through the public
protocol (`server.admin_client.AdminClient`). Both ends share the machine's clock.

Reads ``../shared/data/sffd-calls-for-service`` (the day of ``--day``, default 2017-01-01, the
busiest of the file); says so and exits 2 when it is missing.

Run: ``python bench/replay_day.py`` (about 90 s at 1,000x).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._support import emit  # noqa: E402

CSV = ROOT.parent / "shared" / "data" / "sffd-calls-for-service"
ZONE = "America/Los_Angeles"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


async def run(day: date, speed: float, work: Path) -> None:
    from desktop.link import LinkPhase
    from desktop.service import DispatchService, ServiceConfig
    from desktop.signin import SignIn
    from server.admin_client import AdminClient
    from server.app import DispatchServer
    from server.auth import hash_password
    from server.processor import make_training_database
    from server.store.sqlite import SqliteStore
    from sim.replay import ReplaySummary, plan_day, read_rows, replay

    files = sorted(CSV.glob("*.csv"))
    zone = ZoneInfo(ZONE)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
    rows, skipped = read_rows(files[0], ZONE)
    rows = [r for r in rows if start <= r.received < start + 86400]
    summary = ReplaySummary(skipped=skipped)
    steps = plan_day(rows, summary)
    print(f"{day}: {summary.calls} calls, {summary.rows} unit rows, {len(steps)} steps")

    store = SqliteStore(work / "replay.sqlite")
    make_training_database(store)
    password = secrets.token_urlsafe(16)
    for name, role in (("replay", "admin"), ("ws", "dispatcher")):
        store.add_user(name, role, hash_password(password), 0.0)
    server = DispatchServer(store, port=0)
    await server.start()
    config = ServiceConfig(data_dir=work / "ws", url=server.url, workstation="ws")
    service = DispatchService(config, SignIn("ws", password))
    arrivals: list[tuple[int, str, float, float]] = []  # seq, kind, acted, arrived (wall)
    service.state.add_event_listener(
        lambda seq, kind, data, acted, key: arrivals.append((seq, kind, acted, time.time()))
    )
    service.start()
    while service.status.phase is not LinkPhase.LIVE:
        await asyncio.sleep(0.05)
    client = await AdminClient.connect(server.url, "replay", password)
    first = steps[1].at if len(steps) > 1 else steps[0].at  # after the roster
    began = time.time()
    async with client:
        await replay(client, steps, summary, speed=speed)
    ended = time.time()
    server_seq = store.server_seq()
    deadline = time.monotonic() + 30
    while service.state.last_seq < server_seq and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    log = store.events_after(0, server_seq + 1)
    statuses = sum(e.kind == "unit.status_changed" for e in log)
    seen = {seq for seq, *_ in arrivals}
    missing = sum(e.seq not in seen for e in log)
    status_missing = statuses - sum(kind == "unit.status_changed" for _, kind, *_ in arrivals)
    await service.stop(close_within=2.0)
    await server.stop()
    store.close()

    lags = [
        (acted, arrived - (began + max(0.0, acted - first) / speed))
        for seq, kind, acted, arrived in arrivals
        if kind != "unit.added"
    ]
    lags.sort()
    quarter = max(1, len(lags) // 4)
    head = [lag for _, lag in lags[:quarter]]
    tail = [lag for _, lag in lags[-quarter:]]
    every = [lag for _, lag in lags]
    print("\n".join(summary.lines()))
    print(
        f"replayed in {ended - began:.1f} s ({len(log):,} events, {statuses:,} status rows); "
        f"lag p50 {percentile(every, 50):.3f} s, p99 first quarter {percentile(head, 99):.3f} s, "
        f"last quarter {percentile(tail, 99):.3f} s, max {max(every):.3f} s"
    )
    emit("replay_loss", missing + max(0, status_missing), "events", "0")
    emit("replay_lag_p99", percentile(every, 99), "s", "<= 1")
    emit("replay_lag_growth", percentile(tail, 99) - percentile(head, 99), "s", "none (~0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", default="2017-01-01", help="the local day to replay")
    parser.add_argument("--speed", type=float, default=1000.0)
    args = parser.parse_args()
    if not any(CSV.glob("*.csv")):
        print(
            f"bench/replay_day.py reads the SFFD calls in {CSV}, which is missing", file=sys.stderr
        )
        raise SystemExit(2)
    with tempfile.TemporaryDirectory(prefix="dispatch-bench-replay-") as tmp:
        asyncio.run(run(date.fromisoformat(args.day), args.speed, Path(tmp)))


if __name__ == "__main__":
    main()
