"""Replaying a real day: the rows of an SFFD calls-for-service file (one row per unit on a call)
turned into the commands a floor would have issued, at the file's own times, sent through the
public protocol (`server.admin_client.AdminClient`) to a server with a simulated clock.

A simulator, named as one: it stands in for the call-takers and dispatchers of that day.

- **Reading** (`read_rows`): the file's local times (``America/Los_Angeles`` unless told) to
  seconds since the epoch. A row is skipped, with its reason counted, when it has no Call
  Number or Unit ID, no Received or Dispatch time, a time that cannot be read, or a Location
  that is neither empty nor a point; an empty Location is geocoded from the address
  (`desktop.geo.geocoder`), and a row whose address cannot be placed either is skipped too.
- **Planning** (`plan_day`): per call, at Received the call is offered and answered (the file
  has no answer time: answered = Received); at Entry the incident is created at its point and
  type (`sim.sffd.incident_type`, `priority`), the call linked and released; per unit row, at
  Dispatch it is dispatched, then set ER at Response, OS at On Scene, TR at Transport, AH at
  Hospital and AV at Available, each only after the one before it and where the unit may go from
  it (`desktop.domain.units.ALLOWED_TRANSITIONS`: a transport with no arrival is skipped, so is
  a status timed before the one it would follow; both counted); once its last unit is available
  the incident is closed with the file's disposition. A unit dispatched while still on an
  earlier call is first released from it (the file reassigned it; the earlier call's later times
  for it are skipped). The roster is every unit of the file, added in quarters first.
- **Keys.** Every command's idempotency key is a UUIDv5 of the call number, unit and step, so
  replaying the same file again applies nothing twice.
- **Pacing** (`replay`): a step is sent when ``(t - first) / speed`` wall seconds have passed
  since the start; ``speed`` 0 sends as fast as the server answers. Each step waits for its
  results (the next may depend on it: a dispatch on its incident).
"""

from __future__ import annotations

import asyncio
import csv
import gzip
import io
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from desktop.domain.calls import CallAnswer, CallLink, CallOffer, CallRelease
from desktop.domain.incidents import IncidentClose, IncidentCreate
from desktop.domain.kinds import CommandArgs
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import ALLOWED_TRANSITIONS, UnitAdd, UnitDispatch, UnitSetStatus
from sim.demo_data import unit_type_code
from sim.sffd import address_case, incident_type, priority, unit_id

if TYPE_CHECKING:
    from desktop.geo.geocoder import Geocoder
    from server.admin_client import AdminClient

__all__ = [
    "DEFAULT_TZ",
    "ReplayRow",
    "ReplaySummary",
    "Step",
    "call_ids",
    "plan_day",
    "read_rows",
    "replay",
]

DEFAULT_TZ = "America/Los_Angeles"
_TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"
_NAMESPACE = uuid.UUID("5f0e7c56-5d0b-4f43-9f8e-0d1f2c3b4a59")  # this replay's keys and ids
#: The unit statuses a row moves through, with their column, in the only order they may go.
_STATUS_COLUMNS = (
    (UnitStatus.ER, "response"),
    (UnitStatus.OS, "onscene"),
    (UnitStatus.TR, "transport"),
    (UnitStatus.AH, "hospital"),
    (UnitStatus.AV, "available"),
)


@dataclass(frozen=True, slots=True)
class ReplayRow:
    """One unit on one call; times in seconds since the epoch (None: the file has none)."""

    call: str
    unit: str
    unit_type: str
    station: str
    call_type: str
    priority: int
    address: str
    lat: float
    lon: float
    disposition: str
    received: float
    entry: float | None
    dispatch: float
    response: float | None
    onscene: float | None
    transport: float | None
    hospital: float | None
    available: float | None


