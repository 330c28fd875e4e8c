"""The radio aggregate: emergency alarms, channels assigned to incidents, the radio log, and the
answers to timed radio prompts (elapsed-time marks, PAR).

Commands and events, each one record in ``COMMANDS`` or ``EVENTS`` (`desktop.domain.kinds`):

- ``radio.emergency`` (the radio gateway, role ``radio``) → ``radio.emergency_raised``: a radio's
  emergency button. Never refused for want of a unit: a radio on no unit still raises an alarm,
  worded by its radio id. The alarm records the unit the radio is bound to, that unit's incident
  and its last AVL position, as they were when the alarm was decided.
- ``radio.acknowledge`` → ``radio.alarm_acknowledged``: once per alarm; the second position to
  acknowledge is told who did (``no_change``), so both agree it was seen.
- ``radio.clear`` → ``radio.alarm_cleared``: the alarm leaves the active queue, with a reason and
  whether the activation was false; clearing an alarm nobody acknowledged acknowledges it too.
- ``radio.assign_channel`` → ``radio.channel_assigned``: the incident's channel ("" frees it).
- ``radio.log`` → ``radio.logged``: a line of radio traffic, into the radio log and, when it is
  about an incident (given, or the unit's), into that incident's narrative.
- ``radio.mark`` → ``radio.marked``: a timed prompt (`desktop.radio_clock`) answered, on the
  incident: its kind, when it fell due, who answered and what.

Derived facts live here once: `active_alarms` (the queue, by priority), `alarm_subject` (how an
alarm names its radio and unit), `channel_incidents` and `unit_channel`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from desktop.domain.checks import REASON_MAX, check_text, find_incident, open_incident
from desktop.domain.kinds import (
    CommandArgs,
    CommandKind,
    DecisionContext,
    DomainError,
    EventData,
    EventKind,
    Lines,
)
from desktop.domain.types import (
    Incident,
    NarrativeEntry,
    Position,
    RadioAlarm,
    RadioEntry,
    RadioMark,
    RadioMarkKind,
)
from desktop.domain.units import check_radio_id, radio_holder
from desktop.domain.wording import incident_label
from desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from desktop.domain.world import Touched, World

__all__ = [
    "CHANNEL_MAX",
    "COMMANDS",
    "EVENTS",
    "RADIO_ENTRY_MAX",
    "RadioAcknowledge",
    "RadioAlarmAcknowledged",
    "RadioAlarmCleared",
    "RadioAssignChannel",
    "RadioChannelAssigned",
    "RadioClear",
    "RadioEmergency",
    "RadioEmergencyRaised",
    "RadioLog",
    "RadioLogged",
    "RadioMarkAnswer",
    "RadioMarked",
    "active_alarms",
    "alarm_subject",
    "channel_incidents",
    "radio_narrative",
    "unit_channel",
]

#: Longest channel (talkgroup) name.
CHANNEL_MAX = 32
#: Longest line of radio traffic.
RADIO_ENTRY_MAX = 500
_ID_MAX = 64


# --- commands and events --------------------------------------------------------------------


class RadioEmergency(CommandArgs):
    """The radio gateway reports that radio ``radio_id`` pressed its emergency button on
    ``channel`` at ``activated_at`` (None: when the server decides it). ``alarm_id`` is the
    gateway's id for this activation (a UUID)."""

    alarm_id: str
    radio_id: str
    channel: str = ""
    activated_at: float | None = None


class RadioEmergencyRaised(EventData):
    alarm: RadioAlarm


class RadioAcknowledge(CommandArgs):
    alarm_id: str


class RadioAlarmAcknowledged(EventData):
    alarm_id: str
    actor: str


class RadioClear(CommandArgs):
    """Clear an alarm: ``reason`` says why (the unit answered, the activation was false);
    ``false_activation`` marks a button pressed by mistake."""

    alarm_id: str
    reason: str
    false_activation: bool = False


class RadioAlarmCleared(EventData):
    alarm_id: str
    actor: str
    reason: str
    false_activation: bool = False
    acknowledged: bool = False  # the clear acknowledged it too (nobody had)


