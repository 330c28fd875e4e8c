"""`ChannelTable`: the radio plan's channels, one row each — who is talking, who spoke last and
how long ago, whether this position monitors it, and the incidents assigned to it.

Rows are the plan's channels in its order. Activity comes from the key-ups the server fans out
(`desktop.state.ClientState.keyups`, the newest per channel): a channel is *talking* from a
``talking`` key-up until its key-down, or `desktop.radio_plan.RadioPlan.talking_timeout_s`
after it when the key-down was lost. The last transmitter is the unit the radio id is bound to
(`desktop.domain.keyups.radio_ids`, the PTT-id mapping), else ``radio <id>``. Space toggles
whether the selected channel is monitored (a choice of this position, kept in its settings).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from desktop.domain.keyups import radio_ids
from desktop.domain.radio import channel_incidents
from desktop.domain.wording import incident_label
from desktop.domain.world import World
from desktop.protocol.messages import KeyUp
from desktop.radio_plan import RadioPlan
from ui.presentation import duration

__all__ = ["ChannelTable", "is_talking", "transmitter"]

_COLUMNS = ("", "Channel", "Last transmitter", "Since", "Monitored", "Incidents")
_TALKING = QBrush(QColor("#3fb950"))
_QUIET = QBrush(QColor("#6e7681"))
_DIM = QBrush(QColor("#8b949e"))
_SETTINGS_KEY = "radio/unmonitored"


def is_talking(keyup: KeyUp | None, now: float, timeout_s: float) -> bool:
    """Whether the channel of ``keyup`` (its newest) is carrying a transmission at ``now``."""
    return keyup is not None and keyup.talking and now - keyup.at < timeout_s


def transmitter(keyup: KeyUp, ids: Mapping[str, str]) -> str:
    """Who keyed up: the unit bound to the radio id, else ``radio <id>``."""
    unit_id = ids.get(keyup.radio_id)
    return unit_id if unit_id is not None else f"radio {keyup.radio_id}"


def _saved_unmonitored(settings: QSettings | None) -> set[str] | None:
    """The channels this position chose not to monitor (None: it never chose)."""
    saved = settings.value(_SETTINGS_KEY, None) if settings is not None else None
    try:
        names = json.loads(saved) if isinstance(saved, str) else None
    except ValueError:
        return None
    return {n for n in names if isinstance(n, str)} if isinstance(names, list) else None


class ChannelTable(QTableWidget):
    """The channels (module docstring). Call `refresh` with the view and the key-ups."""

    def __init__(
        self, plan: RadioPlan, settings: QSettings | None, clock: Callable[[], float]
    ) -> None:
        super().__init__(len(plan.channels), len(_COLUMNS))
        self.setObjectName("radio_channels")
        self.plan = plan
        self._settings = settings
        self._clock = clock
        unmonitored = _saved_unmonitored(settings)
        if unmonitored is None:
            unmonitored = {c.name for c in plan.channels if not c.selected}
        self.monitored = {c.name for c in plan.channels} - unmonitored
        self.setHorizontalHeaderLabels(_COLUMNS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.setAccessibleName("Radio channels")
        self._cells: list[list[QTableWidgetItem]] = []
        for row, channel in enumerate(plan.channels):
            cells = [QTableWidgetItem("") for _ in _COLUMNS]
            for column, cell in enumerate(cells):
                self.setItem(row, column, cell)
            self._cells.append(cells)
            name = cells[1]
            name.setText(channel.name)
            name.setToolTip(channel.about or channel.use)
        self.refresh(World(), {})

    def refresh(self, world: World, keyups: Mapping[str, KeyUp]) -> None:
        """Show ``world``'s channel assignments and the newest ``keyups`` as of now."""
        now = self._clock()
        ids = radio_ids(world)
        timeout = self.plan.talking_timeout_s
        for row, channel in enumerate(self.plan.channels):
            keyup = keyups.get(channel.name)
            talking = is_talking(keyup, now, timeout)
            cells = self._cells[row]
            dot = cells[0]
            dot.setText("●" if talking else "○")
            dot.setForeground(_TALKING if talking else _QUIET)
            dot.setToolTip("talking" if talking else "quiet")
            who = "" if keyup is None else transmitter(keyup, ids)
            cells[2].setText(who + (" (talking)" if talking else ""))
            cells[3].setText("" if keyup is None else duration(max(0.0, now - keyup.at)))
            monitored = channel.name in self.monitored
            cells[4].setText("yes" if monitored else "no")
            labels = [incident_label(i) for i in channel_incidents(world, channel.name)]
            cells[5].setText(", ".join(labels))
            for column in (1, 2, 3, 5):
                cells[column].setForeground(QBrush() if monitored else _DIM)

    def toggle_monitored(self) -> None:
        """Monitor the selected channel, or stop monitoring it; remembered for this position."""
        row = self.currentRow()
        if row < 0:
            return
        name = self.plan.channels[row].name
        self.monitored ^= {name}
        self._cells[row][4].setText("yes" if name in self.monitored else "no")
        if self._settings is not None:
            unmonitored = sorted({c.name for c in self.plan.channels} - self.monitored)
            self._settings.setValue(_SETTINGS_KEY, json.dumps(unmonitored))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space:
            self.toggle_monitored()
            return
        super().keyPressEvent(event)
