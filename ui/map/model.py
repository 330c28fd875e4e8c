"""`MapModel`: what every map of the workstation shows, as arrays, kept up to date once.

One model per window; each map panel draws its `Rows` (`ui.map.markers`), so three maps cost
one update. From the world (`service.state.view`):

- **units**: at their AVL fix, else at their home station (`desktop.geo.stations.home_position`,
  kind `HOME`: drawn hollow); a fix older than ``stale_after_s`` (the run cards'
  ``recommendation.avl_stale_after_s``) is `STALE`, re-checked by `MapModel.tick` against the
  injected clock; a unit with neither is not drawn. Style = status x 3 + kind.
- **incidents**: open ones with coordinates; style = (priority - 1) x 2 + pending.
- **stations**: the shipped station positions.
- **calls**: the caller's location of every call ringing or on the line (answered, linked),
  and of a call asked for (`MapModel.show_call`), with its uncertainty outlines
  (`ui.map.shapes`).
- **alarms**: a ring per unit (or radio on no unit) in radio emergency, from the alarm queue
  the window gives (`MapModel.set_alarms`): at the unit's position in the world, else the
  position the alarm recorded (neither: not drawn), following the unit as it moves, labelled
  with the unit's id (which the unit's own marker then goes without, not to say it twice); style
  ``ALARM_ACKNOWLEDGED`` once every alarm of the unit is acknowledged, else ``ALARM_SOUNDING``
  and ``ALARM_PULSE`` in turn every `PULSE_MS` (the only timer, and only while one sounds).

`MapModel.apply` takes the `Change` the bridge emits once per frame. AVL moves
(``Change.positions``, read with ``getattr`` so the model works before and after the AVL
stream adds it) write two floats and a time per unit; only an id never seen rebuilds. It
then emits ``changed`` once with what moved (`MapUpdate`). With no alarm in the queue the
alarms cost a frame one empty-set test.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal

from desktop.calltaking.draft import best_geodetic
from desktop.domain.types import (
    Call,
    CallStatus,
    Incident,
    IncidentStatus,
    Position,
    Unit,
    UnitStatus,
)
from desktop.domain.world import World
from desktop.geo.projection import LocalProjection
from desktop.geo.stations import Stations, home_position
from desktop.radio_clock import AlarmItem, AlarmLevel
from desktop.state import Change
from ui.map.markers import Rows
from ui.map.shapes import F64, caller_outlines

__all__ = [
    "ALARM_ACKNOWLEDGED",
    "ALARM_PULSE",
    "ALARM_SOUNDING",
    "HOME",
    "LIVE",
    "STALE",
    "UNIT_KINDS",
    "UNIT_STATUSES",
    "AlarmMark",
    "CallShape",
    "MapModel",
    "MapUpdate",
    "incident_style",
    "unit_style",
]

UNIT_STATUSES: tuple[UnitStatus, ...] = tuple(UnitStatus)
LIVE, STALE, HOME = 0, 1, 2
UNIT_KINDS = ("live", "stale", "home")
_ON_THE_LINE = frozenset({CallStatus.RINGING, CallStatus.ANSWERED, CallStatus.LINKED})
_STATUS_INDEX = {status: i for i, status in enumerate(UNIT_STATUSES)}
#: Style indexes of the emergency rings (`ui.map.style.alarm_styles`).
ALARM_SOUNDING, ALARM_PULSE, ALARM_ACKNOWLEDGED = 0, 1, 2
#: A sounding emergency ring changes size this often (ms): a slow pulse, not a flicker.
PULSE_MS = 600


def unit_style(status: UnitStatus, kind: int) -> int:
    """The style index of a unit in ``status`` drawn as ``kind`` (LIVE, STALE, HOME)."""
    return _STATUS_INDEX[status] * len(UNIT_KINDS) + kind


def incident_style(incident: Incident) -> int:
    """The style index of an incident: by priority (1-5), pending or not."""
    priority = min(5, max(1, incident.priority))
    return (priority - 1) * 2 + (incident.status is IncidentStatus.PENDING)


@dataclass(frozen=True)
class CallShape:
    """A caller's location: its centre and uncertainty outlines (metres), and the incident the
    call is linked to (if any)."""

    call_id: str
    x: float
    y: float
    outlines: list[F64]
    incident_id: str | None
    ringing: bool


@dataclass(frozen=True, slots=True)
class AlarmMark:
    """One emergency ring: ``label`` names it (the unit id, or ``radio <id>`` for a radio on no
    unit) and is its row id in `MapModel.alarms`; it follows unit ``unit_id`` ("" none) and is
    drawn at ``recorded`` (the newest position its alarms recorded) while the unit has no
    position; ``acknowledged`` once every alarm it stands for is."""

    label: str
    unit_id: str
    recorded: Position | None
    acknowledged: bool


@dataclass(slots=True)
class MapUpdate:
    """What one `MapModel.apply` or `MapModel.tick` changed."""

    units: bool = False
    incidents: bool = False
    calls: bool = False
    alarms: bool = False
    ids: set[str] = field(default_factory=set)  # units and incidents whose marker changed

    def __bool__(self) -> bool:
        return self.units or self.incidents or self.calls or self.alarms


class MapModel(QObject):
    """See the module docstring. ``world``: the world to show (``service.state.view``, read
    again at every change); ``clock``: the time AVL ages are measured with."""

    changed = Signal(object)  # MapUpdate

    def __init__(
        self,
        world: Callable[[], World],
        projection: LocalProjection,
        stations: Stations,
        *,
        stale_after_s: float = 120.0,
        clock: Callable[[], float] = time.time,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._world = world
        self.projection = projection
        self.stations = stations
        self.stale_after_s = float(stale_after_s)
        self.clock = clock
        kx, ky = projection.to_xy(projection.lat0 + 1.0, projection.lon0 + 1.0)
        self._kx, self._ky = float(kx), float(ky)  # metres per degree (the projection is linear)
        self.units = Rows()
        self.unit_at = np.zeros(0)  # time of each unit's fix, NaN: none
        self.unit_kind = np.zeros(0, np.int8)
        self.incidents = Rows()
        self.station_rows = Rows()
        self.calls: dict[str, CallShape] = {}
        self._shown_call: str | None = None
        self.alarms = Rows()
        self.alarm_marks: tuple[AlarmMark, ...] = ()
        self._alarm_units: frozenset[str] = frozenset()
        self._unlabelled: frozenset[str] = frozenset()  # units whose ring carries their label
        self._pulse_on = False
        self._pulse = QTimer(self)
        self._pulse.setInterval(PULSE_MS)
        self._pulse.timeout.connect(self._on_pulse)
        self._build_stations()
        self.reload()

    # --- positions -------------------------------------------------------------------------

    def xy(self, lat: float, lon: float) -> tuple[float, float]:
        """(x, y) metres of a point (the projection, without numpy for one point)."""
        p = self.projection
        return (lon - p.lon0) * self._kx, (lat - p.lat0) * self._ky

    def latlon(self, x: float, y: float) -> tuple[float, float]:
        """(lat, lon) of a map point."""
        p = self.projection
        return p.lat0 + y / self._ky, p.lon0 + x / self._kx

    def unit_xy(self, unit_id: str) -> tuple[float, float] | None:
        row = self.units.row.get(unit_id)
        if row is None or not self.units.shown[row]:
            return None
        return float(self.units.x[row]), float(self.units.y[row])

    def incident_xy(self, incident_id: str) -> tuple[float, float] | None:
        row = self.incidents.row.get(incident_id)
        if row is None or not self.incidents.shown[row]:
            return None
        return float(self.incidents.x[row]), float(self.incidents.y[row])

    def unit_kind_of(self, unit_id: str) -> str | None:
        """``live``, ``stale`` or ``home`` for a unit drawn; None for one not drawn."""
        row = self.units.row.get(unit_id)
        if row is None or not self.units.shown[row]:
            return None
        return UNIT_KINDS[int(self.unit_kind[row])]

    # --- building --------------------------------------------------------------------------

    def _build_stations(self) -> None:
        ids = list(self.stations)
        points = [self.xy(*self.stations[s].position) for s in ids]
        self.station_rows.set(
            ids,
            [p[0] for p in points],
            [p[1] for p in points],
            [0] * len(ids),
            labels=[f"Stn {s}" for s in ids],
        )

    def reload(self) -> MapUpdate:
        """Rebuild every row from the world (at start, after a snapshot)."""
        world = self._world()
        units = list(world.units.values())
        n = len(units)
        self.units.set([u.id for u in units], np.zeros(n), np.zeros(n), np.zeros(n, np.int16))
        self.units.labels = [u.id for u in units]
        self.unit_at = np.full(n, np.nan)
        self.unit_kind = np.zeros(n, np.int8)
        now = self.clock()
        for row, unit in enumerate(units):
            self._place_unit(row, unit, now)
        incidents = list(world.incidents.values())
        m = len(incidents)
        self.incidents.set(
            [i.id for i in incidents], np.zeros(m), np.zeros(m), np.zeros(m, np.int16)
        )
        for row, incident in enumerate(incidents):
            self._place_incident(row, incident)
        self._rebuild_calls(world)
        if self.alarm_marks:
            self._place_alarms(world)
        return MapUpdate(units=True, incidents=True, calls=True, alarms=bool(self.alarm_marks))

    def _place_unit(self, row: int, unit: Unit, now: float) -> None:
        rows = self.units
        rows.style[row] = _STATUS_INDEX[unit.status] * 3  # the kind is added below
        position = unit.position
        if position is not None:
            rows.x[row], rows.y[row] = self.xy(position.lat, position.lon)
            self.unit_at[row] = position.at
            kind = STALE if now - position.at > self.stale_after_s else LIVE
            rows.shown[row] = True
        else:
            self.unit_at[row] = math.nan
            home = home_position(unit, self.stations)
            kind = HOME
            rows.shown[row] = home is not None
            if home is not None:
                rows.x[row], rows.y[row] = self.xy(*home)
        self.unit_kind[row] = kind
        rows.style[row] += kind

    def _place_incident(self, row: int, incident: Incident) -> None:
        rows, where = self.incidents, incident.location
        located = where.lat is not None and where.lon is not None
        rows.shown[row] = located and incident.status is not IncidentStatus.CLOSED
        if where.lat is not None and where.lon is not None:
            rows.x[row], rows.y[row] = self.xy(where.lat, where.lon)
        rows.style[row] = incident_style(incident)

    def _rebuild_calls(self, world: World) -> bool:
        shapes: dict[str, CallShape] = {}
        for call in world.calls.values():
            if call.status in _ON_THE_LINE or call.id == self._shown_call:
                shape = self._call_shape(call)
                if shape is not None:
                    shapes[call.id] = shape
        changed = shapes.keys() != self.calls.keys() or any(
            (s.x, s.y, s.incident_id, s.ringing)
            != (self.calls[k].x, self.calls[k].y, self.calls[k].incident_id, self.calls[k].ringing)
            for k, s in shapes.items()
        )
        self.calls = shapes
        return changed

    def _call_shape(self, call: Call) -> CallShape | None:
        g = best_geodetic(call)
        if g is None:
            return None
        x, y = self.xy(g.lat, g.lon)
        outlines = caller_outlines(g, self.projection)
        ringing = call.status is CallStatus.RINGING
        return CallShape(call.id, x, y, outlines, call.incident_id, ringing)

    # --- changes ---------------------------------------------------------------------------

    def apply(self, change: Change) -> MapUpdate:
        """Take in what ``change`` says changed; emits ``changed`` (once) if a marker did."""
        if change.reset:
            update = self.reload()
        else:
            world = self._world()
            update = MapUpdate()
            moved: Iterable[str] = getattr(change, "positions", ())
            unit_ids = change.units | set(moved) if moved else change.units
            if unit_ids:
                update.units = self._update_units(world, unit_ids)
                update.ids |= unit_ids
                if self._alarm_units and not self._alarm_units.isdisjoint(unit_ids):
                    self._place_alarms(world)
                    update.alarms = True
            if change.incidents:
                update.incidents = self._update_incidents(world, change.incidents)
                update.ids |= change.incidents
            if change.calls:
                update.calls = self._rebuild_calls(world)
        if update:
            self.changed.emit(update)
        return update

    def _update_units(self, world: World, ids: Iterable[str]) -> bool:
        now = self.clock()
        rows = self.units
        for unit_id in ids:
            unit = world.units.get(unit_id)
            row = rows.row.get(unit_id)
            if unit is None:
                if row is not None:
                    rows.shown[row] = False
                continue
            if row is None:
                row = rows.append(unit_id, 0.0, 0.0, 0, unit_id)
                self.unit_at = np.append(self.unit_at, math.nan)
                self.unit_kind = np.append(self.unit_kind, np.int8(HOME))
            self._place_unit(row, unit, now)
        return True

    def _update_incidents(self, world: World, ids: Iterable[str]) -> bool:
        rows = self.incidents
        for incident_id in ids:
            incident = world.incidents.get(incident_id)
            row = rows.row.get(incident_id)
            if incident is None:
                if row is not None:
                    rows.shown[row] = False
                continue
            if row is None:
                row = rows.append(incident_id, 0.0, 0.0, 0)
            self._place_incident(row, incident)
        return True

    def tick(self) -> MapUpdate:
        """Mark fixes that have grown old (or young again, if the clock went back) as stale
        or live; emits ``changed`` if any did."""
        update = MapUpdate()
        if not len(self.unit_at):
            return update
        with np.errstate(invalid="ignore"):
            age = self.clock() - self.unit_at
            kind = np.where(age > self.stale_after_s, STALE, LIVE).astype(np.int8)
        has_fix = ~np.isnan(self.unit_at)
        flipped = np.flatnonzero(has_fix & (kind != self.unit_kind))
        if len(flipped):
            self.units.style[flipped] += (kind[flipped] - self.unit_kind[flipped]).astype(np.int16)
            self.unit_kind[flipped] = kind[flipped]
            update.units = True
            update.ids = {self.units.ids[r] for r in flipped.tolist()}
            self.changed.emit(update)
        return update

    # --- radio emergencies -----------------------------------------------------------------

    def set_alarms(self, items: Sequence[AlarmItem]) -> None:
        """Draw the emergencies of the alarm queue ``items`` (module docstring): one ring per
        unit (or radio on no unit), acknowledged ones first so sounding ones are drawn over
        them; items without an alarm (PARs) have no place and are skipped. Emits ``changed``
        when the rings change."""
        grouped: dict[str, AlarmMark] = {}
        for item in items:
            alarm = item.alarm
            if alarm is None:
                continue
            label = alarm.unit_id or f"radio {alarm.radio_id}"
            mark = AlarmMark(
                label,
                alarm.unit_id,
                alarm.position or item.position,
                item.level is AlarmLevel.ACKNOWLEDGED,
            )
            held = grouped.get(label)
            if held is not None:  # two radios of one unit: one ring, sounding if either is
                newest = max(
                    (p for p in (held.recorded, mark.recorded) if p is not None),
                    key=lambda p: p.at,
                    default=None,
                )
                mark = AlarmMark(
                    label, mark.unit_id, newest, held.acknowledged and mark.acknowledged
                )
            grouped[label] = mark
        marks = tuple(sorted(grouped.values(), key=lambda m: (not m.acknowledged, m.label)))
        if marks == self.alarm_marks:
            return
        self.alarm_marks = marks
        self._alarm_units = frozenset(m.unit_id for m in marks if m.unit_id)
        unlabelled = self._unlabelled
        self._place_alarms(self._world())
        if any(not m.acknowledged for m in marks):
            if not self._pulse.isActive():
                self._pulse.start()
        else:
            self._pulse.stop()
            self._pulse_on = False
        self.changed.emit(MapUpdate(units=unlabelled != self._unlabelled, alarms=True))

    def _alarm_place(
        self, world: World, unit_id: str, recorded: Position | None
    ) -> Position | None:
        unit = world.units.get(unit_id) if unit_id else None
        if unit is not None and unit.position is not None:
            return unit.position
        return recorded

    def _place_alarms(self, world: World) -> None:
        marks = self.alarm_marks
        places = [self._alarm_place(world, m.unit_id, m.recorded) for m in marks]
        points = [self.xy(p.lat, p.lon) if p is not None else (0.0, 0.0) for p in places]
        self.alarms.set(
            [m.label for m in marks],
            [p[0] for p in points],
            [p[1] for p in points],
            [self._alarm_style(m) for m in marks],
            shown=[p is not None for p in places],
            labels=[m.label for m in marks],
        )
        ringed = frozenset(
            m.unit_id for m, p in zip(marks, places, strict=True) if p is not None and m.unit_id
        )
        labels = self.units.labels
        for unit_id in self._unlabelled - ringed:
            row = self.units.row.get(unit_id)
            if row is not None:
                labels[row] = unit_id
        for unit_id in ringed:
            row = self.units.row.get(unit_id)
            if row is not None:
                labels[row] = ""
        self._unlabelled = ringed

    def _alarm_style(self, mark: AlarmMark) -> int:
        if mark.acknowledged:
            return ALARM_ACKNOWLEDGED
        return ALARM_PULSE if self._pulse_on else ALARM_SOUNDING

    def _on_pulse(self) -> None:
        self._pulse_on = not self._pulse_on
        for row, mark in enumerate(self.alarm_marks):
            self.alarms.style[row] = self._alarm_style(mark)
        self.changed.emit(MapUpdate(alarms=True))

    def alarm_xy(self, label: str) -> tuple[float, float] | None:
        """Where the ring ``label`` (`AlarmMark.label`) is drawn; None: it is not."""
        row = self.alarms.row.get(label)
        if row is None or not self.alarms.shown[row]:
            return None
        return float(self.alarms.x[row]), float(self.alarms.y[row])

    def alarm_look(self, label: str) -> Literal["sounding", "acknowledged"] | None:
        """How the ring ``label`` is drawn (whatever the pulse's phase); None: not drawn."""
        row = self.alarms.row.get(label)
        if row is None or not self.alarms.shown[row]:
            return None
        return "acknowledged" if self.alarm_marks[row].acknowledged else "sounding"

    def alarm_item_xy(self, item: AlarmItem) -> tuple[float, float] | None:
        """Where an item of the alarm queue is (module docstring); None for one with no
        place (a PAR, a radio whose position is not known)."""
        alarm = item.alarm
        if alarm is None:
            return None
        place = self._alarm_place(self._world(), alarm.unit_id, alarm.position or item.position)
        return None if place is None else self.xy(place.lat, place.lon)

    @property
    def pulsing(self) -> bool:
        """Whether the pulse timer runs (only while a ring sounds)."""
        return self._pulse.isActive()

    def show_call(self, call_id: str | None) -> None:
        """Also draw call ``call_id``'s location, whatever its status (None: only those on the
        line)."""
        self._shown_call = call_id
        if self._rebuild_calls(self._world()):
            self.changed.emit(MapUpdate(calls=True))

    def incident(self, incident_id: str) -> Incident | None:
        return self._world().incidents.get(incident_id)

    def linked_call(self, incident_id: str) -> Call | None:
        """The incident's most recent linked call with a geodetic location, if any."""
        world = self._world()
        incident = world.incidents.get(incident_id)
        for call_id in reversed(incident.calls if incident is not None else []):
            call = world.calls.get(call_id)
            if call is not None and best_geodetic(call) is not None:
                return call
        return None