class RadioAssignChannel(CommandArgs):
    """Put incident ``incident_id`` on radio ``channel`` ("" takes it off its channel)."""

    incident_id: str
    channel: str


class RadioChannelAssigned(EventData):
    incident_id: str
    channel: str
    previous: str = ""


class RadioLog(CommandArgs):
    """Log radio traffic: ``text`` heard from ``unit_id`` ("" when not a unit) on ``channel``,
    about ``incident_id`` (None: the unit's incident, if any). ``entry_id`` is a new UUID."""

    entry_id: str
    text: str
    unit_id: str = ""
    channel: str = ""
    incident_id: str | None = None


class RadioLogged(EventData):
    entry: RadioEntry


class RadioMarkAnswer(CommandArgs):
    """The timed prompt of ``kind`` of incident ``incident_id`` that fell due at ``due_at``
    (`desktop.radio_clock.Prompt`) was answered with ``answer``."""

    incident_id: str
    kind: RadioMarkKind
    due_at: float
    answer: str = ""


class RadioMarked(EventData):
    incident_id: str
    mark: RadioMark


# --- rules ----------------------------------------------------------------------------------


def _check_id(field: str, value: str) -> None:
    if not value or len(value) > _ID_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"{field} must be 1-{_ID_MAX} characters")


def _check_channel(channel: str, *, required: bool) -> None:
    if len(channel) > CHANNEL_MAX or (channel and not channel.strip()):
        raise DomainError(
            ErrorCode.INVALID_COMMAND, f"a channel name is at most {CHANNEL_MAX} characters"
        )
    if required and not channel:
        raise DomainError(ErrorCode.INVALID_COMMAND, "a channel must be named")


def _find_alarm(world: World, alarm_id: str) -> RadioAlarm:
    alarm = world.alarms.get(alarm_id)
    if alarm is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no such radio alarm")
    return alarm


def _emergency(world: World, args: RadioEmergency, ctx: DecisionContext) -> list[EventData]:
    _check_id("alarm id", args.alarm_id)
    if not args.radio_id:
        raise DomainError(ErrorCode.INVALID_COMMAND, "a radio id must be given")
    check_radio_id(args.radio_id)
    _check_channel(args.channel, required=False)
    if args.alarm_id in world.alarms:
        raise DomainError(ErrorCode.ALREADY_EXISTS, "this activation is already raised")
    at = args.activated_at
    if at is not None and not (math.isfinite(at) and 0 <= at <= ctx.now + 60):
        raise DomainError(ErrorCode.INVALID_COMMAND, "activated_at must be a time (seconds)")
    for held in world.alarms.values():
        if held.radio_id == args.radio_id and held.cleared_at is None:
            raise DomainError(
                ErrorCode.ALREADY_EXISTS, f"{alarm_subject(held)} is already in emergency"
            )
    unit_id = radio_holder(world, args.radio_id) or ""
    unit = world.units.get(unit_id)
    incident_id = unit.incident_id if unit is not None else None
    position: Position | None = None
    if unit is not None:
        position = ctx.position_of(unit.id) or unit.position
    alarm = RadioAlarm(
        id=args.alarm_id,
        radio_id=args.radio_id,
        channel=args.channel,
        unit_id=unit_id,
        incident_id=incident_id if incident_id in world.incidents else None,
        position=position,
        raised_at=ctx.now if at is None else min(at, ctx.now),
    )
    return [RadioEmergencyRaised(alarm=alarm)]


def _acknowledge(world: World, args: RadioAcknowledge, ctx: DecisionContext) -> list[EventData]:
    alarm = _find_alarm(world, args.alarm_id)
    if alarm.acknowledged_at is not None:
        raise DomainError(
            ErrorCode.NO_CHANGE,
            f"{alarm_subject(alarm)} already acknowledged by {alarm.acknowledged_by}",
        )
    return [RadioAlarmAcknowledged(alarm_id=alarm.id, actor=ctx.actor)]


