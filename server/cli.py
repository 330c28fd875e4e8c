"""``dispatch-server``: run the server and manage its users.

    dispatch-server serve --db PATH|DSN [--host 127.0.0.1] [--port 8765] [--rate-limit F/S]
                          [--burst N] [--max-frame-bytes N] [--log-level INFO]
                          [--audit-log FILE] [--sip HOST:PORT]
                          [--positions-interval S] [--positions-history N]
                          [--login-max-failures N] [--login-address-max-failures N]
                          [--login-window S]   (login rate limiting: server/auth.py)
                          [--tls-cert PEM --tls-key PEM]   (wss://: server/tls.py)
    dispatch-server users add NAME --role ROLE --db PATH     (password: prompt twice, or stdin)
    dispatch-server users passwd NAME --db PATH
    dispatch-server users disable|enable NAME --db PATH
    dispatch-server users list --db PATH
    dispatch-server units list|export|import FILE|add ID|update ID --server URL --user NAME
                          (the roster of a running server, as an admin: server/roster_cli.py)
    dispatch-server premise list|set ADDRESS|remove ADDRESS|import FILE ...  (server/premise_cli.py)
    dispatch-server gis-import --roads PATH.geojson|.shp --out DIR   (server/gis_import.py)
    dispatch-server geocode ADDRESS...|--batch [--index PATH]   (server/geocode_cli.py)
    dispatch-server derive-addresses --streets CSV --roads GEOJSON [--signals CSV] --out PATH
    dispatch-server location FILE...   (PIDF-LO caller locations as JSON: server/location_cli.py)
    dispatch-server cards check DIR   (protocol cards: every problem, with file and path)
    dispatch-server report --db PATH --from ISO --to ISO [--format json|csv|pdf] [--out FILE]
                          (the shift report: server/report_cli.py)
    dispatch-server audit --db PATH|DSN [--user U] [--from ISO] [--to ISO] [--kind K]
                          [--limit N] [--json]   (the audit trail: server/audit_cli.py)
    dispatch-server derive-areas --calls CSV --out PATH   (desktop/geo/areas.py)
    dispatch-server derive-stations --calls CSV --out PATH   (desktop/geo/stations.py)
    dispatch-server demo [--data-dir DIR] [--port 8765]   (plugin: sim/demo_cli.py)
    dispatch-server derive-demo --sffd CSV --out DIR      (plugin: sim/demo_cli.py)

``serve`` prints exactly one JSON line on stdout once bound, ``{"listening": {"host": H,
"port": P, "url": "ws://H:P"}}`` (``wss://`` with TLS; with ``"sip": {"host": H, "port": P}``
in it when ``--sip`` runs the NG911 SIP intake on that UDP address: server/sip/), and stops
gracefully on SIGTERM/SIGINT (connections closed with 1001, SQLite checkpointed). Exit codes:
0 success, 1 runtime failure, 2 usage or input errors (unknown role, empty password, database
that cannot be opened, port in use, TLS files that cannot be used).

Plugins add sub-commands without the server importing them (``server`` may not import ``sim``,
which is a client of the server). A distribution declares an entry point in the
``dispatch_server.commands`` group (`COMMANDS_GROUP`), as pyproject.toml does for the demo::

    [project.entry-points."dispatch_server.commands"]
    demo = "sim.demo_cli:add_commands"

The entry point names a function ``add_commands(commands) -> Mapping[str, Handler]``: it adds
its sub-parsers to ``commands`` (this parser's sub-parser action) and returns each one's handler
by sub-command name; a `Handler` takes the parsed arguments and returns the exit code. Plugins are
loaded in entry-point name order each time `main` runs. One whose module is not installed (the
server packaged alone) is skipped in silence: its sub-commands are simply not offered. One that
fails otherwise (an error while importing or adding its sub-commands, or a name the server
already has) is skipped with a warning on stderr, so the server's own commands always work.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import json
import logging
import logging.handlers
import queue
import signal
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TypeAlias

from desktop import __version__
from desktop.domain.roles import ROLES
from desktop.protocol.codec import DEFAULT_MAX_FRAME_BYTES
from desktop.protocol.session import ServerSessionLimits
from server.app import DispatchServer, ServerConfig
from server.audit_cli import add_commands as add_audit_command
from server.audit_cli import run_audit
from server.auth import hash_password
from server.cards_cli import add_cards_command, run_cards
from server.geocode_cli import add_geocode_command, run_derive_addresses, run_geocode
from server.gis_import import add_gis_import_command, run_gis_import
from server.location_cli import add_location_command, run_location
from server.premise_cli import add_premise_command, run_premise
from server.report_cli import add_commands as add_report_command
from server.report_cli import run_report
from server.roster_cli import add_units_command, run_units
from server.sip import SipIntake
from server.store import Store, is_dsn, open_store
from server.store.base import StoreError, StoreOpenError, UserExists
from server.tls import TlsConfigError, server_context

__all__ = ["COMMANDS_GROUP", "Handler", "Subcommands", "main"]

PROG = "dispatch-server"
DB_HELP = "a SQLite path or a postgresql:// DSN"
NAME_MAX = 64

#: The entry-point group of the plugins that add sub-commands (see the module docstring).
COMMANDS_GROUP = "dispatch_server.commands"

#: Runs one sub-command: the parsed arguments in, the process exit code out.
Handler = Callable[[argparse.Namespace], int]
#: What a plugin's ``add_commands`` is given: the sub-parser action of ``dispatch-server``.
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class UsageError(Exception):
    """Bad input from the operator: printed, exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit code."""
    parser, commands = _parser()
    handlers: dict[str, Handler] = {
        "report": run_report,
        "audit": run_audit,
        "serve": _serve,
        "users": _users,
        "units": run_units,
        "premise": run_premise,
        "gis-import": run_gis_import,
        "geocode": run_geocode,
        "derive-addresses": run_derive_addresses,
        "location": run_location,
        "cards": run_cards,
        "derive-areas": _derive_areas,
        "derive-stations": _derive_stations,
    }
    for name, plugged in _load_plugins(commands).items():
        handlers.setdefault(name, plugged)  # a plugin never replaces a command of the server
    args = parser.parse_args(argv)
    handler = handlers.get(args.command)
    if handler is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return handler(args)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1


def _parser() -> tuple[argparse.ArgumentParser, Subcommands]:
    """The parser with the server's own sub-commands, and its sub-parser action for plugins."""
    parser = argparse.ArgumentParser(prog=PROG, description="The reference dispatch server.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument(
        "--db", required=True, help="a SQLite path or a postgresql:// DSN (created if new)"
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    defaults = ServerSessionLimits()
    serve.add_argument(
        "--rate-limit",
        type=float,
        default=defaults.frames_per_second,
        metavar="FRAMES_PER_S",
        help="frames per second per connection (commands and pings)",
    )
    serve.add_argument("--burst", type=int, default=defaults.burst, metavar="N")
    serve.add_argument("--max-frame-bytes", type=int, default=DEFAULT_MAX_FRAME_BYTES, metavar="N")
    serve.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        type=str.upper,
    )
    serve.add_argument(
        "--audit-log",
        type=Path,
        default=None,
        metavar="FILE",
        help="append the audit trail (dispatch.audit) to FILE instead of stderr",
    )
    serve.add_argument(
        "--sip",
        type=_sip_address,
        default=None,
        metavar="HOST:PORT",
        help="also run the NG911 SIP intake on this UDP address (port 0 picks a free one)",
    )
    serve.add_argument(
        "--tls-cert",
        type=Path,
        default=None,
        metavar="PEM",
        help="serve wss:// with this certificate (and its chain); needs --tls-key",
    )
    serve.add_argument(
        "--tls-key", type=Path, default=None, metavar="PEM", help="the certificate's private key"
    )

    config = ServerConfig()
    serve.add_argument(
        "--positions-interval",
        type=float,
        default=config.positions_interval,
        metavar="S",
        help="seconds between fan-outs of the AVL positions that changed",
    )
    serve.add_argument(
        "--positions-history",
        type=int,
        default=config.positions_history,
        metavar="N",
        help="AVL fixes kept in memory per unit",
    )
    serve.add_argument(
        "--login-max-failures",
        type=int,
        default=config.login_max_failures,
        metavar="N",
        help="failed sign-ins per user name within --login-window before it is refused a while",
    )
    serve.add_argument(
        "--login-address-max-failures",
        type=int,
        default=config.login_address_max_failures,
        metavar="N",
        help="failed sign-ins from one address (any names) within --login-window, likewise",
    )
    serve.add_argument(
        "--login-window",
        type=float,
        default=config.login_window,
        metavar="S",
        help="seconds over which failed sign-ins are counted",
    )

    users = commands.add_parser("users", help="manage user accounts")
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user (password from a prompt or stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, help="one of " + ", ".join(ROLES))
    add.add_argument("--db", required=True, help=DB_HELP)
    passwd = actions.add_parser("passwd", help="set a user's password")
    passwd.add_argument("name")
    passwd.add_argument("--db", required=True, help=DB_HELP)
    for action, text in (("disable", "disable a user"), ("enable", "re-enable a user")):
        sub = actions.add_parser(action, help=text)
        sub.add_argument("name")
        sub.add_argument("--db", required=True, help=DB_HELP)
    listing = actions.add_parser("list", help="list users")
    listing.add_argument("--db", required=True, help=DB_HELP)
    add_units_command(commands)
    add_premise_command(commands)
    add_gis_import_command(commands)
    add_geocode_command(commands)
    add_cards_command(commands)
    add_report_command(commands)
    add_audit_command(commands)
    add_location_command(commands)
    areas = commands.add_parser(
        "derive-areas", help="derive the dispatch-area index from SFFD calls for service"
    )
    areas.add_argument("--calls", type=Path, required=True, help="calls-for-service CSV")
    areas.add_argument("--out", type=Path, required=True, help="output JSON file")
    stations = commands.add_parser(
        "derive-stations", help="estimate the stations' positions from SFFD calls for service"
    )
    stations.add_argument("--calls", type=Path, required=True, help="calls-for-service CSV")
    stations.add_argument("--out", type=Path, required=True, help="output JSON file")
    return parser, commands


