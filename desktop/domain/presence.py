"""Positions on the floor and what each has open (issue #16): the rules of an ``activity``
report, the names of the fields a position types into, and a position's idle time.

Presence is a latest-value stream beside the event log, like AVL positions and key-ups: every
signed-in position (a person's workstation: `is_position`) reports what it has in front of it
in ``activity`` frames (`desktop.protocol.messages.ActivityBody`: the panel with the keyboard,
the call and incident it has open, what it is typing, when it was last touched); the server
keeps the newest of each and sends the floor to the roles that watch it
(`desktop.domain.roles.may_watch_floor`) in ``presence`` frames. Nothing of it is stored:
a restarted server learns the floor again from the next reports (each workstation reports at
once after its resync). docs/protocol.md, "Positions and shadowing", describes the frames.

- An activity is *valid* when it carries at most `MAX_DRAFTS` drafts, each named by at most
  `MAX_FIELD_CHARS` characters and at most `MAX_DRAFT_CHARS` long, its panel name at most
  `MAX_FIELD_CHARS` characters, its ids at most `MAX_ID_CHARS`, and ``input_at`` (if given)
  finite and not negative. `activity_problem` says what is wrong with one that is not.
- `DRAFT_FIELDS` names the fields a workstation reports, with the words a shadowing
  supervisor reads; a field not in it is shown by its name (a newer workstation's).
"""

from __future__ import annotations

import math

from desktop.protocol.messages import MAX_DRAFT_CHARS, MAX_DRAFTS, ActivityBody

__all__ = [
    "DRAFT_FIELDS",
    "MAX_DRAFTS",
    "MAX_DRAFT_CHARS",
    "MAX_FIELD_CHARS",
    "MAX_ID_CHARS",
    "activity_problem",
    "draft_label",
    "idle_s",
]

#: Longest draft field name or panel name.
MAX_FIELD_CHARS = 40
#: Longest call or incident id.
MAX_ID_CHARS = 100

#: The fields a position's typing is reported from, in the order a supervisor reads them, with
#: their words.
DRAFT_FIELDS: dict[str, str] = {
    "command": "Command line",
    "call.address": "Call address",
    "call.type": "Call type",
    "call.caller": "Caller name",
    "incident.note": "Narrative note",
    "incident.address": "Incident address",
    "radio.entry": "Radio log entry",
}


def activity_problem(activity: ActivityBody) -> str | None:
    """Why ``activity`` is refused (module docstring); None when it is valid."""
    if len(activity.drafts) > MAX_DRAFTS:
        return f"{len(activity.drafts)} drafts; at most {MAX_DRAFTS}"
    for field, text in activity.drafts.items():
        if len(field) > MAX_FIELD_CHARS:
            return f"draft name {field[:MAX_FIELD_CHARS]!r}... longer than {MAX_FIELD_CHARS}"
        if len(text) > MAX_DRAFT_CHARS:
            return f"draft {field!r} is {len(text)} characters; at most {MAX_DRAFT_CHARS}"
    if len(activity.panel) > MAX_FIELD_CHARS:
        return f"panel name longer than {MAX_FIELD_CHARS} characters"
    for name, value in (("call", activity.call_id), ("incident", activity.incident_id)):
        if value is not None and len(value) > MAX_ID_CHARS:
            return f"{name} id longer than {MAX_ID_CHARS} characters"
    at = activity.input_at
    if at is not None and not (math.isfinite(at) and at >= 0.0):
        return f"input time {at!r} is not a time"
    return None


def draft_label(field: str) -> str:
    """The words for the draft ``field`` (its name when it is not one of `DRAFT_FIELDS`)."""
    return DRAFT_FIELDS.get(field, field)


def idle_s(activity: ActivityBody, signed_in_at: float, now: float) -> float:
    """Seconds since the position was last touched (since it signed in, when it has not
    said); never negative."""
    since = activity.input_at if activity.input_at is not None else signed_in_at
    return max(0.0, now - since)
