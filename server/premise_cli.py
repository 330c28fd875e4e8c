"""``dispatch-server premise``: the premise hazard flags of a running server, over the protocol.

    dispatch-server premise list   --server URL --user NAME [--json]
    dispatch-server premise set ADDRESS --hazard TEXT [--hazard TEXT ...] [--note TEXT]
                                [--lat F --lon F] [--allow-unverified] --server URL --user NAME
    dispatch-server premise remove ADDRESS --server URL --user NAME
    dispatch-server premise import FILE [--dry-run] [--allow-unverified] --server URL --user NAME

Every action signs in to the server at ``--server`` (``ws://`` or ``wss://``, ``--ca FILE`` for
a private CA) as ``--user`` asking for the ``admin`` role; the password comes from a prompt, or
from the first line of stdin when stdin is not a terminal. Each change is a ``premise.set`` or
``premise.remove`` command with its own idempotency key, in the audit log under the user's name;
every workstation holds the flags at once.

A premise is keyed by its address as the street index names it (``"1017 POLK ST"``:
`desktop.domain.premises.premise_key`), which is what a call-taker's verified address is, so
``set`` and ``import`` verify each address with the shipped street index
(`desktop.geo.geocoder`) and store the name it matched, with its point when no ``--lat``/``--lon``
is given. An address it does not verify is refused (it would never be matched), unless
``--allow-unverified`` (kept as written, upper case). ``set`` replaces the flags at the address;
``remove`` takes the address as the index names it too (as written when it does not verify).

``import`` reads CSV with the header ``address,hazards,note,lat,lon`` (``address`` and
``hazards`` required, any order; hazards separated by ``;``) or JSON lines (one object a line
with those keys, ``hazards`` a list or a ``;``-separated string; ``list --json`` writes this
format, and its ``updated_by``/``updated_at`` are ignored), told apart by the first character.
Blank lines and lines starting with ``#`` are skipped. The whole file is checked first: every
problem is printed as ``FILE:LINE: ...`` and nothing is sent. Then only premises that differ from
the server's are sent, so importing a file again changes nothing; ``--dry-run`` sends nothing.

Exit codes: 0 done (or nothing to do), 1 the server refused a change (each refusal printed in
plain words, with its line for an import) or the connection failed, 2 bad input (options, file,
addresses) or a refused sign-in (a non-admin account gets ``role_not_allowed``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from msgspec.structs import replace

from desktop.domain.catalog import decide
from desktop.domain.kinds import CommandArgs, DecisionContext, DomainError
from desktop.domain.premises import PremiseRemove, PremiseSet, premise_key
from desktop.domain.types import Premise
from desktop.domain.world import World
from desktop.geo.geocoder import Geocoder
from desktop.protocol.errors import ErrorCode
from desktop.protocol.messages import ResultBody
from server.admin_client import AdminClient, read_password, run_action

__all__ = [
    "COLUMNS",
    "PremiseFileError",
    "PremiseRow",
    "add_premise_command",
    "format_table",
    "read_premises",
    "run_premise",
]

PROG = "dispatch-server premise"
#: The columns (CSV) or keys (JSON lines) of an import file; the first two are required.
COLUMNS = ("address", "hazards", "note", "lat", "lon")
#: Keys `list --json` writes that an import ignores.
_IGNORED_KEYS = frozenset({"updated_by", "updated_at"})
_NOTE_SHOWN = 40

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class _BadInput(Exception):
    """Bad input: printed, exit code 2, nothing sent."""


class _Refused(Exception):
    """The server (or its rule, on the server's state) refused: printed, exit code 1."""


class PremiseFileError(Exception):
    """An import file with problems; ``problems`` are ``FILE:LINE: what`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class PremiseRow:
    """One premise of an import file: its line and its ``premise.set`` (address verified)."""

    line: int
    command: PremiseSet


def add_premise_command(commands: Subcommands) -> None:
    """Add ``premise`` and its actions to ``dispatch-server``'s sub-commands."""
    premise = commands.add_parser(
        "premise", help="premise hazard flags of a running server (admin account)"
    )
    actions = premise.add_subparsers(dest="action", metavar="ACTION", required=True)

    def action(name: str, text: str) -> argparse.ArgumentParser:
        parser = actions.add_parser(name, help=text, description=text)
        parser.add_argument(
            "--server", required=True, metavar="URL", help="ws://HOST:PORT or wss://HOST:PORT"
        )
        parser.add_argument("--user", required=True, help="an admin account")
        parser.add_argument("--ca", metavar="FILE", help="CA certificate(s) for wss://")
        return parser

    listing = action("list", "print the premises and their hazards as a table")
    listing.add_argument("--json", action="store_true", help="one JSON object a line instead")
    put = action("set", "flag one address (replaces its flags)")
    put.add_argument("address", metavar="ADDRESS")
    put.add_argument("--hazard", action="append", required=True, help="a hazard; repeat for more")
    put.add_argument("--note", default="", help="what responders should know")
    put.add_argument("--lat", type=float, help="the premise's latitude (default: the index's)")
    put.add_argument("--lon", type=float, help="the premise's longitude")
    remove = action("remove", "remove every flag of one address")
    remove.add_argument("address", metavar="ADDRESS")
    load = action("import", "set premises from a CSV or JSON-lines file; unchanged ones skipped")
    load.add_argument("file", type=Path, help="CSV: address,hazards,note,lat,lon; or JSON lines")
    load.add_argument("--dry-run", action="store_true", help="say what would change, send nothing")
    for parser in (put, load):
        parser.add_argument(
            "--allow-unverified",
            action="store_true",
            help="keep an address the street index does not verify, as written",
        )


def run_premise(args: argparse.Namespace) -> int:
    """Run ``premise ACTION``; returns the exit code (see the module docstring)."""
    handlers: dict[str, Callable[[argparse.Namespace], Coroutine[Any, Any, int]]] = {
        "list": _list,
        "set": _set,
        "remove": _remove,
        "import": _import,
    }
    return run_action(
        f"{PROG} {args.action}",
        handlers[args.action](args),
        file_errors=(PremiseFileError,),
        input_errors=(_BadInput,),
        refusals=(_Refused,),
    )


# --- the actions -------------------------------------------------------------------------------


async def _list(args: argparse.Namespace) -> int:
    async with await _sign_in(args) as client:
        premises = sorted(client.world.premises.values(), key=lambda p: p.id)
    if args.json:
        for premise in premises:
            print(json.dumps(_as_json(premise), ensure_ascii=False))
        return 0
    print(format_table(premises))
    print(f"{len(premises)} premise{'' if len(premises) == 1 else 's'}")
    return 0


async def _set(args: argparse.Namespace) -> int:
    command = PremiseSet(
        address=args.address, hazards=list(args.hazard), note=args.note, lat=args.lat, lon=args.lon
    )
    verified = _checked(command, Geocoder.load_default(), args.allow_unverified)
    if isinstance(verified, str):
        raise _BadInput(verified)
    async with await _sign_in(args) as client:
        refusal = _refusal(client.world, verified, args.user)
        if refusal is not None and refusal.code == ErrorCode.NO_CHANGE:
            print(f"{premise_key(verified.address)} already has these flags: nothing to do")
            return 0
        if refusal is not None:
            raise _Refused(_words(refusal.message, refusal.code))
        _raise_refused(await client.submit([verified]))
    print(f"set {premise_key(verified.address)}: {'; '.join(verified.hazards)}")
    return 0


async def _remove(args: argparse.Namespace) -> int:
    found = Geocoder.load_default().geocode(args.address)
    address = found.matched if found.status == "verified" else args.address
    command = PremiseRemove(address=address)
    async with await _sign_in(args) as client:
        refusal = _refusal(client.world, command, args.user)
        if refusal is not None:
            raise _Refused(_words(refusal.message, refusal.code))
        _raise_refused(await client.submit([command]))
    print(f"removed {premise_key(address)}")
    return 0


async def _import(args: argparse.Namespace) -> int:
    path: Path = args.file
    rows = read_premises(path, Geocoder.load_default(), allow_unverified=args.allow_unverified)
    async with await _sign_in(args) as client:
        changes = [r for r in rows if not _unchanged(client.world, r.command, args.user)]
        unchanged = len(rows) - len(changes)
        if args.dry_run:
            for row in changes:
                print(f"would set: {premise_key(row.command.address)}")
            print(f"{path}: {len(changes)} would be set, {unchanged} unchanged (dry run)")
            return 0
        results = await client.submit([r.command for r in changes])
    refused = [
        f"{path}:{row.line}: {premise_key(row.command.address)}: refused: "
        + _words(result.error.message, result.error.code)
        for row, result in zip(changes, results, strict=True)
        if result.error is not None
    ]
    if refused:
        print("\n".join(f"{PROG} import: {line}" for line in refused), file=sys.stderr)
        print(
            f"{PROG} import: {len(refused)} of {len(changes)} changes refused; the others were "
            "applied (run the import again once the problem is fixed)",
            file=sys.stderr,
        )
        return 1
    print(f"{path}: {len(changes)} set, {unchanged} unchanged")
    return 0


# --- the import file ---------------------------------------------------------------------------


def read_premises(path: Path, geocoder: Geocoder, *, allow_unverified: bool) -> list[PremiseRow]:
    """The premises of an import file (see the module docstring), each address verified with
    ``geocoder``. Raises `PremiseFileError` listing every problem, or `_BadInput` when the file
    cannot be read."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _BadInput(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        records = (_json_rows if text.lstrip().startswith("{") else _csv_rows)(text)
    except ValueError as exc:
        raise PremiseFileError([f"{path}:1: {exc}"]) from None
    problems: list[str] = []
    rows: list[PremiseRow] = []
    first_line: dict[str, int] = {}
    for line, fields in records:
        try:
            command = _command(fields) if isinstance(fields, dict) else fields
        except ValueError as exc:
            command = str(exc)
        verified = (
            command if isinstance(command, str) else _checked(command, geocoder, allow_unverified)
        )
        if isinstance(verified, str):
            problems.append(f"{path}:{line}: {verified}")
            continue
        key = premise_key(verified.address)
        if key in first_line:
            problems.append(f"{path}:{line}: {key} is already on line {first_line[key]}")
            continue
        first_line[key] = line
        rows.append(PremiseRow(line, verified))
    if problems:
        raise PremiseFileError(problems)
    return rows


_Fields: TypeAlias = dict[str, Any]
#: A record of an import file: its line, and its fields or what is wrong with it.
_Record: TypeAlias = tuple[int, _Fields | str]


def _csv_rows(text: str) -> list[_Record]:
    """The records of a CSV file; ValueError for a header without the columns needed."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in COLUMNS[:2] if name not in header]
    unknown = [name for name in header if name not in COLUMNS]
    if missing or unknown:
        what = [f"missing {', '.join(missing)}"] if missing else []
        what += [f"unknown {', '.join(unknown)}"] if unknown else []
        raise ValueError(f"the header takes the columns {','.join(COLUMNS)} ({'; '.join(what)})")
    reader.fieldnames = header
    records: list[_Record] = []
    for record in reader:
        first = next(iter(record.values()), "") or ""
        if first.strip().startswith("#") or not any((v or "").strip() for v in record.values()):
            continue
        if None in record:
            records.append((reader.line_num, "more cells than columns"))
            continue
        records.append((reader.line_num, {k: (v or "").strip() for k, v in record.items()}))
    return records


def _json_rows(text: str) -> list[_Record]:
    """The records of a JSON-lines file."""
    records: list[_Record] = []
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            records.append((line, f"not JSON: {exc}"))
            continue
        if not isinstance(value, dict):
            records.append((line, "not a JSON object"))
            continue
        unknown = sorted(set(value) - set(COLUMNS) - _IGNORED_KEYS)
        if unknown:
            records.append((line, f"unknown key {', '.join(unknown)}"))
            continue
        records.append((line, {k: v for k, v in value.items() if k in COLUMNS}))
    return records


def _command(fields: _Fields) -> PremiseSet:
    """A row's ``premise.set``; ValueError says what is wrong with it."""
    address = fields.get("address", "")
    hazards = fields.get("hazards", "")
    note = fields.get("note") or ""
    if not isinstance(address, str) or not address.strip():
        raise ValueError("address: give the premise's address")
    if isinstance(hazards, str):
        hazards = hazards.split(";")
    if not isinstance(hazards, list) or not all(isinstance(h, str) for h in hazards):
        raise ValueError('hazards: a list of texts, or texts separated by ";"')
    if not isinstance(note, str):
        raise ValueError("note: a text")
    lat, lon = _number(fields, "lat"), _number(fields, "lon")
    return PremiseSet(
        address=address.strip(),
        hazards=[h.strip() for h in hazards],
        note=note.strip(),
        lat=lat,
        lon=lon,
    )


def _number(fields: _Fields, name: str) -> float | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{name}: a number in degrees")
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{name}: {value!r} is not a number")
    return number


# --- helpers -----------------------------------------------------------------------------------


def _checked(command: PremiseSet, geocoder: Geocoder, allow_unverified: bool) -> PremiseSet | str:
    """``command`` checked by the server's rule on its own values (address, hazards, note,
    point) and verified (`_verified`); or what is wrong with it."""
    refusal = _refusal(World(), command, "")
    if refusal is not None:
        return refusal.message
    return _verified(command, geocoder, allow_unverified)


def _verified(command: PremiseSet, geocoder: Geocoder, allow_unverified: bool) -> PremiseSet | str:
    """``command`` at the address as the street index names it (and its point, unless a point
    was given); or, for an address it does not verify, why (unless ``allow_unverified``)."""
    found = geocoder.geocode(command.address)
    if found.status != "verified" or found.lat is None or found.lon is None:
        if allow_unverified:
            return command
        hint = f" (did you mean {found.candidates[0].label}?)" if found.candidates else ""
        why = found.reason or "no such address"
        return (
            f"{command.address!r} is not an address the street index verifies: {why}{hint}; "
            "a call-taker would never see these flags (--allow-unverified keeps it as written)"
        )
    if command.lat is None and command.lon is None:
        return replace(command, address=found.matched, lat=found.lat, lon=found.lon)
    return replace(command, address=found.matched)


def _refusal(world: World, command: CommandArgs, user: str) -> DomainError | None:
    """Why the server's rule refuses ``command`` on ``world``, or None."""
    try:
        decide(world, command, DecisionContext(actor=user, now=time.time()))
    except DomainError as exc:
        return exc
    return None


def _unchanged(world: World, command: PremiseSet, user: str) -> bool:
    refusal = _refusal(world, command, user)
    return refusal is not None and refusal.code == ErrorCode.NO_CHANGE


def _raise_refused(results: Sequence[ResultBody]) -> None:
    for result in results:
        if result.error is not None:
            raise _Refused(f"refused: {_words(result.error.message, result.error.code)}")


def _words(message: str, code: str) -> str:
    return f"{message} ({code})"


def _as_json(premise: Premise) -> dict[str, Any]:
    return {
        "address": premise.address,
        "hazards": premise.hazards,
        "note": premise.note,
        "lat": premise.lat,
        "lon": premise.lon,
        "updated_by": premise.updated_by,
        "updated_at": premise.updated_at,
    }


def format_table(premises: Sequence[Premise]) -> str:
    """The premises as a table for people: address, hazards, note (shortened), updated by
    and at (UTC)."""
    rows = [("ADDRESS", "HAZARDS", "NOTE", "UPDATED BY", "UPDATED AT")]
    for p in premises:
        note = p.note if len(p.note) <= _NOTE_SHOWN else p.note[: _NOTE_SHOWN - 1] + "…"
        at = time.strftime("%Y-%m-%d %H:%MZ", time.gmtime(p.updated_at))
        rows.append((p.address, "; ".join(p.hazards), note or "-", p.updated_by or "-", at))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


async def _sign_in(args: argparse.Namespace) -> AdminClient:
    password = read_password(args.user)
    return await AdminClient.connect(
        args.server, args.user, password, ca_file=args.ca, tool="dispatch-server premise"
    )
