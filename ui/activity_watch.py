"""`ActivityWatch`: tells the server what this window's position has open and is typing
(`desktop.activity.ActivityTracker`; the frames and their rules: docs/protocol.md, "Positions
and shadowing").

Every `LOOK_MS` the watch looks at the window: the dock with the keyboard, the incident selected
(`ui.selection.Selection`), the call on Call-taking, and the text of each draft field
(`DRAFT_SOURCES`: a field counts once the dispatcher has edited it, `QLineEdit.isModified`,
except the command line, which is only ever typed into). The position was *touched* when what
the watch sees changed since the last look, or the keyboard moved to another widget of the
window: idle time is the time since the position last did anything a supervisor could see. (No
application-wide event filter: it would put every Qt event of the workstation through Python.)
The tracker decides what is worth a frame.
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget, QLineEdit, QWidget

from desktop.activity import ActivityTracker
from ui.docks import COMMAND_LINE

if TYPE_CHECKING:
    from ui.main_window import MainWindow

__all__ = ["DRAFT_SOURCES", "LOOK_MS", "ActivityWatch"]

#: How often the window is looked at (ms): typing shows on a supervisor's screen within this
#: and the server's fan-out interval.
LOOK_MS = 250

#: Each draft field (`desktop.domain.presence.DRAFT_FIELDS`), where it is in the window (an
#: attribute path of `MainWindow`), and whether its text counts even when the program set it.
DRAFT_SOURCES: tuple[tuple[str, str, bool], ...] = (
    ("command", "command_line.input", True),
    ("call.address", "call_taking.address.field", False),
    ("call.type", "call_taking.type_field", False),
    ("call.caller", "call_taking.caller_name", False),
    ("incident.note", "incident_detail.note", False),
    ("incident.address", "incident_detail.address_input", False),
    ("radio.entry", "radio_panel.entry", False),
)


def _field(window: MainWindow, path: str) -> QLineEdit:
    field = attrgetter(path)(window)
    if not isinstance(field, QLineEdit):
        raise TypeError(f"MainWindow.{path} is no line edit")
    return field


class ActivityWatch(QObject):
    """Reports ``window``'s activity through its service (module docstring)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        service = window.service
        self.tracker = ActivityTracker(service.report_activity, service.server_now)
        self._fields = [(key, _field(window, path), always) for key, path, always in DRAFT_SOURCES]
        self._timer = QTimer(self)
        self._timer.setInterval(LOOK_MS)
        self._timer.timeout.connect(self.look)
        self._timer.start()
        self._seen: tuple[object, ...] | None = None
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._focus_moved)

    def _focus_moved(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and self._mine(new):
            self.tracker.touched()

    def _mine(self, widget: QWidget) -> bool:
        """Whether ``widget`` is in this window, its floating docks included."""
        node: QWidget | None = widget
        while node is not None:
            if node is self._window:
                return True
            node = node.parentWidget()
        return False

    def panel(self) -> str:
        """The name of the dock with the keyboard, or the command line's; while another
        application is active, where the keyboard will be when the window is back ("" when
        in none)."""
        node = QApplication.focusWidget()
        if node is None or not self._mine(node):
            node = self._window.focusWidget()
        while node is not None and node is not self._window:
            if node is self._window.command_line:
                return COMMAND_LINE.name
            if isinstance(node, QDockWidget):
                name = node.objectName()
                return "map" if name.startswith("map_") else name
            node = node.parentWidget()
        return ""

    def look(self) -> None:
        """Look at the window now, and report what changed."""
        window = self._window
        call = window.call_taking.current_call()
        drafts = {
            key: field.text() for key, field, always in self._fields if always or field.isModified()
        }
        panel, call_id, incident_id = (
            self.panel(),
            call.id if call else None,
            window.selection.incident_id,
        )
        seen = (panel, call_id, incident_id, drafts, window.selection.unit_id)
        if self._seen is not None and seen != self._seen:
            self.tracker.touched()
        self._seen = seen
        self.tracker.observe(panel=panel, call_id=call_id, incident_id=incident_id, drafts=drafts)
        self.tracker.report()

    def stop(self) -> None:
        self._timer.stop()
