"""`IncidentDetailPanel`: everything about the selected incident, and what to do with it.

Number, type, priority, status, location, caller, the radio channel and the answered radio
marks (`radio_marks_line`), and the pending timer at the top; the run card
and recommended units (`RecommendationBox`); the units on the incident with live statuses and a
Release action; tabs for the narrative (with a note line), the timeline of every event, and the
changes a dispatcher makes (type, priority, location; close with a disposition). Every action is
a command through `DispatchService.submit`; a refusal is explained in the panel's message line.

A monitoring position (`IncidentDetailPanel.set_read_only_role`, `ui.read_only`) sees all of it
and changes nothing: every action and change field is disabled saying why, F9 says so on the
message line; the tabs, tables and selecting a unit still work.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.calltaking.place import call_facts, look_up
from desktop.domain.action_time import timeline_text
from desktop.domain.incidents import IncidentAddNote, IncidentClose, IncidentUpdate, pending_since
from desktop.domain.kinds import CommandArgs
from desktop.domain.types import (
    ASSIGNED_STATUSES,
    Incident,
    IncidentStatus,
    LocationArgs,
    RadioMark,
    UnitStatus,
)
from desktop.domain.units import UnitDispatch, UnitSetStatus, is_override
from desktop.domain.wording import incident_label, ordinal
from desktop.geo.advice import Advisor
from desktop.service import DispatchService
from desktop.state import Change
from ui.panels.recommendation import RecommendationBox
from ui.presentation import INCIDENT_STATUS_LABEL, UNIT_STATUS_COLOUR, duration
from ui.read_only import READ_ONLY_HINT, ReadOnlyGuard
from ui.selection import Selection
from ui.widgets.message_line import MessageLine, MessageState, submit_and_say
from ui.widgets.place_box import PlaceBox

__all__ = [
    "DISPOSITIONS",
    "RADIO_MARKS_SHOWN",
    "IncidentDetailPanel",
    "parse_coordinates",
    "radio_mark_words",
    "radio_marks_line",
]

#: Offered when closing (the dispatcher may type another).
DISPOSITIONS = (
    "Fire out",
    "Patient transported",
    "Treated, not transported",
    "Patient refused care",
    "No incident found",
    "False alarm",
    "Cancelled en route",
    "Handled by another agency",
)

_Row = tuple[float, str, str]  # a narrative or timeline row: time, who, text

#: How long unit changes may wait before the recommendation is worked out again (ms).
ADVICE_DELAY_MS = 400

#: The radio marks line shows this many of the latest (the timeline has every one).
RADIO_MARKS_SHOWN = 3
_MARK_KIND_WORDS = {"elapsed": "Elapsed", "par": "PAR"}

_COORDINATES = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[, ]\s*(-?\d+(?:\.\d+)?)\s*$")


def parse_coordinates(text: str) -> tuple[float, float] | None:
    """``"37.7925, -122.4202"`` -> (lat, lon); ``""`` -> None. Raises ``ValueError`` with a
    message for the dispatcher when the text is not a latitude and longitude."""
    if not text.strip():
        return None
    match = _COORDINATES.match(text)
    if match is None:
        raise ValueError("coordinates are latitude, longitude in degrees: 37.7925, -122.4202")
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("latitude is -90..90 and longitude -180..180")
    return lat, lon


def _clock_time(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%H:%M:%S")


def radio_mark_words(incident: Incident, mark: RadioMark) -> str:
    """One answered radio prompt: ``PAR 20 min: all accounted for — jsmith 14:22`` (minutes
    after the first unit arrived, when known; else the time it fell due)."""
    on_scene = incident.times.get("first_onscene")
    if on_scene is not None and mark.due_at >= on_scene:
        when = f"{round((mark.due_at - on_scene) / 60)} min"
    else:
        when = f"due {datetime.fromtimestamp(mark.due_at).strftime('%H:%M')}"
    answer = f": {mark.answer}" if mark.answer else ""
    by = datetime.fromtimestamp(mark.at).strftime("%H:%M")
    return f"{_MARK_KIND_WORDS.get(mark.kind, mark.kind)} {when}{answer} — {mark.actor} {by}"


def radio_marks_line(incident: Incident) -> str:
    """The incident's answered radio prompts, the latest `RADIO_MARKS_SHOWN`, oldest first
    ("" when none)."""
    marks = incident.radio_marks
    if not marks:
        return ""
    shown = " · ".join(radio_mark_words(incident, m) for m in marks[-RADIO_MARKS_SHOWN:])
    earlier = len(marks) - RADIO_MARKS_SHOWN
    return f"Radio marks: {f'({earlier} earlier) ' if earlier > 0 else ''}{shown}"


class IncidentDetailPanel(QWidget):
    """The incident `selection` names, live. ``advisor`` recommends units for it."""

    def __init__(
        self,
        service: DispatchService,
        selection: Selection,
        advisor: Advisor,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__()
        self.service = service
        self.selection = selection
        self.advisor = advisor
        self.clock = clock
        self._incident_id: str | None = None
        self.read_only = ReadOnlyGuard()  # its controls and line once they are built
        self._timeline_shown: list[_Row] = []
        self._narrative_shown: list[_Row] = []
        self._filling_units = False  # the units table is being refilled: no one chose a unit
        self._advice_timer = QTimer(self)
        self._advice_timer.setSingleShot(True)
        self._advice_timer.setInterval(ADVICE_DELAY_MS)
        self._advice_timer.timeout.connect(self.refresh_advice)
        self.empty = QLabel("No incident selected: pick one in the Incidents panel.")
        self.empty.setProperty("class", "muted")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self._build_content())
        self.message = MessageLine("detail_message")
        self.read_only.line = self.message
        self.read_only.add(
            self.note,
            self.release_button,
            self.type_input,
            self.priority_input,
            self.address_input,
            self.coordinates_input,
            self.update_button,
            self.disposition_input,
            self.close_button,
        )
        self._note_placeholder = self.note.placeholderText()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.stack, 1)
        layout.addWidget(self.message)
        selection.incident_changed.connect(self.show_incident)
        self.show_incident(selection.incident_id)

    # --- building --------------------------------------------------------------------------

    def _build_content(self) -> QWidget:
        self.header = QLabel()
        self.header.setObjectName("incident_header")
        self.header.setTextFormat(Qt.TextFormat.RichText)
        self.facts = QLabel()
        self.facts.setObjectName("incident_facts")
        self.facts.setWordWrap(True)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.recommendation = RecommendationBox()
        self.recommendation.dispatch_requested.connect(self._dispatch)
        self.recommendation.alarm_changed.connect(self.set_alarm)
        # a unit chosen here (recommended, or on the incident) is selected in Units too
        self.recommendation.table.itemSelectionChanged.connect(self._on_unit_chosen)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.recommendation)
        splitter.addWidget(self._build_units())
        splitter.addWidget(self._build_tabs())
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setStretchFactor(2, 4)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        self.place_box = PlaceBox("incident_place")
        layout.addWidget(self.header)
        layout.addWidget(self.facts)
        layout.addWidget(self.place_box)
        layout.addWidget(splitter, 1)
        return content

    def _build_units(self) -> QWidget:
        self.units_table = _table("incident_units", ("Unit", "Type", "Status", "In status"))
        for column, width in enumerate((70, 120, 60)):
            self.units_table.setColumnWidth(column, width)
        self.release_button = QPushButton("&Release unit")
        self.release_button.setObjectName("release_unit")
        self.release_button.setToolTip("The selected unit leaves the incident and is available")
        self.release_button.clicked.connect(self.release_selected)
        self.units_table.itemSelectionChanged.connect(self._on_unit_chosen)
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        title = QHBoxLayout()
        title.addWidget(QLabel("Units on the incident"), 1)
        title.addWidget(self.release_button)
        layout.addLayout(title)
        layout.addWidget(self.units_table, 1)
        return box

    def _build_tabs(self) -> QWidget:
        self.tabs = QTabWidget()
        self.tabs.setObjectName("incident_tabs")
        self.narrative = _table("narrative", ("Time", "By", "Narrative"))
        self.note = QLineEdit()
        self.note.setObjectName("note_input")
        self.note.setPlaceholderText("Add to the narrative (Enter)")
        self.note.returnPressed.connect(self.add_note)
        narrative = QWidget()
        layout = QVBoxLayout(narrative)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.narrative, 1)
        layout.addWidget(self.note)
        self.tabs.addTab(narrative, "&Narrative")
        self.timeline = _table("timeline", ("Time", "By", "Event"))
        self.tabs.addTab(self.timeline, "T&imeline")
        self.tabs.addTab(self._build_changes(), "&Change / close")
        return self.tabs

    def _build_changes(self) -> QWidget:
        self.type_input = QComboBox()
        self.type_input.setObjectName("type_input")
        self.type_input.setEditable(True)
        self.type_input.addItems(self.advisor.runcards.incident_types())
        self.priority_input = QComboBox()
        self.priority_input.setObjectName("priority_input")
        self.priority_input.addItems([str(p) for p in range(1, 6)])
        self.address_input = QLineEdit()
        self.address_input.setObjectName("address_input")
        self.coordinates_input = QLineEdit()
        self.coordinates_input.setObjectName("coordinates_input")
        self.coordinates_input.setPlaceholderText("latitude, longitude")
        self.update_button = QPushButton("Save changes")
        self.update_button.setObjectName("update_incident")
        self.update_button.clicked.connect(self.update_incident)
        self.disposition_input = QComboBox()
        self.disposition_input.setObjectName("disposition_input")
        self.disposition_input.setEditable(True)
        self.disposition_input.addItems(DISPOSITIONS)
        self.close_button = QPushButton("Close incident")
        self.close_button.setObjectName("close_incident")
        self.close_button.clicked.connect(self.close_incident)
        form = QFormLayout()
        form.addRow("Type", self.type_input)
        form.addRow("Priority", self.priority_input)
        form.addRow("Address", self.address_input)
        form.addRow("Coordinates", self.coordinates_input)
        form.addRow("", self.update_button)
        form.addRow("Disposition", self.disposition_input)
        form.addRow("", self.close_button)
        page = QWidget()
        page.setLayout(form)
        scroll = QScrollArea()  # the form scrolls rather than holding the dock tall
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        return scroll

    # --- showing ---------------------------------------------------------------------------

    @property
    def incident_id(self) -> str | None:
        return self._incident_id

    def incident(self) -> Incident | None:
        return None if self._incident_id is None else self.service.incident(self._incident_id)

    def show_incident(self, incident_id: str | None) -> None:
        """Show ``incident_id`` (None: the empty page) and work out its recommendation."""
        if incident_id != self._incident_id:
            self._incident_id = incident_id
            self._timeline_shown = _grow(self.timeline, [], self._timeline_shown)
            self._narrative_shown = _grow(self.narrative, [], self._narrative_shown)
            self.say("")
            self._fill_change_form()
        self.refresh()
        self.refresh_advice()

    def on_change(self, change: Change) -> None:
        """Refresh when ``change`` touched the incident (a unit joining, leaving or changing
        status on it touches it too: its timeline records that); other units' changes and AVL
        positions only re-run the recommendation, at most every `ADVICE_DELAY_MS`."""
        incident_id = self._incident_id
        if incident_id is None:
            return
        if change.reset or incident_id in change.incidents or change.premises or change.calls:
            self.refresh()
            self._advice_timer.start()
        elif (change.units or change.positions) and not self._advice_timer.isActive():
            self._advice_timer.start()  # a unit moved or changed: its ETA may have

    def tick(self) -> None:
        """Once a second: the pending timer and times in status move."""
        if self._incident_id is not None:
            self._refresh_header()
            self._refresh_units()

    def refresh(self) -> None:
        incident = self.incident()
        self.stack.setCurrentIndex(0 if incident is None else 1)
        if incident is None:
            return
        self._refresh_header()
        self._refresh_units()
        self._refresh_narrative(incident)
        self._refresh_timeline(incident)
        self._update_actions()

    def refresh_advice(self) -> None:
        """Work out the recommendation for the incident shown now."""
        self._advice_timer.stop()
        incident = self.incident()
        if incident is None:
            self.recommendation.show_advice(None)
            return
        if incident.status is IncidentStatus.CLOSED:
            closed = f"Run card: {incident_label(incident)} is closed"
            if incident.disposition:
                closed += f" ({incident.disposition})"
            self.recommendation.show_advice(None, closed + ": nothing to send")
            return
        units = self.service.units()
        advice = self.advisor.advise(incident, units, self.clock(), wait_for_roads=False)
        self.recommendation.show_advice(advice)

    def set_alarm(self, alarm: int) -> bool:
        """Strike alarm level ``alarm`` (1 = first alarm) on the incident: a command, so every
        workstation recommends for it and the timeline records it. True if queued."""
        if self.read_only.refuse():
            return False
        incident = self.incident()
        if incident is None or alarm == incident.alarm:
            return False
        queued = self.submit(
            IncidentUpdate(incident_id=incident.id, alarm=alarm),
            f"{ordinal(alarm)} alarm"
            if alarm > incident.alarm
            else f"Back to {ordinal(alarm)} alarm",
        )
        self.refresh_advice()  # the alarm shown follows the incident, queued or refused
        return queued

    def _refresh_header(self) -> None:
        incident = self.incident()
        if incident is None:
            return
        status = INCIDENT_STATUS_LABEL[incident.status]
        alarm = f" · <b>{ordinal(incident.alarm)} alarm</b>" if incident.alarm > 1 else ""
        self.header.setText(
            f"<span style='font-size:15pt;font-weight:600'>{incident_label(incident)}</span>"
            f"&nbsp;&nbsp;{_html(incident.type)} · <b>P{incident.priority}</b> · {status}{alarm}"
        )
        location = incident.location
        where = location.address or "(no address)"
        if location.lat is not None and location.lon is not None:
            where += f"  ({location.lat:.5f}, {location.lon:.5f})"
        facts = [f"Location: {where}"]
        if incident.caller is not None:
            caller = " · ".join(p for p in (incident.caller.name, incident.caller.callback) if p)
            facts.append(f"Caller: {caller}")
        facts.append(f"Radio channel: {incident.channel or 'none assigned'}")
        marks = radio_marks_line(incident)
        if marks:
            facts.append(marks)
        times = incident.times
        now = self.clock()
        line = f"Created {_clock_time(times['created'])}" if "created" in times else ""
        if incident.status is IncidentStatus.PENDING:
            line += f" · pending {duration(now - pending_since(incident))}"
        if incident.disposition:
            line += f" · closed: {incident.disposition}"
        facts.append(line.strip(" ·"))
        world = self.service.state.view
        facts += call_facts(world, incident)
        self.facts.setText("\n".join(facts))
        self.place_box.show_place(look_up(world, location, incident.type, now, exclude=incident.id))

    def _refresh_units(self) -> None:
        incident_id = self._incident_id
        units = sorted(
            (
                u
                for u in self.service.units()
                if u.incident_id == incident_id and u.status in ASSIGNED_STATUSES
            ),
            key=lambda u: u.id,
        )
        table = self.units_table
        selected = self._selected_unit()
        self._filling_units = True
        table.setRowCount(len(units))
        now = self.clock()
        for row, unit in enumerate(units):
            status = QTableWidgetItem(str(unit.status))
            status.setForeground(QBrush(UNIT_STATUS_COLOUR[unit.status]))
            status.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            cells = (
                QTableWidgetItem(unit.id),
                QTableWidgetItem(unit.type),
                status,
                QTableWidgetItem(duration(now - unit.status_at)),
            )
            for column, cell in enumerate(cells):
                table.setItem(row, column, cell)
            if unit.id == selected:
                table.selectRow(row)
        self._filling_units = False
        self.read_only.set_enabled(self.release_button, bool(units))

    def _update_actions(self) -> None:
        """Actions are for open incidents, and never for a monitoring position (its guard,
        and the recommendation's, keep them disabled)."""
        incident = self.incident()
        open_incident = incident is not None and incident.status is not IncidentStatus.CLOSED
        self.recommendation.setEnabled(open_incident)
        for widget in (self.update_button, self.close_button):
            self.read_only.set_enabled(widget, open_incident)
        self.read_only.set_enabled(self.note, incident is not None)
        self.read_only.set_enabled(
            self.release_button, open_incident and self.units_table.rowCount() > 0
        )

    def _refresh_narrative(self, incident: Incident) -> None:
        rows = [(e.at, e.author, e.text) for e in incident.narrative]
        self._narrative_shown = _grow(self.narrative, rows, self._narrative_shown)

    def _refresh_timeline(self, incident: Incident) -> None:
        rows = [(e.at, e.actor, timeline_text(e)) for e in incident.timeline]
        self._timeline_shown = _grow(self.timeline, rows, self._timeline_shown)

    def _fill_change_form(self) -> None:
        incident = self.incident()
        if incident is None:
            return
        self.type_input.setCurrentText(incident.type)
        self.priority_input.setCurrentText(str(incident.priority))
        self.address_input.setText(incident.location.address)
        location = incident.location
        has_point = location.lat is not None and location.lon is not None
        self.coordinates_input.setText(f"{location.lat}, {location.lon}" if has_point else "")

    # --- acting ----------------------------------------------------------------------------

    def set_read_only_role(self, role: str | None) -> None:
        """Monitoring positions see everything and change nothing (module docstring)."""
        self.read_only.set_role(role)
        self.recommendation.set_read_only_role(role)
        self._update_actions()
        active = self.read_only.active
        self.note.setPlaceholderText(READ_ONLY_HINT if active else self._note_placeholder)

    def say(self, text: str, state: MessageState = MessageState.OK) -> None:
        """The panel's message line: the outcome of the last action, in place."""
        self.message.say(text, state)

    def submit(self, args: CommandArgs, done: str) -> bool:
        """Queue ``args``; say ``done`` or why it was refused (a monitoring position: that it
        is read-only, nothing tried). True if queued."""
        if self.read_only.refuse():
            return False
        return submit_and_say(self.service, self.message, args, done)

    def dispatch_recommended(self) -> bool:
        """Send every recommended unit (the one-key accept). True if queued; a monitoring
        position is told it is read-only."""
        if self.read_only.refuse() or self.incident() is None:
            return False
        if not self.recommendation.recommended():
            advice = self.recommendation.advice
            why = advice.problem if advice is not None and advice.problem else ""
            self.say(why or "Nothing to recommend for this incident", MessageState.REFUSED)
            return False
        return self.recommendation.dispatch_recommended()

    def _dispatch(self, args: UnitDispatch) -> None:
        done = f"Dispatched {' '.join(args.unit_ids)}"
        if is_override(args.recommended, args.unit_ids):
            done += " (override recorded)"
        if self.submit(args, done):
            self.recommendation.dispatched()
            self.refresh_advice()

    def add_note(self) -> bool:
        """Add the note line's text to the narrative (Enter). True if queued."""
        if self.read_only.refuse():
            return False
        incident = self.incident()
        text = self.note.text().strip()
        if incident is None or not text:
            return False
        if self.submit(IncidentAddNote(incident_id=incident.id, text=text), "Note added"):
            self.note.clear()
            return True
        return False

    def release_selected(self) -> bool:
        """Release the selected unit on the incident (it becomes available, AV)."""
        if self.read_only.refuse():
            return False
        unit_id = self._selected_unit()
        if unit_id is None:
            self.say("Select a unit on the incident to release", MessageState.REFUSED)
            return False
        args = UnitSetStatus(unit_id=unit_id, status=UnitStatus.AV)
        return self.submit(args, f"{unit_id} released")

    def update_incident(self) -> bool:
        """Send the changed type, priority and location (only what changed)."""
        if self.read_only.refuse():
            return False
        incident = self.incident()
        if incident is None:
            return False
        try:
            point = parse_coordinates(self.coordinates_input.text())
        except ValueError as exc:
            self.say(str(exc), MessageState.REFUSED)
            return False
        kind = self.type_input.currentText().strip().upper()
        priority = int(self.priority_input.currentText())
        location = incident.location
        address = self.address_input.text().strip()
        old_point = None if location.lat is None else (location.lat, location.lon)
        moved = address != location.address or point != old_point
        if address != location.address and point is not None and point == old_point:
            self.say(
                "The address changed but the coordinates did not: correct them, or clear them "
                "if they are not known (recommendations need them)",
                MessageState.REFUSED,
            )
            return False
        changes = IncidentUpdate(
            incident_id=incident.id,
            type=kind if kind and kind != incident.type else None,
            priority=priority if priority != incident.priority else None,
            location=LocationArgs(
                address=address,
                city=location.city,
                cross_street=location.cross_street,
                lat=None if point is None else point[0],
                lon=None if point is None else point[1],
            )
            if moved
            else None,
        )
        return self.submit(changes, "Changes saved")

    def close_incident(self) -> bool:
        """Close the incident with the disposition chosen. True if queued."""
        if self.read_only.refuse():
            return False
        incident = self.incident()
        disposition = self.disposition_input.currentText().strip()
        if incident is None:
            return False
        if not disposition:
            self.say("Choose or type a disposition first", MessageState.REFUSED)
            return False
        args = IncidentClose(incident_id=incident.id, disposition=disposition)
        return self.submit(args, f"Closed: {disposition}")

    def _on_unit_chosen(self) -> None:
        """The dispatcher chose a row of a units table: that unit is selected everywhere."""
        table = self.sender()
        if self._filling_units or not isinstance(table, QTableWidget):
            return
        column = 1 if table is self.recommendation.table else 0
        rows = table.selectionModel().selectedRows()
        item = table.item(rows[0].row(), column) if rows else None
        if item is not None and item.text():
            self.selection.select_unit(item.text())

    def _selected_unit(self) -> str | None:
        rows = self.units_table.selectionModel().selectedRows()
        if not rows:
            return None
        item = self.units_table.item(rows[0].row(), 0)
        return None if item is None else item.text()


def _table(name: str, headers: tuple[str, ...]) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setObjectName(name)
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.verticalHeader().setDefaultSectionSize(22)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setShowGrid(False)
    table.setWordWrap(False)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    if headers[0] == "Time":
        table.setColumnWidth(0, 70)
        table.setColumnWidth(1, 80)
    return table


def _grow(table: QTableWidget, rows: list[_Row], shown: list[_Row]) -> list[_Row]:
    """Show ``rows`` in ``table``, which shows ``shown``; returns what it shows now.

    Narrative and timeline only grow, so usually the new rows are appended; when the rows
    shown are not the first of ``rows`` (another incident, or the server's record replacing
    this workstation's forecast of it) the table is filled again."""
    if rows[: len(shown)] != shown:
        table.setRowCount(0)
        shown = []
    _append(table, rows[len(shown) :])
    return rows


def _append(table: QTableWidget, rows: list[_Row]) -> None:
    for at, who, text in rows:
        row = table.rowCount()
        table.insertRow(row)
        time_item = QTableWidgetItem(_clock_time(at))
        time_item.setToolTip(datetime.fromtimestamp(at).isoformat(sep=" ", timespec="seconds"))
        text_item = QTableWidgetItem(text)
        text_item.setToolTip(text)
        for column, item in enumerate((time_item, QTableWidgetItem(who), text_item)):
            table.setItem(row, column, item)
    if rows:
        table.scrollToBottom()


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
