"""Monitoring mode in the UI: the one home of how a read-only position's panels look and answer.

A position whose role is read-only (`desktop.domain.roles.is_read_only`: a supervisor, or
``--monitor``) sees everything and changes nothing. In every panel:

- every edit action (a button, a field that submits, a menu action) is disabled, its tooltip
  and status tip saying why (`READ_ONLY_HINT`); the role changing back restores them;
- every edit key (a unit's status letter, Ctrl+K, F3, F9, F12…) does nothing but say
  `READ_ONLY_HINT` on the panel's message line (`ReadOnlyGuard.refuse`);
- navigation, selection, the Go to keys, find fields, layouts, themes and the map's view are
  no edits: they keep working.

The server refuses every command of such a position anyway (``forbidden``) and
`desktop.service.DispatchService` mirrors it, refusing in place with nothing queued: the UI
only tells the supervisor before they try.

Each panel with edit actions holds a `ReadOnlyGuard` of its edit controls and has a
``set_read_only_role(role)`` that hands the guard the role (`ui.main_window.MainWindow` calls
them all whenever the link's status changes). A control a panel enables or disables as the
selection changes goes through `ReadOnlyGuard.set_enabled`, so that it stays disabled while
read-only and comes back as the panel wants it afterwards.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget

from desktop.domain.roles import READ_ONLY_HINT, is_read_only
from ui.widgets.message_line import MessageLine, MessageState

__all__ = ["READ_ONLY_HINT", "Control", "ReadOnlyGuard"]

#: What a guard disables: a widget (button, field, checkbox) or an action (a menu's).
Control = QWidget | QAction

#: Dynamic properties a guard keeps on each control it holds.
_WANTED = "read_only_enabled_wanted"  # enabled as the panel wants it, read-only aside
_TIP = "read_only_tooltip_before"  # the tooltip and status tip to put back
_STATUS_TIP = "read_only_status_tip_before"
_HINTED = "read_only_hinted"  # the hint is shown in place of those


class ReadOnlyGuard:
    """The read-only state of one panel: its edit ``controls`` and the message ``line`` its
    refused keys speak on (None: nowhere, only the tooltips say it)."""

    def __init__(self, line: MessageLine | None = None, controls: Iterable[Control] = ()) -> None:
        self.line = line
        self.active = False
        self._controls: list[Control] = []
        self.add(*controls)

    @property
    def controls(self) -> tuple[Control, ...]:
        """The edit controls this guard holds, in the order added."""
        return tuple(self._controls)

    def add(self, *controls: Control) -> None:
        """Hold ``controls`` too (each enabled as it is now, read-only aside); while read-only
        they are disabled at once."""
        for control in controls:
            if control.property(_WANTED) is None:
                control.setProperty(_WANTED, _own_enabled(control))
            self._controls.append(control)
            self._apply(control)

    def set_role(self, role: str | None) -> bool:
        """Read-only for ``role`` or not: every control follows. True when that changed."""
        active = is_read_only(role)
        changed = active != self.active
        self.active = active
        for control in self._controls:
            self._apply(control)
        return changed

    def allows(self, wanted: bool = True) -> bool:
        """``wanted`` unless read-only (for what a panel enables by hand)."""
        return wanted and not self.active

    def set_enabled(self, control: Control, wanted: bool) -> None:
        """Enable ``control`` as the panel wants it (``wanted``), never while read-only."""
        control.setProperty(_WANTED, wanted)
        self._apply(control)

    def mark(self, action: Control) -> None:
        """Disable ``action`` (one built on demand, such as a menu's) with the hint while
        read-only; nothing otherwise. It is not held: the next menu builds its own."""
        if self.active:
            _hint(action)

    def refuse(self) -> bool:
        """For an edit key or button: True when read-only, said on the message line (the
        caller then does nothing); False when the action may go ahead."""
        if not self.active:
            return False
        if self.line is not None:
            self.line.say(READ_ONLY_HINT, MessageState.REFUSED)
        return True

    def _apply(self, control: Control) -> None:
        if self.active:
            _hint(control)
            return
        if control.property(_HINTED):
            control.setToolTip(str(control.property(_TIP) or ""))
            control.setStatusTip(str(control.property(_STATUS_TIP) or ""))
            control.setProperty(_HINTED, False)
        control.setEnabled(bool(control.property(_WANTED)))


def _own_enabled(control: Control) -> bool:
    """Whether ``control`` itself is enabled (a widget in a disabled parent may be)."""
    if isinstance(control, QWidget):
        return not control.testAttribute(Qt.WidgetAttribute.WA_Disabled)
    return control.isEnabled()


def _hint(control: Control) -> None:
    """Disable ``control``, its tooltip and status tip saying why (the previous ones kept)."""
    if not control.property(_HINTED):
        control.setProperty(_TIP, control.toolTip())
        control.setProperty(_STATUS_TIP, control.statusTip())
        control.setProperty(_HINTED, True)
    control.setEnabled(False)
    control.setToolTip(READ_ONLY_HINT)
    control.setStatusTip(READ_ONLY_HINT)
