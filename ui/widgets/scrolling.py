"""`scrolling`: a panel in a frameless scroll area, so its dock can be made smaller than the
panel's own minimum height (it scrolls then) instead of squeezing the docks beside it."""

from __future__ import annotations

from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

__all__ = ["scrolling"]


def scrolling(panel: QWidget) -> QScrollArea:
    """``panel`` inside a scroll area (named ``<panel>_scroll``) that resizes it to fit when
    there is room and scrolls it when there is not."""
    area = QScrollArea()
    area.setObjectName(f"{panel.objectName() or 'panel'}_scroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(panel)
    return area
