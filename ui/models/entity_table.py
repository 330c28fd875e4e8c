"""`EntityTableModel`: a table of entities keyed by id, refreshed from a `Change`.

Rows are ids in the order `ordered_ids` gives. On refresh, if the row order is unchanged only
the rows of changed entities emit ``dataChanged`` (one signal per run of adjacent rows, one for
the whole table when everything may have changed); otherwise the model emits a layout change and
moves persistent indexes, so selections follow their entity across re-sorts.

`data` runs for every role of every painted cell (seven roles per cell in Qt 6), so it answers
the roles nobody provides without looking the entity up (bench/ui_latency.py measures it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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

_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_ALIGNMENT = Qt.ItemDataRole.TextAlignmentRole.value


@dataclass(frozen=True, slots=True)
class Column(Generic[E]):
    """A column: header, display text, and optional tooltip/colour/alignment."""

    header: str
    text: Callable[[E], str]
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter


class EntityTableModel(QAbstractTableModel, Generic[E]):
    """Rows from ``ordered_ids()``, cells from ``entity(id)`` through ``columns``.

    ``style(entity, role, column)`` answers extra roles (colours, fonts, tooltips) or None;
    ``style_roles``, when given, are the only roles it can answer (the others skip the call).
    """

    def __init__(
        self,
        columns: Sequence[Column[E]],
        ordered_ids: Callable[[], list[str]],
        entity: Callable[[str], E | None],
        style: Callable[[E, int, int], Any] | None = None,
        style_roles: Iterable[Qt.ItemDataRole] | None = None,
    ) -> None:
        super().__init__()
        self.columns = list(columns)
        self.ordered_ids = ordered_ids
        self.entity = entity
        self.style = style or (lambda _entity, _role, _column: None)
        # Roles `data` may answer with something other than None; None: every role.
        self._roles: frozenset[int] | None = (
            frozenset({_DISPLAY, _ALIGNMENT})
            if style is None
            else None
            if style_roles is None
            else frozenset({_DISPLAY, _ALIGNMENT, *(role.value for role in style_roles)})
        )
        self._texts = [column.text for column in self.columns]
        self._alignments = [int(column.align.value) for column in self.columns]
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

    def data(self, index: Index, role: int = _DISPLAY) -> Any:
        roles = self._roles
        if roles is not None and role not in roles:
            return None
        row = index.row()  # -1 for an invalid index
        ids = self._ids
        if row < 0 or row >= len(ids):
            return None
        entity = self.entity(ids[row])
        if entity is None:
            return None
        if role == _DISPLAY:
            return self._texts[index.column()](entity)
        if role == _ALIGNMENT:
            return self._alignments[index.column()]
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
            if not ids:
                return
            last = len(self.columns) - 1
            if changed is None:
                self.dataChanged.emit(self.createIndex(0, 0), self.createIndex(len(ids) - 1, last))
                return
            row_of = self._row_of
            rows = sorted(
                row for entity_id in changed if (row := row_of.get(entity_id)) is not None
            )
            # createIndex, not index(): index() asks the Python rowCount/columnCount every time
            start = 0
            for i, row in enumerate(rows):
                if i + 1 == len(rows) or rows[i + 1] != row + 1:
                    self.dataChanged.emit(
                        self.createIndex(rows[start], 0), self.createIndex(row, last)
                    )
                    start = i + 1
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
