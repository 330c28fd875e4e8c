"""AVL positions: the rules a reported fix must meet, and which of two fixes is the newer.

Positions are a latest-value stream beside the event log (DESIGN.md §1.9), not events: they
carry no ``seq``, are never replayed and never worded into a timeline. The server keeps each
unit's newest fix and a short history (`server.positions`), the workstation the newest
(`desktop.state.ClientState.apply_positions`). docs/protocol.md, "Positions (AVL)", describes
the frames; this module is the one home of their rules, which the server enforces and a
reporting workstation may check before sending.

- A fix is *valid* when its ``unit_id`` is on the roster, ``lat`` is in [-90, 90] and ``lon``
  in [-180, 180], ``at`` is finite, not negative and at most `FUTURE_TOLERANCE_S` ahead of the
  receiver's clock, ``speed_mps`` (if given) in [0, `MAX_SPEED_MPS`] and ``heading_deg`` (if
  given) in [0, 360). `fix_problem` says what is wrong with one that is not.
- Order is by ``at`` per unit: a fix replaces the one held only when it is strictly newer
  (`is_newer`); an older or equal one never does, whatever order the frames arrive in.
"""

from __future__ import annotations

import math
from collections.abc import Container

from desktop.domain.types import Position
from desktop.protocol.messages import MAX_FIXES_PER_FRAME, PositionFix

__all__ = [
    "FUTURE_TOLERANCE_S",
    "MAX_FIXES_PER_FRAME",
    "MAX_SPEED_MPS",
    "fix_of",
    "fix_problem",
    "is_newer",
    "position_of",
]

#: How far ahead of the receiver's clock a fix's ``at`` may be (clock skew of the gateway).
FUTURE_TOLERANCE_S = 10.0
#: Fastest speed a fix may report, m/s (540 km/h: a helicopter, not a data error).
MAX_SPEED_MPS = 150.0


def fix_problem(fix: PositionFix, now: float, roster: Container[str]) -> str | None:
    """Why ``fix`` is refused, received at ``now`` with ``roster`` the unit ids known; None when
    it is valid (module docstring). The reason names the unit by at most 32 characters."""
    name = fix.unit_id[:32]
    if fix.unit_id not in roster:
        return f"{name!r} is not on the roster"
    if not (math.isfinite(fix.lat) and -90.0 <= fix.lat <= 90.0):
        return f"{name}: latitude {fix.lat!r} out of range"
    if not (math.isfinite(fix.lon) and -180.0 <= fix.lon <= 180.0):
        return f"{name}: longitude {fix.lon!r} out of range"
    if not (math.isfinite(fix.at) and fix.at >= 0.0):
        return f"{name}: time {fix.at!r} is not a time"
    if fix.at > now + FUTURE_TOLERANCE_S:
        return f"{name}: time {fix.at - now:.0f} s in the future"
    speed = fix.speed_mps
    if speed is not None and not (math.isfinite(speed) and 0.0 <= speed <= MAX_SPEED_MPS):
        return f"{name}: speed {speed!r} out of range"
    heading = fix.heading_deg
    if heading is not None and not (math.isfinite(heading) and 0.0 <= heading < 360.0):
        return f"{name}: heading {heading!r} out of range"
    return None


def is_newer(at: float, held: Position | PositionFix | None) -> bool:
    """Whether a fix taken at ``at`` replaces ``held`` (None: nothing held yet)."""
    return held is None or at > held.at


def position_of(fix: PositionFix) -> Position:
    """The unit's `Position` a fix gives."""
    return Position(
        lat=fix.lat, lon=fix.lon, at=fix.at, speed_mps=fix.speed_mps, heading_deg=fix.heading_deg
    )


def fix_of(unit_id: str, position: Position) -> PositionFix:
    """The fix that says ``unit_id`` is at ``position``."""
    return PositionFix(
        unit_id=unit_id,
        lat=position.lat,
        lon=position.lon,
        at=position.at,
        speed_mps=position.speed_mps,
        heading_deg=position.heading_deg,
    )