def _load_plugins(commands: Subcommands) -> dict[str, Handler]:
    """Let every ``dispatch_server.commands`` entry point add its sub-commands; their handlers."""
    handlers: dict[str, Handler] = {}
    for point in sorted(entry_points(group=COMMANDS_GROUP), key=lambda p: p.name):
        try:
            add_commands = point.load()
            added: Mapping[str, Handler] = add_commands(commands)
        except ModuleNotFoundError as exc:
            if _is_missing(point, exc):
                continue  # not installed here: its sub-commands are not offered
            _warn_plugin(point, exc)
        except Exception as exc:
            _warn_plugin(point, exc)
        else:
            handlers.update(added)
    return handlers


def _is_missing(point: EntryPoint, exc: ModuleNotFoundError) -> bool:
    """True when the module that is missing is the plugin's own (or a package above it)."""
    module = point.module
    return exc.name is not None and (module == exc.name or module.startswith(exc.name + "."))


def _warn_plugin(point: EntryPoint, exc: Exception) -> None:
    print(
        f"{PROG}: warning: ignoring the commands of plugin {point.name!r} ({point.value}): "
        f"{type(exc).__name__}: {exc}",
        file=sys.stderr,
    )


def _open(db: str, *, must_exist: bool = False) -> Store:
    """The store ``--db`` names; the file checks are for a SQLite path only (a PostgreSQL DSN
    gets its schema created if new, whatever ``must_exist`` says)."""
    if not is_dsn(db):
        path = Path(db)
        if must_exist and not path.exists():
            raise UsageError(f"no database at {str(path)!r}")
        if path.is_dir():
            raise UsageError(f"cannot open database {str(path)!r}: it is a directory")
    try:
        return open_store(db)
    except StoreOpenError as exc:
        raise UsageError(str(exc)) from None


