"""What the link shows and how it paces itself: `LinkPhase`, `LinkStatus`, `Backoff` (the wait
between connections) and `Pacer` (frames kept within the server's rate limit).

Pure values and arithmetic, no I/O: `desktop.link` uses them (and re-exports the first three,
which is where the rest of the workstation imports them from).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from desktop.protocol.messages import Limits

__all__ = ["Backoff", "LinkPhase", "LinkStatus", "Pacer"]


class LinkPhase(StrEnum):
    OFFLINE = "offline"  # no connection; the next try is scheduled
    CONNECTING = "connecting"
    SYNCING = "syncing"  # receiving what happened while away
    REPLAYING = "replaying"  # sending the outbox backlog
    LIVE = "live"
    SIGNED_OUT = "signed_out"  # the server refused every credential we have
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """What the connection banner shows. Times: ``next_retry_at`` monotonic, others wall clock."""

    phase: LinkPhase
    queued: int = 0
    next_retry_at: float | None = None
    sync_done: int = 0
    sync_total: int = 0
    last_confirmed_at: float | None = None
    clock_offset: float | None = None
    rtt: float | None = None
    detail: str = ""
    local_error: str = ""  # the workstation database could not record what arrived
    #: This profile's server has welcomed it at least once (ever, across restarts): until then
    #: its password has never been checked and nothing queued has reached anyone.
    ever_connected: bool = False


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with equal jitter: attempt n waits in [d/2, d], d = base * factor**n."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * self.factor**attempt)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class Pacer:
    """This side's estimate of the server's token bucket for one connection, at ``share`` of
    the advertised ``rate`` (tokens per second) and ``burst``, full at the start. Commands and
    position fixes spend from the same one, as they do on the server (a command one token, a
    ``position`` frame one per fix)."""

    def __init__(self, rate: float, burst: float, now: float, share: float = 0.8) -> None:
        self.rate = max(1e-6, rate * share)
        self.capacity = max(1.0, burst * share)
        self.tokens = self.capacity
        self._stamp = now

    @classmethod
    def within(cls, limits: Limits, now: float) -> Pacer:
        """A pacer below the limits a welcome advertised."""
        return cls(limits.commands_per_second, limits.command_burst, now)

    def available(self, now: float) -> float:
        """Tokens that may be spent at ``now``."""
        self.tokens = min(self.capacity, self.tokens + max(0.0, now - self._stamp) * self.rate)
        self._stamp = now
        return self.tokens

    def wait(self, cost: float, now: float) -> float:
        """Seconds to wait before ``cost`` tokens (at most the capacity) may be spent."""
        missing = min(cost, self.capacity) - self.available(now)
        return max(0.0, missing / self.rate)

    def spend(self, cost: float) -> None:
        self.tokens -= cost
