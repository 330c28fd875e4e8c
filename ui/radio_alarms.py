"""`AlarmWatch`: follows the radio alarm queue (`desktop.radio_clock.alarm_queue`) and makes sure
no alarm goes unseen or unheard.

- **Seen.** When an item joins the queue at a level this position must hear (a dispatching
  position: from ``SOUNDING``; a monitoring one: from ``ESCALATED``), or rises to
  ``ESCALATED``, the Radio panel is brought forward (`bring_forward`): its dock shown and put
  in front of its tabs, its window (the main window, or the dock's own when it floats, on
  whichever monitor) restored if minimised and raised above the windows covering it. The
  window is raised, not activated: keys being typed elsewhere keep going where they were going
  (`QApplication.alert` flashes it in the task bar as well).
- **Heard.** The alarm sounds at once and every ``repeat_every_s`` (the radio plan) while
  anything in the queue is heard (`desktop.radio_clock.sound_for`), loud once an item has
  escalated. ``play`` is given the level (``"normal"`` or ``"loud"``).
- ``shown`` is emitted with the item's key once the panel is forward and the sound started
  (the benchmark times it); ``queue_changed`` with the whole queue whenever it changes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QDockWidget, QWidget

from desktop.radio_clock import AlarmItem, AlarmLevel, Sound, alarm_queue, sound_for
from desktop.radio_plan import RadioPlan
from desktop.service import DispatchService
from desktop.sound import AlertSound, emergency_path
from desktop.state import Change

__all__ = ["AlarmWatch", "bring_forward", "emergency_player"]


def bring_forward(dock: QDockWidget) -> None:
    """Put ``dock`` in front of everything (module docstring), wherever it is."""
    main = dock.parentWidget()
    windows: list[QWidget] = [w for w in (main, dock.window()) if w is not None]
    for window in windows:
        if window.isMinimized():
            window.setWindowState(window.windowState() & ~Qt.WindowState.WindowMinimized)
            window.showNormal()
    if dock.isHidden():
        dock.show()
    dock.raise_()  # in front of its tabs; a floating dock above other windows
    for window in dict.fromkeys(windows):
        window.raise_()
    if dock.isFloating():
        dock.raise_()  # the floating window above the main window it belongs to
    QApplication.alert(dock.window())


def emergency_player() -> Callable[[Sound], object]:
    """Plays the shipped emergency alarms; the system beep where nothing can play."""
    players = {"normal": AlertSound(emergency_path()), "loud": AlertSound(emergency_path(True))}

    def play(level: Sound) -> None:
        player = players.get(level)
        if player is not None and not player.play():
            QApplication.beep()

    return play


class AlarmWatch(QObject):
    """Keeps the alarm queue of ``service``'s view seen and heard (module docstring).

    ``dock`` is the Radio panel's dock; ``play`` sounds an alarm level; ``clock`` is the
    server's time as this workstation knows it."""

    queue_changed = Signal(list)
    shown = Signal(str)

    def __init__(
        self,
        service: DispatchService,
        plan: RadioPlan,
        dock: QDockWidget,
        play: Callable[[Sound], object],
        clock: Callable[[], float],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.plan = plan
        self.dock = dock
        self._play = play
        self._clock = clock
        self.queue: list[AlarmItem] = []
        self._heard: dict[str, AlarmLevel] = {}  # key -> the level last brought forward for
        self.sounding: Sound = "none"
        self.last_sounded_at: float | None = None
        self._repeat = QTimer(self)
        self._repeat.setInterval(round(plan.alarms.repeat_every_s * 1000))
        self._repeat.timeout.connect(self._sound_again)

    def on_change(self, change: Change) -> None:
        """Alarms raised, acknowledged or cleared; a PAR answered (an incident changed while
        one is queued). Escalations and PARs falling due come with the second's `refresh`."""
        owed = change.incidents and any(item.prompt is not None for item in self.queue)
        if change.alarms or change.reset or owed:
            self.refresh()

    def refresh(self) -> None:
        """Work the queue out again now (events arrived, or a second passed)."""
        queue = alarm_queue(self.service.state.view, self.plan, self._clock())
        role = self.service.link.role
        changed = [(i.key, i.level) for i in queue] != [(i.key, i.level) for i in self.queue]
        self.queue = queue
        fresh = [item for item in queue if self._brings_forward(item, role)]
        self._heard = {item.key: item.level for item in queue if item.key in self._heard}
        for item in fresh:
            self._heard[item.key] = item.level
        sound = sound_for(queue, role)
        if fresh:
            bring_forward(self.dock)
        if sound != self.sounding or fresh:
            self.sounding = sound
            if sound == "none":
                self._repeat.stop()
            else:
                self._sound_now()
                self._repeat.start()
        if changed:
            self.queue_changed.emit(queue)
        for item in fresh:
            self.shown.emit(item.key)

    def _brings_forward(self, item: AlarmItem, role: str | None) -> bool:
        heard = sound_for([item], role) != "none"
        return heard and self._heard.get(item.key, AlarmLevel.ACKNOWLEDGED) < item.level

    def _sound_now(self) -> None:
        self.last_sounded_at = time.monotonic()
        self._play(self.sounding)

    def _sound_again(self) -> None:
        if self.sounding != "none":
            self._sound_now()

    def top(self) -> AlarmItem | None:
        """The first item of the queue (the one F12 acknowledges), or None."""
        return self.queue[0] if self.queue else None
