"""``dispatch-server report``: the supervisor's shift report of a time range (server/report.py).

    dispatch-server report --db PATH --from ISO --to ISO [--tz America/Los_Angeles]
                           [--format json|csv|pdf] [--out FILE]

``--from`` and ``--to`` are ISO 8601 times (``2024-05-01T07:00``, ``2024-05-01T07:00-07:00``,
``2024-05-01T14:00Z``); a time without an offset is local time in ``--tz`` (an IANA zone). The
range is [from, to). The report is written to ``--out`` (default: stdout), as JSON (the keys of
docs/operations.md, "Shift report"), CSV (`server.report.report_csv`) or PDF
(`desktop.reports.pdf.report_pdf`: figures, tables and charts, for printing). A PDF is binary:
``--out`` is required for it (it is never written to stdout).

The database is only read: it must exist (it is never created here). Exit codes: 0 written,
1 the database failed while being read, 2 usage or input errors (no such database, not a
database, a time that does not parse, a range that cannot be reported (from not before to,
or longer than a year and a day: `desktop.domain.floor_figures.report_range_problem`), an
unknown zone, an output file that cannot be written, pdf asked for without ``--out``).

Registered like the other plugin modules: `add_commands` adds the sub-command and returns its
handler (the ``dispatch_server.commands`` protocol of `server.cli`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_TZ", "FORMATS", "add_commands", "parse_time", "run_report"]

PROG = "dispatch-server"
#: The zone of times given without an offset (the reference centre's).
DEFAULT_TZ = "America/Los_Angeles"
FORMATS = ("json", "csv", "pdf")
PDF_NEEDS_OUT = "--format pdf writes a binary file: give it --out FILE (not stdout)"


class _Refused(Exception):
    """An input error: one line on stderr, exit code 2."""


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``report`` to ``dispatch-server``; return its handler by name."""
    report = commands.add_parser(
        "report", help="the shift report of a time range (calls, incidents, intervals, units)"
    )
    report.add_argument(
        "--db", required=True, help="the server's database: a SQLite path or a postgresql:// DSN"
    )
    report.add_argument(
        "--from", dest="start", required=True, metavar="ISO", help="start of the range (ISO 8601)"
    )
    report.add_argument(
        "--to", dest="end", required=True, metavar="ISO", help="end of the range, excluded"
    )
    report.add_argument(
        "--tz",
        default=DEFAULT_TZ,
        metavar="ZONE",
        help=f"zone of times without an offset, and of the report's times (default {DEFAULT_TZ})",
    )
    report.add_argument("--format", choices=FORMATS, default="json")
    report.add_argument("--out", type=Path, default=None, metavar="FILE", help="default: stdout")
    return {"report": run_report}


def parse_time(text: str, zone: tzinfo) -> float:
    """Seconds since the epoch of the ISO 8601 time ``text``; without an offset it is a local
    time in ``zone``. Raises ValueError when it does not parse."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.timestamp()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Refused(f"unknown time zone {name!r} (use an IANA name like {DEFAULT_TZ})") from None


def run_report(args: argparse.Namespace) -> int:
    """Write the shift report ``args`` ask for; the exit code (see the module docstring)."""
    try:
        return _run(args)
    except _Refused as exc:
        print(f"{PROG} report: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from desktop.domain.floor_figures import report_range_problem
    from server.report import report_bytes, report_dict, shift_report
    from server.store import is_dsn, open_store
    from server.store.base import StoreError, StoreOpenError

    out: Path | None = args.out
    if args.format == "pdf" and out is None:
        raise _Refused(PDF_NEEDS_OUT)
    zone = _zone(args.tz)
    try:
        start, end = parse_time(args.start, zone), parse_time(args.end, zone)
    except ValueError as exc:
        raise _Refused(str(exc)) from None
    problem = report_range_problem(start, end)
    if problem is not None:
        raise _Refused(f"--from {args.start} --to {args.end}: {problem}")
    db: str = args.db
    if not is_dsn(db) and not Path(db).is_file():
        raise _Refused(f"no database at {db}")
    # The store has no read-only mode: it is opened as the server opens it (SQLite in WAL, so a
    # running server is not disturbed; PostgreSQL as one more client); the report only reads.
    try:
        store = open_store(db)
    except StoreOpenError as exc:
        raise _Refused(str(exc)) from None
    try:
        report = shift_report(store, start, end)
    except StoreError as exc:
        print(f"{PROG} report: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    content = report_bytes(report_dict(report, zone), args.format)
    if out is None:  # JSON or CSV (a PDF without --out was refused above)
        sys.stdout.write(content.decode("utf-8"))
        return 0
    try:
        out.write_bytes(content)
    except OSError as exc:
        raise _Refused(f"cannot write {out}: {exc.strerror or exc}") from None
    return 0
