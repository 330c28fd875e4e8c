"""Incident numbers ``F{yy}{mm}-{n:06d}``: one counter per month, kept in the store's ``meta``.

`IncidentNumbers` is an in-memory view of the counters. The command processor works on a `fork`
for each batch; the fork's `changes` go into the batch transaction (meta keys
``incident_counter:{yymm}``) and the fork replaces the parent only if the batch committed, so a
failed batch leaves no gap. The month is taken in the server's local time zone.
"""

from __future__ import annotations

import time

from server.store.base import Store

__all__ = ["IncidentNumbers", "counter_key"]

PREFIX = "F"


def counter_key(yymm: str) -> str:
    """The ``meta`` key of the counter of month ``yymm``."""
    return f"incident_counter:{yymm}"


class IncidentNumbers:
    """Allocates incident numbers; see the module docstring."""

    def __init__(self, store: Store, counters: dict[str, int] | None = None) -> None:
        self._store = store
        self._counters: dict[str, int] = counters if counters is not None else {}
        self._changed: set[str] = set()

    def fork(self) -> IncidentNumbers:
        """A copy whose allocations do not touch this object."""
        return IncidentNumbers(self._store, dict(self._counters))

    def next(self, now: float) -> str:
        """The next number in the month of ``now``."""
        yymm = time.strftime("%y%m", time.localtime(now))
        if yymm not in self._counters:
            stored = self._store.get_meta(counter_key(yymm))
            self._counters[yymm] = int(stored) if stored and stored.isdigit() else 0
        self._counters[yymm] += 1
        self._changed.add(yymm)
        return f"{PREFIX}{yymm}-{self._counters[yymm]:06d}"

    def changes(self) -> dict[str, str]:
        """``meta`` values to write for the numbers allocated since this fork was made."""
        return {counter_key(yymm): str(self._counters[yymm]) for yymm in sorted(self._changed)}

    def adopt(self, fork: IncidentNumbers) -> None:
        """Take over the counters of a fork whose changes were committed."""
        self._counters = dict(fork._counters)
