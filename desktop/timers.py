"""Status timers and pending timers, and the alerts they raise. Qt-free and pure.

- **Unit status timers** run from ``Unit.status_at`` while a unit is in a status the
  configuration lists (e.g. ``DP`` without ``ER``: acknowledgement timeout; ``OS``: welfare
  check), with optional per-unit-type overrides (``null`` disables the timer for that type).
- **Incident pending timers** run from `desktop.domain.incidents.pending_since` (when it last
  became pending: at creation, and again when its units were released) while an incident is
  ``pending``, with thresholds per priority.

Each timer is at level ``NONE`` until ``warn_after`` seconds, ``WARN`` from ``warn_after`` and
``ALERT`` from ``alert_after`` (both inclusive). Entities with no timer (available units, units
in quarters, dispatched/active/closed incidents, with the shipped configuration) have no state.

:class:`TimerEngine` computes every timer from a `World` and the time; it keeps no state, so any
workstation computes the same timers from the same world. :class:`AlertBook` follows which
``ALERT`` timers are active and which are acknowledged. Acknowledgements are *not* kept here:
they are recorded in the world by the ``alert.acknowledge`` command (`Unit.acknowledgements`,
`Incident.acknowledgements`), so every workstation agrees and a restart remembers.

Thresholds live in ``resources/timers.json`` (format in ``resources/README.md``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import NamedTuple

import msgspec

from desktop.domain.alerts import AlertAcknowledge
from desktop.domain.incidents import pending_since
from desktop.domain.types import (
    Acknowledgement,
    EntityKind,
    Incident,
    IncidentStatus,
    UnitStatus,
)
from desktop.domain.world import World
from desktop.resources import resource_path

__all__ = [
    "AlertBook",
    "AlertKey",
    "AlertUpdate",
    "StatusTimer",
    "Threshold",
    "TimerConfig",
    "TimerConfigError",
    "TimerEngine",
    "TimerLevel",
    "TimerState",
    "find_acknowledgement",
    "load_timer_config",
]


class TimerConfigError(ValueError):
    """The timer configuration file is missing, not JSON, or breaks a rule (the message says
    where)."""


# --- configuration --------------------------------------------------------------------------


class Threshold(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Warn after ``warn_after`` seconds, alert after ``alert_after`` (``0 <= warn <= alert``).
    ``reason`` is shown to the dispatcher and names the alert; ``source`` says where the numbers
    come from (informational)."""

    warn_after: float
    alert_after: float
    reason: str
    source: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.warn_after) and math.isfinite(self.alert_after)):
            raise ValueError("thresholds must be finite numbers of seconds")
        if not 0 <= self.warn_after <= self.alert_after:
            raise ValueError("need 0 <= warn_after <= alert_after")
        if not self.reason.strip() or len(self.reason) > 200:
            raise ValueError("reason must be 1-200 characters")


class StatusTimer(Threshold, frozen=True):
    """The timer of one unit status; ``by_type`` overrides it per unit type (case-insensitive),
    and an override of ``null`` means no timer for that type."""

    by_type: dict[str, Threshold | None] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        types = [kind.strip().upper() for kind in self.by_type]
        if not all(types) or len(set(types)) != len(types):
            raise ValueError("by_type names each unit type once (case-insensitive), none blank")


class TimerConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Unit status timers by status code and incident pending timers by priority.

    A priority not listed uses the nearest listed one (the more urgent on a tie), so no pending
    incident is ever untimed while any priority is listed."""

    version: int = 1
    about: str = ""
    unit_status: dict[UnitStatus, StatusTimer] = msgspec.field(default_factory=dict)
    incident_pending: dict[int, Threshold] = msgspec.field(default_factory=dict)


def load_timer_config(path: str | Path | None = None) -> TimerConfig:
    """Read a timer configuration (default ``resources/timers.json``).

    Raises `TimerConfigError` naming the file and the offending field."""
    source = Path(path) if path is not None else resource_path("timers.json")
    try:
        return msgspec.json.decode(source.read_bytes(), type=TimerConfig)
    except (OSError, msgspec.DecodeError) as exc:  # ValidationError is a DecodeError
        raise TimerConfigError(f"{source}: {exc}") from exc


# --- timer states ---------------------------------------------------------------------------


class TimerLevel(IntEnum):
    """How far a timer has run: ordered, so ``level >= TimerLevel.WARN`` reads naturally."""

    NONE = 0
    WARN = 1  # amber
    ALERT = 2  # red, audible, to be acknowledged


class AlertKey(NamedTuple):
    """One alert instance: what it is about, why, and when its timer started."""

    entity: EntityKind
    entity_id: str
    reason: str
    started_at: float


class TimerState(msgspec.Struct, frozen=True, gc=False):
    """One running timer at the evaluation time.

    ``elapsed`` is ``now - started_at`` (never below 0: the world's times are the server's).
    ``status`` is the unit status or incident status the timer belongs to; ``priority`` the
    incident's priority (0 for a unit)."""

    entity: EntityKind
    entity_id: str
    level: TimerLevel
    reason: str
    started_at: float
    elapsed: float
    warn_after: float
    alert_after: float
    status: str
    priority: int = 0

    @property
    def threshold(self) -> float:
        """The threshold of the current level: ``alert_after`` at ALERT, else ``warn_after``
        (crossed at WARN, the next one at NONE)."""
        return self.alert_after if self.level is TimerLevel.ALERT else self.warn_after

    @property
    def changes_at(self) -> float | None:
        """When the level goes up next (``None`` at ALERT)."""
        if self.level is TimerLevel.ALERT:
            return None
        after = self.warn_after if self.level is TimerLevel.NONE else self.alert_after
        return self.started_at + after

    @property
    def key(self) -> AlertKey:
        return AlertKey(self.entity, self.entity_id, self.reason, self.started_at)