# --- serve -------------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    if args.rate_limit <= 0 or args.burst < 1 or args.max_frame_bytes < 1024:
        raise UsageError("--rate-limit must be > 0, --burst >= 1, --max-frame-bytes >= 1024")
    if not 0.01 <= args.positions_interval <= 60 or args.positions_history < 1:
        raise UsageError("--positions-interval must be 0.01-60 s, --positions-history >= 1")
    limits = ServerSessionLimits(
        max_frame_bytes=args.max_frame_bytes,
        frames_per_second=args.rate_limit,
        burst=args.burst,
    )
    if args.login_max_failures < 1 or args.login_address_max_failures < 1:
        raise UsageError("--login-max-failures and --login-address-max-failures must be >= 1")
    if not 1 <= args.login_window <= 86_400:
        raise UsageError("--login-window must be 1-86400 s")
    config = ServerConfig(
        positions_interval=args.positions_interval,
        positions_history=args.positions_history,
        login_max_failures=args.login_max_failures,
        login_address_max_failures=args.login_address_max_failures,
        login_window=args.login_window,
    )
    tls = _tls(args.tls_cert, args.tls_key)
    store = _open(args.db)
    stop_logging = _start_logging(args.log_level, args.audit_log)
    try:
        return asyncio.run(_run(store, args.host, args.port, limits, config, args.sip, tls))
    finally:
        store.close()
        stop_logging()


