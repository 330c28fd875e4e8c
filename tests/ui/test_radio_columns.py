"""Radio channels on the board: the Units table's Channel column (the channel of the unit's
incident, refreshed when it changes) and Incident detail's channel and answered radio marks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from desktop.domain.catalog import event_kind_of
from desktop.domain.kinds import EventData
from desktop.domain.radio import RadioChannelAssigned, RadioMarked
from desktop.domain.types import RadioMark, UnitStatus
from desktop.domain.units import UnitDispatched
from desktop.protocol.codec import encode_raw
from tests.support.offline_window import Offline, incident, open_offline, unit
from ui.panels.incident_detail import radio_mark_words, radio_marks_line


def _apply(opened: Offline, *events: EventData) -> None:
    state = opened.service.state
    for data in events:
        kind = event_kind_of(data).name
        state.apply_event(state.last_seq + 1, kind, bytes(encode_raw(data)), time.time())


def _column(model: Any, title: str) -> int:
    titles = [
        model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        for c in range(model.columnCount())
    ]
    return titles.index(title)


def _cell(model: Any, row_id: str, column: int, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
    row = model.row_of(row_id)
    assert row is not None, row_id
    return model.index(row, column).data(role)


#: When the first unit arrived on the incident: the radio marks' minutes count from it.
ON_SCENE = time.time() - 25 * 60


def _open(qtbot: Any, tmp_path: Path) -> Offline:
    fire = incident("inc-1", "F2612-000101", kind="STRUCTURE FIRE", priority=1)
    fire.times["first_onscene"] = ON_SCENE
    opened = open_offline(qtbot, tmp_path, [unit("E1"), unit("E2"), unit("T3")], [fire])
    _apply(
        opened,
        UnitDispatched(unit_id="E1", incident_id="inc-1"),
        UnitDispatched(unit_id="T3", incident_id="inc-1"),
    )
    opened.settle(qtbot)
    return opened


def test_the_units_channel_column_follows_the_incidents_channel(qtbot: Any, tmp_path: Path) -> None:
    opened = _open(qtbot, tmp_path)
    units = opened.window.models.units
    channel = _column(units, "Channel")
    assert channel == _column(units, "Incident") + 1
    assert _cell(units, "E1", channel) == ""  # no channel assigned yet

    _apply(opened, RadioChannelAssigned(incident_id="inc-1", channel="FIRE TAC 2"))
    opened.settle(qtbot)
    assert [_cell(units, u, channel) for u in ("E1", "E2", "T3")] == [
        "FIRE TAC 2",
        "",
        "FIRE TAC 2",
    ]
    tip = _cell(units, "E1", channel, Qt.ItemDataRole.ToolTipRole)
    assert tip == "Radio channel of F2612-000101"
    assert _cell(units, "E1", _column(units, "Status")) == str(UnitStatus.DP)  # columns intact
    assert _cell(units, "E1", _column(units, "Station")) == "1"

    _apply(
        opened,
        RadioChannelAssigned(incident_id="inc-1", channel="FIRE TAC 4", previous="FIRE TAC 2"),
    )
    opened.settle(qtbot)
    assert _cell(units, "E1", channel) == _cell(units, "T3", channel) == "FIRE TAC 4"
    _apply(opened, RadioChannelAssigned(incident_id="inc-1", channel="", previous="FIRE TAC 4"))
    opened.settle(qtbot)
    assert _cell(units, "E1", channel) == ""


def test_incident_detail_shows_the_channel_and_the_radio_marks(qtbot: Any, tmp_path: Path) -> None:
    opened = _open(qtbot, tmp_path)
    window = opened.window
    window.selection.select_incident("inc-1")
    facts = window.incident_detail.facts
    assert "Radio channel: none assigned" in facts.text()
    assert "Radio marks" not in facts.text()

    _apply(opened, RadioChannelAssigned(incident_id="inc-1", channel="FIRE TAC 2"))
    opened.settle(qtbot)
    assert "Radio channel: FIRE TAC 2" in facts.text()

    at = ON_SCENE + 20 * 60 + 40
    mark = RadioMark(
        kind="par", due_at=ON_SCENE + 20 * 60, at=at, actor="jsmith", answer="all accounted for"
    )
    _apply(opened, RadioMarked(incident_id="inc-1", mark=mark))
    opened.settle(qtbot)
    hhmm = time.strftime("%H:%M", time.localtime(at))
    assert f"Radio marks: PAR 20 min: all accounted for — jsmith {hhmm}" in facts.text()


def test_radio_marks_read_compactly() -> None:
    fire = incident("inc-1", "F2612-000101")
    assert radio_marks_line(fire) == ""
    start = 1_700_000_000.0
    fire.times["first_onscene"] = start
    marks = [
        RadioMark(kind="elapsed", due_at=start + n * 600, at=start + n * 600 + 30, actor="ann")
        for n in range(1, 5)
    ]
    fire.radio_marks = marks
    assert radio_mark_words(fire, marks[0]).startswith("Elapsed 10 min — ann ")
    line = radio_marks_line(fire)
    assert line.startswith("Radio marks: (1 earlier) Elapsed 20 min")
    assert line.count("Elapsed") == 3
    early = RadioMark(kind="par", due_at=start - 60, at=start, actor="bo", answer="E1 missing")
    assert ": E1 missing — bo" in radio_mark_words(fire, early)
    assert radio_mark_words(fire, early).startswith("PAR due ")
