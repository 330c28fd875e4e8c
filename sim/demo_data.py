"""The demo city: a unit roster and call templates derived from the SFFD calls-for-service data.

`derive` turns parsed SFFD calls into the two JSON files shipped in ``resources/demo/``;
`load_roster` and `load_calls` read them back at run time (no access to ``../shared`` needed).
Regenerate with ``dispatch-server derive-demo --sffd CSV --out resources/demo``.

The SFFD data names no radios: `demo_radio_id` gives each roster unit a synthetic PTT id, by
its place in the roster, when the demo floor seeds it.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

import msgspec

from desktop.resources import resource_path
from sim.sffd import SffdCall

__all__ = [
    "DEMO_RADIO_ID_BASE",
    "CallTemplate",
    "RosterUnit",
    "UnitResponse",
    "demo_radio_id",
    "derive",
    "load_calls",
    "load_roster",
    "unit_type_code",
]

#: The first synthetic radio (PTT) id of the demo roster (`demo_radio_id`).
DEMO_RADIO_ID_BASE = 710001

#: SFFD unit type -> our unit type code.
_UNIT_TYPES = {
    "ENGINE": "ENGINE",
    "TRUCK": "TRUCK",
    "MEDIC": "MEDIC",
    "PRIVATE": "AMBULANCE",
    "CHIEF": "CHIEF",
    "RESCUE CAPTAIN": "RESCUE-CAPTAIN",
    "RESCUE SQUAD": "RESCUE-SQUAD",
    "SUPPORT": "SUPPORT",
    "AIRPORT": "AIRPORT",
    "INVESTIGATION": "INVESTIGATION",
}


def unit_type_code(sffd_unit_type: str) -> str:
    """Our unit type code for an SFFD ``Unit Type`` (``PRIVATE`` -> ``AMBULANCE``...)."""
    return _UNIT_TYPES.get(sffd_unit_type, sffd_unit_type)


class RosterUnit(msgspec.Struct, frozen=True):
    """A unit of the demo roster; ``lat``/``lon`` is a home position (see PROVENANCE.md)."""

    id: str
    type: str
    station: str
    lat: float
    lon: float


class UnitResponse(msgspec.Struct, frozen=True, array_like=True):
    """One unit on a call: seconds after the call was received (None: never reached)."""

    unit_id: str
    dispatched: float
    enroute: float | None
    onscene: float | None
    available: float | None


class CallTemplate(msgspec.Struct, frozen=True):
    """A real call, with its location and how its units responded, for simulators to replay."""

    number: str
    received: str  # ISO local time
    type: str
    priority: int
    address: str
    lat: float
    lon: float
    responses: list[UnitResponse]


def derive(calls: list[SffdCall]) -> tuple[list[RosterUnit], list[CallTemplate]]:
    """Roster (each unit's home = median location of the calls it answered) and templates."""
    seen: dict[str, tuple[str, str]] = {}
    places: dict[str, list[tuple[float, float]]] = defaultdict(list)
    templates = []
    for call in calls:
        for response in call.responses:
            seen.setdefault(response.unit_id, (response.unit_type, response.station))
            places[response.unit_id].append((call.lat, call.lon))
        templates.append(
            CallTemplate(
                number=call.number,
                received=call.received.isoformat(),
                type=call.type,
                priority=call.priority,
                address=call.address,
                lat=round(call.lat, 6),
                lon=round(call.lon, 6),
                responses=[
                    UnitResponse(r.unit_id, r.dispatched, r.enroute, r.onscene, r.available)
                    for r in call.responses
                ],
            )
        )
    roster = [
        RosterUnit(
            id=unit_id,
            type=unit_type_code(unit_type),
            station=station,
            lat=round(statistics.median(p[0] for p in places[unit_id]), 6),
            lon=round(statistics.median(p[1] for p in places[unit_id]), 6),
        )
        for unit_id, (unit_type, station) in sorted(seen.items())
    ]
    return roster, templates


def demo_radio_id(index: int) -> str:
    """The radio id of the ``index``-th unit (from 0) of the demo roster, in roster order:
    ``710001``, ``710002``, ... Synthetic: the SFFD data has no radio ids; numeric like the
    PTT ids a console reports, and never two alike."""
    if index < 0:
        raise ValueError("a roster index is not negative")
    return str(DEMO_RADIO_ID_BASE + index)


def write(out_dir: Path, roster: list[RosterUnit], calls: list[CallTemplate]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "roster.json").write_bytes(msgspec.json.format(msgspec.json.encode(roster)))
    (out_dir / "calls.json").write_bytes(msgspec.json.encode(calls))
    summary = {"units": len(roster), "calls": len(calls)}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")


def load_roster(path: Path | None = None) -> list[RosterUnit]:
    data = (path or resource_path("demo", "roster.json")).read_bytes()
    return msgspec.json.decode(data, type=list[RosterUnit])


def load_calls(path: Path | None = None) -> list[CallTemplate]:
    data = (path or resource_path("demo", "calls.json")).read_bytes()
    return msgspec.json.decode(data, type=list[CallTemplate])
