"""Read the SFFD "Fire Department Calls for Service" CSV (DataSF nuek-vuh3) into typed records.

One CSV row is one unit's response to one call. `read_calls` groups rows by call number and
returns calls in the order they were received, each with its unit responses and their status
times as seconds since the call was received.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

__all__ = [
    "SffdCall",
    "SffdResponse",
    "address_case",
    "incident_type",
    "priority",
    "read_calls",
    "unit_id",
]

_TIME_FORMAT = "%m/%d/%Y %I:%M:%S %p"

#: SFFD call type -> the short incident type code dispatchers type.
_TYPES = {
    "Medical Incident": "MEDICAL",
    "Alarms": "ALARM",
    "Structure Fire": "FIRE-STRUCTURE",
    "Traffic Collision": "TC",
    "Outside Fire": "FIRE-OUTSIDE",
    "Vehicle Fire": "FIRE-VEHICLE",
    "Citizen Assist / Service Call": "ASSIST",
    "Electrical Hazard": "ELECTRICAL",
    "Elevator / Escalator Rescue": "RESCUE-ELEVATOR",
    "Gas Leak (Natural and LP Gases)": "GAS-LEAK",
    "Confined Space / Structure Collapse": "RESCUE-CONFINED",
    "Water Rescue": "RESCUE-WATER",
    "Odor (Strange / Unknown)": "ODOR",
    "Fuel Spill": "HAZMAT-FUEL",
    "Smoke Investigation (Outside)": "SMOKE-INVEST",
}


@dataclass(frozen=True, slots=True)
class SffdResponse:
    """One unit on one call; times are seconds after the call was received (None: never)."""

    unit_id: str
    unit_type: str
    station: str
    dispatched: float
    enroute: float | None
    onscene: float | None
    available: float | None


@dataclass(slots=True)
class SffdCall:
    number: str
    received: datetime
    type: str
    priority: int
    address: str
    lat: float
    lon: float
    station: str
    responses: list[SffdResponse] = field(default_factory=list)


def unit_id(raw: str, unit_type: str) -> str:
    """SFFD unit id as dispatchers say it: numeric medic ids get an ``M`` (``53`` → ``M53``)."""
    return f"M{raw}" if raw.isdigit() and unit_type == "MEDIC" else raw


def incident_type(call_type: str) -> str:
    return _TYPES.get(call_type, "OTHER")


def priority(group: str, sffd_priority: str) -> int:
    """Our 1 (most urgent) .. 5 from SFFD's call type group and priority (3 emergency, 2 not)."""
    emergency = sffd_priority in ("3", "E")
    if group in ("Fire", "Potentially Life-Threatening"):
        return 1 if emergency else 3
    if group == "Alarm":
        return 2 if emergency else 4
    return 3 if emergency else 4


_SMALL_WORDS = frozenset({"of", "and", "at"})


def address_case(text: str) -> str:
    """SFFD capitals as dispatchers write them: ``0 BLOCK OF 11TH AV`` → ``0 Block of 11th Av``."""
    words = []
    for word in text.split(" "):
        lower = word.lower()
        if lower in _SMALL_WORDS:
            words.append(lower)
        elif word[:1].isdigit():
            words.append(lower)  # 11th, 23rd, 0
        else:
            words.append("/".join(part.capitalize() for part in lower.split("/")))
    return " ".join(words)


def _time(text: str) -> datetime | None:
    return datetime.strptime(text, _TIME_FORMAT) if text else None


def _after(moment: datetime | None, start: datetime) -> float | None:
    return None if moment is None else (moment - start).total_seconds()


def read_calls(path: Path) -> list[SffdCall]:
    """Every call in the file, oldest first, with its unit responses in dispatch order."""
    calls: dict[str, SffdCall] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            received = _time(row["Received DtTm"])
            dispatched = _time(row["Dispatch DtTm"])
            if received is None or dispatched is None:
                continue
            number = row["Call Number"]
            call = calls.get(number)
            if call is None:
                lat_text, lon_text = row["Location"].strip("()").split(",")
                call = calls[number] = SffdCall(
                    number=number,
                    received=received,
                    type=incident_type(row["Call Type"]),
                    priority=priority(row["Call Type Group"], row["Priority"]),
                    address=address_case(row["Address"]),
                    lat=float(lat_text),
                    lon=float(lon_text),
                    station=row["Station Area"],
                )
            call.responses.append(
                SffdResponse(
                    unit_id=unit_id(row["Unit ID"], row["Unit Type"]),
                    unit_type=row["Unit Type"],
                    station=row["Station Area"],
                    dispatched=_after(dispatched, received) or 0.0,
                    enroute=_after(_time(row["Response DtTm"]), received),
                    onscene=_after(_time(row["On Scene DtTm"]), received),
                    available=_after(_time(row["Available DtTm"]), received),
                )
            )
    ordered = sorted(calls.values(), key=lambda c: c.received)
    for call in ordered:
        call.responses.sort(key=lambda r: r.dispatched)
    return ordered
