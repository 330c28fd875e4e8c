"""The roster file: reading and checking a roster CSV, planning an import, writing an export.

Pure functions, no I/O beyond the file named: ``dispatch-server units`` (`server.roster_cli`)
sends what `plan_import` decides over the protocol.

The CSV (UTF-8, a BOM allowed) has the header ``id,type,station,capabilities,radio_id`` (the
columns in any order, none missing, none other) and one unit per row:

- ``id``: 1-16 letters, digits, ``-`` or ``_`` (``E12``), once in the file;
- ``type``: ``ENGINE``, ``MEDIC``... as the run cards spell them (not empty);
- ``station``: the home station's label as ``resources/geo/stations.json`` spells it (``06``),
  which gives the unit its position when it has no AVL fix; a label with no position is refused
  unless the import allows unknown stations; may be empty (no home: never recommended without
  AVL);
- ``capabilities``: separated by ``;`` or spaces (``ALS;HAZMAT`` or ``ALS HAZMAT``), may be empty;
- ``radio_id``: the radio bound to the unit, may be empty; no two units share one.

Blank rows and rows whose first cell starts with ``#`` are skipped (comments). Every row is
checked before anything is sent; `RosterError` lists every problem with file, line and column.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from desktop.domain.checks import NAME_MAX as TYPE_MAX
from desktop.domain.kinds import DomainError
from desktop.domain.types import Unit
from desktop.domain.units import (
    UnitAdd,
    UnitUpdate,
    check_capabilities,
    check_radio_id,
    check_station,
    check_unit_id,
)
from desktop.geo.areas import natural_key
from desktop.geo.stations import Stations

__all__ = [
    "COLUMNS",
    "ImportPlan",
    "RosterEntry",
    "RosterError",
    "RosterProblem",
    "check_entry",
    "format_table",
    "parse_capabilities",
    "plan_import",
    "read_roster",
    "write_roster",
]

#: The roster CSV's columns, in the order an export writes them.
COLUMNS = ("id", "type", "station", "capabilities", "radio_id")
#: Most problems a `RosterError` lists (the rest are counted).
MAX_PROBLEMS = 50


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One unit as the roster file (or the command line) gives it; ``line`` is its line in the
    file (0: not from a file)."""

    unit_id: str
    type: str
    station: str = ""
    capabilities: tuple[str, ...] = ()
    radio_id: str = ""
    line: int = 0

    @classmethod
    def of(cls, unit: Unit) -> RosterEntry:
        return cls(unit.id, unit.type, unit.station, tuple(unit.capabilities), unit.radio_id)

    def same_as(self, unit: Unit) -> bool:
        """True when ``unit`` already has every roster field of this entry."""
        return RosterEntry.of(unit) == RosterEntry(
            self.unit_id, self.type, self.station, self.capabilities, self.radio_id
        )


@dataclass(frozen=True, slots=True)
class RosterProblem:
    """What is wrong, and where: ``FILE:LINE: column C: message``."""

    path: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{where}: column {self.column}: {self.message}"
            if self.column
            else (f"{where}: {self.message}")
        )


class RosterError(Exception):
    """The roster cannot be used as it is: every problem found, in file order."""

    def __init__(self, problems: Sequence[RosterProblem]) -> None:
        self.problems = list(problems)
        shown = [str(p) for p in self.problems[:MAX_PROBLEMS]]
        if len(self.problems) > MAX_PROBLEMS:
            shown.append(f"... and {len(self.problems) - MAX_PROBLEMS} more problems")
        super().__init__("\n".join(shown))


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """What an import sends, in order (``commands``: releases of radios that move to another
    unit of the file first, then additions, then changes), and what it leaves: ``unchanged``
    units already as the file says, ``absent`` units on the server the file does not name
    (left as they are: the roster has no removal)."""

    commands: list[UnitAdd | UnitUpdate] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """E.g. ``3 added, 1 updated, 165 unchanged``."""
        text = (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged"
        )
        if self.absent:
            text += f"; {len(self.absent)} on the server not in the file, left as they are"
        return text


