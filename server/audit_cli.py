"""``dispatch-server audit``: the audit trail (`server.audit`) of a database, for admins.

    dispatch-server audit --db PATH|DSN [--user NAME] [--from ISO] [--to ISO] [--kind KIND]
                          [--limit N] [--tz ZONE] [--json]

Lists the records with ``from <= time < to`` (either bound may be left out), of ``--user`` and
of ``--kind`` when given (exact: a command kind such as ``unit.dispatch``, or ``login``,
``logout``), oldest first, at most ``--limit`` (default 1000; a note on stderr says when there
were more). ``--from`` and ``--to`` are ISO 8601 times: ``2024-05-01T07:00`` (local time in
``--tz``, an IANA zone, default the reference centre's), ``2024-05-01T14:00Z`` or
``2024-05-01T07:00-07:00``; a date alone is its midnight. Times are shown in ``--tz``.

The output is a table (time, user, workstation, address, kind, outcome, detail; characters a
terminal would act on are shown as ``?``), or with ``--json`` one JSON object per line with
every field of `server.store.base.AuditRecord` and ``time`` (ISO 8601).

The database is opened read-only (`server.store.open_store`): it must exist and be of this
server's version; a running server is not disturbed. Exit codes: 0 listed (also when none
matched), 1 the database failed while being read, 2 usage or input errors (no such database,
a time that does not parse, ``--from`` not before ``--to``, an unknown zone, a bad limit).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.report_cli import DEFAULT_TZ, parse_time
from server.store.base import AUDIT_QUERY_LIMIT, AuditRecord

__all__ = ["add_commands", "audit_table", "run_audit"]

PROG = "dispatch-server audit"
MAX_LIMIT = 1_000_000

#: The table's columns: heading, the record's field, the widest a value is shown.
_COLUMNS = (
    ("TIME", "at", 25),
    ("USER", "user", 20),
    ("WORKSTATION", "workstation", 24),
    ("ADDRESS", "peer", 22),
    ("KIND", "kind", 24),
    ("OUTCOME", "outcome", 22),
    ("DETAIL", "detail", 70),
)


class _Refused(Exception):
    """An input error: one line on stderr, exit code 2."""


def add_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> dict[str, Callable[[argparse.Namespace], int]]:
    """Add ``audit`` to ``dispatch-server``; return its handler by name."""
    audit = commands.add_parser(
        "audit", help="list the audit trail: commands, sign-ins and sign-outs (read-only)"
    )
    audit.add_argument(
        "--db", required=True, help="the server's database: a SQLite path or a postgresql:// DSN"
    )
    audit.add_argument("--user", default=None, metavar="NAME", help="only this user's records")
    audit.add_argument(
        "--from", dest="start", default=None, metavar="ISO", help="from this time (ISO 8601)"
    )
    audit.add_argument(
        "--to", dest="end", default=None, metavar="ISO", help="up to this time, excluded"
    )
    audit.add_argument(
        "--kind", default=None, help="only this kind: a command kind, login or logout"
    )
    audit.add_argument(
        "--limit",
        type=int,
        default=AUDIT_QUERY_LIMIT,
        metavar="N",
        help=f"at most N records (default {AUDIT_QUERY_LIMIT})",
    )
    audit.add_argument(
        "--tz",
        default=DEFAULT_TZ,
        metavar="ZONE",
        help=f"zone of times without an offset, and of the times shown (default {DEFAULT_TZ})",
    )
    audit.add_argument("--json", action="store_true", help="one JSON object per record")
    return {"audit": run_audit}


def run_audit(args: argparse.Namespace) -> int:
    """List the records ``args`` ask for; the exit code (see the module docstring)."""
    try:
        return _run(args)
    except _Refused as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from server.store import describe_db, is_dsn, open_store
    from server.store.base import StoreError, StoreOpenError

    zone = _zone(args.tz)
    since = _time(args.start, zone, "--from")
    until = _time(args.end, zone, "--to")
    if since is not None and until is not None and since >= until:
        raise _Refused(f"--from {args.start} is not before --to {args.end}")
    limit: int = args.limit
    if not 1 <= limit <= MAX_LIMIT:
        raise _Refused(f"--limit must be 1-{MAX_LIMIT}")
    db: str = args.db
    if not is_dsn(db) and not Path(db).is_file():
        raise _Refused(f"no database at {db}")
    try:
        store = open_store(db, read_only=True)
    except StoreOpenError as exc:
        raise _Refused(str(exc)) from None
    try:
        records = store.query_audit(
            user=args.user, since=since, until=until, kind=args.kind, limit=limit + 1
        )
    except StoreError as exc:
        print(f"{PROG}: {describe_db(db)}: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    more = len(records) > limit
    records = records[:limit]
    if args.json:
        for record in records:
            sys.stdout.write(json.dumps(_json_of(record, zone)) + "\n")
    else:
        sys.stdout.write(audit_table(records, zone))
    if more:
        print(
            f"{PROG}: more than {limit} records match: narrow the range or raise --limit",
            file=sys.stderr,
        )
    return 0


def audit_table(records: Sequence[AuditRecord], zone: tzinfo) -> str:
    """``records`` as a text table (with its heading line; "no records" when empty)."""
    if not records:
        return "no records\n"
    rows = [
        [_shown(_value(record, field, zone), width) for _, field, width in _COLUMNS]
        for record in records
    ]
    widths = [
        max(len(heading), *(len(row[i]) for row in rows))
        for i, (heading, _, _) in enumerate(_COLUMNS)
    ]
    lines = [[heading for heading, _, _ in _COLUMNS], *rows]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        + "\n"
        for line in lines
    )


def _value(record: AuditRecord, field: str, zone: tzinfo) -> str:
    if field == "at":
        return _iso(record.at, zone)
    return str(getattr(record, field))


def _shown(text: str, width: int) -> str:
    """``text`` safe for a terminal (no control characters) and at most ``width`` long."""
    safe = "".join(c if c.isprintable() else "?" for c in text)
    return safe if len(safe) <= width else safe[: width - 1] + "…"


def _iso(at: float, zone: tzinfo) -> str:
    return datetime.fromtimestamp(at, zone).isoformat(timespec="seconds")


def _json_of(record: AuditRecord, zone: tzinfo) -> dict[str, object]:
    return {"time": _iso(record.at, zone), **dataclasses.asdict(record)}


def _time(text: str | None, zone: tzinfo, option: str) -> float | None:
    if text is None:
        return None
    try:
        return parse_time(text, zone)
    except ValueError as exc:
        raise _Refused(f"{option}: {exc}") from None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Refused(f"unknown time zone {name!r} (use an IANA name like {DEFAULT_TZ})") from None
