"""`RadioPanel`: the CAD side of the radio — the alarm queue, the channels, the timed prompts
owed and the radio log. The voice stays on the centre's radio console.

From top to bottom:

- **Alarms** (`ui.radio_alarms.AlarmWatch` keeps them seen and heard): a banner naming the
  first item of the queue — ``EMERGENCY E12 (radio 710012) · F2612-000123 · 0:12`` — red while
  it sounds, and the whole queue below it (none is hidden). **F12** acknowledges the first
  unacknowledged emergency from anywhere (`acknowledge_first`); the acknowledgement reaches
  every position and is recorded. Alt+W writes why an alarm is cleared (the selected one, else
  the first); Alt+X marks it a false activation; Enter clears it.
- **Channels** (`ui.widgets.radio_channels.ChannelTable`): activity, last transmitter, time
  since, monitored (Space), incidents assigned (``CH 123 FIRE TAC 2`` on the command line).
- **Prompts owed** (`desktop.radio_clock.owed_prompts`): elapsed-time marks and PARs of working
  incidents; Alt+M answers the selected (else the first) with the text typed ("all accounted
  for" when empty), recorded on the incident.
- **Radio log**: the newest lines of the log, and an entry (Ctrl+7): ``E12 on scene,
  smoke showing``, Enter logs it to the log and the incident's narrative. A status phrase in it
  is offered: Enter on the empty entry sets it, Esc declines. An unknown unit is said in place
  and the entry stays as typed.

A monitoring position sees everything and may change nothing: its entries are read-only and
say why (`desktop.domain.roles.READ_ONLY_HINT`), the false-activation box is disabled, and F12,
Enter in an entry and Alt+X only say so on the panel's message line (`ui.read_only`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QSettings, Qt
from PySide6.QtGui import QFont, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.commandline import Offer
from desktop.domain.action_time import corrected_now
from desktop.domain.radio import RadioAcknowledge, RadioClear, RadioMarkAnswer
from desktop.domain.roles import READ_ONLY_HINT
from desktop.domain.types import RadioEntry
from desktop.domain.wording import incident_label
from desktop.radio_clock import AlarmItem, AlarmLevel, Prompt, Sound, owed_prompts, prompt_words
from desktop.radio_log import RadioLineProblem, read_radio_line
from desktop.radio_plan import RadioPlan
from desktop.service import DispatchService
from desktop.state import Change
from ui.presentation import duration
from ui.radio_alarms import AlarmWatch, emergency_player
from ui.read_only import ReadOnlyGuard
from ui.widgets.message_line import MessageLine, MessageState, submit_and_say
from ui.widgets.radio_channels import ChannelTable
from ui.widgets.scrolling import scrolling

__all__ = ["ACKNOWLEDGE_ALARM_KEYS", "LOG_LINES", "RadioPanel"]

#: Acknowledges the first unacknowledged radio emergency, from anywhere.
ACKNOWLEDGE_ALARM_KEYS = "F12"
#: Lines of the radio log the panel lists (the newest).
LOG_LINES = 200
_PAR_ANSWER = "all accounted for"
_MARK_ANSWER = "announced"
_BANNER_STYLE = {
    AlarmLevel.ESCALATED: "background:#8e1519; color:#ffffff; border:2px solid #ff7b72;",
    AlarmLevel.SOUNDING: "background:#8e1519; color:#ffdcd7;",
    AlarmLevel.ACKNOWLEDGED: "background:#3b2e00; color:#e3b341;",
}


def _clock_text(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at))


class RadioPanel(QWidget):
    """The Radio panel (module docstring). Call `attach` with its dock once it is built."""

    def __init__(
        self,
        service: DispatchService,
        plan: RadioPlan,
        *,
        settings: QSettings | None = None,
        play: Callable[[Sound], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("radio_panel")
        self.service = service
        self.plan = plan
        self._play = play
        self.watch: AlarmWatch | None = None
        self.offer: Offer | None = None
        self._prompts: list[Prompt] = []
        self._log_count = 0
        self._build(settings)

    def server_now(self) -> float:
        """The server's clock as this position knows it (nothing written: a tick after sign-out
        must not touch the closed database)."""
        return corrected_now(self.service.now(), self.service.status.clock_offset)

    # --- building --------------------------------------------------------------------------

    def _build(self, settings: QSettings | None) -> None:
        self.banner = QLabel()
        self.banner.setObjectName("radio_alarm_banner")
        font = QFont(self.banner.font())
        font.setPointSizeF(font.pointSizeF() * 1.5)
        font.setBold(True)
        self.banner.setFont(font)
        self.banner.setWordWrap(True)
        self.banner.setMargin(8)
        self.banner.hide()
        self.alarm_list = QListWidget()
        self.alarm_list.setObjectName("radio_alarms")
        self.alarm_list.setAccessibleName("Radio alarms")
        self.alarm_list.setMaximumHeight(110)
        self.alarm_list.hide()
        self.clear_reason = QLineEdit()
        self.clear_reason.setObjectName("radio_clear_reason")
        self.clear_reason.setPlaceholderText("Alt+W · why the alarm is cleared, Enter clears it")
        self.clear_reason.returnPressed.connect(self.clear_selected)
        self.false_activation = QCheckBox("False activation (Alt+X)")
        self.false_activation.setObjectName("radio_false_activation")
        self.clear_row = QWidget()
        clear_layout = QHBoxLayout(self.clear_row)
        clear_layout.setContentsMargins(0, 0, 0, 0)
        clear_layout.addWidget(self.clear_reason, 1)
        clear_layout.addWidget(self.false_activation)
        self.clear_row.hide()
        self.channels = ChannelTable(self.plan, settings, self.server_now)
        self.prompt_list = QListWidget()
        self.prompt_list.setObjectName("radio_prompts")
        self.prompt_list.setAccessibleName("Timed marks and PARs owed")
        self.prompt_list.setMaximumHeight(90)
        self.prompt_answer = QLineEdit()
        self.prompt_answer.setObjectName("radio_prompt_answer")
        self.prompt_answer.setPlaceholderText(
            f"Alt+M · answer the mark or PAR (Enter: '{_PAR_ANSWER}' for a PAR)"
        )
        self.prompt_answer.returnPressed.connect(self.answer_prompt)
        self.log_list = QListWidget()
        self.log_list.setObjectName("radio_log")
        self.log_list.setAccessibleName("Radio log")
        self.entry = QLineEdit()
        self.entry.setObjectName("radio_log_entry")
        self.entry.setPlaceholderText("Ctrl+7 · E12 on scene, smoke showing — Enter logs it")
        self.entry.returnPressed.connect(self.log_entry)
        self.entry.textEdited.connect(self._decline_offer)
        self.feedback = MessageLine("radio_feedback")
        self.read_only = ReadOnlyGuard(self.feedback, [self.false_activation])
        self._placeholders = {
            field: field.placeholderText()
            for field in (self.entry, self.prompt_answer, self.clear_reason)
        }
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)  # above the scrolling part: never scrolled away
        body = QWidget()
        layout.addWidget(scrolling(body), 1)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.alarm_list)
        layout.addWidget(self.clear_row)
        layout.addWidget(self._heading("C&hannels", self.channels))
        layout.addWidget(self.channels, 2)
        layout.addWidget(self._heading("Prompts owed", self.prompt_list))
        layout.addWidget(self.prompt_list)
        layout.addWidget(self.prompt_answer)
        layout.addWidget(self._heading("Radio log", self.entry))
        layout.addWidget(self.log_list, 3)
        layout.addWidget(self.entry)
        layout.addWidget(self.feedback)
        keys_to: tuple[tuple[str, Callable[[], object]], ...] = (
            ("Alt+W", self.clear_reason.setFocus),
            ("Alt+M", self.prompt_answer.setFocus),
            ("Alt+X", self._toggle_false_activation),
        )
        for keys, action in keys_to:
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(action)
        self.entry.installEventFilter(self)

    @staticmethod
    def _heading(text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(buddy)
        return label

    def attach(self, dock: QDockWidget) -> AlarmWatch:
        """Start watching the alarm queue; ``dock`` is the one brought forward."""
        play = self._play or emergency_player()
        self.watch = AlarmWatch(self.service, self.plan, dock, play, self.server_now, self)
        self.watch.queue_changed.connect(self._show_queue)
        self.watch.refresh()
        self.refresh_all()
        return self.watch

    # --- updates ---------------------------------------------------------------------------

    def on_change(self, change: Change) -> None:
        if self.watch is not None:
            self.watch.on_change(change)
        if change.reset or change.radio_log:
            self._show_log()
        if change.reset or change.keyups:  # assignments and the roster: at the second's tick
            self.channels.refresh(self.service.state.view, self.service.state.keyups)
        if change.reset or change.incidents:
            self._show_prompts()

    def tick(self) -> None:
        """Once a second: escalations, prompts falling due, times since key-up."""
        if self.watch is not None:
            self.watch.refresh()
            self._show_queue(self.watch.queue)
        self.channels.refresh(self.service.state.view, self.service.state.keyups)
        self._show_prompts()

    def refresh_all(self) -> None:
        self._show_log()
        self._show_prompts()
        self.channels.refresh(self.service.state.view, self.service.state.keyups)

    def set_read_only_role(self, role: str | None) -> None:
        """A monitoring position changes nothing: every entry says so (read-only, not
        disabled: Ctrl+7 and Alt+W still reach them), F12 and Enter say so."""
        self.read_only.set_role(role)
        monitoring = self.read_only.active
        for field, placeholder in self._placeholders.items():
            field.setReadOnly(monitoring)
            field.setPlaceholderText(READ_ONLY_HINT if monitoring else placeholder)
            field.setToolTip(READ_ONLY_HINT if monitoring else "")

    def _toggle_false_activation(self) -> None:
        if not self.read_only.refuse():
            self.false_activation.toggle()

    def _show_queue(self, queue: list[AlarmItem]) -> None:
        now = self.server_now()
        view = self.service.state.view
        self.banner.setVisible(bool(queue))
        self.alarm_list.setVisible(bool(queue))
        self.clear_row.setVisible(bool(queue))
        if not queue:
            return
        first = queue[0]
        parts = [first.words]
        if first.incident_id and (incident := view.incidents.get(first.incident_id)):
            parts.append(incident_label(incident))
        if first.position is not None:
            parts.append(f"last fix {first.position.lat:.5f}, {first.position.lon:.5f}")
        parts.append(duration(now - first.since))
        more = f"  (+{len(queue) - 1} more)" if len(queue) > 1 else ""
        hint = "  ·  F12 acknowledges" if first.level is not AlarmLevel.ACKNOWLEDGED else ""
        self.banner.setText(" · ".join(parts) + more + hint)
        self.banner.setStyleSheet(_BANNER_STYLE[first.level])
        selected = self.alarm_list.currentRow()
        self.alarm_list.clear()
        for item in queue:
            state = {2: "ESCALATED", 1: "SOUNDING", 0: "acknowledged"}[int(item.level)]
            row = QListWidgetItem(f"{item.words} · {state} · {duration(now - item.since)}")
            row.setData(Qt.ItemDataRole.UserRole, item.key)
            self.alarm_list.addItem(row)
        self.alarm_list.setCurrentRow(min(max(selected, 0), len(queue) - 1))

    def _show_prompts(self) -> None:
        view = self.service.state.view
        prompts = owed_prompts(view, self.plan, self.server_now())
        if [p.key for p in prompts] == [p.key for p in self._prompts]:
            return
        self._prompts = prompts
        self.prompt_list.clear()
        for prompt in prompts:
            self.prompt_list.addItem(prompt_words(view, prompt))
        if prompts:
            self.prompt_list.setCurrentRow(0)

    def _show_log(self) -> None:
        view = self.service.state.view
        entries = sorted(view.radio_log.values(), key=lambda e: (e.at, e.id))[-LOG_LINES:]
        if len(view.radio_log) == self._log_count and self.log_list.count() == len(entries):
            return
        self._log_count = len(view.radio_log)
        self.log_list.clear()
        for entry in entries:
            self.log_list.addItem(self._log_text(entry))
        self.log_list.scrollToBottom()

    def _log_text(self, entry: RadioEntry) -> str:
        incident = self.service.state.view.incidents.get(entry.incident_id or "")
        where = f" · {incident_label(incident)}" if incident is not None else ""
        channel = f" [{entry.channel}]" if entry.channel else ""
        speaker = entry.unit_id or "—"
        return f"{_clock_text(entry.at)}  {speaker}{channel}: {entry.text}{where}  ({entry.actor})"

    # --- actions ---------------------------------------------------------------------------

    def acknowledge_first(self) -> bool:
        """Acknowledge the first unacknowledged emergency (F12); False when there is none, or
        at a monitoring position (said: it is read-only)."""
        if self.read_only.refuse() or self.watch is None:
            return False
        self.watch.refresh()
        for item in self.watch.queue:
            if item.alarm is not None and item.alarm.acknowledged_at is None:
                command = RadioAcknowledge(alarm_id=item.alarm.id)
                done = f"Acknowledged: {item.words}"
                if submit_and_say(self.service, self.feedback, command, done):
                    self.watch.refresh()
                    return True
                return False
        escalated = [i for i in self.watch.queue if i.prompt is not None]
        if escalated:
            self.feedback.say("A PAR is overdue: answer it under Prompts owed (Alt+M)")
        else:
            self.feedback.say("No radio emergency to acknowledge")
        return False

    def _selected_alarm(self) -> AlarmItem | None:
        if self.watch is None or not self.watch.queue:
            return None
        row = self.alarm_list.currentRow()
        queue = self.watch.queue
        return queue[row] if 0 <= row < len(queue) else queue[0]

    def clear_selected(self) -> bool:
        """Clear the selected alarm (else the first) with the reason typed."""
        if self.read_only.refuse():
            return False
        item = self._selected_alarm()
        if item is None or item.alarm is None:
            self.feedback.say("Select a radio emergency to clear (a PAR is answered, not cleared)")
            return False
        reason = self.clear_reason.text().strip()
        if not reason:
            self.feedback.say("Say why the alarm is cleared", MessageState.REFUSED)
            return False
        command = RadioClear(
            alarm_id=item.alarm.id,
            reason=reason,
            false_activation=self.false_activation.isChecked(),
        )
        if not submit_and_say(self.service, self.feedback, command, f"Cleared: {item.words}"):
            return False
        self.clear_reason.clear()
        self.false_activation.setChecked(False)
        if self.watch is not None:
            self.watch.refresh()
        return True

    def answer_prompt(self) -> bool:
        """Answer the selected prompt (else the first) with the text typed."""
        if self.read_only.refuse():
            return False
        if not self._prompts:
            self.feedback.say("No mark or PAR is owed")
            return False
        row = self.prompt_list.currentRow()
        prompt = self._prompts[row] if 0 <= row < len(self._prompts) else self._prompts[0]
        answer = self.prompt_answer.text().strip()
        answer = answer or (_PAR_ANSWER if prompt.kind == "par" else _MARK_ANSWER)
        command = RadioMarkAnswer(
            incident_id=prompt.incident_id, kind=prompt.kind, due_at=prompt.due_at, answer=answer
        )
        words = prompt_words(self.service.state.view, prompt)
        if not submit_and_say(
            self.service, self.feedback, command, f"Recorded: {words} — {answer}"
        ):
            return False
        self.prompt_answer.clear()
        self._show_prompts()
        if self.watch is not None:
            self.watch.refresh()
        return True

    def log_entry(self) -> bool:
        """Log the entry's line (module docstring); Enter on an empty entry takes the offer."""
        text = self.entry.text().strip()
        if self.read_only.refuse():
            return False
        if not text:
            return self._take_offer()
        line = read_radio_line(text, self.service.state.view, self.plan)
        if isinstance(line, RadioLineProblem):
            self.feedback.say(line.message, MessageState.REFUSED)
            return False
        if not submit_and_say(self.service, self.feedback, line.command, line.summary):
            return False
        self.entry.clear()
        proposal = line.proposal
        self.offer = None if proposal is None else Offer([proposal.command()], proposal.words)
        if self.offer is not None:
            self.feedback.say(f"{line.summary} · {self.offer.prompt}")
        return True

    def _take_offer(self) -> bool:
        offer, self.offer = self.offer, None
        if offer is None:
            return False
        return submit_and_say(self.service, self.feedback, offer.commands, offer.words)

    def _decline_offer(self, *_: object) -> None:
        self.offer = None

    def focus_entry(self) -> None:
        self.entry.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Esc in the entry declines the status offered."""
        if (
            watched is self.entry
            and isinstance(event, QKeyEvent)
            and event.type() is QEvent.Type.KeyPress
            and event.key() == Qt.Key.Key_Escape
            and self.offer is not None
        ):
            self.offer = None
            self.feedback.say("Not changed")
            return True
        return super().eventFilter(watched, event)
