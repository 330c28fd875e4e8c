"""`scrolling`: a panel in a frameless scroll area, so its dock can be made smaller than the
panel's own minimum height (it scrolls then) instead of squeezing the docks beside it. The area
follows the keyboard: the widget that takes the focus is scrolled into view, with room above it
for the label that says what to type (`FOCUS_MARGIN_PX`)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QFrame, QScrollArea, QWidget

__all__ = ["FOCUS_MARGIN_PX", "scrolling"]

#: Room kept above and below the focused widget when it is scrolled into view.
FOCUS_MARGIN_PX = 200


class _FocusFollower(QObject):
    """Scrolls ``area`` to the widget of ``panel`` that takes the focus."""

    def __init__(self, area: QScrollArea, panel: QWidget) -> None:
        super().__init__(area)
        self._area = area
        self._panel = panel

    def follow(self, _old: QWidget | None, new: QWidget | None) -> None:
        if new is not None and self._panel.isAncestorOf(new):
            self._area.ensureWidgetVisible(new, 0, FOCUS_MARGIN_PX)


def scrolling(panel: QWidget) -> QScrollArea:
    """``panel`` inside a scroll area (named ``<panel>_scroll``) that resizes it to fit when
    there is room and scrolls it when there is not."""
    area = QScrollArea()
    area.setObjectName(f"{panel.objectName() or 'panel'}_scroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(panel)

    app = QApplication.instance()
    if isinstance(app, QApplication):
        follower = _FocusFollower(area, panel)
        app.focusChanged.connect(follower.follow)  # gone with the area: its slot goes too
    return area
