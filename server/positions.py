"""AVL positions on the server: `PositionBook` (the newest fix of each unit, and a short history)
and `PositionFeed` (takes reports, fans positions out, writes the newest to the store).

Positions are a latest-value stream beside the event log (DESIGN.md §1.9; docs/protocol.md,
"Positions (AVL)"): no seq, no event, no idempotency row, never replayed.

- **Reports.** `PositionFeed.report` checks each fix of a ``position`` frame with
  `desktop.domain.positions.fix_problem` against the roster (the processor's world) and the
  server's clock: a valid fix goes into the book, an invalid one is dropped and counted
  (`PositionFeed.refused`); the caller answers the sender with one ``invalid_position`` error
  per frame that had any.
- **The book.** A fix newer (``at``) than the unit's newest becomes its newest; an older one
  only joins the unit's history, which keeps the `DEFAULT_HISTORY` newest fixes by time (a fix
  with the ``at`` of one already held is a repeat and is ignored). History is in memory only.
- **Fan-out.** Every ``interval`` seconds (`DEFAULT_INTERVAL`) the units whose newest fix
  changed since the last round go to every signed-in connection in ``positions`` frames (one
  fix per unit, at most `server.frames.POSITIONS_PER_FRAME` per frame), encoded once for all.
- **Catch-up.** `catch_up_frames` holds every unit's newest fix; the server queues it right
  after a connection's resync (nothing when the book is empty).
- **Persistence.** The newest fixes that changed are written to the store (`Store.save_positions`,
  one transaction) at most every ``save_interval`` seconds (`DEFAULT_SAVE_INTERVAL`) and when the
  feed stops; a failed write is tried again with the next one. `PositionBook.load` takes them
  back at start, so a restarted server still has every unit's last known position.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
from collections.abc import Callable, Container, Iterable, Sequence

from desktop.domain.positions import fix_problem, is_newer
from desktop.protocol.messages import PositionFix
from server.frames import positions_frames
from server.store.base import StorageUnavailable, Store

__all__ = [
    "DEFAULT_HISTORY",
    "DEFAULT_INTERVAL",
    "DEFAULT_SAVE_INTERVAL",
    "PositionBook",
    "PositionFeed",
    "Refusal",
]

log = logging.getLogger(__name__)

#: Fixes kept per unit in its history (the newest by time).
DEFAULT_HISTORY = 120
#: Seconds between two fan-outs of the changed positions.
DEFAULT_INTERVAL = 0.2
#: Most seconds between two writes of the newest positions to the store.
DEFAULT_SAVE_INTERVAL = 2.0


def _at(fix: PositionFix) -> float:
    return fix.at


class PositionBook:
    """The newest fix of every unit and its bounded history; what changed since the last
    fan-out and what is not yet in the store. Not thread-safe: use it from the event loop."""

    def __init__(self, history: int = DEFAULT_HISTORY) -> None:
        if history < 1:
            raise ValueError("history must keep at least one fix")
        self.history_length = history
        self._latest: dict[str, PositionFix] = {}
        self._history: dict[str, list[PositionFix]] = {}
        self._changed: set[str] = set()
        self._unsaved: set[str] = set()

    def __len__(self) -> int:
        return len(self._latest)

    def load(self, fixes: Iterable[PositionFix]) -> None:
        """Take the newest fixes kept in the store (at start): neither fanned out nor saved."""
        for fix in fixes:
            if is_newer(fix.at, self._latest.get(fix.unit_id)):
                self._latest[fix.unit_id] = fix
                self._history[fix.unit_id] = [fix]

    def add(self, fix: PositionFix) -> bool:
        """Keep a valid fix; True when it became its unit's newest (a repeat changes nothing)."""
        history = self._history.setdefault(fix.unit_id, [])
        index = bisect.bisect_left(history, fix.at, key=_at)
        if index < len(history) and history[index].at == fix.at:
            return False
        history.insert(index, fix)
        if len(history) > self.history_length:
            del history[0]
        if not is_newer(fix.at, self._latest.get(fix.unit_id)):
            return False
        self._latest[fix.unit_id] = fix
        self._changed.add(fix.unit_id)
        self._unsaved.add(fix.unit_id)
        return True

    def latest(self, unit_id: str) -> PositionFix | None:
        return self._latest.get(unit_id)

    def all_latest(self) -> list[PositionFix]:
        """Every unit's newest fix, by unit id."""
        return [self._latest[unit_id] for unit_id in sorted(self._latest)]

    def history(self, unit_id: str) -> list[PositionFix]:
        """The unit's kept fixes, oldest first (at most ``history_length``)."""
        return list(self._history.get(unit_id, ()))

    def take_changed(self) -> list[PositionFix]:
        """The newest fix of each unit that changed since the last call (by unit id)."""
        changed, self._changed = self._changed, set()
        return [self._latest[unit_id] for unit_id in sorted(changed)]

    def take_unsaved(self) -> list[PositionFix]:
        """The newest fix of each unit not written to the store since it changed."""
        unsaved, self._unsaved = self._unsaved, set()
        return [self._latest[unit_id] for unit_id in sorted(unsaved)]

    def give_back_unsaved(self, fixes: Iterable[PositionFix]) -> None:
        """A write of `take_unsaved`'s fixes failed: write those units again next time."""
        self._unsaved.update(fix.unit_id for fix in fixes)