def _clear(world: World, args: RadioClear, ctx: DecisionContext) -> list[EventData]:
    alarm = _find_alarm(world, args.alarm_id)
    if not args.reason.strip() or len(args.reason) > REASON_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"reason must be 1-{REASON_MAX} characters")
    if alarm.cleared_at is not None:
        raise DomainError(
            ErrorCode.NO_CHANGE, f"{alarm_subject(alarm)} already cleared by {alarm.cleared_by}"
        )
    return [
        RadioAlarmCleared(
            alarm_id=alarm.id,
            actor=ctx.actor,
            reason=args.reason.strip(),
            false_activation=args.false_activation,
            acknowledged=alarm.acknowledged_at is None,
        )
    ]


def _assign(world: World, args: RadioAssignChannel, ctx: DecisionContext) -> list[EventData]:
    incident = open_incident(world, args.incident_id)
    _check_channel(args.channel, required=False)
    if incident.channel == args.channel:
        said = f"already on {args.channel}" if args.channel else "on no channel"
        raise DomainError(ErrorCode.NO_CHANGE, f"{incident_label(incident)} is {said}")
    return [
        RadioChannelAssigned(
            incident_id=incident.id, channel=args.channel, previous=incident.channel
        )
    ]


def _log(world: World, args: RadioLog, ctx: DecisionContext) -> list[EventData]:
    _check_id("entry id", args.entry_id)
    check_text(args.text)
    if len(args.text) > RADIO_ENTRY_MAX:
        raise DomainError(
            ErrorCode.INVALID_COMMAND, f"a radio log line is at most {RADIO_ENTRY_MAX} characters"
        )
    _check_channel(args.channel, required=False)
    if args.entry_id in world.radio_log:
        raise DomainError(ErrorCode.ALREADY_EXISTS, "this radio log line is already logged")
    incident_id = args.incident_id
    if args.unit_id:
        unit = world.units.get(args.unit_id)
        if unit is None:
            raise DomainError(ErrorCode.NOT_FOUND, f"{args.unit_id} is not a unit on the roster")
        if incident_id is None:
            incident_id = unit.incident_id
    if args.incident_id is not None:
        find_incident(world, args.incident_id)
    elif incident_id not in world.incidents:
        incident_id = None
    channel = args.channel
    if not channel and incident_id is not None:
        channel = world.incidents[incident_id].channel
    entry = RadioEntry(
        id=args.entry_id,
        at=ctx.now,
        actor=ctx.actor,
        text=args.text.strip(),
        unit_id=args.unit_id,
        channel=channel,
        incident_id=incident_id,
    )
    return [RadioLogged(entry=entry)]


def _mark(world: World, args: RadioMarkAnswer, ctx: DecisionContext) -> list[EventData]:
    incident = find_incident(world, args.incident_id)
    if not math.isfinite(args.due_at) or args.due_at < 0:
        raise DomainError(ErrorCode.INVALID_COMMAND, "due_at must be a time (seconds)")
    if len(args.answer) > REASON_MAX:
        raise DomainError(
            ErrorCode.INVALID_COMMAND, f"answer must be at most {REASON_MAX} characters"
        )
    for held in incident.radio_marks:
        if held.kind == args.kind and held.due_at == args.due_at:
            raise DomainError(ErrorCode.NO_CHANGE, f"already answered by {held.actor}")
    mark = RadioMark(
        kind=args.kind, due_at=args.due_at, at=ctx.now, actor=ctx.actor, answer=args.answer.strip()
    )
    return [RadioMarked(incident_id=incident.id, mark=mark)]


# --- wording of commands --------------------------------------------------------------------


def _alarm_words(world: World, alarm_id: str) -> str:
    alarm = world.alarms.get(alarm_id)
    return "a radio emergency" if alarm is None else f"the emergency of {alarm_subject(alarm)}"


def _emergency_words(world: World, args: RadioEmergency) -> str:
    unit_id = radio_holder(world, args.radio_id)
    return f"emergency of radio {args.radio_id}" + (f" ({unit_id})" if unit_id else "")


