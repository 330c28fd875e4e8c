"""``dispatch-server demo`` and ``dispatch-server derive-demo``, a plugin of ``dispatch-server``.

    dispatch-server demo [--data-dir DIR] [--port 8765] [--password demo] [--call-interval 20]
                         [--speed 10] [--ring-interval 60]
    dispatch-server derive-demo --sffd CSV --out resources/demo [--replay-day 2017-01-01]

``demo`` runs the reference server on 127.0.0.1 with the demo roster, a simulated call feed
(incidents every ``--call-interval`` s) and simulated 911 calls (every ``--ring-interval`` s)
(`sim.demo_floor`), prints one JSON line ``{"listening": {...}, "user": ..., "password":
...}`` and serves until SIGINT/SIGTERM. It listens on loopback only: the demo password is printed.
``derive-demo`` regenerates the demo city from the SFFD calls-for-service CSV, and with
``--replay-day`` that local day's rows too, for ``sim replay --demo`` (`sim.replay.write_day`).

The server does not import this module (``server`` may not import ``sim``): `add_commands` is
declared in pyproject.toml as an entry point of the ``dispatch_server.commands`` group, which
`server.cli` reads at start-up (see its docstring for the protocol).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from datetime import date
from pathlib import Path

__all__ = ["add_commands", "run_demo", "run_derive"]


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``demo`` and ``derive-demo`` to ``dispatch-server``; return their handlers by name."""
    demo = commands.add_parser("demo", help="run a server with a simulated live floor (loopback)")
    demo.add_argument("--data-dir", type=Path, default=Path("dispatch-demo"))
    demo.add_argument("--port", type=int, default=8765)
    demo.add_argument("--password", default="demo", help="password of the user 'demo'")
    demo.add_argument(
        "--call-interval", type=float, default=20.0, help="seconds between call-feed incidents"
    )
    demo.add_argument("--speed", type=float, default=10.0, help="crews work this much faster")
    demo.add_argument(
        "--ring-interval", type=float, default=60.0, help="mean seconds between 911 calls"
    )
    demo.add_argument(
        "--emergency-interval",
        type=float,
        default=None,
        help="mean seconds between radio emergency buttons pressed (0: none; default: the "
        "demo floor's own)",
    )
    derive = commands.add_parser("derive-demo", help="derive resources/demo from SFFD data")
    derive.add_argument("--sffd", type=Path, required=True, help="calls-for-service CSV")
    derive.add_argument("--out", type=Path, required=True)
    derive.add_argument(
        "--replay-day",
        type=date.fromisoformat,
        help="also write that local day's rows (YYYY-MM-DD) as sffd_day_<day>.csv.gz",
    )
    return {"demo": run_demo, "derive-demo": run_derive}


def run_demo(args: argparse.Namespace) -> int:
    """Serve the demo floor until SIGINT/SIGTERM; exit code 0."""
    from sim.demo_floor import EmbeddedServer

    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    from sim.demo_floor import DEMO_EMERGENCY_INTERVAL_S

    chosen = args.emergency_interval
    embedded = EmbeddedServer(
        args.data_dir,
        emergency_interval=DEMO_EMERGENCY_INTERVAL_S if chosen is None else chosen or None,
        call_interval=args.call_interval,
        speed=args.speed,
        ring_interval=args.ring_interval,
        port=args.port,
        password=args.password,
    )
    login = embedded.start()
    port = int(login.url.rsplit(":", 1)[1])
    print(
        json.dumps(
            {
                "listening": {"host": "127.0.0.1", "port": port},
                "user": login.username,
                "password": login.password,
            }
        ),
        flush=True,
    )
    print(
        f"demo floor at {login.url}: dispatch-desktop --server {login.url} --user "
        f"{login.username}  (password {login.password})",
        file=sys.stderr,
        flush=True,
    )
    stop.wait()
    embedded.stop()
    return 0


def run_derive(args: argparse.Namespace) -> int:
    """Derive the demo city from ``--sffd`` into ``--out``, and the ``--replay-day`` file if
    asked; exit code 0, or 2 without the CSV."""
    from sim.demo_data import derive, write
    from sim.replay import day_file_name, write_day
    from sim.sffd import read_calls

    if not args.sffd.exists():
        print(f"dispatch-server: no such file {args.sffd}", file=sys.stderr)
        return 2
    roster, calls = derive(read_calls(args.sffd))
    write(args.out, roster, calls)
    print(f"wrote {len(roster)} units and {len(calls)} calls to {args.out}")
    if args.replay_day is not None:
        out = args.out / day_file_name(args.replay_day)
        rows, numbers = write_day(args.sffd, args.replay_day, out)
        print(f"wrote {rows} rows ({numbers} calls) of {args.replay_day} to {out}")
    return 0
