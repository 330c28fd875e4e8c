"""The protocol cards' format (version `FORMAT`): what a centre's card set is made of. Qt-free.

A card set is a directory (the shipped one: ``resources/cards/``):

- ``set.json``: a `CardSet`: the set's version, who approved it and when (a centre's medical
  director approves the content before it is used on live calls; ``status`` "draft" says it has
  not been), and the case-entry questions every card shares (age, conscious, breathing);
- ``cards/<id>.json``: one `Card` per chief complaint: its key questions, the rules from answers
  to a determinant, and worked cases (answers → expected determinant) the tests check;
- ``instructions/<id>.json``: one `Script` per pre-arrival instruction (direct pressure, CPR…),
  chosen by a card's determinants.

Answers: a ``yes_no`` question is answered ``"yes"``, ``"no"`` or ``"unknown"``; a ``choice``
question with a choice's ``key`` (one letter) or ``"unknown"``; a ``number`` question with a
number or ``"unknown"``. Every question may be answered ``"unknown"``.

Conditions (`Condition`) are JSON objects of exactly one form: ``{"all": [...]}``,
``{"any": [...]}``, ``{"not": {...}}``, or a test of one question ``{"q": ID, "is": [answers]}``
(the answer is one of them), ``{"q": ID, "lt": N}`` / ``{"q": ID, "ge": N}`` (a number answer
below / at least N). A test of a question not answered (not yet, or skipped by its ``ask_if``)
is false, so ``{"not": ...}`` of it is true: the live determinant counts a case as severe until
an answer says otherwise (`desktop.cards.flow.evaluate`).

Determinant levels, least to most severe: `LEVELS` (ALPHA…ECHO). A rule's ``code`` reads
``<card number>-<level letter>-<n>`` (``09-E-1``): the checker enforces it.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "ANSWER_KINDS",
    "FORMAT",
    "LEVELS",
    "UNKNOWN",
    "Answer",
    "Card",
    "CardSet",
    "Case",
    "Choice",
    "Condition",
    "Determinant",
    "Question",
    "Rule",
    "Script",
    "Step",
]

#: The version of this format; a file of another version is refused.
FORMAT = 1
#: Determinant levels, least to most severe.
LEVELS = ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO")
#: The answer every question accepts.
UNKNOWN = "unknown"
#: How a question is answered.
ANSWER_KINDS = ("yes_no", "choice", "number")

Level = Literal["ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO"]
#: An answer: "yes" / "no" / a choice key / "unknown", or a number.
Answer = str | float


class _Strict(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    pass


class Condition(_Strict):
    """One of the forms in the module docstring (exactly one of its fields groups is set)."""

    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = msgspec.field(default=None, name="not")
    q: str | None = None
    is_: list[str] | None = msgspec.field(default=None, name="is")
    lt: float | None = None
    ge: float | None = None


class Choice(_Strict):
    """A choice answer: ``key`` one letter (the key the call-taker presses), ``label`` its
    words."""

    key: str
    label: str


class Question(_Strict):
    """One question. ``text`` is read to the caller; ``short`` names it in the narrative
    ("Breathing"); ``ask_if``: asked only when it holds (skip logic); ``min``/``max`` bound a
    number; ``unit`` words it ("years")."""

    id: str
    text: str
    short: str
    answer: Literal["yes_no", "choice", "number"]
    choices: list[Choice] = []
    ask_if: Condition | None = None
    min: float | None = None
    max: float | None = None
    unit: str = ""
    help: str = ""  # a line for the call-taker, not read aloud


class Determinant(_Strict):
    """What a case is: ``level`` and ``code``, the ``priority`` (1 most urgent … 5) and the
    incident ``type`` (a run card type of ``resources/runcards.json``) and ``alarm`` level it is
    dispatched as; ``summary`` words it; ``instructions``: the pre-arrival scripts offered
    (first: the one to start); ``send_now``: immediately life-threatening, dispatch before
    questioning ends."""

    level: Level
    code: str
    summary: str
    priority: int
    type: str
    alarm: int = 1
    send_now: bool = False
    instructions: list[str] = []


class Rule(_Strict):
    """``when`` true: the case is at least ``determinant``."""

    when: Condition
    determinant: Determinant


class Case(_Strict):
    """A worked case: ``answers`` (question id → answer; case-entry ones included) give the
    determinant ``code`` with ``priority`` (and ``send_now``)."""

    answers: dict[str, str | float]
    code: str
    priority: int
    send_now: bool = False
    note: str = ""


class Card(_Strict):
    """One chief complaint. ``number`` is its code prefix (``9`` → ``09-…``); ``keywords`` find
    it as the call-taker types; ``questions`` are asked in order (after the set's case entry),
    each when its ``ask_if`` holds; the most severe matching rule is the determinant, else
    ``default``; ``instructions`` are scripts offered whatever the determinant."""

    format: int
    id: str
    number: int
    title: str
    version: str
    keywords: list[str]
    questions: list[Question]
    rules: list[Rule]
    default: Determinant
    cases: list[Case]
    instructions: list[str] = []


class CardSet(_Strict):
    """``set.json``: see the module docstring. ``approved_by``/``approved_on`` name the medical
    director and the date; ``status`` "approved" or "draft"."""

    format: int
    version: str
    title: str
    status: Literal["approved", "draft"]
    approved_by: str
    approved_on: str
    case_entry: list[Question]
    note: str = ""


class Step(_Strict):
    """One step of a script, read aloud. ``kind``: ``say`` (read it, advance), ``ask`` (a
    check on the caller: read it, advance when answered), ``compressions`` (a cycle of chest
    compressions at the script's metronome: ``count`` of them)."""

    text: str
    kind: Literal["say", "ask", "compressions"] = "say"
    count: int = 0


class Script(_Strict):
    """A pre-arrival instruction. After the last step the script goes back to ``repeat_from``
    (a step index; None: it ends). ``metronome_bpm``: the compression rate cued (CPR: 100-120);
    ``switch_every_s``: remind to switch rescuers this often (CPR: 120)."""

    format: int
    id: str
    title: str
    version: str
    steps: list[Step]
    repeat_from: int | None = None
    metronome_bpm: int | None = None
    switch_every_s: float | None = None