_Rule = Threshold | None
_NONE, _WARN, _ALERT = TimerLevel.NONE, TimerLevel.WARN, TimerLevel.ALERT


class TimerEngine:
    """Computes every timer of a world. Stateless between calls; safe to share.

    ``clock`` gives the current time when ``evaluate`` is not given one. It should be the
    server's time as this workstation knows it (local clock plus the offset measured by the
    heartbeat), because ``status_at`` and ``times`` are server times.
    """

    def __init__(self, config: TimerConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self._clock = clock
        self._unit_rules: dict[UnitStatus, tuple[_Rule, dict[str, _Rule]]] = {
            status: (timer, {kind.strip().upper(): rule for kind, rule in timer.by_type.items()})
            for status, timer in config.unit_status.items()
        }
        self._pending_rules: dict[int, _Rule] = dict(config.incident_pending)

    def now(self) -> float:
        return self._clock()

    def unit_rule(self, status: UnitStatus, unit_type: str) -> Threshold | None:
        """The thresholds for a unit of ``unit_type`` in ``status`` (None: no timer)."""
        entry = self._unit_rules.get(status)
        if entry is None:
            return None
        default, by_type = entry
        return by_type.get(unit_type.upper(), default) if by_type else default

    def pending_rule(self, priority: int) -> Threshold | None:
        """The pending thresholds of ``priority`` (the nearest listed priority if not listed)."""
        rules = self._pending_rules
        if priority in rules:
            return rules[priority]
        listed = self.config.incident_pending
        if not listed:
            return None
        nearest = min(listed, key=lambda p: (abs(p - priority), p))
        rules[priority] = listed[nearest]
        return rules[priority]

    def evaluate(self, world: World, now: float | None = None) -> list[TimerState]:
        """Every running timer of ``world`` at ``now`` (default: the clock): units first, in
        the world's order, then pending incidents. Pure: reads ``world`` only."""
        t = self._clock() if now is None else now
        states: list[TimerState] = []
        append = states.append
        rules = self._unit_rules
        unit_kind = EntityKind.UNIT
        for unit in world.units.values():
            entry = rules.get(unit.status)
            if entry is None:
                continue
            rule, by_type = entry
            if by_type:
                rule = by_type.get(unit.type.upper(), rule)
            if rule is None:
                continue
            elapsed = t - unit.status_at
            if elapsed < 0.0:
                elapsed = 0.0
            warn, alert = rule.warn_after, rule.alert_after
            level = _ALERT if elapsed >= alert else _WARN if elapsed >= warn else _NONE
            append(
                TimerState(
                    unit_kind,
                    unit.id,
                    level,
                    rule.reason,
                    unit.status_at,
                    elapsed,
                    warn,
                    alert,
                    unit.status,
                )
            )
        for incident in world.incidents.values():
            if incident.status is IncidentStatus.PENDING:
                state = self._pending_state(incident, t)
                if state is not None:
                    append(state)
        return states

    def pending_queue(
        self, world: World, now: float | None = None
    ) -> list[tuple[Incident, TimerState]]:
        """The pending incidents with their pending timers, most urgent priority first, then
        oldest first (then by id, so the order is stable)."""
        t = self._clock() if now is None else now
        rows = [
            (incident, state)
            for incident in world.incidents.values()
            if incident.status is IncidentStatus.PENDING
            and (state := self._pending_state(incident, t)) is not None
        ]
        rows.sort(key=lambda row: (row[0].priority, row[1].started_at, row[0].id))
        return rows

    def _pending_state(self, incident: Incident, t: float) -> TimerState | None:
        since = pending_since(incident)
        rule = self.pending_rule(incident.priority)
        if not since or rule is None:  # 0: an incident with no times (never from the log)
            return None
        elapsed = max(0.0, t - since)
        warn, alert = rule.warn_after, rule.alert_after
        level = _ALERT if elapsed >= alert else _WARN if elapsed >= warn else _NONE
        return TimerState(
            EntityKind.INCIDENT,
            incident.id,
            level,
            rule.reason,
            since,
            elapsed,
            warn,
            alert,
            incident.status,
            incident.priority,
        )

    @staticmethod
    def next_change(states: Iterable[TimerState]) -> float | None:
        """The earliest time any of ``states`` goes up a level (None if none will): when to
        evaluate again at the latest, besides after every change of the world."""
        return min((t for s in states if (t := s.changes_at) is not None), default=None)


# --- alerts ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertUpdate:
    """What an `AlertBook.update` changed.

    ``raised``: unacknowledged alerts that were not active before, oldest timer first (sound
    them; after a restart every unacknowledged alert is raised again). ``acknowledged``: active
    alerts that became acknowledged (by anyone). ``cleared``: alerts no longer active because
    their timer stopped (the unit changed status, the incident was dispatched)."""

    raised: list[TimerState] = field(default_factory=list)
    acknowledged: list[AlertKey] = field(default_factory=list)
    cleared: list[AlertKey] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.raised or self.acknowledged or self.cleared)


