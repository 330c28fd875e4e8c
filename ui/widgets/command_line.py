"""`CommandLine`: the dispatcher's keyboard-first command entry, docked at the bottom.

Type a verb and its arguments (``DISP E12 M55 123``, ``OS E12``, ``NOTE 123 smoke showing``),
Enter submits, Tab or the popup completes unit ids, incident numbers and verbs, Up/Down walk the
history. What the line could not do is said inline, beside it, in words.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QStringListModel, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCompleter, QHBoxLayout, QLabel, QLineEdit, QWidget

from desktop.commandline import History, Ok, complete, parse
from desktop.localdb import LocalStorageError
from desktop.service import CommandRefused, DispatchService

__all__ = ["CommandLine"]


class CommandLine(QWidget):
    """A line edit with completion, history and an inline feedback label."""

    def __init__(self, service: DispatchService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.history = History()
        self.input = QLineEdit()
        self.input.setObjectName("command_line")
        self.input.setPlaceholderText(
            "F2 · NEW type P# address · DISP unit… incident · ER OS TR AH AV OOS unit · "
            "NOTE incident text · CLOSE incident disposition"
        )
        self.input.setToolTip(self.input.placeholderText())
        self.input.setClearButtonEnabled(True)
        self.feedback = QLabel()
        self.feedback.setObjectName("command_feedback")
        self.feedback.setMinimumWidth(240)
        self._completions = QStringListModel(self)
        self.completer = QCompleter(self._completions, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        # complete() already filters (and matches "12" to F2611-000123): Qt must not re-filter
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setWidget(self.input)
        self.completer.activated.connect(self._insert_completion)
        self.input.textEdited.connect(self._update_completions)
        self.input.returnPressed.connect(self.submit)
        self.input.installEventFilter(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.input, 5)
        layout.addWidget(self.feedback, 2)

    # --- public ----------------------------------------------------------------------------

    def focus_input(self) -> None:
        self.input.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.input.selectAll()

    def set_read_only_role(self, role: str | None) -> None:
        """Monitoring positions cannot issue commands: say so instead of failing later."""
        monitoring = role == "supervisor"
        self.input.setReadOnly(monitoring)
        if monitoring:
            self.input.setPlaceholderText("Monitoring mode: read-only")

    def submit(self) -> None:
        """Parse the line and submit its commands; the outcome is shown beside the line."""
        text = self.input.text().strip()
        if not text or self.input.isReadOnly():
            return
        parsed = parse(text, self.service.state.view, self.service.now())
        if not isinstance(parsed, Ok):
            self.say(parsed.message, error=True)
            return
        try:
            for args in parsed.commands:  # all or nothing: check the whole line first
                self.service.check(args)
            for args in parsed.commands:
                self.service.submit(args)
        except CommandRefused as exc:
            self.say(exc.message, error=True)
            return
        except LocalStorageError as exc:
            self.say(f"NOT SAVED: {exc}", error=True)
            return
        self.history.push(text)
        self.completer.popup().hide()
        self.input.clear()
        self.say(parsed.summary, error=False)

    def say(self, message: str, *, error: bool) -> None:
        self.feedback.setText(message)
        self.feedback.setToolTip(message)
        self.feedback.setProperty("state", "error" if error else "ok")
        self.feedback.style().unpolish(self.feedback)
        self.feedback.style().polish(self.feedback)

    # --- completion and history ----------------------------------------------------------------

    def _update_completions(self, text: str) -> None:
        candidates = complete(text, self.service.state.view)
        self._completions.setStringList(candidates)
        prefix = text.rsplit(" ", 1)[-1] if text and not text.endswith(" ") else ""
        self.completer.setCompletionPrefix(prefix)
        if candidates and text:
            self.completer.complete()
        else:
            self.completer.popup().hide()

    def _insert_completion(self, token: str) -> None:
        text = self.input.text()
        head = text[: max(text.rfind(" "), text.rfind(",")) + 1]  # up to the token being typed
        self.input.setText(f"{head}{token} ")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self.input
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
        ):
            key = event.key()
            popup_open = self.completer.popup().isVisible()
            if key == Qt.Key.Key_Up and not popup_open:
                line = self.history.previous(self.input.text())
                if line is not None:
                    self.input.setText(line)
                return True
            if key == Qt.Key.Key_Down and not popup_open:
                line = self.history.next()
                if line is not None:
                    self.input.setText(line)
                return True
            if key == Qt.Key.Key_Tab and self._completions.rowCount():
                self._insert_completion(self._completions.stringList()[0])
                return True
        return super().eventFilter(watched, event)
