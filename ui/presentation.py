"""How domain values look on screen: status colours, status labels, durations. Calm, high-contrast.

What they are called in words is `desktop.domain.wording`'s (incident labels, status words)."""

from __future__ import annotations

from PySide6.QtGui import QColor

from desktop.domain.types import IncidentStatus, UnitStatus

__all__ = ["INCIDENT_STATUS_LABEL", "UNIT_STATUS_COLOUR", "duration"]

#: Unit status colours, chosen to read on dark and light backgrounds alike.
UNIT_STATUS_COLOUR: dict[UnitStatus, QColor] = {
    UnitStatus.AV: QColor("#3fb950"),  # green: available
    UnitStatus.AQ: QColor("#39c5cf"),  # cyan: available in quarters (not the AV green)
    UnitStatus.DP: QColor("#d29922"),  # amber: dispatched, not yet moving
    UnitStatus.ER: QColor("#e3b341"),  # yellow: en route
    UnitStatus.OS: QColor("#f85149"),  # red: on scene
    UnitStatus.TR: QColor("#bc8cff"),  # violet: transporting
    UnitStatus.AH: QColor("#58a6ff"),  # blue: at hospital
    UnitStatus.OOS: QColor("#8b949e"),  # grey: out of service
}

INCIDENT_STATUS_LABEL: dict[IncidentStatus, str] = {
    IncidentStatus.PENDING: "PENDING",
    IncidentStatus.DISPATCHED: "DISPATCHED",
    IncidentStatus.ACTIVE: "ACTIVE",
    IncidentStatus.CLOSED: "CLOSED",
}


def duration(seconds: float) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` above; never negative."""
    total = max(0, int(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
