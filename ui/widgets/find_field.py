"""`FindField`: go to a board row by typing what names it (an incident's number, ``123``,
``L17``; a unit's id), as the command line reads it (`desktop.commandline.find_incident`,
`find_unit`).

Enter asks ``find`` (given by the panel) to go to the text: ``find`` selects the row through the
shared selection and returns what to say, or a `Problem`; the field then hands the keyboard to
the table (``table``) so the panel's keys act on the row found, or keeps the text to correct and
says why on ``message``. Escape clears the field and goes back to the table. Ctrl+F, from
anywhere in the panel, puts the keyboard in the field.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QLineEdit, QWidget

from desktop.commandline import Problem
from ui.widgets.message_line import MessageLine, MessageState

__all__ = ["FIND_KEYS", "FindField"]

#: Puts the keyboard in the panel's find field.
FIND_KEYS = "Ctrl+F"


class FindField(QLineEdit):
    """A one-line "go to" for a board panel (``panel``: where Ctrl+F works)."""

    def __init__(
        self,
        object_name: str,
        placeholder: str,
        find: Callable[[str], str | Problem],
        table: QWidget,
        message: MessageLine,
        panel: QWidget,
    ) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.setPlaceholderText(f"{placeholder} ({FIND_KEYS})")
        self.setToolTip(f"{placeholder}: Enter goes to it, Esc back to the table ({FIND_KEYS})")
        self.setClearButtonEnabled(True)
        # the whole hint shows: it is how the dispatcher learns Ctrl+F
        hint = self.fontMetrics().horizontalAdvance(self.placeholderText())
        self.setMinimumWidth(hint + 36)
        self.setMaximumWidth(hint + 80)
        self._find = find
        self._table = table
        self._message = message
        self.returnPressed.connect(self.go)
        self.installEventFilter(self)
        shortcut = QShortcut(QKeySequence(FIND_KEYS), panel, self.focus_field)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def focus_field(self) -> None:
        self.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.selectAll()

    def go(self) -> bool:
        """Go to what the field names; True if found (the table then has the keyboard)."""
        text = self.text().strip()
        if not text:
            return False
        found = self._find(text)
        if isinstance(found, Problem):
            self._message.say(found.message, MessageState.REFUSED)
            return False
        self._message.say(found, MessageState.OK)
        self.clear()
        self._table.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            self.clear()
            self._message.clear_message()
            self._table.setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        return super().eventFilter(watched, event)
