"""The floor's positions on the server: `PresenceBoard` keeps every signed-in position and its
newest activity, and sends what changed to the positions that watch the floor
(docs/protocol.md, "Positions and shadowing"; the rules are `desktop.domain.presence`).

Presence is a latest-value stream beside the event log: no seq, no event, not stored.

- **Joining.** A connection whose role is a position's (`desktop.domain.roles.is_position`)
  joins once welcomed, by its workstation's ``client_id``. A second connection of the same
  user with the same ``client_id`` takes the position over (the newest connection owns it: a
  workstation that reconnected). One of another user is refused: the position stays as it
  is, the newcomer is not on the floor (a warning is logged) and its activity is not heard,
  so no one can hide another's position from the supervisors by sending its ``client_id``.
  Leaving is by the owner only: an older or refused connection that ends does not take the
  position away.
- **Reports.** `PresenceBoard.report` checks an activity with
  `desktop.domain.presence.activity_problem`; a valid one replaces the position's activity, an
  invalid one is dropped (the caller answers the frame with one ``invalid_frame`` error).
- **Fan-out.** Every ``interval`` seconds the positions that joined or changed, and those that
  left, go in ``presence`` frames to the watchers (`send`), encoded once for all.
- **Catch-up.** `catch_up_frames` lists every position, for a watcher that has just resynced,
  in as many frames as the budget needs, sent back to back: the first is ``full`` (the watcher
  forgets the positions it does not list), the others add to it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

import msgspec

from desktop.domain.presence import activity_problem
from desktop.protocol.codec import encode
from desktop.protocol.messages import (
    ActivityBody,
    PositionPresence,
    Presence,
    PresenceBody,
    Role,
)
from server.fanout import fan_out_every, positive_interval

__all__ = ["DEFAULT_PRESENCE_INTERVAL", "PRESENCE_FRAME_BUDGET", "PresenceBoard"]

log = logging.getLogger(__name__)

#: Seconds between two fan-outs of the positions that changed (typing shows within this).
DEFAULT_PRESENCE_INTERVAL = 0.2
#: About how many bytes of positions one ``presence`` frame carries (frames stay far below the
#: workstation's frame limit: one position's drafts are at most ~72 KB).
PRESENCE_FRAME_BUDGET = 96 * 1024
_POSITION_OVERHEAD = 400  # bytes of one position besides its drafts (a generous estimate)


def _size(position: PositionPresence) -> int:
    drafts = position.activity.drafts
    return _POSITION_OVERHEAD + sum(len(k) + 6 * len(v) for k, v in drafts.items())


def presence_frames(
    positions: Sequence[PositionPresence], gone: Sequence[str], now: float, *, full: bool
) -> list[bytes]:
    """``positions`` and ``gone`` as ``presence`` frames of about `PRESENCE_FRAME_BUDGET` bytes
    each (``gone`` and ``full`` on the first; a full list with no position: one empty frame)."""
    groups: list[list[PositionPresence]] = [[]]
    budget = 0
    for position in positions:
        size = _size(position)
        if groups[-1] and budget + size > PRESENCE_FRAME_BUDGET:
            groups.append([])
            budget = 0
        groups[-1].append(position)
        budget += size
    return [
        encode(
            Presence(
                body=PresenceBody(
                    positions=group,
                    gone=list(gone) if index == 0 else [],
                    full=full and index == 0,
                ),
                ts=now,
            )
        )
        for index, group in enumerate(groups)
    ]


class PresenceBoard:
    """Every signed-in position by ``client_id``, its owner connection and newest activity;
    what changed since the last fan-out. Not thread-safe: use it from the event loop."""

    def __init__(
        self,
        send: Callable[[Sequence[bytes]], None],
        *,
        interval: float = DEFAULT_PRESENCE_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval = positive_interval(interval)
        self._send = send
        self._clock = clock
        self._positions: dict[str, PositionPresence] = {}
        self._owners: dict[str, object] = {}
        self._changed: set[str] = set()
        self._gone: set[str] = set()
        self.refused = 0
        self.takeovers_refused = 0

    def __len__(self) -> int:
        return len(self._positions)

    def get(self, client_id: str) -> PositionPresence | None:
        return self._positions.get(client_id)

    def join(
        self, owner: object, client_id: str, user: str, role: Role, workstation: str, at: float
    ) -> bool:
        """``owner`` (a connection) signed in as a position: it owns ``client_id`` from now,
        unless another user's connection owns it (module docstring). Whether it joined."""
        held = self._positions.get(client_id)
        if held is not None and held.user != user:
            self.takeovers_refused += 1
            log.warning(
                "%r: position %r is %r's: not taken over by %r", owner, client_id, held.user, user
            )
            return False
        self._owners[client_id] = owner
        self._positions[client_id] = PositionPresence(
            client_id=client_id, user=user, role=role, workstation=workstation, signed_in_at=at
        )
        self._changed.add(client_id)
        self._gone.discard(client_id)
        return True

    def report(self, owner: object, client_id: str, activity: ActivityBody) -> str | None:
        """Take the owner's newest ``activity``; the reason it is refused, if it is. A report
        from a connection that no longer owns the position is ignored."""
        problem = activity_problem(activity)
        if problem is not None:
            self.refused += 1
            return problem
        position = self._positions.get(client_id)
        if position is None or self._owners.get(client_id) is not owner:
            return None
        if position.activity != activity:
            self._positions[client_id] = msgspec.structs.replace(position, activity=activity)
            self._changed.add(client_id)
        return None

    def leave(self, owner: object, client_id: str) -> None:
        """``owner``'s connection ended: the position goes, unless another connection owns it."""
        if self._owners.get(client_id) is not owner:
            return
        del self._owners[client_id]
        del self._positions[client_id]
        self._changed.discard(client_id)
        self._gone.add(client_id)

    def catch_up_frames(self) -> list[bytes]:
        """Every position, for a watcher that has just resynced (``full`` on the first frame:
        send them all, in order, with nothing between)."""
        positions = [self._positions[key] for key in sorted(self._positions)]
        return presence_frames(positions, [], self._clock(), full=True)

    def fan_out(self) -> int:
        """Send the positions that changed and those that left since the last round; how many."""
        if not self._changed and not self._gone:
            return 0
        changed, self._changed = sorted(self._changed), set()
        gone, self._gone = sorted(self._gone), set()
        positions = [self._positions[key] for key in changed]
        self._send(presence_frames(positions, gone, self._clock(), full=False))
        return len(changed) + len(gone)

    async def run(self) -> None:
        """Fan out every ``interval`` s until cancelled (`server.fanout.fan_out_every`)."""
        await fan_out_every(self.interval, self.fan_out, "presence")
