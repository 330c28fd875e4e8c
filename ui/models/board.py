"""The live tables of the board: incidents, units, timer alerts and Needs attention.

Each model reads the core's optimistic view through `DispatchService`; entities touched by a
command the server has not confirmed yet are shown in italics with the `PENDING_MARK`. A
unit's row shows its incident and that incident's radio channel
(`desktop.domain.radio.unit_channel`), refreshed whenever the incident changes.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from typing import Any

import msgspec
from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication

from desktop.board_filter import BoardCounts, IncidentFilter, age_since, board_order
from desktop.domain.action_time import corrected_now
from desktop.domain.catalog import describe_command, read_command
from desktop.domain.radio import unit_channel
from desktop.domain.types import EntityKind, Incident, IncidentStatus, Unit, UnitStatus
from desktop.domain.wording import incident_label
from desktop.outbox import Rejection
from desktop.protocol.errors import error_words
from desktop.service import DispatchService
from desktop.sound import AlertSound
from desktop.state import Change
from desktop.timers import (
    AlertBook,
    AlertKey,
    AlertUpdate,
    TimerConfig,
    TimerEngine,
    TimerLevel,
    TimerState,
    load_timer_config,
)
from ui.models.entity_table import Column, EntityTableModel
from ui.presentation import INCIDENT_STATUS_LABEL, UNIT_STATUS_COLOUR, duration

__all__ = ["PENDING_MARK", "BoardModels", "alert_id", "default_alert_sound", "refused_unit_ids"]

#: Marks a row a command not yet confirmed by the server touches: a white circle, "not filled
#: in yet" (WGL4, so in every desktop font: "⧗" was drawn as a missing-glyph box).
PENDING_MARK = "○"

_UNIT_ID_PARTS = re.compile(r"^([^0-9]*)([0-9]*)(.*)$")
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignCenter
_FONT = Qt.ItemDataRole.FontRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_AGE_COLUMN = 7  # incidents: time since it last became pending (the pending timer)
_CHANNEL_COLUMN = 4  # units: that incident's radio channel
_IN_STATUS_COLUMN = 6  # units: time in the current status

#: Timer cells: amber once a timer warns, red once it alerts (foreground, background).
TIMER_BRUSHES = {
    TimerLevel.WARN: (QBrush(QColor("#e3b341")), QBrush(QColor("#3b2e00"))),
    TimerLevel.ALERT: (QBrush(QColor("#ffdcd7")), QBrush(QColor("#8e1519"))),
}


class BoardModels:
    """Owns the four table models (``incidents``, ``units``, ``attention``, ``alerts``) and
    refreshes them from coalesced `Change`s."""

    def __init__(
        self,
        service: DispatchService,
        clock: Callable[[], float] = time.time,
        timers: TimerEngine | None = None,
        sound: Callable[[], object] | None = None,
        area_of: Callable[[Incident], str] | None = None,
        timer_config: TimerConfig | None = None,
    ) -> None:
        """``timers`` colours the pending and status timers (default: an engine on
        ``timer_config``, itself by default resources/timers.json);
        ``sound`` is called once per tick that raises new alerts (default: the alert sound,
        or the system beep where no player is found); ``area_of`` gives the area label of an
        incident ("" when unknown; default: always ""), cached per incident and location."""
        self.service = service
        self.clock = clock
        self.timers = timers or TimerEngine(timer_config or load_timer_config(), self._server_now)
        self.sound: Callable[[], object] = sound or default_alert_sound()
        self.alert_book = AlertBook()
        self._alerts: dict[str, TimerState] = {}
        self._timer_states: dict[tuple[str, str], TimerState] = {}
        self._pending_ids: set[str] = set()
        self._attention: dict[str, Rejection] = {}
        self._refused_units: dict[str, Rejection] = {}  # unit id -> newest rejection naming it
        self._area_of: Callable[[Incident], str] = area_of or (lambda _incident: "")
        self._areas: dict[str, tuple[object, str]] = {}  # incident id -> (location, area label)
        self._incident_filter = IncidentFilter()
        self.incident_counts = BoardCounts()  # as of the incidents table's last refresh
        #: Called with the new `incident_counts` whenever a refresh changes them.
        self.incident_counts_listeners: list[Callable[[BoardCounts], None]] = []
        self.incidents: EntityTableModel[Incident] = EntityTableModel(
            [
                Column("Incident", lambda i: self._mark(i.id, incident_label(i))),
                Column("P", lambda i: str(i.priority), _CENTER),
                Column("Type", lambda i: i.type),
                Column("Status", lambda i: INCIDENT_STATUS_LABEL[i.status]),
                Column("Location", lambda i: i.location.address),
                Column("Area", self.area_label),
                Column("Units", lambda i: " ".join(i.units)),
                Column("Age", lambda i: duration(self.clock() - age_since(i)), _RIGHT),
            ],
            self._incident_ids,
            service.incident,
            self._incident_style,
            (_FONT, _TOOLTIP, _FOREGROUND, _BACKGROUND),
        )
        self.units: EntityTableModel[Unit] = EntityTableModel(
            [
                Column("Unit", self._unit_label),
                Column("Type", lambda u: u.type),
                Column("Status", lambda u: str(u.status), _CENTER),
                Column("Incident", self._unit_incident),
                Column("Channel", lambda u: unit_channel(self.service.state.view, u.id)),
                Column("Station", lambda u: u.station, _CENTER),
                Column("In status", lambda u: duration(self.clock() - u.status_at), _RIGHT),
                Column("Location", self._unit_location),
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
                Column("Command", self.refused_words),
                Column("Reason", lambda r: error_words(r.code)),
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
        return corrected_now(self.clock(), self.service.status.clock_offset)

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
        """Open incidents the filter shows, in `board_order`; counts them (`incident_counts`)."""
        wanted = self._incident_filter
        everything, needs_area = wanted.is_everything, wanted.needs_area
        shown: list[Incident] = []
        hidden = 0
        for i in self.service.incidents():
            if i.status is IncidentStatus.CLOSED:
                continue
            if everything or wanted.matches(i, self.area_label(i) if needs_area else ""):
                shown.append(i)
            else:
                hidden += 1
        shown.sort(key=board_order)
        pending = sum(1 for i in shown if i.status is IncidentStatus.PENDING)
        counts = BoardCounts(pending, len(shown) - pending, hidden)
        if counts != self.incident_counts:
            self.incident_counts = counts
            for listener in list(self.incident_counts_listeners):
                listener(counts)
        if len(self._areas) > 2 * (len(shown) + hidden) + 64:  # forget closed incidents
            self._areas.clear()
        return [i.id for i in shown]

    @property
    def incident_filter(self) -> IncidentFilter:
        return self._incident_filter

    def set_incident_filter(self, wanted: IncidentFilter) -> None:
        """Show only the open incidents ``wanted`` matches (`IncidentFilter()`: all of them)."""
        if wanted != self._incident_filter:
            self._incident_filter = wanted
            self.incidents.refresh()

    def incident_types(self) -> list[str]:
        """The distinct types of the open incidents (filtered out or not), sorted; types that
        differ only in case count once."""
        types: dict[str, str] = {}
        for i in self.service.incidents():
            if i.status is not IncidentStatus.CLOSED:
                types.setdefault(i.type.strip().upper(), i.type.strip())
        return sorted(types.values(), key=str.upper)

    def area_label(self, incident: Incident) -> str:
        """The area label of ``incident`` ("" when unknown), computed once per location."""
        cached = self._areas.get(incident.id)
        location = incident.location
        if cached is not None and (cached[0] is location or cached[0] == location):
            return cached[1]
        label = self._area_of(incident)
        self._areas[incident.id] = (location, label)
        return label

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
        """Re-read Needs attention; refreshes the unit rows whose refusal mark changed."""
        self._attention.clear()
        self._attention.update((r.entry.key, r) for r in self.service.needs_attention())
        before = self._refused_units
        self._refused_units = after = {
            unit_id: r for r in self._attention.values() for unit_id in refused_unit_ids(r)
        }
        changed = {u for u in before.keys() | after.keys() if before.get(u) != after.get(u)}
        if changed:
            self.units.refresh(changed)

    def attention_keys(self) -> set[str]:
        """The keys of every command in Needs attention (current once `reload` saw it)."""
        return set(self._attention)

    def refused_units(self) -> dict[str, Rejection]:
        """Units named by a command the server refused: unit id -> the newest such rejection
        still in Needs attention. Current once `apply` or `reload` has seen the change."""
        return dict(self._refused_units)

    def refused_words(self, rejection: Rejection) -> str:
        """What a refused command asked for, in its kind's words ("dispatch E12 to
        F2612-000123", "E12 on scene (OS)"); its kind when its arguments cannot be read."""
        args = read_command(rejection.entry.kind, rejection.entry.args)
        if args is None:
            return rejection.entry.kind
        return describe_command(self.service.state.view, args)

    def server_refusal(self, rejection: Rejection) -> str:
        """How a command the server refused is told where it shows (a unit's row, a panel)."""
        return (
            f"Server refused {self.refused_words(rejection)}: {rejection.message} "
            "(see Needs attention)"
        )

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
        return f"{PENDING_MARK} {text}" if entity_id in self._pending_ids else text

    def _unit_label(self, unit: Unit) -> str:
        label = self._mark(unit.id, unit.id)
        return f"✖ {label}" if unit.id in self._refused_units else label

    def _unit_incident(self, unit: Unit) -> str:
        if unit.incident_id is None:
            return ""
        incident = self.service.incident(unit.incident_id)
        return incident_label(incident) if incident else unit.incident_id[:8]

    def _unit_location(self, unit: Unit) -> str:
        """Where the unit is: its incident's place while DP/ER ("→ ", heading there) or OS, its
        station while in quarters, else its last AVL fix; empty when unknown."""
        incident = self.service.incident(unit.incident_id) if unit.incident_id else None
        if incident is not None and unit.status in _AT_OR_TO_INCIDENT:
            where = incident.location
            place = where.address or _coordinates(where.lat, where.lon)
            return place if unit.status is UnitStatus.OS else f"→ {place}"
        if unit.status is UnitStatus.AQ and unit.station:
            return f"Stn {unit.station}"
        if unit.position is not None:
            return _coordinates(unit.position.lat, unit.position.lon)
        return ""

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
            timer = self._timer_style("unit", unit.id, role)
            if timer is not None or role != _TOOLTIP:
                return timer
        if role == _BACKGROUND:
            return None
        refusal = self._refused_units.get(unit.id)
        if role == _TOOLTIP:
            if refusal is not None:
                return self.server_refusal(refusal)
            if column == _CHANNEL_COLUMN:
                channel = unit_channel(self.service.state.view, unit.id)
                return f"Radio channel of {self._unit_incident(unit)}" if channel else None
            return None
        if role == _FOREGROUND and column == 2:
            return QBrush(UNIT_STATUS_COLOUR[unit.status])
        if role == _FOREGROUND and column == 0 and refusal is not None:
            return REFUSED_BRUSH
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
REFUSED_BRUSH = QBrush(QColor("#ff7b72"))  # a unit named by a command the server refused
_AT_OR_TO_INCIDENT = frozenset({UnitStatus.DP, UnitStatus.ER, UnitStatus.OS})


def refused_unit_ids(rejection: Rejection) -> list[str]:
    """The units a refused command names: its ``unit_id`` or ``unit_ids`` argument."""
    args = _rejected_args(rejection)
    named = args.get("unit_ids", [args.get("unit_id")])
    if not isinstance(named, list):
        return []
    return [unit_id for unit_id in named if isinstance(unit_id, str)]


def _rejected_args(rejection: Rejection) -> dict[str, Any]:
    """A refused command's arguments as JSON fields (empty if they are not a JSON object)."""
    try:
        args = msgspec.json.decode(rejection.entry.args)
    except msgspec.DecodeError:
        return {}
    return args if isinstance(args, dict) else {}


def _coordinates(lat: float | None, lon: float | None) -> str:
    return "" if lat is None or lon is None else f"{lat:.4f}, {lon:.4f}"


@functools.lru_cache(maxsize=4096)  # the roster's ids, sorted at every units refresh
def _natural(unit_id: str) -> tuple[str, int, str]:
    """E2 before E10: the letters, then the number, then the rest."""
    match = _UNIT_ID_PARTS.match(unit_id)
    head, digits, tail = match.groups() if match else (unit_id, "", "")
    return (head.upper(), int(digits) if digits else -1, tail)