class Refusal:
    """The fixes of one report that were dropped: how many of how many, and the first reason."""

    __slots__ = ("first", "refused", "total")

    def __init__(self, refused: int, total: int, first: str) -> None:
        self.refused = refused
        self.total = total
        self.first = first

    @property
    def message(self) -> str:
        return f"{self.refused} of {self.total} fixes refused: {self.first}"


class PositionFeed:
    """Takes AVL reports into ``book``, fans them out through ``broadcast`` (frames to every
    signed-in connection) and writes them to ``store`` (module docstring). Start `run` in a
    task; `stop` writes what is left."""

    def __init__(
        self,
        store: Store,
        broadcast: Callable[[Sequence[bytes]], None],
        *,
        book: PositionBook | None = None,
        interval: float = DEFAULT_INTERVAL,
        save_interval: float = DEFAULT_SAVE_INTERVAL,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if interval <= 0 or save_interval <= 0:
            raise ValueError("the fan-out and save intervals must be positive")
        self.store = store
        self.book = book or PositionBook()
        self.interval = interval
        self.save_interval = save_interval
        self._broadcast = broadcast
        self._clock = clock
        self._saving = asyncio.Lock()
        self.accepted = 0  # valid fixes taken, since start
        self.refused = 0  # invalid fixes dropped, since start

    def report(self, fixes: Sequence[PositionFix], roster: Container[str]) -> Refusal | None:
        """Check and keep the ``fixes`` of one frame; the refusal to answer it with, if any."""
        now = self._clock()
        refused = 0
        first = ""
        for fix in fixes:
            problem = fix_problem(fix, now, roster)
            if problem is None:
                self.book.add(fix)
                continue
            refused += 1
            first = first or problem
        self.accepted += len(fixes) - refused
        self.refused += refused
        return Refusal(refused, len(fixes), first) if refused else None

    def catch_up_frames(self) -> list[bytes]:
        """Every unit's newest fix, for a connection that has just resynced (none: [])."""
        latest = self.book.all_latest()
        return positions_frames(latest, self._clock()) if latest else []

    def fan_out(self) -> int:
        """Send the positions that changed since the last round; how many units."""
        changed = self.book.take_changed()
        if changed:
            self._broadcast(positions_frames(changed, self._clock()))
        return len(changed)

    async def save(self) -> int:
        """Write the newest positions not yet in the store (one transaction); how many. A
        failure is logged and the same units are written with the next save."""
        async with self._saving:
            fixes = self.book.take_unsaved()
            if not fixes:
                return 0
            try:
                await asyncio.to_thread(self.store.save_positions, fixes)
            except StorageUnavailable as exc:
                self.book.give_back_unsaved(fixes)
                log.warning("%d positions not saved (tried again later): %s", len(fixes), exc)
                return 0
            return len(fixes)

    async def run(self) -> None:
        """Fan out every ``interval`` s and save every ``save_interval`` s, until cancelled. A
        round that fails is logged; the next one runs as usual."""
        saved_at = time.monotonic()
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.fan_out()
                if time.monotonic() - saved_at >= self.save_interval:
                    saved_at = time.monotonic()
                    await self.save()
            except Exception:
                log.exception("position fan-out failed")

    async def stop(self) -> None:
        """The last save (call once `run` has been cancelled)."""
        try:
            await self.save()
        except Exception:  # the store may be gone: the positions are a latest value
            log.exception("positions not saved at stop")
