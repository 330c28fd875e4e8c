"""What the radio position owes, at a given time: timed prompts (elapsed-time marks, PARs) and
the alarm queue (radio emergencies, unanswered PARs). Qt-free, pure, stateless.

Like the status timers (`desktop.timers`), everything here is computed from a `World`, the
radio plan (`desktop.radio_plan`) and the time, so every workstation computes the same prompts
and the same queue, and a restarted one too. What people did about them is recorded in the
world: a prompt answered (``radio.mark``), an alarm acknowledged or cleared (``radio.*``).

- **Prompts.** A working incident (active: a unit on scene) of a type with a `MarkRule` falls
  due for an elapsed-time mark every ``elapsed_every_s`` and for a PAR every ``par_every_s``,
  counted from its first unit on scene (``times["first_onscene"]``) while units are on it.
  The n-th prompt of a kind falls due at ``first_onscene + n * every``. Of elapsed-time marks
  only the latest due is owed (an older one is superseded); of PARs the first unanswered one
  since the last answer, so an overdue PAR stays overdue (and escalated) until answered. A
  prompt is owed until a mark of its kind with its ``due_at`` is recorded.
- **Alarm levels.** An active emergency alarm is ``SOUNDING`` until acknowledged and
  ``ESCALATED`` from ``escalate_after_s`` after it was raised; acknowledged it is
  ``ACKNOWLEDGED`` (still listed, silent) until cleared. A PAR owed for
  ``par_escalate_after_s`` joins the queue ``ESCALATED``.
- **The queue's order** (`alarm_queue`): unacknowledged emergencies, then escalated PARs, then
  acknowledged emergencies; the longest waiting first within each.
- **Who hears what** (`sound_for`): a dispatching position hears every sounding item, louder
  once one has escalated; a monitoring position (a supervisor) hears only escalated ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum
from typing import Literal

from desktop.domain.radio import active_alarms, alarm_subject
from desktop.domain.roles import is_read_only
from desktop.domain.types import (
    Incident,
    IncidentStatus,
    Position,
    RadioAlarm,
    RadioMarkKind,
)
from desktop.domain.wording import incident_label
from desktop.domain.world import World
from desktop.radio_plan import RadioPlan

__all__ = [
    "AlarmItem",
    "AlarmLevel",
    "Prompt",
    "Sound",
    "alarm_queue",
    "owed_prompts",
    "prompt_words",
    "sound_for",
]

Sound = Literal["none", "normal", "loud"]


class AlarmLevel(IntEnum):
    ACKNOWLEDGED = 0  # still active, silent
    SOUNDING = 1
    ESCALATED = 2  # to supervisors, louder


@dataclass(frozen=True, slots=True)
class Prompt:
    """A timed prompt owed: the ``number``-th of ``kind`` of incident ``incident_id``, due at
    ``due_at``, ``elapsed_s`` after the first unit arrived; ``escalates_at`` for a PAR."""

    incident_id: str
    kind: RadioMarkKind
    number: int
    due_at: float
    elapsed_s: float
    escalates_at: float | None

    @property
    def key(self) -> tuple[str, str, float]:
        return (self.incident_id, self.kind, self.due_at)


@dataclass(frozen=True, slots=True)
class AlarmItem:
    """One entry of the alarm queue: an emergency (``alarm``) or an escalated PAR
    (``prompt``); ``since`` is when it started waiting; ``words`` names it for a person."""

    key: str
    level: AlarmLevel
    since: float
    words: str
    incident_id: str | None
    unit_id: str
    position: Position | None
    alarm: RadioAlarm | None = None
    prompt: Prompt | None = None


def _working_since(incident: Incident) -> float | None:
    if incident.status is not IncidentStatus.ACTIVE or not incident.units:
        return None
    return incident.times.get("first_onscene")


def owed_prompts(world: World, plan: RadioPlan, now: float) -> list[Prompt]:
    """Every prompt owed at ``now`` (module docstring), the earliest due first."""
    owed: list[Prompt] = []
    for incident in world.incidents.values():
        rule = plan.marks_for(incident.type)
        start = _working_since(incident) if rule is not None else None
        if rule is None or start is None:
            continue
        answered = {(m.kind, m.due_at) for m in incident.radio_marks}
        every_of: tuple[tuple[RadioMarkKind, float | None], ...] = (
            ("elapsed", rule.elapsed_every_s),
            ("par", rule.par_every_s),
        )
        for kind, every in every_of:
            if every is None:
                continue
            number = math.floor((now - start) / every)
            if kind == "par":  # the first unanswered since the last answer: it keeps escalating
                done = [round((d - start) / every) for k, d in answered if k == kind]
                number = min(number, max(done, default=0) + 1)
            if number < 1:
                continue
            due_at = start + number * every
            if (kind, due_at) in answered:
                continue
            escalates = due_at + plan.alarms.par_escalate_after_s if kind == "par" else None
            owed.append(Prompt(incident.id, kind, number, due_at, due_at - start, escalates))
    owed.sort(key=lambda p: (p.due_at, p.incident_id, p.kind))
    return owed


def _label(world: World, incident_id: str) -> str:
    incident = world.incidents.get(incident_id)
    return incident_label(incident) if incident is not None else incident_id[:8]


def prompt_words(world: World, prompt: Prompt) -> str:
    """What a prompt asks for: ``F2612-000123 working 20 min — announce`` or ``…: PAR due``."""
    label = _label(world, prompt.incident_id)
    minutes = round(prompt.elapsed_s / 60)
    if prompt.kind == "par":
        return f"{label}: PAR due ({minutes} min on scene)"
    return f"{label}: working {minutes} min — announce"


def _last_position(world: World, alarm: RadioAlarm) -> Position | None:
    """Where the unit in emergency was last seen: its newest AVL fix, else the alarm's."""
    unit = world.units.get(alarm.unit_id)
    return unit.position if unit is not None and unit.position is not None else alarm.position