def parse_capabilities(text: str) -> tuple[str, ...]:
    """``"ALS;HAZMAT"``, ``"ALS HAZMAT"`` or ``"ALS; HAZMAT"`` -> ``("ALS", "HAZMAT")``."""
    return tuple(part for part in text.replace(";", " ").split() if part)


def check_entry(
    entry: RosterEntry, stations: Stations, *, allow_unknown_station: bool = False
) -> list[tuple[str, str]]:
    """The problems of one entry alone, as (column, message) pairs (empty: fine). The domain's
    own checks (`desktop.domain.units`) decide what the server would refuse; the station must
    also have a position in ``stations`` unless ``allow_unknown_station``."""
    problems: list[tuple[str, str]] = []
    checks: tuple[tuple[str, Callable[[], None]], ...] = (
        ("id", lambda: check_unit_id(entry.unit_id)),
        ("station", lambda: check_station(entry.station)),
        ("capabilities", lambda: check_capabilities(entry.capabilities)),
        ("radio_id", lambda: check_radio_id(entry.radio_id)),
    )
    for column, check in checks:
        try:
            check()
        except DomainError as exc:
            problems.append((column, exc.message))
    if not entry.type.strip() or len(entry.type) > TYPE_MAX:
        problems.insert(
            1 if problems and problems[0][0] == "id" else 0,
            ("type", f"a unit needs a type of 1-{TYPE_MAX} characters (ENGINE, MEDIC, ...)"),
        )
    if entry.station and entry.station not in stations and not allow_unknown_station:
        hint = stations.suggest(entry.station)
        problems.append(
            (
                "station",
                f"unknown station {entry.station!r}"
                + (f" (did you mean {hint!r}?)" if hint else "")
                + ": it has no position in stations.json (allow it with --allow-unknown-station)",
            )
        )
    return problems


