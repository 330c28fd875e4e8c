"""`RecommendationBox`: the run card and the recommended units of the incident in detail.

Shows the card and alarm level, what the units already on the incident cover, each pick with
its ETA, distance, reason and a stale-AVL flag, and the shortfalls. The dispatcher accepts all
the picks with one key (`DISPATCH_RECOMMENDED_KEYS`), or overrides: unticks picks and/or adds
units by id, optionally says why, and dispatches the ticked set — the server records the
override in the incident's timeline (``unit.dispatch`` with ``recommended``).

A monitoring position (`RecommendationBox.set_read_only_role`, `ui.read_only`) sees the
recommendation and may select its units, but dispatches nothing and strikes no alarm: those
controls are disabled saying why.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.incidents import ALARMS
from desktop.domain.units import UnitDispatch, is_override
from desktop.domain.wording import ordinal
from desktop.geo.advice import Advice
from desktop.geo.recommend import Pick, format_distance, format_duration
from ui.read_only import ReadOnlyGuard

__all__ = ["DISPATCH_RECOMMENDED_KEYS", "NO_INCIDENT", "RecommendationBox"]

#: Dispatches every recommended unit of the incident in detail (bound application-wide).
DISPATCH_RECOMMENDED_KEYS = "F9"

_STALE = QBrush(QColor("#e3b341"))
_MANUAL = "added by the dispatcher"
#: What the run card line says with no incident selected.
NO_INCIDENT = "Run card: select an incident"
_ALARMS = tuple(f"{ordinal(level)} alarm" for level in ALARMS)


class RecommendationBox(QWidget):
    """Picks of an `Advice`, ticked by default; emits ``dispatch_requested(UnitDispatch)``.

    ``alarm_changed(int)`` asks for advice at another alarm level. ``show_advice`` keeps the
    dispatcher's ticks and added units for picks that are still offered.
    """

    dispatch_requested = Signal(object)  # UnitDispatch
    alarm_changed = Signal(int)

    COLUMNS = ("Send", "Unit", "Type", "ETA", "Distance", "Why")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._advice: Advice | None = None
        self._manual: list[str] = []
        self.card_label = QLabel()
        self.card_label.setObjectName("runcard_label")
        self.card_label.setWordWrap(True)
        self.alarm = QComboBox()
        self.alarm.setObjectName("alarm_level")
        self.alarm.addItems(_ALARMS)
        self.alarm.setToolTip("Alarm level: each level adds the units its run card lists")
        self.alarm.currentIndexChanged.connect(lambda index: self.alarm_changed.emit(index + 1))
        heading = QHBoxLayout()
        heading.addWidget(self.card_label, 1)
        heading.addWidget(self.alarm)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("recommendation_table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(24)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        for column, width in enumerate((44, 70, 110, 90, 70)):
            self.table.setColumnWidth(column, width)
        header.setSectionResizeMode(len(self.COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemChanged.connect(lambda _item: self._update_override())
        self.shortfalls = QLabel()
        self.shortfalls.setObjectName("shortfalls")
        self.shortfalls.setWordWrap(True)
        self.add_unit = QLineEdit()
        self.add_unit.setObjectName("add_unit")
        self.add_unit.setPlaceholderText("Add a unit (id, Enter)")
        self.add_unit.returnPressed.connect(self._add_typed_unit)
        self.override_reason = QLineEdit()
        self.override_reason.setObjectName("override_reason")
        self.override_reason.setPlaceholderText("Why not the recommendation? (recorded)")
        self.override_reason.hide()
        self.accept_button = QPushButton(f"Dispatch recommended ({DISPATCH_RECOMMENDED_KEYS})")
        self.accept_button.setObjectName("dispatch_recommended")
        self.accept_button.clicked.connect(self.dispatch_recommended)
        self.ticked_button = QPushButton("Dispatch ticked")
        self.ticked_button.setObjectName("dispatch_ticked")
        self.ticked_button.clicked.connect(self.dispatch_ticked)
        self.read_only = ReadOnlyGuard(
            None,
            [
                self.alarm,
                self.add_unit,
                self.override_reason,
                self.accept_button,
                self.ticked_button,
            ],
        )
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_unit, 1)
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.ticked_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(heading)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.shortfalls)
        layout.addWidget(self.override_reason)
        layout.addLayout(buttons)
        self.show_advice(None)

    # --- showing ---------------------------------------------------------------------------

    def show_advice(self, advice: Advice | None, why_none: str = NO_INCIDENT) -> None:
        """Show ``advice`` (None: nothing to recommend for, ``why_none`` says why). Ticks the
        dispatcher changed stay as they were for picks still offered; units they added stay
        listed."""
        previous = self._advice
        same_incident = (
            previous is not None
            and advice is not None
            and previous.incident_id == advice.incident_id
        )
        unticked = self._unticked() if same_incident else set()
        if not same_incident:
            self._manual = []
            self.override_reason.clear()
        self._advice = advice
        self.alarm.blockSignals(True)
        self.alarm.setCurrentIndex(0 if advice is None else min(advice.alarm, len(_ALARMS)) - 1)
        self.alarm.blockSignals(False)
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        if advice is not None and advice.recommendation is not None:
            for pick in advice.recommendation.picks:
                self._append_row(pick.unit_id, pick, pick.unit_id not in unticked)
        for unit_id in self._manual:
            if unit_id not in self.recommended():
                self._append_row(unit_id, None, unit_id not in unticked)
        self.table.blockSignals(False)
        self.card_label.setText(self._card_text(advice) if advice else why_none)
        self.shortfalls.setText(self._shortfall_text(advice))
        self.shortfalls.setVisible(bool(self.shortfalls.text()))
        self.read_only.set_enabled(self.alarm, advice is not None)
        self._update_override()

    def _append_row(self, unit_id: str, pick: Pick | None, ticked: bool) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        send = QTableWidgetItem()
        send.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
        send.setCheckState(Qt.CheckState.Checked if ticked else Qt.CheckState.Unchecked)
        send.setData(Qt.ItemDataRole.UserRole, unit_id)
        cells = [send, QTableWidgetItem(unit_id)]
        if pick is None:
            cells += [QTableWidgetItem(t) for t in ("", "", "", _MANUAL)]
        else:
            why = pick.reason
            cells += [
                QTableWidgetItem(pick.type),
                QTableWidgetItem(format_duration(pick.eta_s)),
                QTableWidgetItem(format_distance(pick.distance_m)),
                QTableWidgetItem(("⚠ " if pick.stale else "") + why),
            ]
            if pick.stale:
                cells[-1].setForeground(_STALE)
            for cell in cells[1:]:
                cell.setToolTip(why)
        for column, cell in enumerate(cells):
            self.table.setItem(row, column, cell)

    @staticmethod
    def _card_text(advice: Advice) -> str:
        needs = advice.plan.needs
        plan = ", ".join(f"{count} {line.replace('|', ' or ')}" for line, count in needs)
        text = f"Run card: {advice.card.name} · plan {plan or 'none'}"
        if advice.on_scene:
            text += f" · on the incident: {', '.join(advice.on_scene)}"
        if advice.covered:
            text += " · the plan is covered"
        return text

    @staticmethod
    def _shortfall_text(advice: Advice | None) -> str:
        if advice is None:
            return ""
        if advice.recommendation is None:
            return advice.problem
        parts = [f"Short: {s.text}" for s in advice.recommendation.shortfalls]
        if advice.recommendation.unlocated:
            parts.append(f"no position for {', '.join(advice.recommendation.unlocated)}")
        return " · ".join(parts)

    @property
    def advice(self) -> Advice | None:
        """The advice shown (None: no incident, or a closed one)."""
        return self._advice

    # --- choosing --------------------------------------------------------------------------

    def recommended(self) -> list[str]:
        """The units the advice recommends, in pick order."""
        return [] if self._advice is None else self._advice.recommended_ids()

    def ticked(self) -> list[str]:
        """The units ticked to send, in table order."""
        return [
            str(item.data(Qt.ItemDataRole.UserRole))
            for row in range(self.table.rowCount())
            if (item := self.table.item(row, 0)) is not None
            and item.checkState() is Qt.CheckState.Checked
        ]

    def _unticked(self) -> set[str]:
        return {
            str(item.data(Qt.ItemDataRole.UserRole))
            for row in range(self.table.rowCount())
            if (item := self.table.item(row, 0)) is not None
            and item.checkState() is not Qt.CheckState.Checked
        }

    def add(self, unit_id: str) -> None:
        """Add ``unit_id`` to the units to send (ticked), beyond the recommendation."""
        unit_id = unit_id.strip().upper()
        if (
            self.read_only.active
            or not unit_id
            or unit_id in self._manual
            or unit_id in self.recommended()
        ):
            return
        self._manual.append(unit_id)
        self.show_advice(self._advice)

    def _add_typed_unit(self) -> None:
        self.add(self.add_unit.text())
        self.add_unit.clear()

    def is_override(self) -> bool:
        """True when the ticked units depart from a recommendation (the rule is
        `desktop.domain.units.is_override`; with no recommendation there is none to depart
        from)."""
        advice = self._advice
        has_one = advice is not None and advice.recommendation is not None
        return is_override(self.recommended() if has_one else None, self.ticked())

    def _update_override(self) -> None:
        override = self.is_override()
        self.override_reason.setVisible(override)
        self.read_only.set_enabled(self.accept_button, bool(self.recommended()))
        self.read_only.set_enabled(self.ticked_button, bool(self.ticked()))
        self.ticked_button.setText("Dispatch ticked (override)" if override else "Dispatch ticked")

    # --- dispatching -----------------------------------------------------------------------

    def set_read_only_role(self, role: str | None) -> None:
        """A monitoring position (``role`` read-only) dispatches nothing from here and
        strikes no alarm (module docstring)."""
        self.read_only.set_role(role)

    def dispatch_recommended(self) -> bool:
        """Ask to send every recommended unit; False when there is nothing to send (or the
        position is read-only)."""
        if self.read_only.active or self._advice is None or not self.recommended():
            return False
        self.dispatch_requested.emit(
            UnitDispatch(
                incident_id=self._advice.incident_id,
                unit_ids=self.recommended(),
                recommended=self.recommended(),
            )
        )
        return True

    def dispatch_ticked(self) -> bool:
        """Ask to send the ticked units; an override carries the recommendation and reason.
        Without a recommendation (no coordinates) there is nothing to override."""
        units = self.ticked()
        advice = self._advice
        if self.read_only.active or advice is None or not units:
            return False
        if advice.recommendation is None:
            command = UnitDispatch(incident_id=advice.incident_id, unit_ids=units)
        else:
            command = UnitDispatch(
                incident_id=advice.incident_id,
                unit_ids=units,
                recommended=self.recommended(),
                override_reason=self.override_reason.text().strip(),
            )
        self.dispatch_requested.emit(command)
        return True

    def dispatched(self) -> None:
        """The dispatch was queued: start the next choice afresh."""
        self._manual = []
        self.override_reason.clear()
