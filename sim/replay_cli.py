"""``dispatch-server sim replay``: replay an SFFD calls-for-service file (`sim.replay`).

    dispatch-server sim replay (--calls CSV [--day YYYY-MM-DD] | --demo) [--speed X] [--tz ZONE]
                               (--db PATH|DSN | --server URL [--user NAME])

``--db PATH`` replays into a database of its own (created if new, given a simulated clock: a
replay or training database; a live database is refused) through a server started here on
loopback for the replay; ``--server URL`` replays into a running server, which must be serving
a replay or training database (its welcome says ``clock: simulated``), signed in as ``--user``
(an admin; the password from a prompt, or the first line of stdin). ``--day`` keeps the calls
received that local day. ``--demo`` replays, instead of ``--calls``, the real day shipped with
the product (`sim.replay.DEMO_DAY`, 2017-01-01, in ``resources/demo/``), all of it: it takes no
``--day``. ``--speed X`` paces the file's clock X times faster (0: as fast as the server
answers). The summary is printed at the end; exit code 0, or 2 with a one-line reason.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import date
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
    source = replay.add_mutually_exclusive_group(required=True)
    source.add_argument("--calls", type=Path, help="the CSV (or .csv.gz)")
    source.add_argument(
        "--demo", action="store_true", help="the real day shipped with the product (2017-01-01)"
    )
    replay.add_argument(
        "--day", help="with --calls: only the calls received that local day (YYYY-MM-DD)"
    )
    replay.add_argument(
        "--speed", type=float, default=1.0, help="pace x times faster (0: flat out)"
    )
    replay.add_argument("--tz", default="America/Los_Angeles", help="the file's time zone")
    target = replay.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--db",
        help="replay into this database (new or a replay one):"
        " a SQLite path or a postgresql:// DSN",
    )
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


def _source(args: argparse.Namespace) -> tuple[Path, date | None]:
    """The file to replay, and the local day to keep of it (None: all of it)."""
    from sim.replay import demo_day_path

    if args.demo:
        if args.day is not None:
            raise _Refused("--day goes with --calls: --demo replays the whole of its own day")
        return demo_day_path(), None  # holds that day only
    if args.day is None:
        return args.calls, None
    try:
        return args.calls, date.fromisoformat(args.day)
    except ValueError:
        raise _Refused(f"--day {args.day!r} is not a date (YYYY-MM-DD)") from None


async def _replay(args: argparse.Namespace) -> int:
    from sim.replay import ReplaySummary, day_span, plan_day, read_rows, replay

    if args.speed < 0:
        raise _Refused("--speed must be 0 (flat out) or more")
    try:
        ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Refused(f"--tz {args.tz!r} is not a time zone") from None
    calls, day = _source(args)
    if not calls.is_file():
        raise _Refused(f"{calls} is not a file")
    rows, skipped = read_rows(calls, args.tz)
    if day is not None:
        start, end = day_span(day, args.tz)
        rows = [row for row in rows if start <= row.received < end]
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


async def _into_database(db: str, run: Callable[[AdminClient], Awaitable[None]]) -> None:
    """Serve ``db`` (a replay database) on loopback for the replay's own admin account."""
    from server.admin_client import AdminClient
    from server.app import DispatchServer
    from server.auth import hash_password
    from server.processor import NotATrainingDatabase, make_training_database
    from server.store import StoreOpenError, describe_db, is_dsn, open_store

    if not is_dsn(db):
        Path(db).parent.mkdir(parents=True, exist_ok=True)
    try:
        store = open_store(db)
    except StoreOpenError as exc:
        raise _Refused(str(exc)) from None
    try:
        make_training_database(store)
    except NotATrainingDatabase as exc:
        store.close()
        raise _Refused(f"{describe_db(db)}: {exc}") from None
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