@dataclass
class ReplaySummary:
    """What a replay did: rows read and skipped (by reason), commands sent, refused (by
    reason), statuses skipped as out of order, units reassigned, and the file's span."""

    rows: int = 0
    calls: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    sent: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    out_of_order: int = 0
    reassigned: int = 0
    first: float | None = None
    last: float | None = None

    def lines(self) -> list[str]:
        """The summary for a person, one fact a line."""
        out = [
            f"rows read: {self.rows} ({self.calls} calls)",
            f"rows skipped: {sum(self.skipped.values())}",
            *(f"  {n} {reason}" for reason, n in self.skipped.most_common()),
            f"commands sent: {self.sent}; refused: {sum(self.refused.values())}",
            *(f"  {n} {reason}" for reason, n in self.refused.most_common()),
            f"statuses skipped (out of order, or not reachable): {self.out_of_order}",
            f"units reassigned before they cleared: {self.reassigned}",
        ]
        if self.first is not None and self.last is not None:
            span = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.first))
            out.append(f"file time: {span} UTC + {self.last - self.first:,.0f} s")
        return out


@dataclass(frozen=True, slots=True)
class Step:
    """Commands to send at file time ``at``, each with its idempotency key."""

    at: float
    commands: tuple[CommandArgs, ...]
    keys: tuple[str, ...]


# --- reading --------------------------------------------------------------------------------


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def read_rows(
    path: Path, tz: str = DEFAULT_TZ, geocoder: Callable[[], Geocoder] | None = None
) -> tuple[list[ReplayRow], Counter[str]]:
    """The file's rows that can be replayed, in file order, and the count of each reason a row
    was skipped (module docstring). ``geocoder`` gives the street index for rows without a
    point (default: the shipped one, loaded only if needed)."""
    zone = ZoneInfo(tz)
    rows: list[ReplayRow] = []
    skipped: Counter[str] = Counter()
    index: list[Geocoder] = []

    def epoch(text: str) -> float | None:
        text = text.strip()
        if not text:
            return None
        return datetime.strptime(text, _TIME_FORMAT).replace(tzinfo=zone).timestamp()

    def place(address: str) -> tuple[float, float] | None:
        if not index:
            from desktop.geo.geocoder import Geocoder

            index.append(geocoder() if geocoder is not None else Geocoder.load_default())
        found = index[0].geocode(address)
        return None if found.lat is None or found.lon is None else (found.lat, found.lon)

    with _open_text(path) as handle:
        for raw in csv.DictReader(handle):
            problem, row = _row(raw, epoch, place)
            if row is None:
                skipped[problem] += 1
            else:
                rows.append(row)
    return rows, skipped


def _row(
    raw: dict[str, str],
    epoch: Callable[[str], float | None],
    place: Callable[[str], tuple[float, float] | None],
) -> tuple[str, ReplayRow | None]:
    """One file row, or why it is skipped."""
    if not raw.get("Call Number") or not raw.get("Unit ID"):
        return "no Call Number or Unit ID", None
    try:
        times = {
            name: epoch(raw.get(column) or "")
            for name, column in (
                ("received", "Received DtTm"),
                ("entry", "Entry DtTm"),
                ("dispatch", "Dispatch DtTm"),
                ("response", "Response DtTm"),
                ("onscene", "On Scene DtTm"),
                ("transport", "Transport DtTm"),
                ("hospital", "Hospital DtTm"),
                ("available", "Available DtTm"),
            )
        }
    except ValueError:
        return "a time that cannot be read", None
    received, dispatch = times["received"], times["dispatch"]
    if received is None or dispatch is None:
        return "no Received or Dispatch time", None
    address = address_case(raw.get("Address") or "")
    location = (raw.get("Location") or "").strip()
    point = _point(location) if location else place(address)
    if point is None:
        if location:
            return "a Location that is not a point", None
        return "no point and an address the street index cannot place", None
    lat, lon = point
    unit_type = raw.get("Unit Type") or ""
    return "", ReplayRow(
        call=raw["Call Number"],
        unit=unit_id(raw["Unit ID"], unit_type),
        unit_type=unit_type,
        station=raw.get("Station Area") or "",
        call_type=incident_type(raw.get("Call Type") or "OTHER"),
        priority=priority(raw.get("Call Type Group") or "", raw.get("Priority") or ""),
        address=address,
        lat=lat,
        lon=lon,
        disposition=(raw.get("Call Final Disposition") or "").strip() or "Closed",
        received=received,
        entry=times["entry"],
        dispatch=dispatch,
        response=times["response"],
        onscene=times["onscene"],
        transport=times["transport"],
        hospital=times["hospital"],
        available=times["available"],
    )


