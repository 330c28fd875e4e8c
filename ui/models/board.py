"""The live tables of the board: incidents, units, timer alerts and Needs attention.

Each model reads the core's optimistic view through `DispatchService`; entities touched by a
command the server has not confirmed yet are shown in italics with a ``⧗`` mark.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication

from desktop.domain.types import EntityKind, Incident, IncidentStatus, Unit
from desktop.outbox import Rejection
from desktop.service import DispatchService
from desktop.sound import AlertSound
from desktop.state import Change
from desktop.timers import (
    AlertBook,
    AlertKey,
    AlertUpdate,
    TimerEngine,
    TimerLevel,
    TimerState,
    load_timer_config,
)
from ui.models.entity_table import Column, EntityTableModel
from ui.presentation import INCIDENT_STATUS_LABEL, UNIT_STATUS_COLOUR, duration, incident_label

__all__ = ["BoardModels", "alert_id", "default_alert_sound"]

_UNIT_ID_PARTS = re.compile(r"^([^0-9]*)([0-9]*)(.*)$")
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignCenter
_FONT = Qt.ItemDataRole.FontRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_AGE_COLUMN = 6  # incidents: time since created (the pending timer)
_IN_STATUS_COLUMN = 5  # units: time in the current status

#: Timer cells: amber once a timer warns, red once it alerts (foreground, background).
TIMER_BRUSHES = {
    TimerLevel.WARN: (QBrush(QColor("#e3b341")), QBrush(QColor("#3b2e00"))),
    TimerLevel.ALERT: (QBrush(QColor("#ffdcd7")), QBrush(QColor("#8e1519"))),
}


class BoardModels:
    """Owns the three models and refreshes them from coalesced `Change`s."""

    def __init__(
        self,
        service: DispatchService,
        clock: Callable[[], float] = time.time,
        timers: TimerEngine | None = None,
        sound: Callable[[], object] | None = None,
    ) -> None:
        """``timers`` colours the pending and status timers (default: resources/timers.json);
        ``sound`` is called once per tick that raises new alerts (default: the alert sound,
        or the system beep where no player is found)."""
        self.service = service
        self.clock = clock
        self.timers = timers or TimerEngine(load_timer_config(), self._server_now)
        self.sound: Callable[[], object] = sound or default_alert_sound()
        self.alert_book = AlertBook()
        self._alerts: dict[str, TimerState] = {}
        self._timer_states: dict[tuple[str, str], TimerState] = {}
        self._pending_ids: set[str] = set()
        self._attention: dict[str, Rejection] = {}
        self.incidents: EntityTableModel[Incident] = EntityTableModel(
            [
                Column("Incident", lambda i: self._mark(i.id, incident_label(i))),
                Column("P", lambda i: str(i.priority), _CENTER),
                Column("Type", lambda i: i.type),
                Column("Status", lambda i: INCIDENT_STATUS_LABEL[i.status]),
                Column("Location", lambda i: i.location.address),
                Column("Units", lambda i: " ".join(i.units)),
                Column("Age", lambda i: duration(self.clock() - i.times.get("created", 0)), _RIGHT),
            ],
            self._incident_ids,
            service.incident,
            self._incident_style,
            (_FONT, _TOOLTIP, _FOREGROUND, _BACKGROUND),
        )
        self.units: EntityTableModel[Unit] = EntityTableModel(
            [
                Column("Unit", lambda u: self._mark(u.id, u.id)),
                Column("Type", lambda u: u.type),
                Column("Status", lambda u: str(u.status), _CENTER),
                Column("Incident", self._unit_incident),
                Column("Station", lambda u: u.station, _CENTER),
                Column("In status", lambda u: duration(self.clock() - u.status_at), _RIGHT),
            ],
            self._unit_ids,
            service.unit,
            self._unit_style,
            (_FOREGROUND, _FONT, _BACKGROUND, _TOOLTIP),
        )
        self.attention: EntityTableModel[Rejection] = EntityTableModel(
            [
                Column(
                    "Refused", lambda r: time.strftime("%H:%M:%S", time.localtime(r.rejected_at))
                ),
                Column("Command", lambda r: r.entry.kind),
                Column("Reason", lambda r: r.code),
                Column("Detail", lambda r: r.message),
            ],
            lambda: list(self._attention),
            self._attention.get,
        )
        self.alerts: EntityTableModel[TimerState] = EntityTableModel(
            [
                Column("Alert", self._alert_entity),
                Column("Reason", lambda s: s.reason),
                Column("Elapsed", lambda s: duration(s.elapsed), _RIGHT),
                Column("Level", lambda s: s.level.name, _CENTER),
            ],
            lambda: list(self._alerts),
            self._alerts.get,
            self._alert_style,
            (_FOREGROUND, _BACKGROUND, _TOOLTIP),
        )
        self.reload()

    # --- refresh ---------------------------------------------------------------------------

    def reload(self) -> None:
        """Re-read everything (start-up, reset)."""
        self._reload_pending()
        self._reload_attention()
        self.incidents.refresh()
        self.units.refresh()
        self.attention.refresh()

    def apply(self, change: Change) -> None:
        """Refresh only what ``change`` touched."""
        if change.reset:
            self.reload()
            return
        if change.pending:
            before = self._pending_ids
            self._reload_pending()
            touched = before ^ self._pending_ids
            change.incidents |= touched
            change.units |= touched
        if change.incidents or change.pending:
            self.incidents.refresh(change.incidents)
        if change.units or change.incidents or change.pending:
            # a unit row shows its incident's number, which may just have been assigned
            self.units.refresh(change.units | self._units_on(change.incidents))
        if change.attention:
            self._reload_attention()
            self.attention.refresh()

    def tick(self) -> AlertUpdate:
        """Once a second: timers (age, time in status) move and change colour; new alerts
        sound and join the alerts table. Returns what changed among the alerts."""
        states = self.evaluate_timers()
        self.incidents.refresh(None)
        self.units.refresh(None)
        return self.update_alerts(states)

    def update_alerts(self, states: list[TimerState] | None = None) -> AlertUpdate:
        """Bring the alert book and the alerts table up to date (``states``: the timers just
        evaluated; None evaluates them). Sounds once if any alert is new."""
        if states is None:
            states = self.evaluate_timers()
        update = self.alert_book.update(self.service.state.view, states)
        self._alerts.clear()
        self._alerts.update((alert_id(s.key), s) for s in self.alert_book.unacknowledged())
        self.alerts.refresh(None)
        if update.raised:
            self.sound()
        return update

    def alert(self, row_id: str) -> TimerState | None:
        """The unacknowledged alert shown under ``row_id`` (an id of the alerts table)."""
        return self._alerts.get(row_id)

    def evaluate_timers(self) -> list[TimerState]:
        """Recompute every timer on the current view; returns the running ones."""
        states = self.timers.evaluate(self.service.state.view)
        self._timer_states = {(s.entity, s.entity_id): s for s in states}
        return states

    def _server_now(self) -> float:
        offset = self.service.status.clock_offset
        return self.clock() + (offset or 0.0)

    def _timer_style(self, kind: str, entity_id: str, role: int) -> Any:
        state = self._timer_states.get((kind, entity_id))
        if state is None or state.level is TimerLevel.NONE:
            return None
        if role == _TOOLTIP:
            return f"{state.reason} ({duration(state.elapsed)})"
        foreground, background = TIMER_BRUSHES[state.level]
        return foreground if role == _FOREGROUND else background if role == _BACKGROUND else None

    # --- rows --------------------------------------------------------------------------------

    def _incident_ids(self) -> list[str]:
        open_incidents = [
            i for i in self.service.incidents() if i.status is not IncidentStatus.CLOSED
        ]
        open_incidents.sort(key=lambda i: (i.priority, i.times.get("created", 0.0)))
        return [i.id for i in open_incidents]

    def _unit_ids(self) -> list[str]:
        return sorted((u.id for u in self.service.units()), key=_natural)

    def _units_on(self, incident_ids: set[str]) -> set[str]:
        if not incident_ids:
            return set()
        return {u.id for u in self.service.units() if u.incident_id in incident_ids}

    def _reload_pending(self) -> None:
        ids: set[str] = set()
        for pending in self.service.pending():
            ids.update(entity_id for _, entity_id in pending.touched)
        self._pending_ids = ids

    def _reload_attention(self) -> None:
        self._attention.clear()
        self._attention.update((r.entry.key, r) for r in self.service.needs_attention())

    # --- looks -------------------------------------------------------------------------------

    def _alert_entity(self, state: TimerState) -> str:
        if state.entity == EntityKind.INCIDENT:
            incident = self.service.incident(state.entity_id)
            label = incident_label(incident) if incident else state.entity_id[:8]
            return f"Incident {label} (P{state.priority})"
        return f"Unit {state.entity_id} ({state.status})"

    def _alert_style(self, state: TimerState, role: int, column: int) -> Any:
        if role == _TOOLTIP:
            after = duration(state.alert_after)
            return f"{state.reason}: {duration(state.elapsed)} (alert after {after})"
        if column != 3:
            return None
        foreground, background = TIMER_BRUSHES[TimerLevel.ALERT]
        return foreground if role == _FOREGROUND else background

    def _mark(self, entity_id: str, text: str) -> str:
        return f"⧗ {text}" if entity_id in self._pending_ids else text

    def _unit_incident(self, unit: Unit) -> str:
        if unit.incident_id is None:
            return ""
        incident = self.service.incident(unit.incident_id)
        return incident_label(incident) if incident else unit.incident_id[:8]

    # Only the roles passed as ``style_roles`` above reach these.

    def _incident_style(self, incident: Incident, role: int, column: int) -> Any:
        if column == _AGE_COLUMN and role in (_FOREGROUND, _BACKGROUND, _TOOLTIP):
            return self._timer_style("incident", incident.id, role)
        if role == _BACKGROUND:
            return None
        if role == _FOREGROUND:
            if column == 1:  # P: the most urgent stand out
                return PRIORITY_BRUSH.get(incident.priority)
            if column == 3 and incident.status is IncidentStatus.PENDING:
                return PENDING_BRUSH
            return None
        if role == _FONT:
            pending = incident.id in self._pending_ids
            if not pending and not (column == 1 and incident.priority == 1):
                return None
            font = QFont()
            font.setItalic(pending)
            font.setBold(column == 1 and incident.priority == 1)
            return font
        if role == _TOOLTIP and incident.id in self._pending_ids:
            return "Not yet confirmed by the server"
        return None

    def _unit_style(self, unit: Unit, role: int, column: int) -> Any:
        if column == _IN_STATUS_COLUMN and role in (_FOREGROUND, _BACKGROUND, _TOOLTIP):
            return self._timer_style("unit", unit.id, role)
        if role in (_BACKGROUND, _TOOLTIP):
            return None
        if role == _FOREGROUND and column == 2:
            return QBrush(UNIT_STATUS_COLOUR[unit.status])
        if role == _FONT and unit.id in self._pending_ids:
            font = QFont()
            font.setItalic(True)
            return font
        return None


def alert_id(key: AlertKey) -> str:
    """The row id of an alert instance in the alerts table."""
    return f"{key.entity}/{key.entity_id}/{key.started_at!r}/{key.reason}"


def default_alert_sound() -> Callable[[], None]:
    """The alert sound (`desktop.sound.AlertSound`), falling back to ``QApplication.beep()``
    where no player is found or it fails to start."""
    player = AlertSound()

    def play() -> None:
        if not player.play():
            QApplication.beep()

    return play


PRIORITY_BRUSH = {1: QBrush(QColor("#ff7b72")), 2: QBrush(QColor("#e3b341"))}
PENDING_BRUSH = QBrush(QColor("#e3b341"))


@functools.lru_cache(maxsize=4096)  # the roster's ids, sorted at every units refresh
def _natural(unit_id: str) -> tuple[str, int, str]:
    """E2 before E10: the letters, then the number, then the rest."""
    match = _UNIT_ID_PARTS.match(unit_id)
    head, digits, tail = match.groups() if match else (unit_id, "", "")
    return (head.upper(), int(digits) if digits else -1, tail)
