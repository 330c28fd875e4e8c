"""`FloorPositions`: the Supervisor panel's positions overview and the shadow of one position
(the words: `desktop.floor_positions`; the presence: docs/protocol.md, "Positions and
shadowing").

The table lists every signed-in position: user, role, workstation, what it has open, the panel
with its keyboard and how long it has been idle. Enter on a row shadows that position: the pane
below follows, live and read-only, what it has open and what it types. Esc stops. The shadow
survives the position signing out and back in (it follows the workstation's client id) and
says when it has signed out.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.floor_positions import PositionRow, ShadowView, position_rows, shadow_view
from desktop.service import DispatchService
from ui.docks import PANEL_TITLES
from ui.presentation import duration

__all__ = ["COLUMNS", "FloorPositions", "PositionsTable", "ShadowPane"]

COLUMNS = ("User", "Role", "Workstation", "Open", "Panel", "Idle")
_CLIENT_ID = Qt.ItemDataRole.UserRole


def _cells(row: PositionRow) -> tuple[str, ...]:
    panel = PANEL_TITLES.get(row.panel, row.panel) or "—"
    return (row.user, row.role, row.workstation, row.open, panel, duration(row.idle_s))


class PositionsTable(QTableWidget):
    """The overview; Enter shadows the current row's position (``shadow_requested``), Esc
    stops (``shadow_requested`` with None)."""

    shadow_requested = Signal(object)  # client id | None

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("floor_positions")
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.verticalHeader().hide()
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.setMinimumHeight(120)
        self.doubleClicked.connect(lambda _index: self.shadow_requested.emit(self.current_id()))

    def current_id(self) -> str | None:
        item = self.item(self.currentRow(), 0) if self.currentRow() >= 0 else None
        return None if item is None else str(item.data(_CLIENT_ID))

    def show_rows(self, rows: list[PositionRow], shadowed: str | None) -> None:
        """Show ``rows``, keeping the current row on the same position."""
        keep = self.current_id()
        self.setRowCount(len(rows))
        for index, row in enumerate(rows):
            for column, text in enumerate(_cells(row)):
                item = self.item(index, column)
                if item is None:
                    item = QTableWidgetItem()
                    self.setItem(index, column, item)
                if item.text() != text:
                    item.setText(text)
                item.setData(_CLIENT_ID, row.client_id)
                font = item.font()
                font.setBold(row.client_id == shadowed)
                item.setFont(font)
            if row.client_id == keep:
                self.setCurrentCell(index, self.currentColumn() if self.currentColumn() >= 0 else 0)
        if keep is None and rows and self.currentRow() < 0:
            self.setCurrentCell(0, 0)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.shadow_requested.emit(self.current_id())
            return
        if event.key() == Qt.Key.Key_Escape:
            self.shadow_requested.emit(None)
            return
        super().keyPressEvent(event)


class ShadowPane(QFrame):
    """What the shadowed position has open and types (`desktop.floor_positions.ShadowView`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shadow_pane")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        self.title.setObjectName("shadow_title")
        self.title.setStyleSheet("font-weight:700;")
        self.open = QLabel()
        self.open.setObjectName("shadow_open")
        self.open.setWordWrap(True)
        self.details = QLabel()
        self.details.setObjectName("shadow_details")
        self.details.setWordWrap(True)
        self.drafts = QLabel()
        self.drafts.setObjectName("shadow_drafts")
        self.drafts.setTextFormat(Qt.TextFormat.RichText)
        self.drafts.setWordWrap(True)
        for label in (self.title, self.open, self.details):  # user text: never markup
            label.setTextFormat(Qt.TextFormat.PlainText)
        layout = QVBoxLayout(self)
        for label in (self.title, self.open, self.details, self.drafts):
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
        self.view: ShadowView | None = None
        self.hide()

    def show_view(self, view: ShadowView | None) -> None:
        """Show ``view`` (None: nobody is shadowed; the pane hides)."""
        self.view = view
        if view is None:
            self.hide()
            return
        self.title.setText(view.title + ("" if view.gone else "   (Esc stops)"))
        panel = PANEL_TITLES.get(view.panel, view.panel)
        self.open.setText(f"Open: {view.open}" + (f"   ·   in {panel}" if panel else ""))
        lines = [*view.details, *view.narrative]
        self.details.setText("\n".join(lines))
        self.details.setVisible(bool(lines))
        if view.drafts:
            rows = "".join(
                f"<tr><td style='color:#8b949e; padding-right:12px'>{escape(label)}</td>"
                f"<td style='font-family:monospace; color:#f0f6fc'>{escape(text)}▏</td></tr>"
                for label, text in view.drafts
            )
            self.drafts.setText(f"<table>{rows}</table>")
        else:
            self.drafts.setText("<span style='color:#8b949e'>Typing nothing.</span>")
        self.show()


class FloorPositions(QWidget):
    """The overview and the shadow (module docstring)."""

    def __init__(self, service: DispatchService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.heading = QLabel("Positions")
        self.heading.setStyleSheet("font-weight:600;")
        self.table = PositionsTable(self)
        self.shadow = ShadowPane(self)
        self.shadowed: str | None = None
        self._shadowed_name = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.table)
        layout.addWidget(self.shadow)
        self.table.shadow_requested.connect(self.shadow_position)

    def shadow_position(self, client_id: str | None) -> None:
        """Follow ``client_id`` (None: stop); the shadow is scrolled into view once laid out."""
        self.shadowed = client_id
        position = self.service.presence().get(client_id) if client_id else None
        self._shadowed_name = f"{position.user} at {position.workstation}" if position else ""
        self.refresh(self.service.server_now())
        if client_id is not None:
            QTimer.singleShot(0, self._bring_shadow_into_view)

    def _bring_shadow_into_view(self) -> None:
        node = self.parentWidget()
        while node is not None and not isinstance(node, QScrollArea):
            node = node.parentWidget()
        if node is not None and self.shadow.isVisible():
            node.ensureWidgetVisible(self.shadow, 0, 0)

    def refresh(self, now: float) -> None:
        """Show the floor as the service holds it now."""
        presence = self.service.presence()
        world = self.service.state.view
        rows = position_rows(presence, world, now)
        self.heading.setText(f"Positions signed in: {len(rows)}")
        self.table.show_rows(rows, self.shadowed)
        if self.shadowed is None:
            self.shadow.show_view(None)
            return
        position = presence.get(self.shadowed)
        if position is not None:
            self._shadowed_name = f"{position.user} at {position.workstation}"
        self.shadow.show_view(shadow_view(position, world, self._shadowed_name))