def _point(text: str) -> tuple[float, float] | None:
    """``(lat, lon)`` of ``"(37.77, -122.41)"``; None if it is not a point."""
    try:
        lat_text, lon_text = text.strip("()").split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return lat, lon


# --- planning -------------------------------------------------------------------------------


def _key(*parts: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, ":".join(parts)))


def call_ids(number: str) -> tuple[str, str]:
    """The call id and incident id the replay gives SFFD call ``number`` (stable: UUIDv5)."""
    return _key("call", number), _key("incident", number)


@dataclass(frozen=True, slots=True)
class _Timed:
    """A planned command: its file time, planning order (ties keep it), key, and the incident
    it is about (a unit's status: the incident the row is on)."""

    at: float
    order: int
    command: CommandArgs
    key: str
    incident: str


class _Plan:
    def __init__(self) -> None:
        self.timed: list[_Timed] = []

    def at(self, t: float, incident: str, command: CommandArgs, *key: str) -> None:
        self.timed.append(_Timed(t, len(self.timed), command, _key(*key), incident))


def plan_day(rows: Iterable[ReplayRow], summary: ReplaySummary) -> list[Step]:
    """Every step of the replay of ``rows``, in time order (module docstring): the roster
    first, then the floor's commands grouped by time; ``summary`` counts what the plan
    leaves out."""
    by_call: dict[str, list[ReplayRow]] = {}
    for row in rows:
        by_call.setdefault(row.call, []).append(row)
        summary.rows += 1
    summary.calls = len(by_call)
    plan = _Plan()
    for number, call_rows in sorted(by_call.items(), key=lambda kv: kv[1][0].received):
        _plan_call(number, call_rows, plan, summary)
    timed = _reassigned(sorted(plan.timed, key=lambda t: (t.at, t.order)), summary)
    steps: list[Step] = []
    roster = _roster(by_call.values())
    if roster and timed:
        keys = tuple(_key("unit", add.unit_id) for add in roster)
        steps.append(Step(timed[0].at, tuple(roster), keys))
    for t, group in _grouped(timed):
        steps.append(Step(t, tuple(g.command for g in group), tuple(g.key for g in group)))
    if timed:
        summary.first, summary.last = timed[0].at, timed[-1].at
    return steps


def _plan_call(number: str, rows: list[ReplayRow], plan: _Plan, summary: ReplaySummary) -> None:
    first = rows[0]
    call_id, incident_id = call_ids(number)
    received = min(r.received for r in rows)
    entry = max(received, min((r.entry for r in rows if r.entry is not None), default=received))
    plan.at(
        received, incident_id, CallOffer(call_id=call_id, source="SFFD replay"), number, "offer"
    )
    plan.at(received, incident_id, CallAnswer(call_id=call_id), number, "answer")
    location = LocationArgs(address=first.address, lat=first.lat, lon=first.lon, verified=True)
    create = IncidentCreate(
        incident_id=incident_id, type=first.call_type, priority=first.priority, location=location
    )
    plan.at(entry, incident_id, create, number, "create")
    plan.at(entry, incident_id, CallLink(call_id=call_id, incident_id=incident_id), number, "link")
    plan.at(entry, incident_id, CallRelease(call_id=call_id), number, "release")
    cleared: list[float] = []
    for row in sorted(rows, key=lambda r: r.dispatch):
        dispatch = max(row.dispatch, entry)
        send = UnitDispatch(incident_id=incident_id, unit_ids=[row.unit])
        plan.at(dispatch, incident_id, send, number, row.unit, "DP")
        last, current = dispatch, UnitStatus.DP
        for status, column in _STATUS_COLUMNS:
            moment = getattr(row, column)
            if moment is None:
                continue
            if moment < last or status not in ALLOWED_TRANSITIONS[current]:
                summary.out_of_order += 1  # timed before the last, or not reachable from it
                continue
            change = UnitSetStatus(unit_id=row.unit, status=status)
            plan.at(moment, incident_id, change, number, row.unit, status)
            last, current = moment, status
        if row.available is not None and last == row.available:
            cleared.append(row.available)
    if len(cleared) == len(rows):
        close = IncidentClose(incident_id=incident_id, disposition=first.disposition[:200])
        plan.at(max(cleared), incident_id, close, number, "close")


