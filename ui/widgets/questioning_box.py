"""`QuestioningBox`: the chief complaint, the question to read, the answer keys and the
determinant as it forms (`desktop.cards.flow`), inside the Call-taking panel.

Keys (the answer field has the keyboard while questioning):

- F6 (the panel's) puts the keyboard in the complaint field: a word or the card's number, Enter
  picks the first card listed (F6 again mid-call changes the complaint; answers that still
  apply are kept);
- the question's answer in one key: Y, N or U; a choice's letter; a number then Enter;
- Backspace (in an empty field) takes back the last answer and asks it again; Up asks the
  previous question again to change its answer (the answers after it stay).

Signals say what the panel records: ``started`` (a complaint chosen: the panel saves the
incident), ``answered`` (an `Asked`), ``changed`` (an answer taken back or the complaint
changed: the determinant may differ).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QFrame, QLabel, QLineEdit, QVBoxLayout, QWidget

from desktop.calltaking.questioning import determinant_words
from desktop.cards.flow import Questioning, matching, parse_answer
from desktop.cards.library import CardLibrary, approval_words
from desktop.cards.model import Card, Question
from ui.read_only import ReadOnlyGuard

__all__ = ["COMPLAINT_KEYS", "QuestioningBox", "answer_hint"]

#: The key that puts the keyboard in the complaint field.
COMPLAINT_KEYS = "F6"


def answer_hint(question: Question) -> str:
    """The keys that answer ``question``, as the box shows them."""
    if question.answer == "yes_no":
        return "Y yes · N no · U unknown"
    if question.answer == "choice":
        keys = " · ".join(f"{c.key} {c.label}" for c in question.choices)
        return f"{keys} · U unknown"
    unit = f" ({question.unit})" if question.unit else ""
    return f"Type the number{unit}, Enter · U unknown"


class QuestioningBox(QFrame):
    """See the module docstring. ``library`` None: the cards are still loading (`set_library`)."""

    started = Signal(object)  # Questioning
    answered = Signal(object)  # Asked
    changed = Signal()

    def __init__(self, library: CardLibrary | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("questioning")
        self.library = library
        self.flow: Questioning | None = None
        self._reasking: Question | None = None
        self.complaint = QLineEdit()
        self.complaint.setObjectName("complaint_input")
        self.complaint.setPlaceholderText(
            f"Chief complaint ({COMPLAINT_KEYS}): a word or its number, Enter"
        )
        self.complaint.textChanged.connect(self._show_matches)
        self.complaint.returnPressed.connect(self.pick_complaint)
        self.matches = QLabel()
        self.matches.setObjectName("complaint_matches")
        self.matches.setProperty("class", "muted")
        self.matches.setWordWrap(True)
        self.question_label = QLabel()
        self.question_label.setObjectName("question_text")
        self.question_label.setWordWrap(True)
        self.hint = QLabel()
        self.hint.setObjectName("answer_hint")
        self.hint.setWordWrap(True)
        self.answer_field = QLineEdit()
        self.answer_field.setObjectName("answer_input")
        self.answer_field.setPlaceholderText("Answer here")
        self.answer_field.installEventFilter(self)
        self.answer_field.returnPressed.connect(self._answer_typed)
        self.determinant_label = QLabel()
        self.determinant_label.setObjectName("determinant")
        self.determinant_label.setWordWrap(True)
        self.answers_label = QLabel()
        self.answers_label.setObjectName("answers_so_far")
        self.answers_label.setProperty("class", "muted")
        self.answers_label.setWordWrap(True)
        #: A monitoring position answers nothing: both fields disabled, saying why.
        self.read_only = ReadOnlyGuard(None, [self.complaint, self.answer_field])
        self.approval = QLabel()
        self.approval.setObjectName("cards_approval")
        self.approval.setProperty("class", "muted")
        self.approval.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        for widget in (  # the determinant above the question: both in view while answering
            self.complaint,
            self.matches,
            self.determinant_label,
            self.question_label,
            self.hint,
            self.answer_field,
            self.answers_label,
            self.approval,
        ):
            layout.addWidget(widget)
        self.set_library(library)

    # --- the cards -----------------------------------------------------------------------

    def set_library(self, library: CardLibrary | None, failure: str = "") -> None:
        self.library = library
        if library is not None:
            self.approval.setText(approval_words(library.set))
        else:
            self.approval.setText(failure or "Loading the protocol cards…")
        self.read_only.set_enabled(self.complaint, library is not None)
        self._show_matches(self.complaint.text())
        self.show_state()

    def set_read_only_role(self, role: str | None) -> None:
        """A monitoring position (``role`` read-only) chooses no complaint and answers
        nothing: the fields are disabled, saying why."""
        self.read_only.set_role(role)

    def cards(self, text: str) -> list[Card]:
        return [] if self.library is None else matching(self.library.ordered(), text)

    def _show_matches(self, text: str) -> None:
        found = self.cards(text)
        shown = "   ".join(f"{c.number} {c.title}" for c in found[:8])
        self.matches.setText(shown)
        self.matches.setVisible(self.flow is None or self.complaint.hasFocus() or bool(text))

    def focus_complaint(self) -> None:
        self.complaint.selectAll()
        self.complaint.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.matches.show()

    def pick_complaint(self) -> Card | None:
        """Start (or change to) the first card the complaint field lists."""
        found = self.cards(self.complaint.text())
        if self.read_only.active or self.library is None or not found:
            return None
        card = found[0]
        self.complaint.setText(card.title)
        if self.flow is None:
            self.flow = Questioning(self.library.set, card)
            self.started.emit(self.flow)
        elif card.id != self.flow.card.id:
            self.flow.change_card(card)
            self.changed.emit()
        self._reasking = None
        self.matches.hide()
        self.show_state()
        self.answer_field.setFocus(Qt.FocusReason.OtherFocusReason)
        return card

    def reset(self) -> None:
        """A new call: nothing asked."""
        self.flow = None
        self._reasking = None
        self.complaint.clear()
        self.answer_field.clear()
        self.show_state()

    # --- answering -----------------------------------------------------------------------

    @property
    def current(self) -> Question | None:
        """The question asked now (None: none, or questioning is done)."""
        if self.flow is None:
            return None
        return self._reasking or self.flow.next_question()

    def give(self, text: str) -> bool:
        """Answer the current question with ``text`` (a key or a number); False when it is no
        answer to it (said in the hint)."""
        question = self.current
        if self.read_only.active or self.flow is None or question is None:
            return False
        answer = parse_answer(question, text)
        if answer is None:
            self.hint.setText(f"Not an answer: {answer_hint(question)}")
            return False
        self.flow.answer(question.id, answer)
        self._reasking = None
        self.answer_field.clear()
        asked = next((a for a in self.flow.asked() if a.question.id == question.id), None)
        self.show_state()
        if asked is not None:
            self.answered.emit(asked)
        else:
            self.changed.emit()
        return True

    def back(self) -> bool:
        """Take back the last answer (it is asked again)."""
        if self.flow is None or self.flow.back() is None:
            return False
        self._reasking = None
        self.show_state()
        self.changed.emit()
        return True

    def reask_previous(self) -> bool:
        """Ask again the question before the one asked now, to change its answer."""
        if self.flow is None:
            return False
        asked = [a.question for a in self.flow.asked()]
        now = self.current
        before = asked[: asked.index(now)] if now in asked else asked
        if not before:
            return False
        self._reasking = before[-1]
        self.show_state()
        return True

    def _answer_typed(self) -> None:
        text = self.answer_field.text()
        if text.strip():
            self.give(text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.answer_field and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            return self._key(event)
        return super().eventFilter(watched, event)

    def _key(self, event: QKeyEvent) -> bool:
        key = Qt.Key(event.key())
        question = self.current
        if key == Qt.Key.Key_Backspace and not self.answer_field.text():
            return self.back() or True
        if key == Qt.Key.Key_Up:
            return self.reask_previous() or True
        text = event.text()
        if question is None or not text or event.modifiers() & ~Qt.KeyboardModifier.ShiftModifier:
            return False
        if question.answer != "number" or text.lower() == "u":
            self.give(text)
            return True
        return False  # digits go into the field; Enter answers

    # --- showing -------------------------------------------------------------------------

    def show_state(self) -> None:
        flow = self.flow
        has_flow = flow is not None
        for widget in (self.question_label, self.hint, self.answer_field, self.determinant_label):
            widget.setVisible(has_flow)
        self.answers_label.setVisible(has_flow)
        if flow is None:
            return
        question = self.current
        if question is not None:
            again = " (again)" if self._reasking is not None else ""
            self.question_label.setText(f"{question.text}{again}")
            self.hint.setText(
                answer_hint(question) + (f" · {question.help}" if question.help else "")
            )
        else:
            self.question_label.setText("Questioning complete")
            self.hint.setText(f"Up changes an answer · {COMPLAINT_KEYS} changes the complaint")
        determinant = flow.determinant()
        self.determinant_label.setText(determinant_words(determinant))
        self.determinant_label.setProperty("level", determinant.level.lower())
        self.determinant_label.style().polish(self.determinant_label)
        self.answers_label.setText(
            " · ".join(f"{a.question.short}: {a.words}" for a in flow.asked())
        )
