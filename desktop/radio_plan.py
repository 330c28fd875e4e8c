"""The centre's radio plan: its channels (talkgroups), how emergency alarms escalate, the timed
marks and PARs per incident type, and the status phrases the radio log recognises.

Read from ``resources/radio.json`` (format in ``resources/README.md``) and checked at start-up
with the other rule files (`desktop.centre.load_centre_rules`): a broken file stops the
workstation with one message naming the file and the field. Qt-free and pure.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Literal

import msgspec

from desktop.domain.radio import CHANNEL_MAX
from desktop.domain.types import UnitStatus
from desktop.resources import resource_path

__all__ = [
    "AlarmRules",
    "Channel",
    "MarkRule",
    "RadioPlan",
    "RadioPlanError",
    "load_radio_plan",
]


class RadioPlanError(ValueError):
    """The radio plan is missing, not JSON, or breaks a rule (the message says where)."""


ChannelUse = Literal["dispatch", "tactical", "command", "other"]


class Channel(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One channel or talkgroup: ``name`` as the console and the radio log call it (upper
    case, 1-`CHANNEL_MAX` characters), its ``use``, and whether this position
    monitors it (``selected``) when it starts."""

    name: str
    use: ChannelUse = "tactical"
    about: str = ""
    selected: bool = True

    def __post_init__(self) -> None:
        name = self.name
        if not name.strip() or len(name) > CHANNEL_MAX or name != name.upper().strip():
            raise ValueError(
                f"channel {name!r}: 1-{CHANNEL_MAX} characters, upper case, no spaces at the ends"
            )


class AlarmRules(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """An emergency alarm sounds every ``repeat_every_s`` until acknowledged; unacknowledged
    after ``escalate_after_s`` it escalates: to supervisors, louder. A PAR unanswered
    ``par_escalate_after_s`` after it fell due escalates the same way."""

    escalate_after_s: float = 30.0
    repeat_every_s: float = 3.0
    par_escalate_after_s: float = 120.0

    def __post_init__(self) -> None:
        for name in ("escalate_after_s", "repeat_every_s", "par_escalate_after_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds")


class MarkRule(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Timed prompts of a working incident (from its first unit on scene): an elapsed-time
    announcement every ``elapsed_every_s`` and a PAR every ``par_every_s`` (null: none)."""

    elapsed_every_s: float | None = None
    par_every_s: float | None = None

    def __post_init__(self) -> None:
        for name in ("elapsed_every_s", "par_every_s"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 60):
                raise ValueError(f"{name} must be at least 60 seconds, or null")


class RadioPlan(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """The whole plan (module docstring). ``marks`` by incident type code (a run card's
    type); ``status_phrases`` maps a phrase heard on the radio (lower case) to the unit
    status it proposes."""

    version: int = 1
    about: str = ""
    channels: list[Channel]
    alarms: AlarmRules = msgspec.field(default_factory=AlarmRules)
    marks: dict[str, MarkRule] = msgspec.field(default_factory=dict)
    status_phrases: dict[str, UnitStatus] = msgspec.field(default_factory=dict)
    talking_timeout_s: float = 30.0

    def __post_init__(self) -> None:
        names = [channel.name for channel in self.channels]
        if not names:
            raise ValueError("channels: name at least one channel")
        if len(set(names)) != len(names):
            raise ValueError("channels: each channel is named once")
        for phrase in self.status_phrases:
            if phrase != phrase.lower() or not re.fullmatch(r"[a-z0-9][a-z0-9 -]*", phrase):
                raise ValueError(f"status_phrases: {phrase!r} must be lower-case words")
        if not (math.isfinite(self.talking_timeout_s) and self.talking_timeout_s > 0):
            raise ValueError("talking_timeout_s must be a positive number of seconds")

    def channel(self, name: str) -> Channel | None:
        """The channel called ``name`` (any case), or None."""
        wanted = name.strip().upper()
        for channel in self.channels:
            if channel.name == wanted:
                return channel
        return None

    def marks_for(self, incident_type: str) -> MarkRule | None:
        """The timed prompts of incidents of ``incident_type`` (None: none)."""
        wanted = incident_type.upper()
        for name, rule in self.marks.items():
            if name.upper() == wanted:
                return rule
        return None


def load_radio_plan(path: str | Path | None = None) -> RadioPlan:
    """Read a radio plan (default ``resources/radio.json``).

    Raises `RadioPlanError` naming the file and the offending field."""
    source = Path(path) if path is not None else resource_path("radio.json")
    try:
        return msgspec.json.decode(source.read_bytes(), type=RadioPlan)
    except (OSError, msgspec.DecodeError) as exc:  # ValidationError is a DecodeError
        raise RadioPlanError(f"{source}: {exc}") from exc
