"""The docks of the workstation: each panel's stable name (saved in layouts) and title, the keys
that go to a panel, and the layout in code that a new position starts with."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow

__all__ = [
    "COMMAND_LINE",
    "DOCKS",
    "GO_TO_KEYS",
    "PANEL_TITLES",
    "DockSpec",
    "apply_default_layout",
]

Area = Qt.DockWidgetArea

#: Keys that put the keyboard in a panel, from anywhere (View → Go to).
GO_TO_KEYS = {
    "incidents": "Ctrl+1",
    "units": "Ctrl+2",
    "incident_detail": "Ctrl+3",
    "alerts": "Ctrl+4",
    "call_taking": "Ctrl+5",
    "map": "Ctrl+6",
    "radio": "Ctrl+7",
    "supervisor": "Ctrl+8",
}


@dataclass(frozen=True, slots=True)
class DockSpec:
    name: str  # objectName: stable, saved in layouts
    title: str


DOCKS = (
    DockSpec("call_taking", "Call-taking"),
    DockSpec("incidents", "Incidents"),
    DockSpec("units", "Units"),
    DockSpec("map", "Map"),
    DockSpec("radio", "Radio"),
    DockSpec("incident_detail", "Incident detail"),
    DockSpec("alerts", "Alerts"),
    DockSpec("supervisor", "Supervisor"),
)

#: The command line is no dock, but a place the keyboard can be (a position's ``panel``).
COMMAND_LINE = DockSpec("command_line", "Command line")

#: The title of each place the keyboard can be, by its name.
PANEL_TITLES = {spec.name: spec.title for spec in (*DOCKS, COMMAND_LINE)}


def apply_default_layout(window: QMainWindow) -> None:
    """The layout in code: board on the left with alerts below it; map and incident detail on
    the right, full height (the right dock area owns the bottom-right corner). Extra maps
    (View → New map) are closed: the layout in code has one."""
    docks = {d.objectName(): d for d in window.findChildren(QDockWidget)}
    for name, dock in docks.items():
        dock.setFloating(False)
        window.removeDockWidget(dock)
        if name.startswith("map_"):
            dock.close()
    placements = (
        ("incidents", Area.LeftDockWidgetArea),
        ("map", Area.RightDockWidgetArea),
        ("alerts", Area.BottomDockWidgetArea),
    )
    for name, area in placements:
        window.addDockWidget(area, docks[name])
        docks[name].show()
    window.splitDockWidget(docks["incidents"], docks["units"], Qt.Orientation.Vertical)
    window.splitDockWidget(docks["map"], docks["incident_detail"], Qt.Orientation.Vertical)
    window.tabifyDockWidget(docks["incident_detail"], docks["call_taking"])
    window.tabifyDockWidget(docks["alerts"], docks["radio"])
    window.tabifyDockWidget(docks["radio"], docks["supervisor"])
    for name in ("units", "incident_detail", "call_taking", "radio", "supervisor"):
        docks[name].show()
    docks["incident_detail"].raise_()
    docks["alerts"].raise_()
    window.resizeDocks([docks["incidents"], docks["map"]], [900, 700], Qt.Orientation.Horizontal)
    window.resizeDocks(
        [docks["incidents"], docks["units"], docks["alerts"]],
        [420, 330, 150],
        Qt.Orientation.Vertical,
    )
    window.resizeDocks(
        [docks["map"], docks["incident_detail"]], [450, 450], Qt.Orientation.Vertical
    )
