"""`Selection`: the incident and the unit the dispatcher is working on, shared by every panel.

One instance per workstation window; panels on any monitor (floating docks included) follow it.
A panel calls `select_incident` / `select_unit` when the dispatcher picks a row, and listens to
``incident_changed`` / ``unit_changed`` to show the same choice. Signals fire only on a real
change, so a panel that re-selects what it was told to select does not loop.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

__all__ = ["Selection"]


class Selection(QObject):
    """The selected incident id and unit id (None: nothing selected)."""

    incident_changed = Signal(object)  # str | None
    unit_changed = Signal(object)  # str | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._incident_id: str | None = None
        self._unit_id: str | None = None

    @property
    def incident_id(self) -> str | None:
        return self._incident_id

    @property
    def unit_id(self) -> str | None:
        return self._unit_id

    def select_incident(self, incident_id: str | None) -> None:
        """Make ``incident_id`` the incident every panel shows (None clears it)."""
        if incident_id != self._incident_id:
            self._incident_id = incident_id
            self.incident_changed.emit(incident_id)

    def select_unit(self, unit_id: str | None) -> None:
        """Make ``unit_id`` the selected unit everywhere (None clears it)."""
        if unit_id != self._unit_id:
            self._unit_id = unit_id
            self.unit_changed.emit(unit_id)
