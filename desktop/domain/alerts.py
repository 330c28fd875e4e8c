"""Alert acknowledgements: a timer alert (`desktop.timers`) acknowledged by a dispatcher is recorded
in the world, so every workstation, and a restarted one, agrees it was seen.

Command: ``alert.acknowledge``. Event: ``alert.acknowledged``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from msgspec.structs import replace

from desktop.domain.checks import REASON_MAX, TEXT_MAX, find_incident, find_unit
from desktop.domain.kinds import (
    CommandArgs,
    CommandKind,
    DecisionContext,
    DomainError,
    EventData,
    EventKind,
    Lines,
)
from desktop.domain.types import Acknowledgement, EntityKind
from desktop.domain.wording import incident_label
from desktop.protocol.errors import ErrorCode

if TYPE_CHECKING:
    from desktop.domain.world import Touched, World

__all__ = ["COMMANDS", "EVENTS", "AlertAcknowledge", "AlertAcknowledged"]


class AlertAcknowledge(CommandArgs):
    """Acknowledge one alert instance: the timer of ``entity`` ``entity_id`` that started at
    ``started_at`` and alerted for ``reason`` (`desktop.timers.TimerState` gives all four)."""

    entity: EntityKind
    entity_id: str
    reason: str
    started_at: float
    note: str = ""


class AlertAcknowledged(EventData):
    """An alert instance was acknowledged. ``actor`` is the user (the event's actor);
    ``incident_id`` is the incident whose timeline records it: the incident itself, or the
    incident the unit was on (absent when the unit was on none)."""

    entity: EntityKind
    entity_id: str
    reason: str
    started_at: float
    actor: str
    note: str = ""
    incident_id: str | None = None


def _acknowledge(world: World, args: AlertAcknowledge, ctx: DecisionContext) -> list[EventData]:
    """The entity must exist; closed incidents and idle units may still be acknowledged (an
    acknowledgement racing a status change is recorded, not refused). A unit's acknowledgement
    is recorded on the incident it is on now, if any."""
    if not args.reason.strip() or len(args.reason) > REASON_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"reason must be 1-{REASON_MAX} characters")
    if len(args.note) > TEXT_MAX:
        raise DomainError(ErrorCode.INVALID_COMMAND, f"note must be at most {TEXT_MAX} characters")
    if not math.isfinite(args.started_at) or args.started_at < 0:
        raise DomainError(ErrorCode.INVALID_COMMAND, "started_at must be a time (seconds)")
    if args.entity is EntityKind.UNIT:
        unit = find_unit(world, args.entity_id)
        incident_id = unit.incident_id if unit.incident_id in world.incidents else None
    else:
        incident_id = find_incident(world, args.entity_id).id
    return [
        AlertAcknowledged(
            entity=args.entity,
            entity_id=args.entity_id,
            reason=args.reason,
            started_at=args.started_at,
            actor=ctx.actor,
            note=args.note,
            incident_id=incident_id,
        )
    ]


def _acknowledge_words(world: World, args: AlertAcknowledge) -> str:
    subject = args.entity_id
    if args.entity is EntityKind.INCIDENT and (incident := world.incidents.get(args.entity_id)):
        subject = incident_label(incident)
    return f"acknowledge {subject}: {args.reason}"


def _acknowledged(world: World, data: AlertAcknowledged, at: float) -> Touched:
    """Record the acknowledgement in the incident's timeline and, while the unit is still in
    the status whose timer alerted (``started_at == status_at``), on the unit."""
    ack = Acknowledgement(
        entity=data.entity,
        entity_id=data.entity_id,
        reason=data.reason,
        started_at=data.started_at,
        at=at,
        actor=data.actor,
        note=data.note,
    )
    touched: Touched = []
    unit = world.units.get(data.entity_id) if data.entity is EntityKind.UNIT else None
    if unit is not None and data.started_at == unit.status_at:
        current = [a for a in unit.acknowledgements if a.started_at == unit.status_at]
        world.units[unit.id] = replace(unit, acknowledgements=[*current, ack])
        touched.append(("unit", unit.id))
    incident_id = data.incident_id
    if incident_id is None and data.entity is EntityKind.INCIDENT:
        incident_id = data.entity_id
    if incident_id is not None and (incident := world.incidents.get(incident_id)):
        acks = [*incident.acknowledgements, ack]
        world.incidents[incident.id] = replace(incident, acknowledgements=acks)
        touched.append(("incident", incident.id))
    return touched


def _acknowledged_lines(world: World, data: AlertAcknowledged) -> Lines:
    if data.incident_id is None:
        return []
    what = "incident" if data.entity == "incident" else data.entity_id
    text = f"Alert acknowledged ({what}): {data.reason}"
    if data.note:
        text += f" — {data.note}"
    return [(data.incident_id, text)]


COMMANDS: tuple[CommandKind[Any], ...] = (
    CommandKind(
        "alert.acknowledge", AlertAcknowledge, "calltaker", _acknowledge, _acknowledge_words
    ),
)

EVENTS: tuple[EventKind[Any], ...] = (
    EventKind("alert.acknowledged", AlertAcknowledged, _acknowledged, _acknowledged_lines),
)
