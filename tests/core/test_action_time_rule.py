"""The action-time rule (desktop/domain/action_time.py) on its own."""

from __future__ import annotations

import math

from desktop.domain.action_time import (
    CONTACT_TOLERANCE_S,
    FIRST_CONTACT_HORIZON_S,
    LATE_ENTRY_S,
    bound_action_time,
    corrected_now,
    entered_late,
    timeline_text,
)
from desktop.domain.types import TimelineEntry

NOW = 1_800_000_000.0


def test_kept_when_between_the_contact_and_now() -> None:
    assert bound_action_time(NOW - 120, NOW, NOW - 600) == NOW - 120


def test_never_in_the_future() -> None:
    assert bound_action_time(NOW + 5, NOW, NOW - 600) == NOW


def test_never_long_before_the_last_contact() -> None:
    assert bound_action_time(NOW - 9999, NOW, NOW - 600) == NOW - 600 - CONTACT_TOLERANCE_S
    assert bound_action_time(0.0, NOW, None) == NOW - FIRST_CONTACT_HORIZON_S


def test_a_contact_in_the_future_still_never_dates_after_now() -> None:
    assert bound_action_time(NOW - 10, NOW, NOW + 3600) == NOW


def test_not_a_number_is_now() -> None:
    assert bound_action_time(math.nan, NOW, None) == NOW
    assert bound_action_time(math.inf, NOW, NOW - 5) == NOW


def test_corrected_now_adds_the_offset() -> None:
    assert corrected_now(NOW, 2.5) == NOW + 2.5
    assert corrected_now(NOW, None) == NOW


def test_entered_late() -> None:
    assert not entered_late(NOW, None)
    assert not entered_late(NOW, NOW + LATE_ENTRY_S)
    assert entered_late(NOW, NOW + LATE_ENTRY_S + 0.1)


def test_the_timeline_line_of_an_entry_made_offline_says_so() -> None:
    live = TimelineEntry(at=NOW, actor="ann", kind="incident.created", text="Created")
    late = TimelineEntry(
        at=NOW, actor="ann", kind="incident.created", text="Created", recorded_at=NOW + 60
    )
    assert timeline_text(live) == "Created"
    assert timeline_text(late).startswith("Created  (entered offline · recorded ")
