"""Alerts panel: Needs attention (commands the server refused), with retry and discard."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.localdb import LocalStorageError
from desktop.service import DispatchService
from ui.models.board import BoardModels
from ui.panels import make_table_view

__all__ = ["AlertsPanel"]


class AlertsPanel(QWidget):
    """Lists refused commands; Retry re-sends the selected one, Discard drops it (journaled)."""

    def __init__(self, service: DispatchService, models: BoardModels) -> None:
        super().__init__()
        self.service = service
        self.models = models
        self.title = QLabel("Needs attention")
        self.title.setObjectName("attention_title")
        self.view = make_table_view("attention_table")
        self.view.setModel(models.attention)
        self.retry_button = QPushButton("Retry")
        self.discard_button = QPushButton("Discard")
        self.feedback = QLabel()
        self.retry_button.clicked.connect(self.retry_selected)
        self.discard_button.clicked.connect(self.discard_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.discard_button)
        buttons.addWidget(self.feedback, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addLayout(buttons)
        self.view.selectionModel().selectionChanged.connect(self._update_buttons)
        models.attention.layoutChanged.connect(self._update_buttons)
        self._update_buttons()
        models.attention.modelReset.connect(self._update_title)
        models.attention.layoutChanged.connect(self._update_title)
        self._update_title()

    def _selected_key(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        if not rows:
            return None
        return self.models.attention.id_at(rows[0].row())

    def retry_selected(self) -> None:
        key = self._selected_key()
        if key is None:
            self.feedback.setText("Select a refused command first")
            return
        try:
            self.service.retry(key)
        except (KeyError, LocalStorageError) as exc:
            self.feedback.setText(str(exc))
        else:
            self.feedback.setText("Sent again")

    def discard_selected(self) -> None:
        key = self._selected_key()
        if key is None:
            self.feedback.setText("Select a refused command first")
            return
        try:
            self.service.discard(key, "discarded by the dispatcher")
        except (KeyError, LocalStorageError) as exc:
            self.feedback.setText(str(exc))
        else:
            self.feedback.setText("Discarded (kept in the journal)")

    def _update_buttons(self) -> None:
        selected = self._selected_key() is not None
        self.retry_button.setEnabled(selected)
        self.discard_button.setEnabled(selected)

    def _update_title(self) -> None:
        count = self.models.attention.rowCount()
        self.title.setText(f"Needs attention · {count}" if count else "Needs attention · none")
