"""Questioning: one call's walk through a card, from answers to a determinant. Qt-free.

`Questioning` holds the chief complaint's card and the answers given so far; it says which
question comes next (the set's case entry first, then the card's questions in order, each
only while its ``ask_if`` holds), and what the determinant is now: the most severe of the card's
rules whose condition is true (level, then the more urgent priority, then the earlier rule),
else the card's ``default``. Answers can be changed (`answer` again) or taken back (`back`); a
changed answer may make later questions moot (they are then not asked and their answers are set
aside, kept for when they apply again). Changing the chief complaint (`change_card`) keeps every
answer to a question of the same id (the case entry always).

`evaluate` is the one home of the condition semantics (`desktop.cards.model`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from desktop.cards.model import (
    LEVELS,
    UNKNOWN,
    Answer,
    Card,
    CardSet,
    Condition,
    Determinant,
    Question,
)

__all__ = [
    "Asked",
    "Questioning",
    "answer_words",
    "determinant_of",
    "evaluate",
    "matching",
    "parse_answer",
    "severity",
]


def evaluate(condition: Condition, answers: Mapping[str, Answer]) -> bool:
    """Whether ``condition`` holds for ``answers``. A test of a question not answered (not yet,
    or skipped) is false, so ``not`` of it is true: a case counts as severe until an answer
    says otherwise, which is what the live determinant must show."""
    if condition.all is not None:
        return all(evaluate(c, answers) for c in condition.all)
    if condition.any is not None:
        return any(evaluate(c, answers) for c in condition.any)
    if condition.not_ is not None:
        return not evaluate(condition.not_, answers)
    if condition.q is None or condition.q not in answers:
        return False
    given = answers[condition.q]
    if condition.is_ is not None:
        return isinstance(given, str) and given in condition.is_
    if isinstance(given, str):  # "unknown": no number to compare
        return False
    if condition.lt is not None:
        return given < condition.lt
    if condition.ge is not None:
        return given >= condition.ge
    return False


def severity(determinant: Determinant) -> tuple[int, int]:
    """Order of determinants, larger more severe: the level, then the more urgent priority."""
    return LEVELS.index(determinant.level), -determinant.priority


def parse_answer(question: Question, text: str) -> Answer | None:
    """The answer ``text`` (a key or a typed number) gives ``question``; None when it is not an
    answer to it. U (or "unknown") is unknown for every question; Y/N for a yes-no one; a
    choice's key for a choice; a number within ``min``/``max`` for a number."""
    word = text.strip().lower()
    if word in ("u", UNKNOWN):
        return UNKNOWN
    if question.answer == "yes_no":
        return {"y": "yes", "yes": "yes", "n": "no", "no": "no"}.get(word)
    if question.answer == "choice":
        keys = {c.key.lower(): c.key for c in question.choices}
        return keys.get(word)
    try:
        number = float(word)
    except ValueError:
        return None
    if question.min is not None and number < question.min:
        return None
    if question.max is not None and number > question.max:
        return None
    return int(number) if number.is_integer() else number


def answer_words(question: Question, answer: Answer) -> str:
    """How an answer reads in the narrative and on screen ("No", "Choking", "62 years")."""
    if answer == UNKNOWN:
        return "Unknown"
    if question.answer == "yes_no":
        return "Yes" if answer == "yes" else "No"
    if question.answer == "choice":
        for choice in question.choices:
            if choice.key == answer:
                return choice.label
        return str(answer)
    number = f"{answer:g}" if isinstance(answer, float) else str(answer)
    return f"{number} {question.unit}".strip()


@dataclass(frozen=True, slots=True)
class Asked:
    """A question asked and its answer."""

    question: Question
    answer: Answer

    @property
    def words(self) -> str:
        return answer_words(self.question, self.answer)


class Questioning:
    """One call's questioning on ``card`` of ``cards`` (module docstring)."""

    def __init__(
        self, cards: CardSet, card: Card, answers: Mapping[str, Answer] | None = None
    ) -> None:
        self.cards = cards
        self.card = card
        self._answers: dict[str, Answer] = dict(answers or {})

    # --- the questions -------------------------------------------------------------------

    @property
    def questions(self) -> list[Question]:
        """Every question of this card, case entry first, in the order asked."""
        return [*self.cards.case_entry, *self.card.questions]

    def _applies(self, question: Question, answers: Mapping[str, Answer]) -> bool:
        return question.ask_if is None or evaluate(question.ask_if, answers)

    def asked(self) -> list[Asked]:
        """The questions asked so far, in order, with their answers (moot ones left out)."""
        out: list[Asked] = []
        held: dict[str, Answer] = {}
        for question in self.questions:
            if question.id in self._answers and self._applies(question, held):
                held[question.id] = self._answers[question.id]
                out.append(Asked(question, held[question.id]))
        return out

    @property
    def answers(self) -> dict[str, Answer]:
        """The answers that count now (moot ones left out)."""
        return {a.question.id: a.answer for a in self.asked()}

    def next_question(self) -> Question | None:
        """The first question not answered that applies now; None when questioning is done."""
        held = self.answers
        for question in self.questions:
            if question.id not in held and self._applies(question, held):
                return question
        return None

    @property
    def done(self) -> bool:
        return self.next_question() is None

    def question(self, question_id: str) -> Question:
        for question in self.questions:
            if question.id == question_id:
                return question
        raise KeyError(question_id)

    # --- answering -----------------------------------------------------------------------

    def answer(self, question_id: str, answer: Answer) -> None:
        """Answer (or change the answer to) ``question_id``. Raises KeyError for a question not
        on this card, ValueError for an answer it does not take."""
        question = self.question(question_id)
        parsed = parse_answer(question, str(answer))
        if parsed is None:
            raise ValueError(f"{answer!r} is not an answer to {question.short}")
        self._answers[question_id] = parsed

    def back(self) -> Question | None:
        """Take back the last answer given; the question it was (None: nothing to take back)."""
        asked = self.asked()
        if not asked:
            return None
        last = asked[-1].question
        del self._answers[last.id]
        return last

    def change_card(self, card: Card) -> None:
        """Carry on with another chief complaint, keeping every answer it has a question for."""
        ids = {q.id for q in [*self.cards.case_entry, *card.questions]}
        self._answers = {k: v for k, v in self._answers.items() if k in ids}
        self.card = card

    # --- the determinant -----------------------------------------------------------------

    def determinant(self) -> Determinant:
        """The most severe determinant the answers so far reach (module docstring)."""
        return determinant_of(self.card, self.answers)


def determinant_of(card: Card, answers: Mapping[str, Answer]) -> Determinant:
    """The determinant ``answers`` give on ``card``: its most severe true rule, else its
    default (ties go to the earlier rule)."""
    best: Determinant | None = None
    for rule in card.rules:
        if evaluate(rule.when, answers) and (
            best is None or severity(rule.determinant) > severity(best)
        ):
            best = rule.determinant
    return best if best is not None else card.default


def matching(cards: Sequence[Card], text: str) -> list[Card]:
    """The cards whose title, id or keywords contain every word of ``text`` (case-insensitive),
    by number; all of them for empty text. A number picks the card of that number."""
    words = text.lower().split()
    if len(words) == 1 and words[0].isdigit():
        return [c for c in cards if c.number == int(words[0])]
    found = []
    for card in cards:
        hay = " ".join([card.title, card.id, *card.keywords]).lower()
        if all(w in hay for w in words):
            found.append(card)
    return sorted(found, key=lambda c: c.number)
