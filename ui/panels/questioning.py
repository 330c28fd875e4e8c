"""`CallQuestioning`: the Call-taking panel's structured questioning and pre-arrival
instructions, and what they put on the incident's record.

- The protocol cards load behind the panel once start-up is done (or at the first call, or
  F6), checked as they load (`desktop.cards.library`: about a second of walking every answer
  path); the box says who approved them, or that they are a draft.
- F6: the chief complaint (`ui.widgets.questioning_box`). Choosing it saves the incident at
  once with the determinant's type and priority (the panel's `save_from_questioning`; refused
  until the address is verified, and done as soon as it is), so the dispatcher sees it; the
  note it is created with lists the complaint and the answers so far.
- Every later answer is a narrative note at once, and a determinant that changes sets the
  incident's type, priority and alarm (`desktop.calltaking.questioning.CaseRecord`).
- F9 (the window's) sends the recommended units of that incident while Call-taking is in front
  and shows them ("F9 sends E06 M58"): a send-now determinant need not wait for questioning
  to end.
- F10: the determinant's first pre-arrival instruction (`ui.widgets.instructions_box`); every
  step and reminder is a note (the incident's timeline shows each with its time).
- A monitoring position (`CallQuestioning.set_read_only_role`, `ui.read_only`) questions no
  one: the fields are disabled saying why, F6 and F10 say so on the panel's message line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from desktop.calltaking.questioning import CaseRecord, opening_words
from desktop.cards.flow import Asked, Questioning
from desktop.cards.library import CardLibrary, shipped_library
from desktop.cards.model import Determinant
from desktop.cards.scripts import Logged
from desktop.domain.kinds import CommandArgs
from desktop.service import DispatchService
from ui.background import run_behind
from ui.read_only import ReadOnlyGuard
from ui.widgets.instructions_box import INSTRUCTIONS_KEYS, InstructionsBox
from ui.widgets.message_line import MessageLine, MessageState, attempt
from ui.widgets.questioning_box import COMPLAINT_KEYS, QuestioningBox

__all__ = ["CallQuestioning"]

#: Saves the incident from the determinant (type, priority, alarm) with the opening note;
#: returns its id, or None when it cannot be saved yet (said on the panel).
SaveFrom = Callable[[Determinant, str], str | None]


class CallQuestioning(QObject):
    """See the module docstring. ``panel`` holds the keys; ``save`` is the panel's
    `save_from_questioning`; ``recommended(incident_id)`` the units F9 would send for it now;
    ``cards_dir`` the centre's card set (``calltaking.cards_dir``; None: the shipped one)."""

    def __init__(
        self,
        panel: QWidget,
        service: DispatchService,
        message: MessageLine,
        save: SaveFrom,
        clock: Callable[[], float],
        *,
        library: CardLibrary | None = None,
        cards_dir: Path | None = None,
    ) -> None:
        super().__init__(panel)
        self.service = service
        self.message = message
        self._save = save
        self.recommended: Callable[[str], Sequence[str]] = lambda _incident_id: ()
        self.case: CaseRecord | None = None
        self.cards_dir = cards_dir  # None: the shipped set
        self.box = QuestioningBox(library)
        self.instructions = InstructionsBox(clock)
        self.read_only = ReadOnlyGuard(message)  # the box's fields are its own guard's
        self.box.started.connect(lambda _flow: self.save_case())
        self.box.answered.connect(self._answered)
        self.box.changed.connect(self._changed)
        self.instructions.logged.connect(self._logged)
        local = Qt.ShortcutContext.WidgetWithChildrenShortcut
        QShortcut(QKeySequence(COMPLAINT_KEYS), panel, self._complaint_key, context=local)
        QShortcut(QKeySequence(INSTRUCTIONS_KEYS), panel, self.start_instructions, context=local)
        self._loading = library is not None

    def load_cards(self) -> None:
        """Load and check the card set behind the panel, once (module docstring): the window
        asks once start-up is done, a call answered or F6 asks if it has not yet."""
        if self._loading:
            return
        self._loading = True
        loaded: list[CardLibrary] = []

        def done(error: str | None) -> None:
            if loaded:
                self.box.set_library(loaded[0])
            else:
                self.box.set_library(None, f"The protocol cards could not be loaded: {error}")

        where = self.cards_dir

        def load() -> None:
            loaded.append(shipped_library() if where is None else CardLibrary.load(where))

        run_behind(self, "protocol-cards", load, done)

    def set_read_only_role(self, role: str | None) -> None:
        """A monitoring position (``role`` read-only) questions no caller and reads no
        instruction (module docstring)."""
        self.read_only.set_role(role)
        self.box.set_read_only_role(role)
        self.instructions.set_read_only_role(role)

    def _complaint_key(self) -> None:
        if self.read_only.refuse():
            return
        self.load_cards()
        self.box.focus_complaint()

    @property
    def flow(self) -> Questioning | None:
        return self.box.flow

    @property
    def incident_id(self) -> str | None:
        """The incident this questioning is recorded on (None: not saved yet)."""
        return self.case.incident_id if self.case is not None else None

    def new_call(self) -> None:
        """A call answered or released: nothing asked, nothing read."""
        self.load_cards()
        self.case = None
        self.box.reset()
        self.instructions.stop()
        self.instructions.hide()

    # --- the record --------------------------------------------------------------------------

    def save_case(self) -> bool:
        """Save the incident of this questioning if it is not saved yet (module docstring)."""
        flow = self.flow
        if flow is None or self.case is not None:
            return self.case is not None
        incident_id = self._save(flow.determinant(), opening_words(flow))
        if incident_id is None:
            return False
        self.case = CaseRecord(incident_id, flow)
        self.box.answer_field.setFocus(Qt.FocusReason.OtherFocusReason)
        return True

    def _submit(self, commands: Sequence[CommandArgs], done: str = "") -> None:
        if commands and not self.read_only.refuse():
            attempt(self.message, lambda: self.service.submit_all(list(commands)), done or "")

    def _answered(self, asked: Asked) -> None:
        if self.case is not None and self.flow is not None:
            self._submit(self.case.answered(self.flow, asked))
        self.show_send()

    def _changed(self) -> None:
        if self.case is not None and self.flow is not None:
            self._submit(self.case.determined(self.flow))
        self.show_send()

    def _logged(self, title: str, lines: list[Logged]) -> None:
        if self.case is not None:
            self._submit(self.case.logged(title, lines))

    def show_send(self) -> None:
        """Say what F9 sends for this incident now, beside the determinant."""
        flow, incident_id = self.flow, self.incident_id
        if flow is None:
            return
        self.box.show_state()
        if incident_id is None:
            return
        units = list(self.recommended(incident_id))
        if units:
            label = self.box.determinant_label
            label.setText(f"{label.text()}\nF9 sends {' '.join(units)}")

    # --- instructions ------------------------------------------------------------------------

    def start_instructions(self) -> bool:
        """F10: read the determinant's first script (or the card's) to the caller."""
        if self.read_only.refuse():
            return False
        flow = self.flow
        library = self.box.library
        if flow is None or library is None:
            self.message.say(
                f"Choose the chief complaint first ({COMPLAINT_KEYS})", MessageState.REFUSED
            )
            return False
        ids = [*flow.determinant().instructions, *flow.card.instructions]
        if not ids:
            self.message.say("No instructions for this determinant", MessageState.REFUSED)
            return False
        self.instructions.start(library.scripts[ids[0]])
        return True
