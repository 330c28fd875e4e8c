"""Premise information: hazard flags at an address, managed by admins and held by every
workstation, so a call-taker sees them offline as soon as the address is verified.

Commands: ``premise.set`` (create or replace a premise's flags) and ``premise.remove``, both
admin only. Events: ``premise.set``, ``premise.removed``. Prior incidents at an address are not
stored here: they are the world's own incidents (`desktop.geo.nearby.prior_incidents`).
"""

from __future__ import annotations

import functools
import math
import re
from typing import TYPE_CHECKING, Any

from desktop.domain.checks import NAME_MAX, REASON_MAX, TEXT_MAX
from desktop.domain.kinds import (
    CommandArgs,
    CommandKind,
    DecisionContext,
    DomainError,
    EventData,
    EventKind,
    no_lines,
)
from desktop.domain.types import Premise
from desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from desktop.domain.world import Touched, World

__all__ = [
    "COMMANDS",
    "EVENTS",
    "MAX_HAZARDS",
    "PremiseRemove",
    "PremiseRemoved",
    "PremiseSet",
    "PremiseUpdated",
    "premise_key",
]

MAX_HAZARDS = 20


@functools.lru_cache(maxsize=8192)
def premise_key(address: str) -> str:
    """The key of the premise at ``address``: upper case, single spaces, no trailing city
    (``"1200 Market St, San Francisco"`` -> ``"1200 MARKET ST"``). The geocoder's matched
    label is already in this form. Cached: the look-ups near a call's address key every open
    incident's address at each change of the board."""
    street = address.split(",")[0]
    return re.sub(r"\s+", " ", street).strip().upper()


class PremiseSet(CommandArgs):
    """Create or replace the premise at ``address`` (its key is `premise_key` of it)."""

    address: str
    hazards: list[str]
    note: str = ""
    lat: float | None = None
    lon: float | None = None


class PremiseRemove(CommandArgs):
    address: str


class PremiseUpdated(EventData):
    premise: Premise


class PremiseRemoved(EventData):
    premise_id: str


def _set(world: World, args: PremiseSet, ctx: DecisionContext) -> list[EventData]:
    key = premise_key(args.address)
    if not key or len(key) > REASON_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"address must be 1-{REASON_MAX} characters")
    hazards = [h.strip() for h in args.hazards if h.strip()]
    if not hazards or len(hazards) > MAX_HAZARDS or any(len(h) > NAME_MAX for h in hazards):
        raise DomainError(
            ErrorCode.INVALID_COMMAND,
            f"give 1-{MAX_HAZARDS} hazards of at most {NAME_MAX} characters each",
        )
    if len(args.note) > TEXT_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"note must be at most {TEXT_MAX} characters")
    if not _valid_point(args.lat, args.lon):
        raise DomainError(ErrorCode.INVALID_COMMAND, "give both lat and lon in range, or neither")
    premise = Premise(
        id=key,
        address=key,
        lat=args.lat,
        lon=args.lon,
        hazards=list(dict.fromkeys(hazards)),
        note=args.note,
        updated_at=ctx.now,
        updated_by=ctx.actor,
    )
    current = world.premises.get(key)
    if current is not None and (current.hazards, current.note, current.lat, current.lon) == (
        premise.hazards,
        premise.note,
        premise.lat,
        premise.lon,
    ):
        raise DomainError(ErrorCode.NO_CHANGE, f"{key} already has these flags")
    return [PremiseUpdated(premise=premise)]


def _valid_point(lat: float | None, lon: float | None) -> bool:
    if lat is None or lon is None:
        return lat is None and lon is None
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def _remove(world: World, args: PremiseRemove, ctx: DecisionContext) -> list[EventData]:
    key = premise_key(args.address)
    if key not in world.premises:
        raise DomainError(ErrorCode.NOT_FOUND, f"no premise information at {key}")
    return [PremiseRemoved(premise_id=key)]


def _set_words(world: World, args: PremiseSet) -> str:
    return f"flag {premise_key(args.address)}: {', '.join(args.hazards)}"


def _remove_words(world: World, args: PremiseRemove) -> str:
    return f"remove the premise flags of {premise_key(args.address)}"


def _updated(world: World, data: PremiseUpdated, at: float) -> Touched:
    world.premises[data.premise.id] = data.premise
    return [("premise", data.premise.id)]


def _removed(world: World, data: PremiseRemoved, at: float) -> Touched:
    if world.premises.pop(data.premise_id, None) is None:
        return []
    return [("premise", data.premise_id)]


COMMANDS: tuple[CommandKind[Any], ...] = (
    CommandKind("premise.set", PremiseSet, "admin", _set, _set_words),
    CommandKind("premise.remove", PremiseRemove, "admin", _remove, _remove_words),
)
EVENTS: tuple[EventKind[Any], ...] = (
    EventKind("premise.set", PremiseUpdated, _updated, no_lines),
    EventKind("premise.removed", PremiseRemoved, _removed, no_lines),
)
