"""The Call-taking panel's lists and its type field: a table of calls (ringing, or abandoned and
waiting for a callback) kept on the selected call as it refreshes, and the incident type field
whose digits pick a listed type.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

__all__ = ["TypeField", "call_table", "fill_calls"]


class TypeField(QLineEdit):
    """The incident type: a digit in the empty field picks the n-th listed type; Enter saves."""

    picked = Signal()

    def __init__(self, types: list[str], quick: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.types = types
        self.quick = quick

    def keyPressEvent(self, event: QKeyEvent) -> None:
        text = event.text()
        if (
            not self.text()
            and text.isdigit()
            and 1 <= int(text) <= min(self.quick, len(self.types))
        ):
            self.setText(self.types[int(text) - 1])
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            self.picked.emit()
            return
        super().keyPressEvent(event)

    def resolved(self) -> str:
        """The type typed: an exact type, else the only type starting with it, else as typed."""
        typed = self.text().strip().upper()
        if typed in self.types:
            return typed
        starting = [t for t in self.types if t.startswith(typed)] if typed else []
        return starting[0] if len(starting) == 1 else typed


def call_table(name: str, headers: list[str]) -> QTableWidget:
    """A read-only table of calls, one selected row at a time."""
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    table.setMinimumHeight(4 * 24 + 28)  # a header and four calls, however small the dock
    table.setMaximumHeight(170)
    return table


def fill_calls(table: QTableWidget, rows: list[tuple[str, list[str]]]) -> None:
    """Show ``rows`` of (call id, cells), keeping the selected call selected."""
    current = table.item(table.currentRow(), 0) if table.currentRow() >= 0 else None
    chosen = current.data(Qt.ItemDataRole.UserRole) if current is not None else None
    table.setRowCount(len(rows))
    for row, (call_id, cells) in enumerate(rows):
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, call_id)
            item.setToolTip(text)
            table.setItem(row, column, item)
        if call_id == chosen:
            table.selectRow(row)