def alarm_queue(world: World, plan: RadioPlan, now: float) -> list[AlarmItem]:
    """The alarm queue at ``now``, in the order it is worked (module docstring)."""
    first: list[AlarmItem] = []
    pars: list[AlarmItem] = []
    last: list[AlarmItem] = []
    for alarm in active_alarms(world):
        if alarm.acknowledged_at is not None:
            level = AlarmLevel.ACKNOWLEDGED
        elif now - alarm.raised_at >= plan.alarms.escalate_after_s:
            level = AlarmLevel.ESCALATED
        else:
            level = AlarmLevel.SOUNDING
        item = AlarmItem(
            key=f"alarm:{alarm.id}",
            level=level,
            since=alarm.raised_at,
            words=f"EMERGENCY {alarm_subject(alarm)}",
            incident_id=alarm.incident_id,
            unit_id=alarm.unit_id,
            position=_last_position(world, alarm),
            alarm=alarm,
        )
        (last if level is AlarmLevel.ACKNOWLEDGED else first).append(item)
    for prompt in owed_prompts(world, plan, now):
        if prompt.escalates_at is None or now < prompt.escalates_at:
            continue
        pars.append(
            AlarmItem(
                key=f"par:{prompt.incident_id}:{prompt.due_at!r}",
                level=AlarmLevel.ESCALATED,
                since=prompt.due_at,
                words=f"PAR OVERDUE {_label(world, prompt.incident_id)}",
                incident_id=prompt.incident_id,
                unit_id="",
                position=None,
                prompt=prompt,
            )
        )
    pars.sort(key=lambda item: (item.since, item.key))
    return first + pars + last


def sound_for(queue: list[AlarmItem], role: str | None) -> Sound:
    """What a position in ``role`` hears for ``queue`` (module docstring)."""
    heard = [
        item.level
        for item in queue
        if item.level is AlarmLevel.ESCALATED
        or (item.level is AlarmLevel.SOUNDING and not is_read_only(role))
    ]
    if not heard:
        return "none"
    return "loud" if AlarmLevel.ESCALATED in heard else "normal"
