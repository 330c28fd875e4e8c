"""``dispatch-server sim replay``: replay an SFFD calls-for-service file (`sim.replay`).

    dispatch-server sim replay --calls CSV [--day YYYY-MM-DD] [--speed X] [--tz ZONE]
                               (--db PATH | --server URL [--user NAME])

``--db PATH`` replays into a database of its own (created if new, given a simulated clock: a
replay or training database; a live database is refused) through a server started here on
loopback for the replay; ``--server URL`` replays into a running server, which must be serving
a replay or training database (its welcome says ``clock: simulated``), signed in as ``--user``
(an admin; the password from a prompt, or the first line of stdin). ``--day`` keeps the calls
received that local day. ``--speed X`` paces the file's clock X times faster (0: as fast as the
server answers). The summary is printed at the end; exit code 0, or 2 with a one-line reason.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from server.admin_client import AdminClient

__all__ = ["add_commands", "run_replay"]

_REPLAY_USER = "sffd-replay"


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``sim`` (``sim replay``) to ``dispatch-server``; return its handler by name."""
    sim = commands.add_parser("sim", help="simulations: replay a real day")
    actions = sim.add_subparsers(dest="sim_action", required=True)
    replay = actions.add_parser("replay", help="replay an SFFD calls-for-service file")
    replay.add_argument("--calls", type=Path, required=True, help="the CSV (or .csv.gz)")
    replay.add_argument("--day", help="only the calls received that local day (YYYY-MM-DD)")
    replay.add_argument(
        "--speed", type=float, default=1.0, help="pace x times faster (0: flat out)"
    )
    replay.add_argument("--tz", default="America/Los_Angeles", help="the file's time zone")
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument("--db", type=Path, help="replay into this database (new or a replay one)")
    target.add_argument("--server", help="replay into this running replay/training server")
    replay.add_argument("--user", default="admin", help="the admin account with --server")
    return {"sim": run_replay}


def run_replay(args: argparse.Namespace) -> int:
    """Run the replay the arguments ask for (module docstring)."""
    from server.admin_client import AdminError

    try:
        return asyncio.run(_replay(args))
    except (_Refused, AdminError) as exc:
        print(f"dispatch-server sim replay: {exc}", file=sys.stderr)
        return 2


class _Refused(Exception):
    """The replay cannot run; the message says why, for a person."""


def _day(text: str | None, tz: str) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise _Refused(f"--day {text!r} is not a date (YYYY-MM-DD)") from None
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone).timestamp()
    following = date.fromordinal(day.toordinal() + 1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone).timestamp()
    return start, end


async def _replay(args: argparse.Namespace) -> int:
    from sim.replay import ReplaySummary, plan_day, read_rows, replay

    if args.speed < 0:
        raise _Refused("--speed must be 0 (flat out) or more")
    try:
        ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Refused(f"--tz {args.tz!r} is not a time zone") from None
    if not args.calls.is_file():
        raise _Refused(f"{args.calls} is not a file")
    span = _day(args.day, args.tz)
    rows, skipped = read_rows(args.calls, args.tz)
    if span is not None:
        rows = [row for row in rows if span[0] <= row.received < span[1]]
    summary = ReplaySummary(skipped=skipped)
    steps = plan_day(rows, summary)
    if not steps:
        raise _Refused("no call to replay (an empty file, or no call that --day)")
    print(f"replaying {summary.calls} calls ({summary.rows} unit rows) at speed {args.speed:g}")

    async def run(client: AdminClient) -> None:
        await replay(client, steps, summary, speed=args.speed)

    if args.db is not None:
        await _into_database(args.db, run)
    else:
        await _into_server(args.server, args.user, run)
    for line in summary.lines():
        print(line)
    return 0


async def _into_database(path: Path, run: Callable[[AdminClient], Awaitable[None]]) -> None:
    """Serve ``path`` (a replay database) on loopback for the replay's own admin account."""
    from server.admin_client import AdminClient
    from server.app import DispatchServer
    from server.auth import hash_password
    from server.processor import NotATrainingDatabase, make_training_database
    from server.store.sqlite import SqliteStore

    path.parent.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(path)
    try:
        make_training_database(store)
    except NotATrainingDatabase as exc:
        store.close()
        raise _Refused(f"{path}: {exc}") from None
    password = secrets.token_urlsafe(24)
    hashed = hash_password(password)
    if store.get_user(_REPLAY_USER) is None:
        store.add_user(_REPLAY_USER, "admin", hashed, 0.0)
    else:
        store.set_password(_REPLAY_USER, hashed)
    server = DispatchServer(store, port=0)
    await server.start()
    try:
        client = await AdminClient.connect(server.url, _REPLAY_USER, password)
        async with client:
            await run(client)
    finally:
        await server.stop()
        store.close()


async def _into_server(url: str, user: str, run: Callable[[AdminClient], Awaitable[None]]) -> None:
    from server.admin_client import AdminClient, read_password

    client = await AdminClient.connect(url, user, read_password(user))
    async with client:
        if client.welcome.clock != "simulated":
            raise _Refused(
                f"{url} serves a live floor (a real clock): replay into a replay or training "
                "database (--db PATH, then serve it)"
            )
        await run(client)
