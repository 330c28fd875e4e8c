"""Incidents panel: the pending queue and the active incidents, filtered, shared selection.

The table (`BoardModels.incidents`) lists the pending queue first (most urgent priority, then
the longest waiting), its Age cell turning amber then red at the per-priority thresholds of the
pending timer, then the dispatched and active incidents (`desktop.board_filter.board_order`).

A filter bar narrows it by type (Alt+T), priority (Alt+P) and area (Alt+A); Clear, or Escape in
the table, shows everything again. The filter is kept per workstation (``QSettings`` key
``incidents/filter``). A header line counts what is shown and what the filter hides.

Selection is shared through `ui.selection.Selection`: choosing a row (click, arrow keys) makes
it the selected incident everywhere; a selection made elsewhere selects and scrolls to its row
here (or clears this table's selection when the filter hides it or it is closed). Enter or a
double click also emits ``open_requested(incident_id)``: the window brings Incident detail up.

The find field (``find_field``, Ctrl+F) goes to an incident by its number, the number's tail or
its local reference, as the command line reads them: it becomes the selected incident (shown in
Incident detail even when the filter hides its row or it is closed, which the panel's message
line then says). Home and End go to the first and the last row (`ui.panels.make_table_view`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QSettings,
    Qt,
    Signal,
)
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.board_filter import EN_DASH, BoardCounts, IncidentFilter
from desktop.commandline import Problem, find_incident
from desktop.domain.types import IncidentStatus
from desktop.domain.wording import incident_label
from desktop.service import DispatchService
from ui.models.board import BoardModels
from ui.panels import make_table_view
from ui.selection import Selection
from ui.widgets.find_field import FindField
from ui.widgets.message_line import MessageLine

__all__ = ["COLUMN_WIDTHS", "FILTER_KEY", "PRIORITY_CHOICES", "IncidentsPanel"]

#: Where the filter is kept in the workstation's settings.
FILTER_KEY = "incidents/filter"
#: The priority filter's choices: label and the most urgent priorities it keeps.
PRIORITY_CHOICES: tuple[tuple[str, int], ...] = (
    ("P1", 1),
    (f"P1{EN_DASH}2", 2),
    (f"P1{EN_DASH}3", 3),
)
#: Incident, P, Type, Status, Location (stretches), Area, Units, Age.
COLUMN_WIDTHS = (165, 34, 150, 100, 260, 110, 120, 70)  # Incident fits "○ L17 (number pending)"
_STRETCH_COLUMN = 4

V = TypeVar("V")


class _Choice(QComboBox, Generic[V]):
    """A combo box of (label, value) choices; values stay Python objects. ``before_popup`` is
    called before the list opens and on focus (to bring the choices up to date)."""

    def __init__(self, object_name: str, before_popup: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self._values: list[V] = []
        self._before_popup = before_popup

    def set_choices(self, choices: Sequence[tuple[str, V]]) -> None:
        """Replace the choices, keeping the current value selected when it is still offered."""
        if [label for label, _ in choices] == self.labels() and [v for _, v in choices] == (
            self._values
        ):
            return
        current = self.value()
        blocked = self.blockSignals(True)
        try:
            self.clear()
            self._values = []
            for label, value in choices:
                self._values.append(value)
                self.addItem(label)
            index = self._index_of(current)
            self.setCurrentIndex(0 if index is None else index)
        finally:
            self.blockSignals(blocked)

    def labels(self) -> list[str]:
        return [self.itemText(i) for i in range(self.count())]

    def value(self) -> V | None:
        index = self.currentIndex()
        return self._values[index] if 0 <= index < len(self._values) else None

    def select(self, value: V, label: str) -> None:
        """Select ``value``, adding it under ``label`` if it is not offered."""
        index = self._index_of(value)
        if index is None:
            self._values.append(value)
            self.addItem(label)
            index = len(self._values) - 1
        self.setCurrentIndex(index)

    def _index_of(self, value: object) -> int | None:
        for index, candidate in enumerate(self._values):
            if candidate == value:
                return index
        return None

    def showPopup(self) -> None:
        if self._before_popup is not None:
            self._before_popup()
        super().showPopup()

    def focusInEvent(self, event: QFocusEvent) -> None:
        # the arrow keys choose without opening the list: be up to date for them too
        if self._before_popup is not None:
            self._before_popup()
        super().focusInEvent(event)


class IncidentsPanel(QWidget):
    """The board's incidents with a filter bar. ``view`` is the table; ``header`` counts;
    ``type_filter``, ``priority_filter``, ``area_filter`` and ``clear_button`` are the bar.
    The window title names the filter ("Incidents · P1–2 · FIRE")."""  # noqa: RUF002

    open_requested = Signal(str)  # incident id: Enter or double click on its row
    filter_changed = Signal(object)  # IncidentFilter

    def __init__(
        self,
        service: DispatchService,
        models: BoardModels,
        selection: Selection,
        areas: Sequence[str] = (),
        settings: QSettings | None = None,
        parent: QWidget | None = None,
        types: Sequence[str] = (),
    ) -> None:
        """``areas`` are the area labels offered by the area filter (as ``models``' area
        function spells them, or their leading part: see `IncidentFilter`); ``types`` are
        offered by the type filter besides the types on the board (the run cards' types);
        ``settings`` keeps the filter between sessions."""
        super().__init__(parent)
        self.setObjectName("incidents_panel")
        self.service = service
        self.models = models
        self.selection = selection
        self.settings = settings
        self._card_types = tuple(types)
        self._syncing = False  # selecting a row because Selection said so: do not echo it

        self.type_filter: _Choice[frozenset[str] | None] = _Choice(
            "incidents_type_filter", self._refresh_types
        )
        self.priority_filter: _Choice[frozenset[int] | None] = _Choice("incidents_priority_filter")
        self.priority_filter.set_choices(
            [("All priorities", None)]
            + [(label, frozenset(range(1, top + 1))) for label, top in PRIORITY_CHOICES]
        )
        self.area_filter: _Choice[frozenset[str] | None] = _Choice("incidents_area_filter")
        self.area_filter.set_choices(
            [("All areas", None)] + [(area, frozenset({area})) for area in areas]
        )
        self.area_filter.setEnabled(bool(areas))
        self._refresh_types()
        self.clear_button = QPushButton("Clear")
        self.clear_button.setObjectName("incidents_clear_filter")
        self.clear_button.setToolTip("Show every open incident (Esc in the table)")
        self.clear_button.clicked.connect(self.clear_filter)
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(6)
        for text, combo in (
            ("&Type", self.type_filter),
            ("&Priority", self.priority_filter),
            ("&Area", self.area_filter),
        ):
            label = QLabel(text)
            label.setBuddy(combo)
            bar.addWidget(label)
            bar.addWidget(combo)
            combo.currentIndexChanged.connect(self._on_combo_changed)
        bar.addWidget(self.clear_button)
        bar.addStretch(1)

        self.header = QLabel()
        self.header.setObjectName("incidents_header")
        self.message = MessageLine("incidents_message", hide_when_empty=True)
        self.view = make_table_view("incidents_table")
        self.find_field = FindField(
            "incidents_find", "Go to incident", self.find_incident, self.view, self.message, self
        )
        bar.addWidget(self.find_field)
        self.view.setModel(models.incidents)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        for column, width in enumerate(COLUMN_WIDTHS):
            self.view.setColumnWidth(column, width)
        header.setSectionResizeMode(_STRETCH_COLUMN, QHeaderView.ResizeMode.Stretch)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(bar)
        layout.addWidget(self.header)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.message)
        self.setFocusProxy(self.view)

        self.view.installEventFilter(self)
        self.view.doubleClicked.connect(self._on_double_click)
        self.view.selectionModel().selectionChanged.connect(self._on_rows_selected)
        models.incidents.layoutChanged.connect(self._on_layout_changed)
        models.incidents.modelReset.connect(self._on_layout_changed)
        selection.incident_changed.connect(self._on_incident_changed)
        listeners = models.incident_counts_listeners
        listeners.append(self._show_counts)
        # the models may outlive the panel: stop telling a deleted widget
        self.destroyed.connect(functools.partial(_forget, listeners, self._show_counts))

        self._restore_filter()
        self._update_header()

    # --- filter ------------------------------------------------------------------------------

    @property
    def incident_filter(self) -> IncidentFilter:
        return self.models.incident_filter

    def set_filter(self, wanted: IncidentFilter) -> None:
        """Show what ``wanted`` matches; the bar shows it (choices are added when needed)."""
        blocked = [combo.blockSignals(True) for combo in self._combos()]
        try:
            self.type_filter.select(wanted.types, _names(wanted.types))
            self.priority_filter.select(
                wanted.priorities,
                IncidentFilter(priorities=wanted.priorities).describe(),
            )
            self.area_filter.select(wanted.areas, _names(wanted.areas))
        finally:
            for combo, was in zip(self._combos(), blocked, strict=True):
                combo.blockSignals(was)
        # statuses have no control: the bar keeps what it was given
        self._apply(wanted)

    def clear_filter(self) -> None:
        """Show every open incident."""
        self.set_filter(IncidentFilter())

    def _combos(self) -> tuple[QComboBox, ...]:
        return (self.type_filter, self.priority_filter, self.area_filter)

    def _on_combo_changed(self) -> None:
        self._apply(
            IncidentFilter(
                types=self.type_filter.value(),
                priorities=self.priority_filter.value(),
                areas=self.area_filter.value(),
                statuses=self.models.incident_filter.statuses,
            )
        )

    def _apply(self, wanted: IncidentFilter) -> None:
        changed = wanted != self.models.incident_filter
        self.models.set_incident_filter(wanted)
        self._update_header()
        self.clear_button.setEnabled(not wanted.is_everything)
        if self.settings is not None:
            self.settings.setValue(FILTER_KEY, wanted.to_json())
        self._show(self.selection.incident_id, scroll=True)
        if changed:
            self.filter_changed.emit(wanted)

    def _restore_filter(self) -> None:
        saved = self.settings.value(FILTER_KEY, "") if self.settings is not None else ""
        self.set_filter(IncidentFilter.from_json(saved if isinstance(saved, str) else None))

    def _refresh_types(self) -> None:
        """Offer the types on the board and those with a run card."""
        names: dict[str, str] = {name.upper(): name for name in self._card_types}
        for name in self.models.incident_types():
            names.setdefault(name.upper(), name)
        current = self.type_filter.value()
        for name in current or ():
            names.setdefault(name, name)
        choices: list[tuple[str, frozenset[str] | None]] = [("All types", None)]
        choices += [(names[key], frozenset({key})) for key in sorted(names)]
        if current is not None and len(current) > 1:
            choices.append((_names(current), current))
        self.type_filter.set_choices(choices)

    # --- header ------------------------------------------------------------------------------

    def _show_counts(self, _counts: BoardCounts) -> None:
        self._update_header()

    def _update_header(self) -> None:
        counts = self.models.incident_counts
        wanted = self.models.incident_filter
        text = f"{counts.pending} pending · {counts.active} active"
        title = "Incidents"
        if not wanted.is_everything:
            text += f" · filter: {wanted.describe()} ({counts.hidden} hidden)"
            title += f" · {wanted.describe()}"
        if self.header.text() != text:
            self.header.setText(text)
        if self.windowTitle() != title:
            self.setWindowTitle(title)

    # --- selection ---------------------------------------------------------------------------

    def selected_id(self) -> str | None:
        """The incident of the selected row (None: no row selected)."""
        rows = self.view.selectionModel().selectedRows()
        return self.models.incidents.id_at(rows[0].row()) if rows else None

    def find_incident(self, text: str) -> str | Problem:
        """Select the incident ``text`` names (see the module's docstring); what to say."""
        incident = find_incident(self.service.state.view, text)
        if isinstance(incident, Problem):
            return incident
        self.selection.select_incident(incident.id)
        label = incident_label(incident)
        if incident.status is IncidentStatus.CLOSED:
            return f"{label} is closed: it is in Incident detail"
        if self.models.incidents.row_of(incident.id) is None:
            return (
                f"{label} is hidden by the filter (Esc in the table clears it): see Incident detail"
            )
        return f"{label} selected"

    def _on_rows_selected(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if self._syncing:
            return
        incident_id = self.selected_id()
        if incident_id is not None:  # a row hidden or closed leaves the selection as it is
            self.selection.select_incident(incident_id)

    def _on_incident_changed(self, incident_id: str | None) -> None:
        self.message.clear_message()  # what the find field said was about another incident
        self._show(incident_id, scroll=True)

    def _on_layout_changed(self) -> None:
        # rows came, went or moved: the selected incident may have come back into view
        if self.selected_id() != self.selection.incident_id:
            self._show(self.selection.incident_id, scroll=False)

    def _show(self, incident_id: str | None, *, scroll: bool) -> None:
        """Select ``incident_id``'s row (clear the table's selection when it has none)."""
        model = self.models.incidents
        row = None if incident_id is None else model.row_of(incident_id)
        self._syncing = True
        try:
            if row is None:
                if self.view.selectionModel().hasSelection():
                    self.view.clearSelection()
                return
            index = model.index(row, 0)
            if self.selected_id() != incident_id:
                flags = (
                    QItemSelectionModel.SelectionFlag.ClearAndSelect
                    | QItemSelectionModel.SelectionFlag.Rows
                )
                self.view.selectionModel().setCurrentIndex(index, flags)
            if scroll:
                self.view.scrollTo(index)
        finally:
            self._syncing = False

    def _open(self, incident_id: str) -> None:
        self.selection.select_incident(incident_id)
        self.open_requested.emit(incident_id)

    def _on_double_click(self, index: QModelIndex) -> None:
        incident_id = self.models.incidents.id_at(index.row())
        if incident_id is not None:
            self._open(incident_id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.view and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            key = event.key()
            if key == Qt.Key.Key_Escape and not self.models.incident_filter.is_everything:
                self.clear_filter()
                return True
            if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                current = self.view.currentIndex()
                incident_id = self.models.incidents.id_at(current.row())
                if incident_id is not None:
                    self._open(incident_id)
                    return True
        return super().eventFilter(watched, event)


def _names(values: frozenset[str] | None) -> str:
    return "/".join(sorted(values)) if values else ""


def _forget(
    listeners: list[Callable[[BoardCounts], None]], listener: Callable[[BoardCounts], None]
) -> None:
    if listener in listeners:
        listeners.remove(listener)
