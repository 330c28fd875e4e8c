"""The Supervisor panel's live floor tiles, without Qt: what each tile says and how it stands
against its target. Pure: computed from the world, the figures of the last 24 hours
(`desktop.domain.floor_figures.FloorLog`, fed with the events this workstation received) and
the time.

Targets (the one home of them; the report's thresholds are in `desktop.domain.floor_figures`):
calls answered within 15 s: 90 %, within 20 s: 95 % (NENA STA-020); processed (answer to first
unit dispatched) within 60 s: 90 % (NFPA 1225); turnout p90 80 s and travel p90 240 s (NFPA
1710, fire; EMS turnout is 60 s). A share is ``ok`` at or above its target, ``warn`` within 5
points below, ``bad`` further; a time is ``ok`` at or under its target, ``warn`` up to 25 %
over, ``bad`` beyond; ``none`` when there is nothing to measure yet.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

from desktop.domain.floor_figures import (
    HOUR_S,
    SHARE_FIGURES,
    FloorFigures,
    FloorLog,
    ShareFigure,
)
from desktop.domain.types import AVAILABLE_STATUSES, CallStatus, IncidentStatus
from desktop.domain.world import World

__all__ = [
    "DAY_S",
    "TIME_TARGETS_S",
    "Hour",
    "Standing",
    "Tile",
    "floor_tiles",
    "hours",
]

#: The window of the compliance tiles: the last 24 hours.
DAY_S = 86400.0
#: 90th-percentile time targets by figure (seconds).
TIME_TARGETS_S: dict[str, float] = {"turnout_p90": 80.0, "travel_p90": 240.0}

Standing = Literal["ok", "warn", "bad", "none"]


@dataclass(frozen=True, slots=True)
class Tile:
    """One tile: its ``key``, ``title``, the big ``value`` text, a ``detail`` line (the target,
    the count behind it) and its ``standing`` against the target."""

    key: str
    title: str
    value: str
    detail: str
    standing: Standing


def _share_tile(share: ShareFigure, figures: FloorFigures) -> Tile:
    key, target, value = share.key, share.target, share.of(figures)
    title = f"{share.verb.capitalize()} ≤ {share.limit_s} s"
    if value is None:
        return Tile(key, title, "—", f"target {target:.0%} · no call yet", "none")
    standing: Standing = "ok" if value >= target else "warn" if value >= target - 0.05 else "bad"
    n = share.samples(figures).n
    return Tile(key, title, f"{value:.0%}", f"target {target:.0%} · {n} calls", standing)


def _time_tile(key: str, title: str, seconds: float | None, n: int) -> Tile:
    target = TIME_TARGETS_S[key]
    if seconds is None:
        return Tile(key, title, "—", f"target {target:.0f} s · none yet", "none")
    standing: Standing = (
        "ok" if seconds <= target else "warn" if seconds <= target * 1.25 else "bad"
    )
    return Tile(key, title, f"{seconds:.0f} s", f"target {target:.0f} s · {n} units", standing)


def floor_tiles(
    world: World, figures: FloorFigures, now: float, *, alarms: int, alerts: int
) -> list[Tile]:
    """Every tile, in the order the panel shows them. ``figures`` are those of the last
    `DAY_S`; ``alarms`` the radio alarms and ``alerts`` the timer alerts unacknowledged."""
    ringing = [c for c in world.calls.values() if c.status is CallStatus.RINGING]
    longest = max((now - c.times.get("received", now) for c in ringing), default=0.0)
    ring_standing: Standing = "ok" if not ringing else "warn" if longest < 15 else "bad"
    active = Counter(
        i.priority for i in world.incidents.values() if i.status is not IncidentStatus.CLOSED
    )
    available = Counter(u.type for u in world.units.values() if u.status in AVAILABLE_STATUSES)
    waiting = f"longest {longest:.0f} s" if ringing else "none waiting"
    return [
        Tile("ringing", "Calls ringing", str(len(ringing)), waiting, ring_standing),
        *(_share_tile(share, figures) for share in SHARE_FIGURES),
        _time_tile("turnout_p90", "Turnout p90", figures.turnout.p90, figures.turnout.n),
        _time_tile("travel_p90", "Travel p90", figures.travel.p90, figures.travel.n),
        Tile(
            "active", "Active incidents", str(sum(active.values())),
            " · ".join(f"P{p} {n}" for p, n in sorted(active.items())) or "none", "none",
        ),
        Tile(
            "available", "Units available", str(sum(available.values())),
            " · ".join(f"{t} {n}" for t, n in sorted(available.items())) or "none", "none",
        ),
        Tile(
            "unacknowledged", "Unacknowledged", str(alarms + alerts),
            f"{alarms} radio alarms · {alerts} timer alerts",
            "bad" if alarms else "warn" if alerts else "ok",
        ),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Hour:
    """One hour of the last 24: when it starts, the calls received in it, and the p90 of their
    processing (None: none processed)."""

    start: float
    calls: int
    processing_p90: float | None


def hours(floor: FloorLog, now: float) -> list[Hour]:
    """The last 24 hours, oldest first, each hour's figures (the charts' points); the last one
    ends at ``now``'s next whole hour."""
    end = (now // HOUR_S + 1) * HOUR_S
    out: list[Hour] = []
    for n in range(24, 0, -1):
        start = end - n * HOUR_S
        figures = floor.figures(start, start + HOUR_S)
        out.append(Hour(start, figures.calls, figures.processing.p90))
    return out
