"""Alerts panel: timer alerts to acknowledge, and Needs attention (commands the server
refused) with retry, edit (on the command line) and discard.

A monitoring position (`AlertsPanel.set_read_only_role`, `ui.read_only`) sees the alerts and
acknowledges, retries, edits and discards nothing: the buttons are disabled saying why, and
Ctrl+K says so on the alerts' message line.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.command_edit import command_text
from desktop.domain.types import EntityKind
from desktop.service import DispatchService
from ui.models.board import BoardModels
from ui.panels import make_table_view
from ui.read_only import ReadOnlyGuard
from ui.selection import Selection
from ui.widgets.message_line import MessageLine, MessageState, attempt, submit_and_say

__all__ = ["ACKNOWLEDGE_KEYS", "AlertsPanel"]

#: Acknowledges the selected timer alert, or the oldest with none selected (`MainWindow` binds
#: it application-wide, so it works while the panel is tabbed away).
ACKNOWLEDGE_KEYS = "Ctrl+K"


class AlertsPanel(QWidget):
    """Timer alerts: Acknowledge (Ctrl+K) records the selected one in the world; the row leaves
    once the view holds the acknowledgement. Refused commands: Retry re-sends the selected one,
    Edit hands it to the command line (``edit_requested``), Discard drops it (journaled).
    The window title counts the unacknowledged alerts."""

    edit_requested = Signal(object)  # Rejection: the refused command to edit

    def __init__(
        self, service: DispatchService, models: BoardModels, selection: Selection | None = None
    ) -> None:
        """``selection``: choosing an alert selects what it is about there (the unit, and the
        incident it is on; or the incident)."""
        super().__init__()
        self.service = service
        self.models = models
        self.selection = selection
        self.alerts_title = QLabel("Timer alerts")
        self.alerts_title.setObjectName("alerts_title")
        self.alerts_view = make_table_view("alerts_table")
        self.alerts_view.setModel(models.alerts)
        for column, width in enumerate((190, 320, 70)):
            self.alerts_view.setColumnWidth(column, width)
        self.acknowledge_button = QPushButton("Acknowledge")
        self.acknowledge_button.setToolTip(
            f"Acknowledge the selected alert ({ACKNOWLEDGE_KEYS}: the selected or the oldest)"
        )
        self.alerts_feedback = MessageLine("alerts_feedback")
        self.alerts_feedback.setWordWrap(False)
        self.acknowledge_button.clicked.connect(self.acknowledge_selected)
        self.alerts_read_only = ReadOnlyGuard(self.alerts_feedback, [self.acknowledge_button])
        alert_buttons = QHBoxLayout()
        alert_buttons.addWidget(self.acknowledge_button)
        alert_buttons.addWidget(self.alerts_feedback, 1)
        self.title = QLabel("Needs attention")
        self.title.setObjectName("attention_title")
        self.view = make_table_view("attention_table")
        self.view.setModel(models.attention)
        self.retry_button = QPushButton("Retry")
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setToolTip("Edit the refused command on the command line, then send it")
        self.discard_button = QPushButton("Discard")
        self.feedback = MessageLine("attention_feedback")
        self.feedback.setWordWrap(False)
        self.read_only = ReadOnlyGuard(
            self.feedback, [self.retry_button, self.edit_button, self.discard_button]
        )
        self.retry_button.clicked.connect(self.retry_selected)
        self.edit_button.clicked.connect(self.edit_selected)
        self.discard_button.clicked.connect(self.discard_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.edit_button)
        buttons.addWidget(self.discard_button)
        buttons.addWidget(self.feedback, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.alerts_title)
        layout.addWidget(self.alerts_view, 1)
        layout.addLayout(alert_buttons)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        models.attention.layoutChanged.connect(self._update_buttons)
        self._update_buttons()
        models.attention.modelReset.connect(self._update_title)
        models.attention.layoutChanged.connect(self._update_title)
        self._update_title()
        self.alerts_view.selectionModel().selectionChanged.connect(self._update_alert_buttons)
        self.alerts_view.selectionModel().selectionChanged.connect(self._select_subject)
        models.alerts.layoutChanged.connect(self._update_alert_buttons)
        models.alerts.modelReset.connect(self._update_alerts_title)
        models.alerts.layoutChanged.connect(self._update_alerts_title)
        self._update_alert_buttons()
        self._update_alerts_title()

    def set_read_only_role(self, role: str | None) -> None:
        """A monitoring position (``role`` read-only) acts on no alert and no refused command:
        the buttons are disabled saying why, Ctrl+K says so."""
        self.alerts_read_only.set_role(role)
        self.read_only.set_role(role)

    # --- timer alerts ------------------------------------------------------------------------

    def _selected_alert(self) -> str | None:
        rows = self.alerts_view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.models.alerts.id_at(rows[0].row())

    def acknowledge_selected(self) -> bool:
        """Acknowledge the selected alert (the button). True if a command was queued."""
        if self.alerts_read_only.refuse():
            return False
        row_id = self._selected_alert()
        if row_id is None:
            self.alerts_feedback.say("Select an alert first", MessageState.REFUSED)
            return False
        return self._acknowledge(row_id)

    def acknowledge_selected_or_oldest(self) -> bool:
        """Acknowledge the selected alert, or the oldest with none selected (the keyboard)."""
        if self.alerts_read_only.refuse():
            return False
        row_id = self._selected_alert() or self.models.alerts.id_at(0)
        if row_id is None:
            self.alerts_feedback.say("No alert to acknowledge", MessageState.REFUSED)
            return False
        return self._acknowledge(row_id)

    def _acknowledge(self, row_id: str) -> bool:
        alert = self.models.alert(row_id)
        if alert is None:
            return False
        command = self.models.alert_book.acknowledge(alert)
        done = f"Acknowledged: {alert.reason}"
        if not submit_and_say(self.service, self.alerts_feedback, command, done):
            return False
        self.models.update_alerts()  # the view holds it now: the row leaves at once
        return True

    def _select_subject(self) -> None:
        """Select what the chosen alert is about in every panel."""
        row_id = self._selected_alert()
        alert = None if row_id is None else self.models.alert(row_id)
        if alert is None or self.selection is None:
            return
        if alert.entity is EntityKind.INCIDENT:
            self.selection.select_incident(alert.entity_id)
            return
        self.selection.select_unit(alert.entity_id)
        unit = self.service.unit(alert.entity_id)
        if unit is not None and unit.incident_id is not None:
            self.selection.select_incident(unit.incident_id)

    def _update_alert_buttons(self) -> None:
        self.alerts_read_only.set_enabled(
            self.acknowledge_button, self._selected_alert() is not None
        )

    def _update_alerts_title(self) -> None:
        count = self.models.alerts.rowCount()
        self.alerts_title.setText(f"Timer alerts · {count}" if count else "Timer alerts · none")
        self.setWindowTitle(f"Alerts · {count}" if count else "Alerts")

    # --- refused commands --------------------------------------------------------------------

    def _selected_key(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.models.attention.id_at(rows[0].row())

    def retry_selected(self) -> None:
        """Send the selected refused command again, as it was."""
        if self.read_only.refuse():
            return
        key = self._selected_key()
        if key is None:
            self.feedback.say("Select a refused command first", MessageState.REFUSED)
            return
        attempt(self.feedback, lambda: self.service.retry(key), "Sent again")

    def edit_selected(self) -> None:
        """Ask for the selected refused command to be edited on the command line."""
        if self.read_only.refuse():
            return
        key = self._selected_key()
        rejection = None if key is None else self.models.attention.entity(key)
        if rejection is None:
            self.feedback.say("Select a refused command first", MessageState.REFUSED)
            return
        self.edit_requested.emit(rejection)

    def discard_selected(self) -> None:
        """Drop the selected refused command (journaled)."""
        if self.read_only.refuse():
            return
        key = self._selected_key()
        if key is None:
            self.feedback.say("Select a refused command first", MessageState.REFUSED)
            return
        attempt(
            self.feedback,
            lambda: self.service.discard(key, "discarded by the dispatcher"),
            "Discarded (kept in the journal)",
        )

    def _update_buttons(self) -> None:
        key = self._selected_key()
        rejection = None if key is None else self.models.attention.entity(key)
        self.read_only.set_enabled(self.retry_button, rejection is not None)
        self.read_only.set_enabled(self.discard_button, rejection is not None)
        editable = rejection is not None and (
            command_text(rejection.entry.kind, rejection.entry.args, self.service.state.view)
            is not None
        )
        self.read_only.set_enabled(self.edit_button, editable)

    def _update_title(self) -> None:
        count = self.models.attention.rowCount()
        self.title.setText(f"Needs attention · {count}" if count else "Needs attention · none")
