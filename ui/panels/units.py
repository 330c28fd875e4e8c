"""Units panel: every unit with its status colour, incident, radio channel, location and time in
status.

Status changes and dispatches are made from the keyboard or a context menu and always go
through `DispatchService.submit`. What cannot be done is explained in place, on the panel's
message line: a local refusal (the rules, as the server would say it) at once, and a refusal
by the server (a command sent on a stale view) as soon as it arrives, with the unit's row
marked ``✖`` until the dispatcher retries or discards it under Needs attention.

The find field (``find_field``, Ctrl+F) goes to a unit by its id, as the command line reads it:
it becomes the selected unit and the table has the keyboard, so a status key acts on it at once.
Home and End go to the first and the last row (`ui.panels.make_table_view`).

A monitoring position (`set_read_only_role`, `ui.read_only`) changes nothing here: the status
and dispatch keys and Ctrl+Z only say so on the message line, the menu's status and dispatch
actions are disabled saying why; selection, Enter, the menu and the find field still work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QItemSelection, QModelIndex, QObject, QPoint, Qt
from PySide6.QtGui import QAction, QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QHeaderView, QLabel, QMenu, QVBoxLayout, QWidget

from desktop.commandline import Problem, find_unit
from desktop.domain.kinds import CommandArgs, DomainError
from desktop.domain.types import Incident, Unit, UnitStatus
from desktop.domain.units import UNDO_DISPATCH_S, UnitDispatch, UnitSetStatus, undo_dispatch
from desktop.domain.wording import STATUS_WORDS, incident_label, place
from desktop.outbox import Rejection
from desktop.service import CommandRefused, DispatchService
from ui.models.board import BoardModels
from ui.panels import make_table_view
from ui.read_only import READ_ONLY_HINT, ReadOnlyGuard
from ui.selection import Selection
from ui.widgets.find_field import FindField
from ui.widgets.message_line import MessageLine, MessageState, submit_and_say

__all__ = ["DISPATCH_KEY", "STATUS_KEYS", "UNDO_KEY", "UnitsPanel"]

#: The key that moves the selected unit to each status (DP comes only by a dispatch: D).
STATUS_KEYS: dict[UnitStatus, str] = {
    UnitStatus.AV: "A",
    UnitStatus.AQ: "Q",
    UnitStatus.ER: "E",
    UnitStatus.OS: "O",
    UnitStatus.TR: "T",
    UnitStatus.AH: "H",
    UnitStatus.OOS: "X",
}
#: Dispatches the selected unit to the selected incident (shown above the table: the target).
DISPATCH_KEY = "D"
#: Undoes the panel's last dispatch within `UNDO_DISPATCH_S` (a release that records why).
UNDO_KEY = "Ctrl+Z"

_STATUS_OF_KEY: dict[int, UnitStatus] = {ord(key): status for status, key in STATUS_KEYS.items()}
_ENTER_KEYS = frozenset({Qt.Key.Key_Return, Qt.Key.Key_Enter})
_TYPING_MODIFIERS = Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier
_COLUMN_WIDTHS = (80, 130, 60, 130, 100, 70, 80)  # Unit .. In status; Location takes the rest
_STRETCH_COLUMN = 7  # Location
_HINT = (
    " · ".join(f"{key} {status}" for status, key in STATUS_KEYS.items())
    + f" · {DISPATCH_KEY} dispatch to the target · {UNDO_KEY} undo it"
    + " · Enter show its incident"
    + " · Menu or Shift+F10: every action"
)
_READ_ONLY_HINT = f"{READ_ONLY_HINT} · Enter show its incident · Menu or Shift+F10: the unit's menu"


@dataclass(frozen=True, slots=True)
class _Dispatched:
    """The panel's last dispatch, which `UnitsPanel.undo_last_dispatch` can take back."""

    unit_id: str
    incident_id: str
    previous: UnitStatus
    at: float


