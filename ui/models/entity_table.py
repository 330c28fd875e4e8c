"""`EntityTableModel`: a table of entities keyed by id, refreshed from a `Change`.

Rows are ids in the order `ordered_ids` gives. On refresh, if the row order is unchanged only
the rows of changed entities emit ``dataChanged``; otherwise the model emits a layout change and
moves persistent indexes, so selections follow their entity across re-sorts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
)

__all__ = ["Column", "EntityTableModel"]

E = TypeVar("E")
Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Column(Generic[E]):
    """A column: header, display text, and optional tooltip/colour/alignment."""

    header: str
    text: Callable[[E], str]
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


class EntityTableModel(QAbstractTableModel, Generic[E]):
    """Rows from ``ordered_ids()``, cells from ``entity(id)`` through ``columns``.

    ``style(entity, role, column)`` answers extra roles (colours, fonts, tooltips) or None.
    """

    def __init__(
        self,
        columns: Sequence[Column[E]],
        ordered_ids: Callable[[], list[str]],
        entity: Callable[[str], E | None],
        style: Callable[[E, int, int], Any] | None = None,
    ) -> None:
        super().__init__()
        self.columns = list(columns)
        self.ordered_ids = ordered_ids
        self.entity = entity
        self.style = style or (lambda _entity, _role, _column: None)
        self._ids: list[str] = []
        self._row_of: dict[str, int] = {}

    # --- Qt --------------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation is Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.columns[section].header
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._ids):
            return None
        entity = self.entity(self._ids[index.row()])
        if entity is None:
            return None
        column = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(entity)
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(column.align.value)
        return self.style(entity, role, index.column())

    # --- refresh ---------------------------------------------------------------------------

    def id_at(self, row: int) -> str | None:
        return self._ids[row] if 0 <= row < len(self._ids) else None

    def row_of(self, entity_id: str) -> int | None:
        return self._row_of.get(entity_id)

    def refresh(self, changed: set[str] | None = None) -> None:
        """Bring rows up to date; ``changed`` None means "anything may have changed"."""
        ids = self.ordered_ids()
        if ids == self._ids:
            rows = (
                range(len(ids))
                if changed is None
                else sorted(
                    row for entity_id in changed if (row := self._row_of.get(entity_id)) is not None
                )
            )
            last = len(self.columns) - 1
            for row in rows:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last))
            return
        self.layoutAboutToBeChanged.emit()
        old_ids = self._ids
        self._ids = ids
        self._row_of = {entity_id: row for row, entity_id in enumerate(ids)}
        moved_from, moved_to = [], []
        for index in self.persistentIndexList():
            entity_id = old_ids[index.row()] if index.row() < len(old_ids) else None
            new_row = self._row_of.get(entity_id) if entity_id is not None else None
            moved_from.append(index)
            moved_to.append(
                self.index(new_row, index.column()) if new_row is not None else QModelIndex()
            )
        self.changePersistentIndexList(moved_from, moved_to)
        self.layoutChanged.emit()