def _start_logging(level: str, audit_log: Path | None) -> Callable[[], None]:
    """Log through a queue and a writer thread, so a slow or blocked stderr (a pipe nobody
    reads) never stalls the event loop. Returns a function that flushes, waiting 2 s at most."""
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    console = logging.StreamHandler(sys.stderr)
    console.setFormatter(formatter)
    handlers: list[logging.Handler] = [console]
    audit = logging.getLogger("dispatch.audit")
    if audit_log is not None:
        trail = logging.FileHandler(audit_log, encoding="utf-8")
        trail.setFormatter(formatter)
        trail.addFilter(lambda record: record.name == "dispatch.audit")
        console.addFilter(lambda record: record.name != "dispatch.audit")
        handlers.append(trail)
        audit.setLevel(logging.INFO)  # the audit trail is kept whatever --log-level says
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    listener = logging.handlers.QueueListener(records, *handlers)
    root = logging.getLogger()
    root.setLevel(level)
    root.addHandler(logging.handlers.QueueHandler(records))
    listener.start()

    def stop() -> None:
        flusher = threading.Thread(target=listener.stop, daemon=True)
        flusher.start()
        flusher.join(2.0)

    return stop


def _tls(cert: Path | None, key: Path | None) -> ssl.SSLContext | None:
    """The context of ``--tls-cert``/``--tls-key`` (both or neither), or None for ws://."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise UsageError("--tls-cert and --tls-key go together")
    try:
        return server_context(cert, key)
    except TlsConfigError as exc:
        raise UsageError(str(exc)) from None


async def _run(
    store: Store,
    host: str,
    port: int,
    limits: ServerSessionLimits,
    config: ServerConfig,
    sip: tuple[str, int] | None = None,
    tls: ssl.SSLContext | None = None,
) -> int:
    server = DispatchServer(store, host, port, limits, config, tls=tls)
    try:
        await server.start()
    except OSError as exc:
        await server.stop()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listening: dict[str, object] = {"host": host, "port": server.port, "url": server.url}
    intake = await _start_sip(server, sip) if sip is not None else None
    if intake is not None:
        listening["sip"] = {"host": intake.host, "port": intake.port}
    print(json.dumps({"listening": listening}), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        logging.getLogger(__name__).info("shutting down")
        if intake is not None:
            await intake.stop()
        await server.stop()
    return 0


# --- serve --sip: the NG911 SIP intake (server/sip/) -------------------------------------------


def _sip_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:5060`` for IPv6) -> (host, port)."""
    host, colon, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


