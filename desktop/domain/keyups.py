"""Radio key-ups (PTT ids): the rules a reported key-up must meet, which of two is the newer,
and which unit a radio id names.

Key-ups are a latest-value stream beside the event log (DESIGN.md §1.9), like AVL positions:
no ``seq``, never replayed, never worded into a timeline. The radio gateway reports them in
``keyup`` frames; the server keeps the newest per channel (`server.keyups`) and fans them out in
``keyups`` frames; the workstation keeps the newest per channel
(`desktop.state.ClientState.apply_keyups`). docs/protocol.md, "Radio key-ups", describes the
frames; this module is the one home of their rules.

- A key-up is *valid* when its ``channel`` is 1-`CHANNEL_MAX` characters, its ``radio_id`` a
  radio id (`desktop.domain.units.check_radio_id`, not empty), and ``at`` a time at most
  `FUTURE_TOLERANCE_S` ahead of the receiver's clock. A radio id the roster does not bind is
  valid (a mutual-aid radio, a portable): it is shown by its id.
- Order is by ``at`` per channel: a key-up replaces the one held only when strictly newer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from desktop.domain.kinds import DomainError
from desktop.domain.positions import FUTURE_TOLERANCE_S
from desktop.domain.radio import CHANNEL_MAX
from desktop.domain.units import check_radio_id
from desktop.domain.world import World
from desktop.protocol.messages import KeyUp

__all__ = ["CHANNEL_MAX", "FUTURE_TOLERANCE_S", "is_newer_keyup", "keyup_problem", "radio_ids"]


def keyup_problem(keyup: KeyUp, now: float) -> str | None:
    """Why ``keyup`` is refused, received at ``now``; None when it is valid (module
    docstring). The reason names the channel by at most 32 characters."""
    name = keyup.channel[:32]
    if not keyup.channel.strip() or len(keyup.channel) > CHANNEL_MAX:
        return f"channel {name!r}: a channel is 1-{CHANNEL_MAX} characters"
    if not keyup.radio_id:
        return f"{name}: no radio id"
    try:
        check_radio_id(keyup.radio_id)
    except DomainError as exc:
        return f"{name}: {exc.message}"
    if not (math.isfinite(keyup.at) and keyup.at >= 0.0):
        return f"{name}: time {keyup.at!r} is not a time"
    if keyup.at > now + FUTURE_TOLERANCE_S:
        return f"{name}: time {keyup.at - now:.0f} s in the future"
    return None


def is_newer_keyup(at: float, held: KeyUp | None) -> bool:
    """Whether a key-up at ``at`` replaces ``held`` (None: nothing held yet)."""
    return held is None or at > held.at


def radio_ids(world: World) -> Mapping[str, str]:
    """Each bound radio id's unit id (the PTT-id mapping; no two units share a radio)."""
    return {unit.radio_id: unit.id for unit in world.units.values() if unit.radio_id}