class AlertBook:
    """The active ``ALERT`` timers and whether each is acknowledged.

    Call `update` with the world and the engine's states whenever either changed (use the
    workstation's view, ``DispatchService.state.view``, so an acknowledgement just submitted
    counts at once). An acknowledgement applies to one alert instance (`AlertKey`: entity,
    reason and ``started_at``): when the same timer runs again later it alerts again. An alert
    whose timer stopped leaves the book, acknowledged or not (its condition is over).
    """

    def __init__(self) -> None:
        self._active: dict[AlertKey, TimerState] = {}
        self._acks: dict[AlertKey, Acknowledgement] = {}

    def update(self, world: World, states: Iterable[TimerState]) -> AlertUpdate:
        """Take the current alerts from ``states`` and their acknowledgements from ``world``."""
        active: dict[AlertKey, TimerState] = {}
        acks: dict[AlertKey, Acknowledgement] = {}
        for state in states:
            if state.level is not TimerLevel.ALERT:
                continue
            key = state.key
            active[key] = state
            ack = find_acknowledgement(world, key)
            if ack is not None:
                acks[key] = ack
        update = AlertUpdate(
            raised=sorted(
                (s for k, s in active.items() if k not in acks and k not in self._active),
                key=_alert_order,
            ),
            acknowledged=[k for k in acks if k not in self._acks],
            cleared=[k for k in self._active if k not in active],
        )
        self._active, self._acks = active, acks
        return update

    def active(self) -> list[TimerState]:
        """Every active alert, oldest timer first."""
        return sorted(self._active.values(), key=_alert_order)

    def unacknowledged(self) -> list[TimerState]:
        """Active alerts nobody has acknowledged, oldest timer first: the Alerts panel."""
        return sorted((s for k, s in self._active.items() if k not in self._acks), key=_alert_order)

    def acknowledgement(self, alert: TimerState | AlertKey) -> Acknowledgement | None:
        """Who acknowledged this active alert, when, with what note (None: not acknowledged)."""
        return self._acks.get(_key(alert))

    def is_acknowledged(self, alert: TimerState | AlertKey) -> bool:
        return _key(alert) in self._acks

    def acknowledge(self, alert: TimerState | AlertKey, note: str = "") -> AlertAcknowledge:
        """The command acknowledging ``alert``: submit it (``DispatchService.submit``). The book
        shows the alert acknowledged from the next `update` whose world holds it."""
        key = _key(alert)
        return AlertAcknowledge(
            entity=key.entity,
            entity_id=key.entity_id,
            reason=key.reason,
            started_at=key.started_at,
            note=note,
        )


def find_acknowledgement(world: World, key: AlertKey) -> Acknowledgement | None:
    """The first acknowledgement of the alert instance ``key`` recorded in ``world``."""
    if key.entity == EntityKind.UNIT:
        unit = world.units.get(key.entity_id)
        records = unit.acknowledgements if unit is not None else []
    else:
        incident = world.incidents.get(key.entity_id)
        records = incident.acknowledgements if incident is not None else []
    for ack in records:
        if (
            ack.entity == key.entity
            and ack.entity_id == key.entity_id
            and ack.reason == key.reason
            and ack.started_at == key.started_at
        ):
            return ack
    return None


def _key(alert: TimerState | AlertKey) -> AlertKey:
    return alert.key if isinstance(alert, TimerState) else alert


def _alert_order(state: TimerState) -> tuple[float, str, str]:
    return (state.started_at, state.entity, state.entity_id)
