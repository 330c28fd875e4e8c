"""``dispatch-server units``: the roster of a running server, over the protocol.

    dispatch-server units list   --server URL --user NAME
    dispatch-server units export --server URL --user NAME [--out FILE]
    dispatch-server units import FILE --server URL --user NAME [--dry-run]
                                 [--allow-unknown-station]
    dispatch-server units add ID --type TYPE [--station S] [--capabilities "ALS;HAZMAT"]
                              [--radio-id R] [--status AQ|AV|OOS] --server URL --user NAME
    dispatch-server units update ID [--type T] [--station S] [--capabilities C] [--radio-id R]
                                 --server URL --user NAME

Every sub-command signs in to the server at ``--server`` (``ws://host:port`` or ``wss://``,
``--ca FILE`` for a private CA) as ``--user`` asking for the ``admin`` role: the password comes
from a prompt, or from the first line of stdin when stdin is not a terminal. The server is the
only writer of its world, so the roster changes while it serves, without a restart, and every
workstation sees them at once; each change is a ``unit.add`` or ``unit.update`` command with its
own idempotency key, in the audit log under the user's name.

``import`` reads and checks the whole file first (`server.roster.read_roster`: the CSV format
is there) and sends nothing when any row is wrong; then only what differs from the server's
roster (new units added in quarters, changed fields updated), so importing the same file again
changes nothing. It prints what it did: ``3 added, 1 updated, 165 unchanged``. ``export``
writes the same CSV format (``import`` reads it back unchanged). A station must have a position
in ``resources/geo/stations.json`` (the home a unit without AVL is recommended from) unless
``--allow-unknown-station``.

Exit codes: 0 done (or nothing to do), 1 the server refused a command or the connection failed
(run it again: what is already applied is not sent twice), 2 bad input (the file, the options,
or a refused sign-in); nothing is sent when the input is bad.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeAlias

from desktop.domain.types import UnitStatus
from desktop.domain.units import UnitAdd, UnitUpdate, radio_holder
from desktop.geo.stations import Stations
from desktop.protocol.messages import ResultBody
from server.admin_client import AdminClient, read_password, run_action
from server.roster import (
    ImportPlan,
    RosterEntry,
    RosterError,
    check_entry,
    format_table,
    parse_capabilities,
    plan_import,
    read_roster,
    write_roster,
)

__all__ = ["add_units_command", "run_units"]

PROG = "dispatch-server units"
_NEW_STATUSES = (UnitStatus.AQ, UnitStatus.AV, UnitStatus.OOS)

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class _BadInput(Exception):
    """Bad input: printed, exit code 2, nothing sent."""


def add_units_command(commands: Subcommands) -> None:
    """Add ``units`` and its actions to ``dispatch-server``'s sub-commands."""
    units = commands.add_parser("units", help="the roster of a running server (admin account)")
    actions = units.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=text, description=text)
        parser.add_argument(
            "--server", required=True, metavar="URL", help="ws://HOST:PORT or wss://HOST:PORT"
        )
        parser.add_argument("--user", required=True, help="an admin account")
        parser.add_argument("--ca", metavar="FILE", help="CA certificate(s) for wss://")
        return parser

    action("list", "print the roster as a table")
    export = action("export", "write the roster as CSV (the format import reads)")
    export.add_argument("--out", type=Path, help="file to write (default: stdout)")
    load = action("import", "add and update units from a CSV file; unchanged ones are skipped")
    load.add_argument("file", type=Path, help="CSV: id,type,station,capabilities,radio_id")
    load.add_argument("--dry-run", action="store_true", help="say what would change, send nothing")
    add = action("add", "add one unit (in quarters unless --status)")
    add.add_argument("unit_id", metavar="ID")
    add.add_argument("--type", required=True, help="ENGINE, MEDIC, TRUCK, ...")
    add.add_argument("--status", default="AQ", choices=[str(s) for s in _NEW_STATUSES])
    update = action("update", "change the fields given of one unit")
    update.add_argument("unit_id", metavar="ID")
    update.add_argument("--type")
    for parser, default in ((add, ""), (update, None)):
        parser.add_argument("--station", default=default, help="station label, as stations.json")
        parser.add_argument(
            "--capabilities", default=default, help='separated by ";" or spaces ("" clears)'
        )
        parser.add_argument("--radio-id", default=default, help='radio bound to it ("" clears)')
    for parser in (load, add, update):
        parser.add_argument(
            "--allow-unknown-station",
            action="store_true",
            help="accept a station with no position in stations.json",
        )


def run_units(args: argparse.Namespace) -> int:
    """Run ``units ACTION``; returns the exit code (see the module docstring)."""
    handlers: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
        "list": _list,
        "export": _export,
        "import": _import,
        "add": _add,
        "update": _update,
    }
    return run_action(
        f"{PROG} {args.action}",
        handlers[args.action](args),
        file_errors=(RosterError,),
        input_errors=(_BadInput,),
        refusals=(),
    )


# --- the actions -------------------------------------------------------------------------------


async def _list(args: argparse.Namespace) -> int:
    async with await _sign_in(args) as client:
        units = client.units.values()
    print(format_table(units))
    print(f"{len(units)} units")
    return 0


