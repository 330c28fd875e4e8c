"""Dock panels of the workstation."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

__all__ = ["BoardTableView", "make_table_view"]

_Cursor = QAbstractItemView.CursorAction


class BoardTableView(QTableView):
    """A table of rows: Home and End go to the first and the last row (Qt's table goes to the
    first and last column of the row, which selects nothing new when whole rows are selected);
    with Ctrl they do the same."""

    def moveCursor(
        self, cursorAction: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        model = self.model()
        if cursorAction in (_Cursor.MoveHome, _Cursor.MoveEnd) and model is not None:
            rows = model.rowCount()
            if rows:
                row = 0 if cursorAction is _Cursor.MoveHome else rows - 1
                column = max(self.currentIndex().column(), 0)
                return model.index(row, column)
        return super().moveCursor(cursorAction, modifiers)


def make_table_view(object_name: str) -> QTableView:
    """A dense, read-only, row-selecting table for live board data (`BoardTableView`)."""
    view = BoardTableView()
    view.setObjectName(object_name)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setAlternatingRowColors(True)
    view.setShowGrid(False)
    view.setWordWrap(False)
    view.verticalHeader().hide()
    view.verticalHeader().setDefaultSectionSize(24)
    view.horizontalHeader().setStretchLastSection(True)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.horizontalHeader().setHighlightSections(False)
    return view