def _reassigned(timed: list[_Timed], summary: ReplaySummary) -> list[_Timed]:
    """``timed`` (in time order) with every unit dispatched while still committed released
    first, and the earlier call's later statuses for it dropped (module docstring)."""
    on: dict[str, str] = {}  # unit -> the incident it is committed to
    kept: list[_Timed] = []
    for item in timed:
        command = item.command
        if isinstance(command, UnitDispatch):
            unit = command.unit_ids[0]
            if on.get(unit, item.incident) != item.incident:
                summary.reassigned += 1
                release = UnitSetStatus(unit_id=unit, status=UnitStatus.AV, reason="reassigned")
                kept.append(_Timed(item.at, item.order, release, _key("free", item.key), on[unit]))
            on[unit] = item.incident
        elif isinstance(command, UnitSetStatus):
            if on.get(command.unit_id) != item.incident:
                summary.out_of_order += 1  # the unit has gone to another call
                continue
            if command.status is UnitStatus.AV:
                del on[command.unit_id]
        kept.append(item)
    return kept


def _roster(calls: Iterable[list[ReplayRow]]) -> list[UnitAdd]:
    seen: dict[str, ReplayRow] = {}
    for rows in calls:
        for row in rows:
            seen.setdefault(row.unit, row)
    return [
        UnitAdd(
            unit_id=unit,
            type=unit_type_code(row.unit_type),
            station=row.station,
            status=UnitStatus.AQ,
        )
        for unit, row in sorted(seen.items())
    ]


def _grouped(timed: list[_Timed]) -> Iterator[tuple[float, list[_Timed]]]:
    group: list[_Timed] = []
    for item in timed:
        if group and item.at != group[0].at:
            yield group[0].at, group
            group = []
        group.append(item)
    if group:
        yield group[0].at, group


# --- sending --------------------------------------------------------------------------------


async def replay(
    client: AdminClient,
    steps: list[Step],
    summary: ReplaySummary,
    *,
    speed: float = 0.0,
    on_step: Callable[[Step], None] | None = None,
) -> ReplaySummary:
    """Send ``steps`` through ``client``, paced by ``speed`` (module docstring); refusals are
    counted by their code, never fatal (the floor goes on)."""
    start = time.monotonic()
    first = steps[0].at if steps else 0.0
    roster = set(client.units)
    for step in steps:
        if speed > 0:
            delay = start + (step.at - first) / speed - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        commands, keys = list(step.commands), list(step.keys)
        if commands and isinstance(commands[0], UnitAdd):  # the roster: only the units missing
            pairs = [
                (c, k)
                for c, k in zip(commands, keys, strict=True)
                if not (isinstance(c, UnitAdd) and c.unit_id in roster)
            ]
            commands, keys = [c for c, _ in pairs], [k for _, k in pairs]
            if not commands:
                continue
        results = await client.submit(commands, issued_at=step.at, keys=keys)
        summary.sent += len(results)
        for result in results:
            if not result.ok and result.error is not None:
                summary.refused[result.error.code] += 1
        if on_step is not None:
            on_step(step)
    return summary