def _acknowledge_words(world: World, args: RadioAcknowledge) -> str:
    return f"acknowledge {_alarm_words(world, args.alarm_id)}"


def _clear_words(world: World, args: RadioClear) -> str:
    return f"clear {_alarm_words(world, args.alarm_id)}: {args.reason}"


def _incident_words(world: World, incident_id: str) -> str:
    incident = world.incidents.get(incident_id)
    return incident_label(incident) if incident is not None else incident_id[:8]


def _assign_words(world: World, args: RadioAssignChannel) -> str:
    where = _incident_words(world, args.incident_id)
    return f"put {where} on {args.channel}" if args.channel else f"take {where} off its channel"


def _log_words(world: World, args: RadioLog) -> str:
    return f"radio log: {args.unit_id + ' ' if args.unit_id else ''}{args.text}"


_MARK_WORDS: dict[str, str] = {"elapsed": "elapsed-time mark", "par": "PAR"}


def _mark_words(world: World, args: RadioMarkAnswer) -> str:
    return f"{_MARK_WORDS[args.kind]} of {_incident_words(world, args.incident_id)}"


# --- effects and timeline wording -----------------------------------------------------------


def _raised(world: World, data: RadioEmergencyRaised, at: float) -> Touched:
    world.alarms[data.alarm.id] = data.alarm
    return [("alarm", data.alarm.id)]


def _raised_lines(world: World, data: RadioEmergencyRaised) -> Lines:
    alarm = data.alarm
    if alarm.incident_id is None:
        return []
    return [(alarm.incident_id, f"RADIO EMERGENCY: {alarm_subject(alarm)}")]


def _acknowledged(world: World, data: RadioAlarmAcknowledged, at: float) -> Touched:
    alarm = world.alarms.get(data.alarm_id)
    if alarm is None:
        return []
    world.alarms[alarm.id] = replace(alarm, acknowledged_at=at, acknowledged_by=data.actor)
    return [("alarm", alarm.id)]


def _acknowledged_lines(world: World, data: RadioAlarmAcknowledged) -> Lines:
    alarm = world.alarms.get(data.alarm_id)
    if alarm is None or alarm.incident_id is None:
        return []
    return [(alarm.incident_id, f"Radio emergency acknowledged: {alarm_subject(alarm)}")]


def _cleared(world: World, data: RadioAlarmCleared, at: float) -> Touched:
    alarm = world.alarms.get(data.alarm_id)
    if alarm is None:
        return []
    if data.acknowledged:
        alarm = replace(alarm, acknowledged_at=at, acknowledged_by=data.actor)
    world.alarms[alarm.id] = replace(
        alarm,
        cleared_at=at,
        cleared_by=data.actor,
        clear_reason=data.reason,
        false_activation=data.false_activation,
    )
    return [("alarm", alarm.id)]


def _cleared_lines(world: World, data: RadioAlarmCleared) -> Lines:
    alarm = world.alarms.get(data.alarm_id)
    if alarm is None or alarm.incident_id is None:
        return []
    what = "false activation" if data.false_activation else "cleared"
    return [(alarm.incident_id, f"Radio emergency {what}: {alarm_subject(alarm)} — {data.reason}")]


def _assigned(world: World, data: RadioChannelAssigned, at: float) -> Touched:
    incident = world.incidents.get(data.incident_id)
    if incident is None:
        return []
    world.incidents[incident.id] = replace(incident, channel=data.channel)
    return [("incident", incident.id)]


def _assigned_lines(world: World, data: RadioChannelAssigned) -> Lines:
    if not data.channel:
        return [(data.incident_id, f"Radio channel {data.previous} released")]
    was = f" (was {data.previous})" if data.previous else ""
    return [(data.incident_id, f"Radio channel {data.channel}{was}")]