def read_roster(
    path: Path, stations: Stations, *, allow_unknown_station: bool = False
) -> list[RosterEntry]:
    """Read and check the roster CSV at ``path`` (format in the module docstring). Raises
    `RosterError` listing every problem (nothing is returned then), ``OSError`` if unreadable."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RosterError([RosterProblem(name, 0, "", f"not UTF-8 text ({exc.reason})")]) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    problems: list[RosterProblem] = []
    header = next(reader, None)
    if header is None:
        raise RosterError([RosterProblem(name, 1, "", "empty file: no header")])
    names = [cell.strip().lower() for cell in header]
    missing = [c for c in COLUMNS if c not in names]
    extra = [c for c in names if c not in COLUMNS]
    twice = sorted({c for c in names if names.count(c) > 1})
    if missing or extra or twice:
        wrong = []
        if missing:
            wrong.append("missing " + ", ".join(missing))
        if extra:
            wrong.append("unknown " + ", ".join(repr(c) for c in extra))
        if twice:
            wrong.append("twice " + ", ".join(twice))
        message = f"the header must be {','.join(COLUMNS)} ({'; '.join(wrong)})"
        raise RosterError([RosterProblem(name, 1, "", message)])
    index = {column: names.index(column) for column in COLUMNS}
    entries: list[RosterEntry] = []
    first_line_of: dict[str, int] = {}
    radio_line_of: dict[str, tuple[int, str]] = {}
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) != len(names):
            problems.append(
                RosterProblem(name, line, "", f"{len(row)} cells, the header has {len(names)}")
            )
            continue
        cell = {column: row[i].strip() for column, i in index.items()}
        entry = RosterEntry(
            cell["id"],
            cell["type"],
            cell["station"],
            parse_capabilities(cell["capabilities"]),
            cell["radio_id"],
            line,
        )
        for column, message in check_entry(
            entry, stations, allow_unknown_station=allow_unknown_station
        ):
            problems.append(RosterProblem(name, line, column, message))
        if entry.unit_id in first_line_of:
            first = first_line_of[entry.unit_id]
            problems.append(
                RosterProblem(name, line, "id", f"{entry.unit_id} is already on line {first}")
            )
        else:
            first_line_of[entry.unit_id] = line
        if entry.radio_id:
            if entry.radio_id in radio_line_of:
                first, holder = radio_line_of[entry.radio_id]
                problems.append(
                    RosterProblem(
                        name,
                        line,
                        "radio_id",
                        f"radio {entry.radio_id} is already {holder}'s on line {first}",
                    )
                )
            else:
                radio_line_of[entry.radio_id] = (line, entry.unit_id)
        entries.append(entry)
    if problems:
        raise RosterError(problems)
    return entries


def plan_import(
    entries: Sequence[RosterEntry], current: Mapping[str, Unit], source: str = ""
) -> ImportPlan:
    """What to send so that the server's roster ``current`` holds ``entries`` (already checked,
    e.g. by `read_roster`): `UnitAdd` (status ``AQ``) for a new unit, `UnitUpdate` with the
    changed fields only for a changed one, nothing for one already the same; so importing the
    same file twice sends nothing the second time.

    Raises `RosterError` when an entry's radio is bound on the server to a unit the file does
    not name (the file cannot take it from a unit it does not mention). A radio that moves
    between units of the file is first released by its holder (``radio_id=""``). ``source``
    names the file in the problems."""
    plan = ImportPlan()
    wanted = {e.unit_id: e for e in entries}
    holder_of = {u.radio_id: u.id for u in current.values() if u.radio_id}
    problems: list[RosterProblem] = []
    releases: set[str] = set()
    for entry in entries:
        holder = holder_of.get(entry.radio_id) if entry.radio_id else None
        if holder is None or holder == entry.unit_id:
            continue
        if holder not in wanted:
            problems.append(
                RosterProblem(
                    source,
                    entry.line,
                    "radio_id",
                    f"radio {entry.radio_id} is bound to {holder} on the server, which this "
                    f"roster does not list: change {holder} first",
                )
            )
        elif wanted[holder].radio_id != entry.radio_id:
            releases.add(holder)
    if problems:
        raise RosterError(problems)
    for unit_id in sorted(releases, key=natural_key):
        plan.commands.append(UnitUpdate(unit_id=unit_id, radio_id=""))
    updates: list[UnitUpdate] = []
    for entry in entries:
        unit = current.get(entry.unit_id)
        if unit is None:
            plan.commands.append(
                UnitAdd(
                    unit_id=entry.unit_id,
                    type=entry.type,
                    station=entry.station,
                    capabilities=list(entry.capabilities),
                    radio_id=entry.radio_id,
                )
            )
            plan.added.append(entry.unit_id)
            continue
        radio_now = "" if unit.id in releases else unit.radio_id
        update = UnitUpdate(
            unit_id=unit.id,
            type=entry.type if entry.type != unit.type else None,
            station=entry.station if entry.station != unit.station else None,
            capabilities=(
                list(entry.capabilities) if list(entry.capabilities) != unit.capabilities else None
            ),
            radio_id=entry.radio_id if entry.radio_id != radio_now else None,
        )
        if entry.same_as(unit):
            plan.unchanged.append(unit.id)
        else:
            plan.updated.append(unit.id)
            changes = (update.type, update.station, update.capabilities, update.radio_id)
            if any(v is not None for v in changes):  # else the release did all of it
                updates.append(update)
    plan.commands.extend(updates)
    plan.absent.extend(sorted((u for u in current if u not in wanted), key=natural_key))
    return plan


def _sorted(units: Iterable[Unit]) -> list[Unit]:
    return sorted(units, key=lambda u: natural_key(u.id))


def write_roster(units: Iterable[Unit], out: TextIO) -> int:
    """Write ``units`` as a roster CSV (the format `read_roster` reads; capabilities separated
    by ``;``), sorted by id; returns the number of units written."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for unit in _sorted(units):
        writer.writerow(
            [unit.id, unit.type, unit.station, ";".join(unit.capabilities), unit.radio_id]
        )
        count += 1
    return count


def format_table(units: Iterable[Unit]) -> str:
    """The roster as a table for people: id, type, station, status, radio, capabilities."""
    rows = [("ID", "TYPE", "STATION", "STATUS", "RADIO", "CAPABILITIES")]
    rows += [
        (u.id, u.type, u.station or "-", str(u.status), u.radio_id or "-", " ".join(u.capabilities))
        for u in _sorted(units)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True))
        + "  "
        + row[-1]
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)
