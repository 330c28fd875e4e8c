"""`ActivityTracker`: what this position has in front of it, as its ``activity`` reports say
(issue #16; the rules and field names are `desktop.domain.presence`).

The screen tells the tracker what it shows (`observe`: the panel with the keyboard, the call
and incident open, the text of each draft field) and that the dispatcher touched it
(`touched`); `report` sends an `ActivityBody` when something a supervisor would see changed:
the panel, what is open, a draft, or an input newer by `INPUT_EVERY_S` than the one last
said (so idle time is right to within that, without a frame per key). Drafts are cut to
`MAX_DRAFT_CHARS`; an empty field is no draft; only `DRAFT_FIELDS` are reported, at most
`MAX_DRAFTS`. Pure apart from ``send`` and ``clock``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import msgspec

from desktop.domain.presence import DRAFT_FIELDS, MAX_DRAFT_CHARS, MAX_DRAFTS
from desktop.protocol.messages import ActivityBody

__all__ = ["INPUT_EVERY_S", "ActivityTracker"]

#: How stale the reported last input may get while the dispatcher keeps working (s).
INPUT_EVERY_S = 5.0


class ActivityTracker:
    """The position's activity, and when to report it (module docstring). ``clock`` is the
    server's clock as the workstation estimates it."""

    def __init__(self, send: Callable[[ActivityBody], None], clock: Callable[[], float]) -> None:
        self._send = send
        self._clock = clock
        self._current = ActivityBody()
        self._sent: ActivityBody | None = None
        self._input_at: float | None = None

    @property
    def current(self) -> ActivityBody:
        return self._current

    def touched(self) -> None:
        """The dispatcher pressed a key or clicked, now."""
        self._input_at = self._clock()

    def observe(
        self,
        *,
        panel: str,
        call_id: str | None,
        incident_id: str | None,
        drafts: Mapping[str, str],
    ) -> None:
        """What the screen shows now (drafts by `DRAFT_FIELDS` name)."""
        kept = {
            field: text[:MAX_DRAFT_CHARS]
            for field, text in drafts.items()
            if field in DRAFT_FIELDS and text
        }
        if len(kept) > MAX_DRAFTS:
            kept = dict(list(kept.items())[:MAX_DRAFTS])
        self._current = ActivityBody(
            panel=panel,
            call_id=call_id,
            incident_id=incident_id,
            drafts=kept,
            input_at=self._current.input_at,
        )

    def report(self) -> bool:
        """Send the activity if a supervisor would see a change since the last one sent;
        whether it was sent. A change of view carries the newest input time with it."""
        current, sent, input_at = self._current, self._sent, self._input_at
        if input_at is not None and current.input_at != input_at:
            view_changed = sent is None or not _same_view(current, sent)
            stale = current.input_at is None or input_at - current.input_at >= INPUT_EVERY_S
            if view_changed or stale:
                current = msgspec.structs.replace(current, input_at=input_at)
        if current == sent:
            return False
        self._current = self._sent = current
        self._send(current)
        return True


def _same_view(a: ActivityBody, b: ActivityBody) -> bool:
    """Equal apart from the input time."""
    return (a.panel, a.call_id, a.incident_id, a.drafts) == (
        b.panel,
        b.call_id,
        b.incident_id,
        b.drafts,
    )
