"""Action time: when the dispatcher acted, as the record keeps it (DESIGN.md §1.8).

Every event carries two times: ``at``, when the server applied it, and ``acted_at``, when the
dispatcher acted. The workstation stamps each command with ``issued_at``, its wall clock
corrected by its measured clock offset to the server (`corrected_now`), so a command queued
offline keeps the time it was made, not the time it reached the server. The server does not take
that time on trust: `bound_action_time` keeps it within what the server can vouch for. The record,
the timers and every interval use the action time; an entry recorded more than `LATE_ENTRY_S`
after it was made is marked as entered offline (`entered_late`, `late_entry_words`).

docs/protocol.md ("Action time") states the same rule for other implementations.
"""

from __future__ import annotations

import math
import time

from desktop.domain.types import TimelineEntry

__all__ = [
    "CONTACT_TOLERANCE_S",
    "FIRST_CONTACT_HORIZON_S",
    "LATE_ENTRY_S",
    "bound_action_time",
    "corrected_now",
    "entered_late",
    "late_entry_words",
    "timeline_text",
]

#: How far before the workstation's last confirmed contact an action may still be dated. A
#: command made just before a connection died may reach the server only on the next session;
#: the offset estimate and the server noticing the silence late are covered too.
CONTACT_TOLERANCE_S = 60.0
#: A workstation the server has never heard from may date its queued work at most this far back
#: (one long shift), since there is no contact to bound it by.
FIRST_CONTACT_HORIZON_S = 12 * 3600.0
#: An event recorded more than this after its action time was entered while the workstation could
#: not reach the server: its timeline entry says so, with when it was recorded.
LATE_ENTRY_S = 10.0


def corrected_now(wall_clock: float, clock_offset: float | None) -> float:
    """The server's clock as the workstation estimates it: its own ``wall_clock`` plus the
    measured ``clock_offset`` (``server_time - (t + rtt / 2)`` from pongs; None: not measured
    yet, taken as 0)."""
    return wall_clock + (clock_offset or 0.0)


def bound_action_time(issued_at: float, now: float, last_contact: float | None) -> float:
    """The action time the server records for a command stamped ``issued_at`` and applied at
    ``now``, from a workstation last heard from at ``last_contact`` (None: never).

    Never in the future (at most ``now``); never earlier than ``last_contact -
    CONTACT_TOLERANCE_S``, or than ``now - FIRST_CONTACT_HORIZON_S`` for a workstation never
    heard from; a stamp that is not a finite number is taken as ``now``.
    """
    if not math.isfinite(issued_at):
        return now
    if last_contact is None:
        earliest = now - FIRST_CONTACT_HORIZON_S
    else:
        earliest = min(now, last_contact - CONTACT_TOLERANCE_S)
    return min(now, max(issued_at, earliest))


def entered_late(acted_at: float, recorded_at: float | None) -> bool:
    """Whether an event acted at ``acted_at``, recorded at ``recorded_at``, was entered offline."""
    return recorded_at is not None and recorded_at - acted_at > LATE_ENTRY_S


def late_entry_words(recorded_at: float) -> str:
    """How a timeline marks an entry made offline, e.g. ``"entered offline · recorded 04:41:18"``
    (local time of the workstation)."""
    return f"entered offline · recorded {time.strftime('%H:%M:%S', time.localtime(recorded_at))}"


def timeline_text(entry: TimelineEntry) -> str:
    """A timeline entry's line as shown: its text, and the offline mark if it has one."""
    if entry.recorded_at is None:
        return entry.text
    return f"{entry.text}  ({late_entry_words(entry.recorded_at)})"
