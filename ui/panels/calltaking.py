"""`CallTakingPanel`: answer a ringing 911 call, see where the caller is and how sure that is,
verify the incident's address, see hazards, prior incidents and possible duplicates, and save the
incident in a few keys. Every action is a command through the outbox, so it works offline too.

Keys: **F3** (anywhere) answers the oldest ringing call. In the panel: Enter on the address
verifies it (Ctrl+Enter keeps it unverified: flagged for follow-up) and moves to the type; a
digit 1-9 in the empty type field picks a listed type; Enter saves (so an incident is saved in
two keys once its address is in); Alt+1…5 sets the priority; F4 puts the caller's location in
the address field; F5 joins the call to the nearest possible duplicate, Shift+F5 saves the
incident as a child of it; F8 releases the call; F7 marks the selected abandoned call called
back. F6 chooses the chief complaint and questions the caller to a determinant, F10 reads
the determinant's pre-arrival instructions (`ui.panels.questioning`).

A monitoring position (`CallTakingPanel.set_read_only_role`, `ui.read_only`) sees the calls
and can do nothing with them: the fields and buttons are disabled saying why, and every key
above only says so on the panel's message line.

An answer another position won first is told in place ("bob answered it first") and taken
off Needs attention: losing an answer race is not a problem to resolve.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.calltaking.draft import (
    IncidentDraft,
    SaveChoice,
    best_geodetic,
    caller_civic,
    default_priority,
)
from desktop.calltaking.place import DuplicateRule, PlaceInfo, duplicate_text, look_up
from desktop.cards.library import CardLibrary
from desktop.cards.model import Determinant
from desktop.domain.calls import (
    CallAnswer,
    CallMarkCalledBack,
    CallRelease,
    callback_list,
    calls_answered_by,
    ringing_calls,
)
from desktop.domain.incidents import IncidentCreate
from desktop.domain.types import Call, Incident, LocationArgs
from desktop.domain.wording import (
    ani_text,
    caller_location_text,
    incident_label,
    service_text,
)
from desktop.geo.geocoder import Geocoder
from desktop.runcards import RunCards
from desktop.service import DispatchService
from desktop.state import Change
from ui.background import run_behind
from ui.panels.questioning import CallQuestioning
from ui.presentation import duration
from ui.read_only import ReadOnlyGuard
from ui.widgets.address_entry import AddressEntry
from ui.widgets.call_lists import TypeField, call_table, fill_calls
from ui.widgets.message_line import MessageLine, MessageState, attempt, submit_and_say
from ui.widgets.place_box import PlaceBox

__all__ = [
    "ANSWER_KEYS",
    "CALLED_BACK_KEYS",
    "CALLER_LOCATION_KEYS",
    "CHILD_KEYS",
    "JOIN_KEYS",
    "QUICK_TYPES",
    "RELEASE_KEYS",
    "CallTakingPanel",
]

#: Answers the oldest ringing call, from anywhere on the workstation.
ANSWER_KEYS = "F3"
#: The panel's keys. Function keys, because a line edit takes most Ctrl+letter keys for
#: itself on Linux (Ctrl+U deletes to the start of the line).
CALLER_LOCATION_KEYS = "F4"
JOIN_KEYS = "F5"
CHILD_KEYS = "Shift+F5"
CALLED_BACK_KEYS = "F7"
RELEASE_KEYS = "F8"
#: How many types the type field lists under digits 1-9.
QUICK_TYPES = 9


class CallTakingPanel(QWidget):
    """See the module docstring. ``geocoder`` None: the street index is loaded behind the
    panel; ``rule``: when a call may be a duplicate."""

    focus_requested = Signal()  # a call was answered here: bring the panel forward
    incident_saved = Signal(str)  # the id of an incident this panel created

    def __init__(
        self,
        service: DispatchService,
        runcards: RunCards,
        *,
        geocoder: Geocoder | None = None,
        rule: DuplicateRule | None = None,
        clock: Callable[[], float] | None = None,
        cards: CardLibrary | None = None,
        cards_dir: Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("call_taking_panel")
        self.service = service
        self.runcards = runcards
        self.rule = rule or DuplicateRule()
        self._clock = clock or service.now  # display only: never the database (server_now saves)
        self.draft = IncidentDraft()
        self.place = PlaceInfo()
        self._call_id: str | None = None
        self._answer_key: str | None = None
        self.last_saved_id: str | None = None  # the incident the last save created
        self._build()
        self.questioning = CallQuestioning(
            self,
            service,
            self.message,
            self.save_from_questioning,
            self._clock,
            library=cards,
            cards_dir=cards_dir,
        )
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        at = layout.indexOf(self.duplicate_box)  # right under the form: what is read now,
        layout.insertWidget(at, self.questioning.box)
        layout.insertWidget(at, self.questioning.instructions)  # instructions first
        self.read_only = ReadOnlyGuard(
            self.message,
            [
                self.type_field,
                self.caller_name,
                self.address.field,
                self.release_button,
                self.use_caller_button,
                self.join_button,
                self.child_button,
            ],
        )
        self._shortcuts()
        self._tick = QTimer(self)
        self._tick.setInterval(1000)
        self._tick.timeout.connect(self._refresh_times)
        self._tick.start()
        if geocoder is not None:
            self.address.set_geocoder(geocoder)
        else:
            self._load_street_index()
        self._show_priority()
        self.refresh()
        self.set_read_only_role(service.role)  # the role asked for until the server's welcome

    # --- building ------------------------------------------------------------------------------

    def _build(self) -> None:
        self.ringing_title = QLabel()
        self.ringing_title.setObjectName("ringing_title")
        self.ringing_title.setWordWrap(True)
        self.ringing = call_table(
            "calls_ringing", ["Ringing", "Service", "Callback", "Caller location"]
        )
        self.call_header = QLabel("No call answered · F3 answers the oldest ringing call")
        self.call_header.setObjectName("call_header")
        self.call_header.setWordWrap(True)  # a long header wraps; it never widens the window
        self.call_location = QLabel()
        self.call_location.setObjectName("call_location")
        self.call_location.setWordWrap(True)
        self.call_location.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.release_button = QPushButton(f"Release call ({RELEASE_KEYS})")
        self.release_button.setObjectName("release_call")
        self.release_button.clicked.connect(self.release_call)
        self.use_caller_button = QPushButton(f"Use caller location ({CALLER_LOCATION_KEYS})")
        self.use_caller_button.setObjectName("use_caller_location")
        self.use_caller_button.clicked.connect(self.use_caller_location)
        call_actions = QHBoxLayout()
        call_actions.addWidget(self.use_caller_button)
        call_actions.addWidget(self.release_button)
        call_actions.addStretch(1)

        self.address = AddressEntry(self)
        self.address.accepted.connect(self._on_address)
        self.address.withdrawn.connect(self._on_address_withdrawn)
        types = self.runcards.incident_types()
        self.type_field = TypeField(types, QUICK_TYPES, self)
        self.type_field.setObjectName("type_input")
        self.type_field.setPlaceholderText("Type: 1-9 or its name, then Enter saves")
        self.type_field.picked.connect(lambda: self.save())
        self.type_field.textChanged.connect(self._on_type_changed)
        quick = "   ".join(f"{n}\u00a0{t}" for n, t in enumerate(types[:QUICK_TYPES], 1))
        self.type_hint = QLabel(quick)
        self.type_hint.setObjectName("type_hint")
        self.type_hint.setProperty("class", "muted")
        self.type_hint.setWordWrap(True)
        self.priority_label = QLabel()
        self.priority_label.setObjectName("priority_label")
        self.caller_name = QLineEdit()
        self.caller_name.setObjectName("caller_name")
        self.caller_name.setPlaceholderText("Caller's name (optional)")
        form = QFormLayout()
        form.addRow("Address", self.address)
        form.addRow("Type", self.type_field)
        form.addRow("", self.type_hint)
        form.addRow("Priority", self.priority_label)
        form.addRow("Caller", self.caller_name)

        self.duplicates = QLabel()
        self.duplicates.setObjectName("duplicates")
        self.duplicates.setProperty("class", "duplicate")
        self.duplicates.setWordWrap(True)
        self.join_button = QPushButton(f"Join call to it ({JOIN_KEYS})")
        self.join_button.setObjectName("join_duplicate")
        self.join_button.clicked.connect(lambda: self.save("join"))
        self.child_button = QPushButton(f"New incident, linked as its child ({CHILD_KEYS})")
        self.child_button.setObjectName("child_of_duplicate")
        self.child_button.clicked.connect(lambda: self.save("child"))
        self.duplicate_box = QFrame()
        dup_layout = QVBoxLayout(self.duplicate_box)
        dup_layout.setContentsMargins(0, 0, 0, 0)
        dup_layout.addWidget(self.duplicates)
        dup_buttons = QHBoxLayout()
        dup_buttons.addWidget(self.join_button)
        dup_buttons.addWidget(self.child_button)
        dup_buttons.addStretch(1)
        dup_layout.addLayout(dup_buttons)
        self.duplicate_box.hide()
        self.place_box = PlaceBox("call_place")
        self.place_box.hide()
        self.message = MessageLine("call_taking_message")

        self.callbacks_title = QLabel()
        self.callbacks_title.setObjectName("callbacks_title")
        self.callbacks = call_table("calls_callback", ["Abandoned", "Callback", "Service", "When"])
        self.callbacks.setMaximumHeight(150)

        layout = QVBoxLayout(self)
        layout.addWidget(self.ringing_title)
        layout.addWidget(self.ringing)
        layout.addWidget(self.call_header)
        layout.addWidget(self.call_location)
        layout.addLayout(call_actions)
        layout.addLayout(form)
        layout.addWidget(self.duplicate_box)
        layout.addWidget(self.place_box)
        layout.addWidget(self.message)
        layout.addWidget(self.callbacks_title)
        layout.addWidget(self.callbacks)

    def _shortcuts(self) -> None:
        QShortcut(
            QKeySequence(ANSWER_KEYS),
            self,
            self.answer_oldest,
            context=Qt.ShortcutContext.ApplicationShortcut,
        )
        local = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, action in (
            (CALLER_LOCATION_KEYS, self.use_caller_location),
            (RELEASE_KEYS, self.release_call),
            (JOIN_KEYS, lambda: self.save("join")),
            (CHILD_KEYS, lambda: self.save("child")),
            (CALLED_BACK_KEYS, self.mark_called_back),
        ):
            QShortcut(QKeySequence(keys), self, action, context=local)
        for priority in range(1, 6):
            QShortcut(
                QKeySequence(f"Alt+{priority}"),
                self,
                lambda p=priority: self.set_priority(p),
                context=local,
            )

    def _load_street_index(self) -> None:
        self.address.verdict.say("Loading the street index…", MessageState.PREVIEW)
        loaded: list[Geocoder] = []

        def done(error: str | None) -> None:
            self.address.verdict.clear_message()
            self.address.set_geocoder(loaded[0] if loaded else None, error or "")

        run_behind(self, "street-index", lambda: loaded.append(Geocoder.load_default()), done)

    # --- what is on screen -----------------------------------------------------------------

    def on_change(self, change: Change) -> None:
        """Bridge: the call lists when calls changed (or a snapshot, or our own commands);
        only what is known about the draft's place when incidents or premises changed (the
        board's churn costs one look-up per frame at most)."""
        if change.attention:
            self._answer_outcome()
        if change.calls or change.reset or change.pending:
            self.refresh()
        elif change.incidents or change.premises:
            self._look_up_place()

    def current_call(self) -> Call | None:
        """The call this position is working: the one it answered last, still on the line."""
        world = self.service.state.view
        mine = calls_answered_by(world, self.service.state.actor)
        chosen = [c for c in mine if c.id == self._call_id]
        if chosen:
            return chosen[0]
        return mine[-1] if mine else None

    def refresh(self) -> None:
        world = self.service.state.view
        now = self._clock()
        ringing = ringing_calls(world)
        self.ringing_title.setText(
            f"Ringing {len(ringing)} · {ANSWER_KEYS} answers the oldest"
            if ringing
            else "No call ringing"
        )
        self.ringing_title.setProperty("state", "ringing" if ringing else "")
        self.ringing_title.style().polish(self.ringing_title)
        fill_calls(
            self.ringing,
            [
                (
                    c.id,
                    [
                        duration(now - c.times.get("received", now)),
                        service_text(c),
                        ani_text(c.ani),
                        caller_location_text(c),
                    ],
                )
                for c in ringing
            ],
        )
        waiting = callback_list(world)
        self.callbacks_title.setText(
            f"Callbacks {len(waiting)} · {CALLED_BACK_KEYS} marks the selected one called back"
            if waiting
            else "No abandoned call to call back"
        )
        fill_calls(
            self.callbacks,
            [
                (
                    c.id,
                    [
                        "after answer" if "answered" in c.times else "before answer",
                        ani_text(c.ani),
                        service_text(c),
                        time.strftime("%H:%M:%S", time.localtime(c.times.get("ended", now))),
                    ],
                )
                for c in waiting
            ],
        )
        self._show_call(self.current_call(), now)
        self._look_up_place()

    def _refresh_times(self) -> None:
        now = self._clock()
        world = self.service.state.view
        for row, ringing in enumerate(ringing_calls(world)):
            item = self.ringing.item(row, 0)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == ringing.id:
                item.setText(duration(now - ringing.times.get("received", now)))
        call = self.current_call()
        if call is not None:
            self._show_call(call, now)
        if self.questioning.incident_id is not None:
            self.questioning.show_send()  # the recommendation follows the units

    def _show_call(self, call: Call | None, now: float) -> None:
        self.read_only.set_enabled(
            self.use_caller_button, call is not None and bool(call.locations)
        )
        self.read_only.set_enabled(self.release_button, call is not None)
        if call is None:
            self.call_header.setText(
                f"No call answered · {ANSWER_KEYS} answers the oldest ringing call"
            )
            self.call_location.setText("")
            return
        answered = call.times.get("answered", now)
        on_line = duration(now - answered)
        header = f"{ani_text(call.ani)} · {service_text(call)} · on the line {on_line}"
        if call.caller_name:
            header += f" · {call.caller_name}"
        if call.incident_id is not None and (incident := self.service.incident(call.incident_id)):
            header += f" · linked to {incident_label(incident)}"
        self.call_header.setText(header)
        lines = [f"Caller is at: {caller_location_text(call)}"]
        near = self._nearest_address(call)
        if near:
            lines.append(near)
        self.call_location.setText("\n".join(lines))

    def _nearest_address(self, call: Call) -> str:
        shape = best_geodetic(call)
        geocoder = self.address.geocoder
        if shape is None or geocoder is None:
            return ""
        found = geocoder.reverse(
            shape.lat, shape.lon, max_distance_m=max(150.0, shape.uncertainty_m or 0)
        )
        if found is None:
            return "Nearest address: none known within range"
        return f"Nearest address: {found.label} ({found.distance_m or 0:.0f} m from the centre)"

    def set_read_only_role(self, role: str | None) -> None:
        """A monitoring position (``role`` read-only) sees the calls and can do nothing with
        them (module docstring), nor with the questioning."""
        self.read_only.set_role(role)
        self.questioning.set_read_only_role(role)

    # --- answering and the call ------------------------------------------------------------

    def answer_oldest(self) -> None:
        """F3: answer the call that has rung longest."""
        if self.read_only.refuse():
            return
        ringing = ringing_calls(self.service.state.view)
        if not ringing:
            self.message.say("No call is ringing", MessageState.REFUSED)
            return
        call = ringing[0]
        entries: list[str] = []

        def answer() -> None:
            entries.append(self.service.submit(CallAnswer(call_id=call.id)).key)

        if attempt(self.message, answer, f"Answered {ani_text(call.ani)}"):
            self._call_id, self._answer_key = call.id, entries[0]
            self._reset_draft()
            self.questioning.new_call()
            self.focus_requested.emit()
            self.address.field.setFocus()
            self.refresh()

    def _answer_outcome(self) -> None:
        """Tell in place when another position won our answer, and take it off Needs
        attention (it is not a problem to resolve)."""
        if self._answer_key is None:
            return
        for rejection in self.service.needs_attention():
            if rejection.entry.key == self._answer_key:
                self._answer_key = None
                self._call_id = None
                self.service.discard(rejection.entry.key, "lost the answer race")
                self.message.say(
                    f"{rejection.message} · {ANSWER_KEYS} answers the next call",
                    MessageState.SERVER,
                )
                return

    def release_call(self) -> None:
        """F8: hang up on the call worked here; the draft starts afresh."""
        if self.read_only.refuse():
            return
        call = self.current_call()
        if call is None:
            self.message.say("No call to release", MessageState.REFUSED)
            return
        if submit_and_say(
            self.service,
            self.message,
            CallRelease(call_id=call.id),
            f"Released {ani_text(call.ani)}",
        ):
            self._call_id = None
            self._reset_draft()
            self.questioning.new_call()
            self.refresh()

    def mark_called_back(self) -> None:
        """F7: the selected abandoned call (else the first) was called back."""
        if self.read_only.refuse():
            return
        row = self.callbacks.currentRow()
        item = self.callbacks.item(max(row, 0), 0) if self.callbacks.rowCount() else None
        if item is None:
            self.message.say("No abandoned call to mark", MessageState.REFUSED)
            return
        call_id = str(item.data(Qt.ItemDataRole.UserRole))
        call = self.service.state.view.calls.get(call_id)
        number = ani_text(call.ani) if call is not None else "the caller"
        note, ok = QInputDialog.getText(self, "Called back", f"What came of calling {number} back?")
        if ok:
            submit_and_say(
                self.service,
                self.message,
                CallMarkCalledBack(call_id=call_id, note=note.strip()[:200]),
                f"{number} marked called back",
            )

    def set_address_text(self, text: str) -> None:
        """Put ``text`` in the address field as if typed (an address picked on the map) and
        give it the keyboard; the call-taker confirms it with Enter."""
        if self.read_only.refuse():
            return
        self.address.set_text(text)
        self.address.field.setFocus()

    def use_caller_location(self) -> None:
        """F4: the caller's civic address, else the address nearest their point, into the
        address field (confirmed with Enter); with neither, their point itself."""
        if self.read_only.refuse():
            return
        call = self.current_call()
        if call is None or not call.locations:
            self.message.say("No caller location on this call", MessageState.REFUSED)
            return
        civic = caller_civic(call)
        if civic:
            self.address.set_text(civic.split(",")[0])
            self.address.field.setFocus()
            return
        shape = best_geodetic(call)
        geocoder = self.address.geocoder
        found = geocoder.reverse(shape.lat, shape.lon) if shape is not None and geocoder else None
        if found is not None:
            self.address.set_text(found.label)
            self.address.field.setFocus()
        elif shape is not None:
            point = LocationArgs(lat=shape.lat, lon=shape.lon, uncertainty_m=shape.uncertainty_m)
            self._on_address(point, "")
            self.message.say(
                "The caller's point is the incident's location (no address near it)",
                MessageState.REFUSED,
            )

    # --- the draft -------------------------------------------------------------------------

    def _reset_draft(self) -> None:
        self.draft = IncidentDraft()
        self.address.clear()
        self.type_field.clear()
        self.caller_name.clear()
        self._show_priority()
        self._look_up_place()

    def _on_address(self, location: LocationArgs, verified_as: str) -> None:
        self.draft = self.draft.with_location(location, verified_as)
        self._look_up_place()
        if self.questioning.flow is not None and self.questioning.case is None:
            self.questioning.save_case()  # the complaint was chosen first: save it now
        else:
            self.type_field.setFocus()

    def _on_address_withdrawn(self) -> None:
        self.draft = self.draft.with_location(None)
        self._look_up_place()

    def _on_type_changed(self, _text: str) -> None:
        self.draft = self.draft.with_type(self.type_field.resolved())
        self._show_priority()
        self._look_up_place()

    def set_priority(self, priority: int) -> None:
        """Alt+1…5: the draft's priority."""
        if self.read_only.refuse():
            return
        self.draft = self.draft.with_priority(priority)
        self._show_priority()

    def _show_priority(self) -> None:
        if self.draft.priority is not None:
            self.priority_label.setText(f"P{self.draft.priority} (chosen · Alt+1…5 changes it)")
        elif self.draft.incident_type:
            p = default_priority(self.runcards, self.draft.incident_type)
            self.priority_label.setText(f"P{p} (the run card's · Alt+1…5 changes it)")
        else:
            self.priority_label.setText("From the type (Alt+1…5 sets it)")

    def _look_up_place(self) -> None:
        location = self.draft.location
        if location is None:
            self.place = PlaceInfo()
            self.place_box.hide()
            self.duplicate_box.hide()
            return
        now = self._clock()
        self.place = look_up(
            self.service.state.view, location, self.draft.incident_type, now, self.rule
        )
        self.place_box.show_place(self.place)
        dups = self.place.duplicates
        if dups:
            more = f" (and {len(dups) - 1} more)" if len(dups) > 1 else ""
            self.duplicates.setText(f"Possible duplicate: {duplicate_text(dups[0], now)}{more}")
        self.duplicate_box.setVisible(bool(dups))

    def save_from_questioning(self, determinant: Determinant, note: str) -> str | None:
        """Save the draft as ``determinant``'s type, priority and alarm, with ``note`` first in
        its narrative; the incident's id, or None when it cannot be saved yet (said)."""
        if self.read_only.refuse():
            return None
        self.type_field.setText(determinant.type)
        self.draft = self.draft.with_priority(determinant.priority)
        if not self.save("new", note=note):
            return None
        return self.last_saved_id

    def save(self, choice: SaveChoice = "new", *, note: str = "") -> bool:
        """Save the draft: a new incident linked to the call (``new``), also linked as a child
        of the nearest possible duplicate (``child``), or the call joined to it (``join``)."""
        if self.read_only.refuse():
            return False
        self.draft = self.draft.with_type(self.type_field.resolved())
        duplicate = self.place.duplicates[0].incident if self.place.duplicates else None
        if choice != "new" and duplicate is None:
            self.message.say("No possible duplicate to link to", MessageState.REFUSED)
            return False
        if choice != "join" and self.draft.missing():
            self.message.say(f"Give {self.draft.missing()} first", MessageState.REFUSED)
            return False
        call = self.current_call()
        if choice == "join" and call is None:
            self.message.say("No call to join to it", MessageState.REFUSED)
            return False
        if call is not None and call.incident_id is not None:
            call = None  # the call already has its incident: this one is saved on its own
        commands = self.draft.commands(
            call,
            self.runcards,
            choice=choice,
            duplicate_id=duplicate.id if duplicate else None,
            note=note,
        )
        words = self._saved_words(choice, duplicate)
        if not submit_and_say(self.service, self.message, commands, words):
            return False
        created = [c for c in commands if isinstance(c, IncidentCreate)]
        self.last_saved_id = created[0].incident_id if created else None
        if self.last_saved_id is not None:
            self.incident_saved.emit(self.last_saved_id)
        self._reset_draft()
        self.refresh()
        if self.questioning.flow is None:
            self.address.field.setFocus()  # ready for the next address
        return True

    def _saved_words(self, choice: SaveChoice, duplicate: Incident | None) -> str:
        target = incident_label(duplicate) if duplicate is not None else ""
        if choice == "join":
            return f"Call joined to {target}"
        where = self.draft.verified_as or (
            self.draft.location.address if self.draft.location else ""
        )
        text = f"Saved {self.draft.incident_type} at {where or 'the caller point'}"
        return text + (f", linked as a child of {target}" if choice == "child" else "")
