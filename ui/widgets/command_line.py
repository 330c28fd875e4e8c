"""`CommandLine`: the dispatcher's keyboard-first command entry, docked at the bottom.

Type a verb and its arguments (``DISP E12 M55 123``, ``OS E12``, ``NOTE 123 smoke showing``),
Enter submits, Tab or the popup completes unit ids, incident numbers and verbs, Up/Down walk the
history. What the line could not do is said inline, beside it, in words.

A command the server refused can be edited here (`edit_refused`, from the Alerts panel's Edit):
the line shows it, Enter sends the edited command again in its place, Escape gives up the edit.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QStringListModel, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QCompleter, QHBoxLayout, QLabel, QLineEdit, QWidget

from desktop.command_edit import command_text, edited_command
from desktop.commandline import History, Ok, Problem, complete, parse
from desktop.localdb import LocalStorageError
from desktop.outbox import Rejection
from desktop.service import CommandRefused, DispatchService

__all__ = ["CommandLine"]


class CommandLine(QWidget):
    """A line edit with completion, history and an inline feedback label."""

    def __init__(self, service: DispatchService, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.history = History()
        self._editing: Rejection | None = None
        self.input = QLineEdit()
        self.input.setObjectName("command_line")
        self.input.setPlaceholderText(
            "F2 · NEW type P# address · DISP unit… incident · ER OS TR AH AV OOS unit · "
            "NOTE incident text · CLOSE incident disposition · ALARM incident level"
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

    def edit_refused(self, rejection: Rejection) -> bool:
        """Put a refused command on the line to edit; False (and why, beside the line) if the
        line has no verb for it."""
        entry = rejection.entry
        text = command_text(entry.kind, entry.args, self.service.state.view)
        if text is None:
            self.say(
                f"a refused {entry.kind} cannot be edited here: retry or discard it", error=True
            )
            return False
        self._editing = rejection
        self.input.setText(text)
        self.focus_input()
        self.input.deselect()
        self.say("Editing a refused command: Enter sends it again, Esc cancels", error=False)
        return True

    @property
    def editing(self) -> Rejection | None:
        """The refused command being edited, if any."""
        return self._editing

    def cancel_edit(self) -> None:
        if self._editing is not None:
            self._editing = None
            self.input.clear()
            self.say("Edit cancelled: the command is still under Needs attention", error=False)

    def submit(self) -> None:
        """Parse the line and submit its commands; the outcome is shown beside the line."""
        text = self.input.text().strip()
        if not text or self.input.isReadOnly():
            return
        if self._editing is not None:
            self._submit_edit(text)
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

    def _submit_edit(self, text: str) -> None:
        """Send the edited line in place of the refused command (under a new key)."""
        assert self._editing is not None
        entry = self._editing.entry
        parsed = parse(text, self.service.state.view, self.service.now())
        command = edited_command(entry.kind, entry.args, parsed)
        if isinstance(command, Problem):
            self.say(command.message, error=True)
            return
        try:
            self.service.retry(entry.key, command)
        except (CommandRefused, KeyError, LocalStorageError) as exc:
            message = exc.message if isinstance(exc, CommandRefused) else str(exc)
            self.say(message, error=True)
            return
        self._editing = None
        self.history.push(text)
        self.input.clear()
        summary = parsed.summary if isinstance(parsed, Ok) else text
        self.say(f"Sent again, edited: {summary}", error=False)

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
            if key == Qt.Key.Key_Escape and self._editing is not None and not popup_open:
                self.cancel_edit()
                return True
            if key == Qt.Key.Key_Tab and self._completions.rowCount():
                self._insert_completion(self._completions.stringList()[0])
                return True
        return super().eventFilter(watched, event)