async def _start_sip(server: DispatchServer, address: tuple[str, int]) -> SipIntake:
    intake = SipIntake(server.processor, *address)
    try:
        await intake.start()
    except OSError as exc:
        await server.stop()
        raise UsageError(f"cannot listen on udp {address[0]}:{address[1]}: {exc}") from None
    return intake


# --- derive-areas ------------------------------------------------------------------------------


def _derive_areas(args: argparse.Namespace) -> int:
    """Derive the area index from ``--calls`` into ``--out``; one summary line on stdout."""
    from desktop.geo.areas import derive_areas

    source: Path = args.calls
    out: Path = args.out
    try:
        index = derive_areas(source)
    except (OSError, ValueError) as exc:  # ValueError includes UnicodeDecodeError
        raise UsageError(f"cannot derive areas from {source}: {exc}") from None
    if not len(index):
        raise UsageError(f"no usable calls in {source}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        index.save(out)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc}") from None
    counts = index.source
    print(
        f"{out}: {len(index)} points, {len(index.stations())} stations, "
        f"{len(index.battalions())} battalions from {counts['calls_used']} of "
        f"{counts['calls']} calls ({counts['rows']} rows); {out.stat().st_size} bytes"
    )
    return 0


def _derive_stations(args: argparse.Namespace) -> int:
    """Estimate the stations' positions from ``--calls`` into ``--out``; one summary line."""
    from desktop.geo.stations import derive_stations

    source: Path = args.calls
    out: Path = args.out
    try:
        stations = derive_stations(source)
    except (OSError, ValueError) as exc:  # ValueError includes UnicodeDecodeError
        raise UsageError(f"cannot derive stations from {source}: {exc}") from None
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        stations.save(out)
    except OSError as exc:
        raise UsageError(f"cannot write {out}: {exc}") from None
    methods = Counter(s.method for s in stations.values())
    print(
        f"{out}: {len(stations)} stations from {stations.source['calls']} calls "
        f"({stations.source['rows']} rows): "
        + ", ".join(f"{n} by {method}" for method, n in sorted(methods.items()))
    )
    return 0


# --- users -------------------------------------------------------------------------------------


def _users(args: argparse.Namespace) -> int:
    if args.action == "list":
        with contextlib.closing(_open(args.db, must_exist=True)) as store:
            users = store.list_users()
        width = max([len("NAME"), *(len(u.name) for u in users)])
        print(f"{'NAME':<{width}}  {'ROLE':<10}  CREATED")
        for user in users:
            created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(user.created_at))
            flag = "  (disabled)" if user.disabled else ""
            print(f"{user.name:<{width}}  {user.role:<10}  {created}{flag}")
        return 0
    _check_name(args.name)
    if args.action == "add":
        if args.role not in ROLES:
            raise UsageError(f"unknown role {args.role!r}; choose one of {', '.join(ROLES)}")
        password = _read_password()
        with contextlib.closing(_open(args.db)) as store:
            try:
                store.add_user(args.name, args.role, hash_password(password), time.time())
            except UserExists as exc:
                raise UsageError(str(exc)) from None
        print(f"added {args.role} {args.name}")
        return 0
    with contextlib.closing(_open(args.db, must_exist=True)) as store:
        if args.action == "passwd":
            found = store.set_password(args.name, hash_password(_read_password()))
        else:
            found = store.set_disabled(args.name, args.action == "disable")
    if not found:
        raise UsageError(f"no user {args.name!r}")
    print(f"{args.action}: {args.name}")
    return 0


def _check_name(name: str) -> None:
    if not name or len(name) > NAME_MAX or not name.isprintable() or name != name.strip():
        raise UsageError(f"a user name must be 1-{NAME_MAX} printable characters")


def _read_password() -> str:
    """Prompt twice on a terminal; otherwise the first line of stdin. Refuses an empty one."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password again: "):
            raise UsageError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise UsageError("refusing an empty password")
    return password
