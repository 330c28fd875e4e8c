"""`InstructionsBox`: a pre-arrival instruction read to the caller, one step at a time
(`desktop.cards.scripts.ScriptRun`), inside the Call-taking panel.

Keys, once the step has the keyboard (F10 starts the determinant's first script and gives it):
Space or Enter: the step was read, show the next; Escape: stop the script; M: the metronome's
sound on or off. During compressions a beat marker flashes at the script's rate (100-120 a
minute) and, with the sound on, a click track of one cycle plays; every 2 minutes of
compressions the box says to switch rescuers. Every step and reminder is emitted as ``logged``
(the panel notes it on the incident: the timeline shows it with its time).

A monitoring position (`InstructionsBox.set_read_only_role`) reads no instruction: every step
would be a note on the incident.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.cards.model import Script
from desktop.cards.scripts import Logged, ScriptRun, beat_interval_s
from desktop.domain.roles import is_read_only
from desktop.sound import AlertSound, metronome_path

__all__ = ["INSTRUCTIONS_KEYS", "InstructionsBox"]

#: The key that starts the determinant's instructions.
INSTRUCTIONS_KEYS = "F10"
#: How often reminders are looked for (ms).
REMINDER_TICK_MS = 500
#: How long the beat marker stays lit on each beat (ms).
BEAT_FLASH_MS = 150


class _StepView(QLabel):
    """The step's text, which takes the keyboard."""

    def __init__(self, box: InstructionsBox) -> None:
        super().__init__()
        self._box = box
        self.setObjectName("instruction_step")
        self.setWordWrap(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = Qt.Key(event.key())
        if key in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._box.advance()
        elif key == Qt.Key.Key_Escape:
            self._box.stop()
        elif key == Qt.Key.Key_M:
            self._box.toggle_sound()
        else:
            super().keyPressEvent(event)
            return
        event.accept()


class InstructionsBox(QFrame):
    """See the module docstring. ``clock`` gives the time steps are stamped with."""

    logged = Signal(str, list)  # the script's title, [Logged]

    def __init__(
        self,
        clock: Callable[[], float],
        sound: AlertSound | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("instructions")
        self._clock = clock
        self.run: ScriptRun | None = None
        self.read_only = False  # a monitoring position: no script starts or moves on
        self.sound_on = False
        self._sound = sound if sound is not None else AlertSound(metronome_path())
        self.title = QLabel()
        self.title.setObjectName("instruction_title")
        self.step = _StepView(self)
        self.beat = QLabel("●")
        self.beat.setObjectName("metronome_beat")
        self.beat.setToolTip("The compression rate: push on each flash")
        self.progress = QLabel()
        self.progress.setObjectName("instruction_progress")
        self.progress.setProperty("class", "muted")
        self.reminder = QLabel()
        self.reminder.setObjectName("instruction_reminder")
        self.reminder.setWordWrap(True)
        self.keys = QLabel("Space next step · Esc stop · M metronome sound")
        self.keys.setProperty("class", "muted")
        row = QHBoxLayout()
        row.addWidget(self.title, 1)
        row.addWidget(self.beat)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addLayout(row)
        layout.addWidget(self.step)
        layout.addWidget(self.progress)
        layout.addWidget(self.reminder)
        layout.addWidget(self.keys)
        self.beats = 0  # metronome flashes shown (for tests and the compressions count)
        self._beat_timer = QTimer(self)
        self._beat_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._beat_timer.timeout.connect(self._on_beat)
        self._reminders = QTimer(self)
        self._reminders.setInterval(REMINDER_TICK_MS)
        self._reminders.timeout.connect(self.check_reminders)
        self.hide()

    def set_read_only_role(self, role: str | None) -> None:
        """A monitoring position (``role`` read-only) reads no instruction (module
        docstring)."""
        self.read_only = is_read_only(role)

    def start(self, script: Script) -> None:
        """Read ``script`` from its first step (a script running is stopped first); nothing
        at a monitoring position."""
        if self.read_only:
            return
        if self.run is not None:
            self.stop()
        self.run = ScriptRun(script, self._clock())
        self.title.setText(script.title)
        self.reminder.clear()
        self.show()
        self._emit(self.run.log[:])
        self._show()
        self._reminders.start()
        self.step.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def advance(self) -> None:
        """The step was read: the next one (its lines logged)."""
        if self.run is None or self.read_only:
            return
        self._emit(self.run.advance(self._clock()))
        self._show()

    def stop(self) -> None:
        if self.run is None:
            return
        self._emit(self.run.stop(self._clock()))
        self._show()

    def check_reminders(self) -> None:
        if self.run is None:
            return
        due = self.run.due(self._clock())
        if due:
            self.reminder.setText(due[-1].text)
            self._emit(due)

    def toggle_sound(self) -> None:
        self.sound_on = not self.sound_on
        self._show()

    def _emit(self, lines: list[Logged]) -> None:
        if lines and self.run is not None:
            self.logged.emit(self.run.script.title, lines)

    def _show(self) -> None:
        run = self.run
        if run is None:
            return
        if run.ended:
            self.step.setText(run.log[-1].text)
            self._beat_timer.stop()
            self._reminders.stop()
            self.beat.hide()
            self.progress.setText(run.where())
            return
        self.step.setText(run.step.text)
        sound = "on" if self.sound_on else "off"
        self.progress.setText(f"{run.where()} · metronome sound {sound}")
        interval = beat_interval_s(run.script)
        if run.compressing and interval is not None:
            self.beat.show()
            if not self._beat_timer.isActive():
                self._beat_timer.start(round(interval * 1000))
            if self.sound_on:
                self._sound.play()
        else:
            self._beat_timer.stop()
            self.beat.hide()

    def _on_beat(self) -> None:
        self.beats += 1
        self._light(True)
        QTimer.singleShot(BEAT_FLASH_MS, self, lambda: self._light(False))

    def _light(self, on: bool) -> None:
        self.beat.setProperty("class", "beat-on" if on else "beat-off")
        self.beat.style().polish(self.beat)