class UnitsPanel(QWidget):
    """The roster table (``view``), a key hint line and a message line (``message``).

    Keys on the focused table act on the selected unit: see `STATUS_KEYS` and `DISPATCH_KEY`
    (to the incident ``target`` shows, above the table: an action acts only on what is in
    sight); `UNDO_KEY` takes the last dispatch back within `UNDO_DISPATCH_S`;
    Enter (or a double click) selects the unit's incident; the Menu key, Shift+F10 or a right
    click open the unit's menu (``menu``: the last one opened). Letters never start Qt's
    type-ahead search here. Picking a row selects the unit in ``selection``, and a unit
    selected elsewhere is selected and scrolled to here.
    """

    def __init__(self, service: DispatchService, models: BoardModels, selection: Selection) -> None:
        super().__init__()
        self.service = service
        self.models = models
        self.selection = selection
        self.menu: QMenu | None = None
        self._message_key: str | None = None  # the rejection the message line explains
        # rejections already explained (or there before the panel): not announced again
        self._known_rejections = models.attention_keys()
        self._syncing = False  # selecting a row because ``selection`` said so: no echo
        self._last_dispatch: _Dispatched | None = None
        self.view = view = make_table_view("units_table")
        view.setModel(models.units)
        header = view.horizontalHeader()
        header.setStretchLastSection(False)
        for column, width in enumerate(_COLUMN_WIDTHS):
            view.setColumnWidth(column, width)
        header.setSectionResizeMode(_STRETCH_COLUMN, QHeaderView.ResizeMode.Stretch)
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(self._on_context_menu)
        view.doubleClicked.connect(self._on_double_click)
        view.installEventFilter(self)
        view.selectionModel().selectionChanged.connect(self._on_rows_selected)
        self.hint = QLabel(f"Keys: {_HINT}")
        self.hint.setObjectName("units_hint")
        self.hint.setProperty("class", "muted")
        self.hint.setWordWrap(True)
        self.message = MessageLine("units_message", hide_when_empty=True)
        self.read_only = ReadOnlyGuard(self.message)
        self.find_field = FindField(
            "units_find", "Go to unit", self.find_unit, view, self.message, self
        )
        self.target = QLabel()
        self.target.setObjectName("units_target")
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 0)
        bar.addWidget(self.find_field)
        bar.addWidget(self.target, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(view, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.hint)
        models.attention.layoutChanged.connect(self._on_attention_changed)
        models.units.layoutChanged.connect(self._follow_selection)
        selection.unit_changed.connect(self._on_unit_selected)
        selection.incident_changed.connect(self._on_incident_selected)
        models.incidents.layoutChanged.connect(self._show_target)
        models.incidents.dataChanged.connect(self._show_target)
        self._follow_selection()
        self._show_target()

    # --- actions -----------------------------------------------------------------------------

    def set_read_only_role(self, role: str | None) -> None:
        """A monitoring position (``role`` read-only) changes no unit: see the module
        docstring; the key hint says so."""
        self.read_only.set_role(role)
        self.hint.setText(_READ_ONLY_HINT if self.read_only.active else f"Keys: {_HINT}")

    def selected_unit_id(self) -> str | None:
        """The unit of the selected row, if any."""
        rows = self.view.selectionModel().selectedRows()
        return self.models.units.id_at(rows[0].row()) if rows else None

    def set_status(self, unit_id: str, status: UnitStatus) -> bool:
        """Submit ``unit.set_status``; True if queued, else the reason is on the message line."""
        if self.read_only.refuse():
            return False
        return self._submit(UnitSetStatus(unit_id=unit_id, status=status))

    def dispatch_to_selected_incident(self, unit_id: str) -> bool:
        """Submit ``unit.dispatch`` of the unit to ``selection.incident_id``; True if queued."""
        if self.read_only.refuse():
            return False
        incident = self._selected_incident()
        if incident is None:
            self._say(f"Select an incident first, then {DISPATCH_KEY} dispatches {unit_id}")
            return False
        unit = self.service.unit(unit_id)
        previous = unit.status if unit is not None else UnitStatus.AV
        args = UnitDispatch(incident_id=incident.id, unit_ids=[unit_id])
        done = (
            f"{unit_id} dispatched to {incident_label(incident)} · "
            f"{UNDO_KEY} undoes it within {UNDO_DISPATCH_S:.0f} s"
        )
        self._message_key = None
        if not submit_and_say(self.service, self.message, args, done):
            return False
        self._last_dispatch = _Dispatched(unit_id, incident.id, previous, self.service.now())
        return True

    def undo_last_dispatch(self) -> bool:
        """Release the unit of the last dispatch made here, within `UNDO_DISPATCH_S`, back to
        the status it had, recording why (`desktop.domain.units.undo_dispatch`); True if queued.
        """
        if self.read_only.refuse():
            return False
        last = self._last_dispatch
        if last is None or self.service.now() - last.at > UNDO_DISPATCH_S:
            self._say(
                "Nothing to undo: a dispatch can be undone for "
                f"{UNDO_DISPATCH_S:.0f} s; release the unit instead"
            )
            return False
        try:
            args = undo_dispatch(
                self.service.state.view, last.unit_id, last.incident_id, last.previous
            )
        except DomainError as exc:
            self._last_dispatch = None
            self._say(exc.message)
            return False
        incident = self.service.incident(last.incident_id)
        label = incident_label(incident) if incident is not None else "the incident"
        self._message_key = None
        done = f"Undone: {last.unit_id} released from {label}, back {last.previous}"
        if not submit_and_say(self.service, self.message, args, done):
            return False
        self._last_dispatch = None
        return True

    def find_unit(self, text: str) -> str | Problem:
        """Select the unit ``text`` names; what to say, or why not."""
        unit = find_unit(self.service.state.view, text)
        if isinstance(unit, Problem):
            return unit
        self.selection.select_unit(unit.id)
        return f"{unit.id} selected: {unit.status} {STATUS_WORDS[unit.status]}"

    def show_incident(self, unit_id: str) -> bool:
        """Select the incident the unit is on; False (and said so) if it is on none."""
        unit = self.service.unit(unit_id)
        if unit is None or unit.incident_id is None:
            self._say(f"{unit_id} is not on an incident")
            return False
        self.selection.select_incident(unit.incident_id)
        return True

    def build_menu(self, unit_id: str) -> QMenu:
        """The unit's menu: one action per status, ``unit_status_<code>``, disabled with the
        service's reason as tooltip and status tip where it would refuse the change;
        ``unit_dispatch`` to the selected incident (likewise); ``unit_show_incident`` when the
        unit is on one. Labels end in a tab and the action's key."""
        menu = QMenu(self)
        menu.setToolTipsVisible(True)
        unit = self.service.unit(unit_id)
        if unit is None:
            menu.addAction(f"No unit {unit_id}").setEnabled(False)
            return menu
        for status, key in STATUS_KEYS.items():
            action = menu.addAction(f"{status} · {STATUS_WORDS[status].capitalize()}\t{key}")
            action.setObjectName(f"unit_status_{status}")
            self._allow(action, UnitSetStatus(unit_id=unit_id, status=status))
            action.triggered.connect(lambda _=False, s=status: self.set_status(unit_id, s))
        menu.addSeparator()
        self._add_dispatch_action(menu, unit)
        if unit.incident_id is not None:
            incident = self.service.incident(unit.incident_id)
            label = incident_label(incident) if incident else unit.incident_id[:8]
            show = menu.addAction(f"Show incident {label}\tEnter")
            show.setObjectName("unit_show_incident")
            show.triggered.connect(lambda: self.show_incident(unit_id))
        return menu

    def open_menu(self, at: QPoint | None = None) -> QMenu | None:
        """Pop up the selected unit's menu at ``at`` (viewport coordinates; default: on its
        row). None, and said so, when no unit is selected."""
        unit_id = self.selected_unit_id()
        if unit_id is None:
            self._say("Select a unit first")
            return None
        if at is None:
            row = self.models.units.row_of(unit_id) or 0
            at = self.view.visualRect(self.models.units.index(row, 0)).center()
        if self.menu is not None:
            self.menu.close()
            self.menu.deleteLater()
        self.menu = self.build_menu(unit_id)
        self.menu.popup(self.view.viewport().mapToGlobal(at))
        return self.menu

    def _add_dispatch_action(self, menu: QMenu, unit: Unit) -> None:
        incident = self._selected_incident()
        if incident is None:
            action = menu.addAction(f"Dispatch\t{DISPATCH_KEY}")
            action.setEnabled(False)
            action.setToolTip("Select an incident first")
            action.setStatusTip("Select an incident first")
            self.read_only.mark(action)
        else:
            action = menu.addAction(f"Dispatch to {incident_label(incident)}\t{DISPATCH_KEY}")
            self._allow(action, UnitDispatch(incident_id=incident.id, unit_ids=[unit.id]))
            action.triggered.connect(lambda: self.dispatch_to_selected_incident(unit.id))
        action.setObjectName("unit_dispatch")

    def _allow(self, action: QAction, args: CommandArgs) -> None:
        """Enable ``action`` if the service would take ``args`` now, else say why not (a
        monitoring position: `READ_ONLY_HINT`)."""
        if self.read_only.active:
            self.read_only.mark(action)
            return
        try:
            self.service.check(args)
        except CommandRefused as exc:
            action.setEnabled(False)
            action.setToolTip(exc.message)
            action.setStatusTip(exc.message)

    def _selected_incident(self) -> Incident | None:
        incident_id = self.selection.incident_id
        return self.service.incident(incident_id) if incident_id is not None else None

    def _submit(self, args: CommandArgs) -> bool:
        """Queue ``args``; the row shows it, the message line says why not."""
        self._message_key = None
        return submit_and_say(self.service, self.message, args, "")

    # --- the message line --------------------------------------------------------------------

    def _say(self, text: str, rejection: Rejection | None = None) -> None:
        """Show ``text`` (refused here; or ``rejection``, by the server); "" clears."""
        self._message_key = rejection.entry.key if rejection is not None else None
        state = MessageState.SERVER if rejection is not None else MessageState.REFUSED
        self.message.say(text, state)

    def _on_attention_changed(self) -> None:
        """Explain the newest rejection naming a unit; clear the line once the rejection it
        explains has been retried or discarded."""
        current = {r.entry.key: r for r in self.models.refused_units().values()}
        new = [r for key, r in current.items() if key not in self._known_rejections]
        # Remember what Needs attention holds now, no more: a key that left it never comes back
        # (keys are never reused), so the set stays as small as Needs attention all shift.
        self._known_rejections = self.models.attention_keys()
        if new:
            rejection = max(new, key=lambda r: r.rejected_at)
            self._say(self.models.server_refusal(rejection), rejection)
        elif self._message_key is not None and self._message_key not in current:
            self._say("")

    # --- selection ---------------------------------------------------------------------------

    def _on_rows_selected(self, _selected: QItemSelection, _deselected: QItemSelection) -> None:
        if not self._syncing:
            self.selection.select_unit(self.selected_unit_id())

    def _on_unit_selected(self, unit_id: str | None) -> None:
        self._say("")
        self._select_row(unit_id)

    def _on_incident_selected(self, _incident_id: str | None) -> None:
        self._say("")
        self._show_target()

    def _show_target(self) -> None:
        """Say, above the table, which incident `DISPATCH_KEY` dispatches to. Called on every
        change of the incidents board: the label is touched only when its text changes."""
        incident = self._selected_incident()
        if incident is None:
            text, look = f"{DISPATCH_KEY}: select an incident to dispatch to", "muted"
        else:
            where = place(incident.location)
            text = (
                f"{DISPATCH_KEY} → {incident_label(incident)} · {incident.type} "
                f"P{incident.priority}{' · ' + where if where else ''}"
            )
            look = ""
        if text == self.target.text():
            return
        self.target.setText(text)
        self.target.setToolTip(text)
        if self.target.property("class") != look:
            self.target.setProperty("class", look)
            self.target.style().unpolish(self.target)
            self.target.style().polish(self.target)

    def _follow_selection(self) -> None:
        if self.selected_unit_id() != self.selection.unit_id:
            self._select_row(self.selection.unit_id)

    def _select_row(self, unit_id: str | None) -> None:
        """Select and scroll to ``unit_id``'s row (clear for None or a unit not listed)."""
        row = self.models.units.row_of(unit_id) if unit_id is not None else None
        self._syncing = True
        try:
            if row is None:
                self.view.clearSelection()
            elif self.selected_unit_id() != unit_id:
                self.view.selectRow(row)
                self.view.scrollTo(self.models.units.index(row, 0))
        finally:
            self._syncing = False

    # --- input -------------------------------------------------------------------------------

    def _on_context_menu(self, at: QPoint) -> None:
        index = self.view.indexAt(at)
        if index.isValid():
            self.view.selectRow(index.row())
            self.open_menu(at)
        elif self.selected_unit_id() is not None:
            self.open_menu()

    def _on_double_click(self, index: QModelIndex) -> None:
        unit_id = self.models.units.id_at(index.row())
        if unit_id is not None:
            self.show_incident(unit_id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keys of the table: the unit's actions, the menu; other plain letters do nothing
        (no type-ahead search: a letter is a command here)."""
        if watched is not self.view or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        action = self._key_action(event)
        if event.type() == QEvent.Type.ShortcutOverride:
            if action is None:
                return False
            event.accept()  # the table's keys win over window shortcuts while it has focus
            return True
        if event.type() != QEvent.Type.KeyPress:
            return False
        if action is not None:
            if not event.isAutoRepeat():
                action()
            event.accept()
            return True
        plain = not event.modifiers() & ~_TYPING_MODIFIERS
        return plain and event.text().isprintable() and bool(event.text())

    def _key_action(self, event: QKeyEvent) -> Callable[[], object] | None:
        """What a key does on the table (None: not one of the panel's keys)."""
        key, modifiers = event.key(), event.modifiers()
        if key == Qt.Key.Key_Menu or (
            key == Qt.Key.Key_F10 and modifiers == Qt.KeyboardModifier.ShiftModifier
        ):
            return self.open_menu
        if key == Qt.Key.Key_Z and modifiers == Qt.KeyboardModifier.ControlModifier:
            return self.undo_last_dispatch
        if modifiers & ~Qt.KeyboardModifier.KeypadModifier:
            return None
        status = _STATUS_OF_KEY.get(key)
        if self.read_only.active and (status is not None or key == ord(DISPATCH_KEY)):
            return self.read_only.refuse  # said even with no unit selected
        if status is not None:
            return lambda: self._on_selected(lambda unit_id: self.set_status(unit_id, status))
        if key == ord(DISPATCH_KEY):
            return lambda: self._on_selected(self.dispatch_to_selected_incident)
        if key in _ENTER_KEYS:
            return lambda: self._on_selected(self.show_incident)
        return None

    def _on_selected(self, act: Callable[[str], bool]) -> bool:
        unit_id = self.selected_unit_id()
        if unit_id is None:
            self._say("Select a unit first")
            return False
        return act(unit_id)