async def _export(args: argparse.Namespace) -> int:
    async with await _sign_in(args) as client:
        units = list(client.units.values())
    out: Path | None = args.out
    if out is None:
        write_roster(units, sys.stdout)
        return 0
    partial = out.with_name(out.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as handle:
            count = write_roster(units, handle)
        partial.replace(out)
    except OSError as exc:
        raise _BadInput(f"cannot write {out}: {exc}") from None
    print(f"wrote {count} units to {out}", file=sys.stderr)
    return 0


async def _import(args: argparse.Namespace) -> int:
    try:
        entries = read_roster(
            args.file, Stations.load_default(), allow_unknown_station=args.allow_unknown_station
        )
    except OSError as exc:
        raise _BadInput(f"cannot read {args.file}: {exc.strerror or exc}") from None
    async with await _sign_in(args) as client:
        plan = plan_import(entries, client.units, str(args.file))
        if args.dry_run:
            _say_plan(plan, "would be ")
            return 0
        results = await client.submit(plan.commands)
    refused = _refusals(plan.commands, results)
    if refused:
        for line in refused:
            print(f"{PROG} import: {line}", file=sys.stderr)
        print(
            f"{PROG} import: {len(refused)} of {len(plan.commands)} changes refused; "
            "the others were applied (run the import again once the problem is fixed)",
            file=sys.stderr,
        )
        return 1
    print(f"{args.file}: {plan.summary()}")
    return 0


async def _add(args: argparse.Namespace) -> int:
    entry = RosterEntry(
        args.unit_id,
        args.type.strip(),
        args.station.strip(),
        parse_capabilities(args.capabilities),
        args.radio_id.strip(),
    )
    _check(entry, args.allow_unknown_station, station=True)
    async with await _sign_in(args) as client:
        current = client.units.get(entry.unit_id)
        _check_radio(client, entry)
        if current is not None:
            if entry.same_as(current):
                print(f"{entry.unit_id} is already on the roster as given: nothing to do")
                return 0
            raise _BadInput(
                f"{entry.unit_id} is already on the roster, otherwise: use units update"
            )
        command = UnitAdd(
            unit_id=entry.unit_id,
            type=entry.type,
            station=entry.station,
            capabilities=list(entry.capabilities),
            radio_id=entry.radio_id,
            status=UnitStatus(args.status),
        )
        return _said(command, await client.submit([command]), f"added {entry.unit_id}")


async def _update(args: argparse.Namespace) -> int:
    async with await _sign_in(args) as client:
        current = client.units.get(args.unit_id)
        if current is None:
            raise _BadInput(f"no unit {args.unit_id} on the roster: use units add")
        base = RosterEntry.of(current)
        entry = RosterEntry(
            current.id,
            base.type if args.type is None else args.type.strip(),
            base.station if args.station is None else args.station.strip(),
            (
                base.capabilities
                if args.capabilities is None
                else parse_capabilities(args.capabilities)
            ),
            base.radio_id if args.radio_id is None else args.radio_id.strip(),
        )
        _check(entry, args.allow_unknown_station, station=entry.station != base.station)
        _check_radio(client, entry)
        if entry == base:
            print(f"{current.id}: nothing to change")
            return 0
        command = UnitUpdate(
            unit_id=current.id,
            type=entry.type if entry.type != base.type else None,
            station=entry.station if entry.station != base.station else None,
            capabilities=(
                list(entry.capabilities) if entry.capabilities != base.capabilities else None
            ),
            radio_id=entry.radio_id if entry.radio_id != base.radio_id else None,
        )
        return _said(command, await client.submit([command]), f"updated {current.id}")


# --- helpers -----------------------------------------------------------------------------------


async def _sign_in(args: argparse.Namespace) -> AdminClient:
    password = read_password(args.user)
    return await AdminClient.connect(
        args.server, args.user, password, ca_file=args.ca, tool="dispatch-server units"
    )


def _check(entry: RosterEntry, allow_unknown_station: bool, *, station: bool) -> None:
    problems = check_entry(
        entry, Stations.load_default(), allow_unknown_station=allow_unknown_station or not station
    )
    if problems:
        raise _BadInput("; ".join(f"{column}: {message}" for column, message in problems))


def _check_radio(client: AdminClient, entry: RosterEntry) -> None:
    holder = radio_holder(client.world, entry.radio_id)
    if holder is not None and holder != entry.unit_id:
        raise _BadInput(f"radio {entry.radio_id} is already bound to {holder}")


def _refusals(commands: Sequence[UnitAdd | UnitUpdate], results: Sequence[ResultBody]) -> list[str]:
    lines = []
    for command, result in zip(commands, results, strict=True):
        if not result.ok:
            error = result.error
            reason = f"{error.code}: {error.message}" if error is not None else "refused"
            lines.append(f"{command.unit_id}: {reason}")
    return lines


def _said(command: UnitAdd | UnitUpdate, results: Sequence[ResultBody], done: str) -> int:
    refused = _refusals([command], results)
    if refused:
        print(f"{PROG}: refused: {refused[0]}", file=sys.stderr)
        return 1
    print(done)
    return 0


def _say_plan(plan: ImportPlan, would: str) -> None:
    for label, ids in (("added", plan.added), ("updated", plan.updated)):
        if ids:
            print(f"{would}{label}: {' '.join(ids)}")
    print(plan.summary() + (" (dry run: nothing sent)" if would else ""))
