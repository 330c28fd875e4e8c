"""`CommandLine`: the dispatcher's keyboard-first command entry, docked at the bottom.

Type a verb and its arguments (``DISP E12 M55 123``, ``OS E12``, ``NOTE 123 smoke showing``,
``GO E12``), Enter submits, Tab or the popup completes verbs, incident types (the run cards'
codes), priorities, unit ids and incident numbers, Up/Down walk the history. While the line is
typed, the label beside it says what Enter would do (``preview``) or what it cannot read yet;
what the line could not do is said there too, in words, once Enter is pressed.

Enter with the completion popup open: a candidate the dispatcher picked with the arrow keys is
put on the line (nothing is sent: the preview says what the line now means); with none picked,
Enter submits the line as typed, and no completion is written after it.

A line that suggests a follow-up (``RL E12 on scene`` offers E12 on scene: `Ok.offer`) says
so once it is submitted; Enter on the empty line then does it, Esc or typing declines it.

A command the server refused can be edited here (`edit_refused`, from the Alerts panel's Edit):
the line shows it, Enter sends the edited command again in its place, Escape gives up the edit.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QStringListModel, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QHBoxLayout, QLineEdit, QWidget

from desktop.command_edit import command_text, edited_command
from desktop.command_history import History
from desktop.commandline import Go, Offer, Ok, Parsed, Problem, complete, parse
from desktop.domain.roles import READ_ONLY_HINT, is_read_only
from desktop.outbox import Rejection
from desktop.radio_plan import RadioPlan
from desktop.service import DispatchService
from ui.selection import Selection
from ui.widgets.message_line import MessageLine, MessageState, attempt, submit_and_say

__all__ = ["CommandLine"]


class CommandLine(QWidget):
    """A line edit with completion, history and an inline feedback label. ``selection`` is
    where GO selects (without one, GO says it cannot); ``incident_types`` are the types NEW
    takes (the run cards'; empty: any one word); ``radio`` the radio plan (RL's status
    phrases, CH's channels)."""

    def __init__(
        self,
        service: DispatchService,
        selection: Selection | None = None,
        parent: QWidget | None = None,
        *,
        incident_types: Sequence[str] = (),
        radio: RadioPlan | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.selection = selection
        self.incident_types = tuple(incident_types)
        self.radio = radio
        self.offer: Offer | None = None
        self.history = History()
        self._editing: Rejection | None = None
        self.input = QLineEdit()
        self.input.setObjectName("command_line")
        self.input.setPlaceholderText(
            "F2 · NEW type P# address · DISP unit… incident · ER OS TR AH AV OOS unit · "
            "NOTE incident text · CLOSE incident disposition · ALARM incident level · "
            "GO incident|unit"
        )
        self.input.setToolTip(self.input.placeholderText())
        self._placeholder = self.input.placeholderText()
        self.input.setClearButtonEnabled(True)
        self.feedback = MessageLine("command_feedback")
        self.feedback.setMinimumWidth(240)  # wraps (MessageLine): a long refusal shows whole
        self._completions = QStringListModel(self)
        self.completer = QCompleter(self._completions, self)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        # complete() already filters (and matches "12" to F2611-000123): Qt must not re-filter
        self.completer.setCompletionMode(QCompleter.CompletionMode.UnfilteredPopupCompletion)
        self.completer.setWidget(self.input)
        self.completer.activated.connect(self._insert_completion)
        self.input.textEdited.connect(self._update_completions)
        self.input.textEdited.connect(self._preview)
        self.input.textEdited.connect(self._decline_offer)
        self.input.returnPressed.connect(self.submit)
        self.input.installEventFilter(self)
        # after the completer's own filter, so this one sees the popup's keys first
        self._popup().installEventFilter(self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.input, 3)
        layout.addWidget(self.feedback, 2)

    # --- public ----------------------------------------------------------------------------

    def focus_input(self) -> None:
        self.input.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.input.selectAll()

    def set_read_only_role(self, role: str | None) -> None:
        """Monitoring positions cannot issue commands: say so instead of failing later (the
        line stays read-only, not disabled: F2 still reaches it, and Enter says why)."""
        monitoring = is_read_only(role)
        self.input.setReadOnly(monitoring)
        hint = READ_ONLY_HINT if monitoring else self._placeholder
        self.input.setPlaceholderText(hint)
        self.input.setToolTip(hint)

    def edit_refused(self, rejection: Rejection) -> bool:
        """Put a refused command on the line to edit; False (and why, beside the line) if the
        line has no verb for it."""
        entry = rejection.entry
        text = command_text(entry.kind, entry.args, self.service.state.view)
        if text is None:
            self.say(
                f"a refused {entry.kind} cannot be edited here: retry or discard it",
                MessageState.REFUSED,
            )
            return False
        self._editing = rejection
        self.input.setText(text)
        self.focus_input()
        self.input.deselect()
        self.say("Editing a refused command: Enter sends it again, Esc cancels")
        return True

    @property
    def editing(self) -> Rejection | None:
        """The refused command being edited, if any."""
        return self._editing

    def cancel_edit(self) -> None:
        if self._editing is not None:
            self._editing = None
            self.input.clear()
            self.say("Edit cancelled: the command is still under Needs attention")

    def submit(self) -> None:
        """Parse the line and submit its commands; the outcome is shown beside the line."""
        text = self.input.text().strip()
        if self.input.isReadOnly():
            self.say(READ_ONLY_HINT, MessageState.REFUSED)
            return
        if not text:
            self._take_offer()
            return
        if self._editing is not None:
            self._submit_edit(text)
            return
        parsed = self._parse(text)
        if isinstance(parsed, Problem):
            self.say(parsed.message, MessageState.REFUSED)
            return
        if isinstance(parsed, Go):
            self._go(text, parsed)
            return
        # all or nothing: the line's commands are checked and queued together
        if not submit_and_say(self.service, self.feedback, parsed.commands, parsed.summary):
            return
        self.history.push(text)
        self._popup().hide()
        self.input.clear()
        self.offer = parsed.offer
        if self.offer is not None:
            self.say(f"{parsed.summary} · {self.offer.prompt}")

    def _take_offer(self) -> None:
        offer, self.offer = self.offer, None
        if offer is not None:
            submit_and_say(self.service, self.feedback, offer.commands, offer.words)

    def _decline_offer(self, *_: object) -> None:
        self.offer = None

    def _parse(self, text: str) -> Parsed:
        view, now = self.service.state.view, self.service.now()
        return parse(text, view, now, incident_types=self.incident_types, radio=self.radio)

    def _go(self, text: str, go: Go) -> None:
        """Select what GO named on every panel."""
        if self.selection is None:
            self.say("GO cannot select here", MessageState.REFUSED)
            return
        if go.entity == "incident":
            self.selection.select_incident(go.entity_id)
        else:
            self.selection.select_unit(go.entity_id)
        self.say(go.summary)
        self.history.push(text)
        self._popup().hide()
        self.input.clear()

    def _preview(self, text: str) -> None:
        """Say what Enter would do with ``text`` (or what cannot be read yet), muted; an empty
        line clears a preview but keeps the outcome of the last Enter."""
        if self.input.isReadOnly():
            return
        if not text.strip():
            if self.feedback.state is MessageState.PREVIEW:
                self.feedback.clear_message()
            return
        parsed = self._parse(text)
        words = parsed.message if isinstance(parsed, Problem) else f"Enter → {parsed.summary}"
        self.say(words, MessageState.PREVIEW)

    def _submit_edit(self, text: str) -> None:
        """Send the edited line in place of the refused command (under a new key)."""
        assert self._editing is not None
        entry = self._editing.entry
        parsed = self._parse(text)
        command = edited_command(entry.kind, entry.args, parsed)
        if isinstance(command, Problem):
            self.say(command.message, MessageState.REFUSED)
            return
        summary = parsed.summary if isinstance(parsed, Ok) else text
        done = f"Sent again, edited: {summary}"
        if not attempt(self.feedback, lambda: self.service.retry(entry.key, command), done):
            return
        self._editing = None
        self.history.push(text)
        self.input.clear()

    def say(self, message: str, state: MessageState = MessageState.OK) -> None:
        """Say ``message`` beside the line."""
        self.feedback.say(message, state)

    def _popup(self) -> QAbstractItemView:
        popup = self.completer.popup()
        assert popup is not None  # the completer was given a widget
        return popup

    # --- completion and history ----------------------------------------------------------------

    def _update_completions(self, text: str) -> None:
        candidates = complete(text, self.service.state.view, incident_types=self.incident_types)
        self._completions.setStringList(candidates)
        prefix = text.rsplit(" ", 1)[-1] if text and not text.endswith(" ") else ""
        self.completer.setCompletionPrefix(prefix)
        if candidates and text:
            self.completer.complete()
        else:
            self._popup().hide()

    def _insert_completion(self, token: str) -> None:
        text = self.input.text()
        head = text[: max(text.rfind(" "), text.rfind(",")) + 1]  # up to the token being typed
        self.input.setText(f"{head}{token} ")
        self._preview(self.input.text())

    def _popup_key(self, event: QKeyEvent) -> bool:
        """Enter and Tab while the popup is open (see the module's docstring); True if done."""
        popup = self._popup()
        picked = popup.selectionModel().selectedIndexes()
        token = str(picked[0].data()) if picked else None
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            popup.hide()
            if token is not None:
                self._insert_completion(token)
            else:
                self.submit()
            return True
        if event.key() == Qt.Key.Key_Tab and self._completions.rowCount():
            popup.hide()
            self._insert_completion(token or self._completions.stringList()[0])
            return True
        return False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            watched is self._popup()
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and self._popup_key(event)
        ):
            return True
        if (
            watched is self.input
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
        ):
            key = event.key()
            popup_open = self._popup().isVisible()
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
            if key == Qt.Key.Key_Escape and self.offer is not None and not popup_open:
                self._decline_offer()
                self.say("Not changed")
                return True
            if key == Qt.Key.Key_Tab and self._completions.rowCount():
                self._insert_completion(self._completions.stringList()[0])
                return True
        return super().eventFilter(watched, event)