def _logged(world: World, data: RadioLogged, at: float) -> Touched:
    entry = data.entry
    world.radio_log[entry.id] = entry
    touched: Touched = [("radio_entry", entry.id)]
    incident = world.incidents.get(entry.incident_id) if entry.incident_id else None
    if incident is not None:
        line = NarrativeEntry(at=entry.at, author=entry.actor, text=radio_narrative(entry))
        world.incidents[incident.id] = replace(incident, narrative=[*incident.narrative, line])
        touched.append(("incident", incident.id))
    return touched


def radio_narrative(entry: RadioEntry) -> str:
    """How a radio log line reads in an incident's narrative: ``Radio E12: on scene``."""
    speaker = f" {entry.unit_id}" if entry.unit_id else ""
    return f"Radio{speaker}: {entry.text}"


def _logged_lines(world: World, data: RadioLogged) -> Lines:
    return []  # the narrative holds it, attributed and timed


def _marked(world: World, data: RadioMarked, at: float) -> Touched:
    incident = world.incidents.get(data.incident_id)
    if incident is None:
        return []
    world.incidents[incident.id] = replace(incident, radio_marks=[*incident.radio_marks, data.mark])
    return [("incident", incident.id)]


def _marked_lines(world: World, data: RadioMarked) -> Lines:
    mark = data.mark
    answer = f": {mark.answer}" if mark.answer else ""
    return [(data.incident_id, f"{_MARK_WORDS[mark.kind]} answered{answer}")]


# --- derived facts --------------------------------------------------------------------------


def alarm_subject(alarm: RadioAlarm) -> str:
    """How an alarm names who is in trouble: ``E12 (radio 7012)``, or ``radio 7012 (on no
    unit)`` for a radio the roster does not bind."""
    if alarm.unit_id:
        return f"{alarm.unit_id} (radio {alarm.radio_id})"
    return f"radio {alarm.radio_id} (on no unit)"


def active_alarms(world: World) -> list[RadioAlarm]:
    """The alarms not cleared, in the order they are worked: unacknowledged first, oldest first
    among them, then the acknowledged ones (still active), oldest first."""
    active = [a for a in world.alarms.values() if a.cleared_at is None]
    return sorted(active, key=lambda a: (a.acknowledged_at is not None, a.raised_at, a.id))


def channel_incidents(world: World, channel: str) -> list[Incident]:
    """The open incidents assigned to ``channel``, oldest first."""
    found = [i for i in world.incidents.values() if i.channel == channel and i.status != "closed"]
    return sorted(found, key=lambda i: (i.times.get("created", 0.0), i.id))


def unit_channel(world: World, unit_id: str) -> str:
    """The channel of the incident the unit is on ("" when none, or it has no channel)."""
    unit = world.units.get(unit_id)
    incident = world.incidents.get(unit.incident_id) if unit and unit.incident_id else None
    return incident.channel if incident is not None else ""


COMMANDS: tuple[CommandKind[Any], ...] = (
    CommandKind("radio.emergency", RadioEmergency, "radio", _emergency, _emergency_words),
    CommandKind(
        "radio.acknowledge", RadioAcknowledge, "calltaker", _acknowledge, _acknowledge_words
    ),
    CommandKind("radio.clear", RadioClear, "dispatcher", _clear, _clear_words),
    CommandKind("radio.assign_channel", RadioAssignChannel, "dispatcher", _assign, _assign_words),
    CommandKind("radio.log", RadioLog, "calltaker", _log, _log_words),
    CommandKind("radio.mark", RadioMarkAnswer, "calltaker", _mark, _mark_words),
)

EVENTS: tuple[EventKind[Any], ...] = (
    EventKind("radio.emergency_raised", RadioEmergencyRaised, _raised, _raised_lines),
    EventKind(
        "radio.alarm_acknowledged", RadioAlarmAcknowledged, _acknowledged, _acknowledged_lines
    ),
    EventKind("radio.alarm_cleared", RadioAlarmCleared, _cleared, _cleared_lines),
    EventKind("radio.channel_assigned", RadioChannelAssigned, _assigned, _assigned_lines),
    EventKind("radio.logged", RadioLogged, _logged, _logged_lines),
    EventKind("radio.marked", RadioMarked, _marked, _marked_lines),
)
