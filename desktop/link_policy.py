"""What the link shows and how it paces itself: `LinkPhase`, `LinkStatus`, `Backoff` (the wait
between connections), `Failover` (which server of the list is tried next, and after which
wait), `server_name` (a server as the banner names it) and `Pacer` (frames kept within the
server's rate limit).

Pure values and arithmetic, no I/O: `desktop.link` uses them (and re-exports the first three,
which is where the rest of the workstation imports them from).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from desktop.protocol.messages import Limits

__all__ = ["Backoff", "Failover", "LinkPhase", "LinkStatus", "Pacer", "server_name"]


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
    #: The URL of the server the link is on (SYNCING, REPLAYING, LIVE), is trying (CONNECTING),
    #: or tried last (OFFLINE); "" before the link has a server.
    server: str = ""
    #: Every server of this workstation, in failover order (one centre's instances).
    servers: tuple[str, ...] = ()


def server_name(url: str) -> str:
    """A server as a dispatcher reads it: ``cad2:8765`` for ``wss://cad2:8765/``, the host alone
    when the URL names no port, the URL itself when it names no host; "" for ""."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    if not parts.hostname:
        return url
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return host if port is None else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with equal jitter: attempt n waits in [d/2, d], d = base * factor**n."""

    base: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        ceiling = min(self.cap, self.base * self.factor**attempt)
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class Failover:
    """Which of ``count`` servers (one centre's instances, in failover order) the link tries
    next, and how long it waits first. Pure arithmetic; `Link` calls `ended` when a connection
    ends and connects to `index`.

    The rule: start on the first server. Whenever a connection ends (refused, failed, timed
    out, lost, or silent for ``dead_after``) move on to the next server, after the last the
    first again, and stay on a server while it works (no going back to the first). The move is
    immediate while some server of the list has not failed since the link was last LIVE or
    last waited: a dead instance costs no backoff. Once every server has failed in a row, wait
    the `Backoff`, one step longer after each such round; a connection that reached LIVE
    starts the count again, its own loss counting as the first failure and the round it begins
    waiting step 0. With one server this is the plain backoff of a single link: step 0 after a
    LIVE connection ends, one step more after each failed try, and step 1 for the first failure
    of a link that has not been LIVE."""

    def __init__(self, count: int, backoff: Backoff) -> None:
        if count < 1:
            raise ValueError("a link needs at least one server")
        self.count = count
        self.backoff = backoff
        self.index = 0  # the server to connect to now
        self._failed = 0  # servers failed in a row since LIVE or the last wait
        self._step = 0  # the backoff step of the last wait (-1: none since LIVE)

    def ended(self, reached_live: bool, rng: random.Random) -> float:
        """A connection to server `index` ended (``reached_live``: it had been LIVE). Moves
        `index` on; returns the seconds to wait before connecting to it (0: at once)."""
        if reached_live:
            self._failed, self._step = 0, -1
        self._failed += 1
        self.index = (self.index + 1) % self.count
        if self._failed < self.count:
            return 0.0
        self._failed = 0
        self._step += 1
        return self.backoff.delay(self._step, rng)

    def restart_count(self) -> None:
        """Forget the failures so far (new credentials were entered: try as if afresh, from the
        server the link is on)."""
        self._failed, self._step = 0, 0


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
