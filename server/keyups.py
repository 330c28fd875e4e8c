"""Radio key-ups on the server: `KeyUpBoard` keeps the newest key-up of each channel and fans
the changed ones out (docs/protocol.md, "Radio key-ups").

Like AVL positions (`server.positions`), key-ups are a latest-value stream beside the event
log: no seq, no event, never replayed, and not stored (a restarted server has heard nothing:
the last transmitter of each channel comes back with the next key-up). Emergency activations
are not key-ups: they are ``radio.emergency`` commands, in the log.

- **Reports.** `KeyUpBoard.report` checks each key-up with
  `desktop.domain.keyups.keyup_problem` against the server's clock; a valid one newer than its
  channel's becomes the channel's; an invalid one is dropped and counted, and the caller
  answers the frame with one ``invalid_frame`` error.
- **Fan-out.** Every ``interval`` seconds the channels that changed go to every signed-in
  connection in one ``keyups`` frame, encoded once.
- **Catch-up.** `catch_up_frames` holds every channel's newest key-up, queued right after a
  connection's resync.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from desktop.domain.keyups import is_newer_keyup, keyup_problem
from desktop.protocol.codec import encode
from desktop.protocol.messages import KeyUp, KeyUps, KeyUpsBody
from server.fanout import fan_out_every, positive_interval

__all__ = ["DEFAULT_KEYUP_INTERVAL", "KeyUpBoard", "keyups_frame"]

#: Seconds between two fan-outs of the channels that changed.
DEFAULT_KEYUP_INTERVAL = 0.1


def keyups_frame(keyups: Sequence[KeyUp], now: float) -> bytes:
    """``keyups`` as one ``keyups`` frame (one per channel: far fewer than a frame holds)."""
    return encode(KeyUps(body=KeyUpsBody(keyups=list(keyups)), ts=now))


class KeyUpBoard:
    """The newest key-up of every channel, and the channels changed since the last fan-out.
    Not thread-safe: use it from the event loop. Start `run` in a task."""

    def __init__(
        self,
        broadcast: Callable[[Sequence[bytes]], None],
        *,
        interval: float = DEFAULT_KEYUP_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.interval = positive_interval(interval)
        self._broadcast = broadcast
        self._clock = clock
        self._latest: dict[str, KeyUp] = {}
        self._changed: set[str] = set()
        self.accepted = 0
        self.refused = 0

    def latest(self, channel: str) -> KeyUp | None:
        return self._latest.get(channel)

    def report(self, keyups: Sequence[KeyUp]) -> str | None:
        """Check and keep the key-ups of one frame; the refusal to answer it with, if any."""
        now = self._clock()
        refused = 0
        first = ""
        for keyup in keyups:
            problem = keyup_problem(keyup, now)
            if problem is not None:
                refused += 1
                first = first or problem
                continue
            if is_newer_keyup(keyup.at, self._latest.get(keyup.channel)):
                self._latest[keyup.channel] = keyup
                self._changed.add(keyup.channel)
        self.accepted += len(keyups) - refused
        self.refused += refused
        return f"{refused} of {len(keyups)} key-ups refused: {first}" if refused else None

    def catch_up_frames(self) -> list[bytes]:
        """Every channel's newest key-up, for a connection that has just resynced."""
        if not self._latest:
            return []
        latest = [self._latest[channel] for channel in sorted(self._latest)]
        return [keyups_frame(latest, self._clock())]

    def fan_out(self) -> int:
        """Send the channels that changed since the last round; how many."""
        if not self._changed:
            return 0
        changed, self._changed = sorted(self._changed), set()
        self._broadcast([keyups_frame([self._latest[c] for c in changed], self._clock())])
        return len(changed)

    async def run(self) -> None:
        """Fan out every ``interval`` s until cancelled (`server.fanout.fan_out_every`)."""
        await fan_out_every(self.interval, self.fan_out, "key-up")
