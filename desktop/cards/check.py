"""Every check of a card set, each problem with its file and JSON path. Qt-free.

`check_directory` decodes the files (`desktop.cards.model`: unknown fields, wrong types and
missing ones are problems at their path) and then checks what the types cannot say:

- names: a file's ``id`` is its name; card numbers and question ids are unique; a choice key is
  one letter, not Y, N or U (they answer yes, no and unknown);
- conditions: exactly one form each; a test names a question of the card or the case entry,
  with answers that question takes (``lt``/``ge`` only on numbers); an ``ask_if`` tests only
  questions asked before it;
- determinants: the code reads ``<card number>-<level letter>-<n>``; priority 1-5; the type is a
  run card type (`desktop.runcards`); the alarm 1-5; each instruction is a script of the set;
  within a card a more severe level never has a less urgent priority;
- the flow, walked through every answer path (each question's answers: yes / no / unknown, the
  choices, numbers on both sides of every threshold the card tests): every question is asked on
  some path, every rule and the default is the determinant of some path (none is shadowed for
  ever), and the walk ends (no more than `MAX_PATHS` paths);
- worked cases: their answers are answers to the card's questions, complete (nothing is left to
  ask), and give the expected code, priority and send-now;
- scripts: steps, ``repeat_from`` a step, compressions with a count and a metronome of 100-120
  a minute;
- the set: an approved set names who approved it and when.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TypeVar

import msgspec

from desktop.cards.flow import Questioning, determinant_of, parse_answer
from desktop.cards.library import CardLibrary, Problem
from desktop.cards.model import (
    FORMAT,
    LEVELS,
    UNKNOWN,
    Answer,
    Card,
    CardSet,
    Condition,
    Determinant,
    Question,
    Script,
)

__all__ = ["MAX_PATHS", "answer_paths", "check_directory"]

#: A card whose flow has more answer paths than this is refused (it could not be checked).
MAX_PATHS = 200_000
_CODE = re.compile(r"^(\d{2})-([ABCDE])-(\d{1,2})$")
_RESERVED_KEYS = {"Y", "N", "U"}
T = TypeVar("T")


def check_directory(directory: Path) -> tuple[CardLibrary | None, list[Problem]]:
    """The library in ``directory`` and every problem found (module docstring); the library
    is None when a file could not be decoded."""
    problems: list[Problem] = []
    card_set = _decode(directory, "set.json", CardSet, problems)
    cards = {
        p.stem: c
        for p in sorted((directory / "cards").glob("*.json"))
        if (c := _decode(directory, f"cards/{p.name}", Card, problems)) is not None
    }
    scripts = {
        p.stem: s
        for p in sorted((directory / "instructions").glob("*.json"))
        if (s := _decode(directory, f"instructions/{p.name}", Script, problems)) is not None
    }
    if card_set is None:
        return None, problems
    if not cards:
        problems.append(Problem("cards/", "$", "no card in the set"))
    _check_set(card_set, problems)
    for stem, script in scripts.items():
        _check_script(f"instructions/{stem}.json", stem, script, problems)
    numbers: dict[int, str] = {}
    types = _run_card_types()
    for stem, card in cards.items():
        file = f"cards/{stem}.json"
        if card.number in numbers:
            problems.append(
                Problem(file, "$.number", f"number {card.number} is also {numbers[card.number]}'s")
            )
        numbers[card.number] = stem
        _check_card(file, stem, card, card_set, set(scripts), types, problems)
    library = CardLibrary(
        directory, card_set, dict(sorted(cards.items(), key=lambda kv: kv[1].number)), scripts
    )
    return library, problems


def _decode(directory: Path, name: str, kind: type[T], problems: list[Problem]) -> T | None:
    path = directory / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        problems.append(Problem(name, "$", f"cannot read it ({exc.strerror or exc})"))
        return None
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at `")
        if not message:
            message, where = str(exc), "$`"
        problems.append(Problem(name, where.rstrip("`"), message))
    except msgspec.DecodeError as exc:
        problems.append(Problem(name, "$", f"not JSON: {exc}"))
    return None


def _run_card_types() -> set[str]:
    from desktop.runcards import RunCards

    return set(RunCards.load().incident_types())


# --- the set and scripts ---------------------------------------------------------------------


def _check_set(card_set: CardSet, problems: list[Problem]) -> None:
    if card_set.format != FORMAT:
        problems.append(
            Problem("set.json", "$.format", f"format {card_set.format}, expected {FORMAT}")
        )
    if card_set.status == "approved" and not (
        card_set.approved_by.strip() and card_set.approved_on.strip()
    ):
        problems.append(
            Problem("set.json", "$.approved_by", "an approved set names who approved it and when")
        )
    seen: set[str] = set()
    for i, question in enumerate(card_set.case_entry):
        _check_question("set.json", f"$.case_entry[{i}]", question, seen, problems)


def _check_script(file: str, stem: str, script: Script, problems: list[Problem]) -> None:
    if script.format != FORMAT:
        problems.append(Problem(file, "$.format", f"format {script.format}, expected {FORMAT}"))
    if script.id != stem:
        problems.append(Problem(file, "$.id", f"id {script.id!r} is not the file's name {stem!r}"))
    if not script.steps:
        problems.append(Problem(file, "$.steps", "a script has steps"))
    if script.repeat_from is not None and not 0 <= script.repeat_from < len(script.steps):
        problems.append(Problem(file, "$.repeat_from", f"{script.repeat_from} is not a step"))
    compressions = [i for i, s in enumerate(script.steps) if s.kind == "compressions"]
    for i in compressions:
        if script.steps[i].count <= 0:
            problems.append(Problem(file, f"$.steps[{i}].count", "compressions need a count"))
    if compressions and not (script.metronome_bpm and 100 <= script.metronome_bpm <= 120):
        problems.append(
            Problem(file, "$.metronome_bpm", "compressions are cued at 100-120 a minute")
        )
    if script.switch_every_s is not None and script.switch_every_s <= 0:
        problems.append(Problem(file, "$.switch_every_s", "must be positive"))
    for i, step in enumerate(script.steps):
        if not step.text.strip():
            problems.append(Problem(file, f"$.steps[{i}].text", "a step says something"))


# --- cards -----------------------------------------------------------------------------------


def _check_question(
    file: str, path: str, question: Question, seen: set[str], problems: list[Problem]
) -> None:
    if question.id in seen:
        problems.append(Problem(file, f"{path}.id", f"question id {question.id!r} is used twice"))
    seen.add(question.id)
    if not question.text.strip() or not question.short.strip():
        problems.append(Problem(file, path, "a question has a text and a short name"))
    if question.answer == "choice":
        keys = [c.key for c in question.choices]
        if len(keys) < 2:
            problems.append(
                Problem(file, f"{path}.choices", "a choice question has at least two choices")
            )
        for j, key in enumerate(keys):
            if (
                len(key) != 1
                or not key.isalpha()
                or key.upper() in _RESERVED_KEYS
                or key != key.upper()
            ):
                problems.append(
                    Problem(
                        file,
                        f"{path}.choices[{j}].key",
                        f"{key!r}: one capital letter, not Y, N or U",
                    )
                )
        if len(set(keys)) != len(keys):
            problems.append(Problem(file, f"{path}.choices", "choice keys repeat"))
    elif question.choices:
        problems.append(
            Problem(file, f"{path}.choices", f"a {question.answer} question has no choices")
        )
    if (
        question.answer == "number"
        and question.min is not None
        and question.max is not None
        and question.min > question.max
    ):
        problems.append(Problem(file, f"{path}.min", "min is above max"))


def _check_card(
    file: str,
    stem: str,
    card: Card,
    card_set: CardSet,
    scripts: set[str],
    types: set[str],
    problems: list[Problem],
) -> None:
    if card.format != FORMAT:
        problems.append(Problem(file, "$.format", f"format {card.format}, expected {FORMAT}"))
    if card.id != stem:
        problems.append(Problem(file, "$.id", f"id {card.id!r} is not the file's name {stem!r}"))
    if not card.keywords:
        problems.append(Problem(file, "$.keywords", "a card has keywords to find it by"))
    seen = {q.id for q in card_set.case_entry}
    for i, question in enumerate(card.questions):
        _check_question(file, f"$.questions[{i}]", question, seen, problems)
    questions = {q.id: q for q in [*card_set.case_entry, *card.questions]}
    order = list(questions)
    for i, question in enumerate(card.questions):
        if question.ask_if is not None:
            earlier = set(order[: order.index(question.id)])
            _check_condition(
                file, f"$.questions[{i}].ask_if", question.ask_if, questions, earlier, problems
            )
    for i, script_id in enumerate(card.instructions):
        if script_id not in scripts:
            problems.append(Problem(file, f"$.instructions[{i}]", f"no script {script_id!r}"))
    determinants = [(f"$.rules[{i}].determinant", r.determinant) for i, r in enumerate(card.rules)]
    determinants.append(("$.default", card.default))
    for i, rule in enumerate(card.rules):
        _check_condition(file, f"$.rules[{i}].when", rule.when, questions, set(questions), problems)
    codes: dict[str, str] = {}
    for path, determinant in determinants:
        _check_determinant(file, path, card, determinant, scripts, types, problems)
        if determinant.code in codes and codes[determinant.code] != path:
            problems.append(
                Problem(
                    file, f"{path}.code", f"{determinant.code} is also {codes[determinant.code]}"
                )
            )
        codes.setdefault(determinant.code, path)
    for path, a in determinants:
        for other_path, b in determinants:
            if LEVELS.index(a.level) > LEVELS.index(b.level) and a.priority > b.priority:
                problems.append(
                    Problem(
                        file,
                        f"{path}.priority",
                        f"{a.code} ({a.level}) is P{a.priority}, less urgent than "
                        f"{b.code} ({b.level}, P{b.priority}) at {other_path}",
                    )
                )
    if any(p.file == file for p in problems):
        return  # the flow of a card with problems may not be walkable
    _check_flow(file, card, card_set, determinants, problems)
    _check_cases(file, card, card_set, problems)


def _check_condition(
    file: str,
    path: str,
    condition: Condition,
    questions: Mapping[str, Question],
    allowed: set[str],
    problems: list[Problem],
) -> None:
    forms = [
        condition.all is not None,
        condition.any is not None,
        condition.not_ is not None,
        condition.q is not None,
    ]
    if sum(forms) != 1:
        problems.append(
            Problem(file, path, "a condition is exactly one of all, any, not, or a test of q")
        )
        return
    for key, parts in (("all", condition.all), ("any", condition.any)):
        if parts is not None:
            if not parts:
                problems.append(Problem(file, f"{path}.{key}", "empty"))
            for j, part in enumerate(parts):
                _check_condition(file, f"{path}.{key}[{j}]", part, questions, allowed, problems)
    if condition.not_ is not None:
        _check_condition(file, f"{path}.not", condition.not_, questions, allowed, problems)
    if condition.q is None:
        return
    question = questions.get(condition.q)
    if question is None or condition.q not in allowed:
        why = "no such question" if question is None else "asked only after this question"
        problems.append(Problem(file, f"{path}.q", f"{condition.q!r}: {why}"))
        return
    tests = [condition.is_ is not None, condition.lt is not None, condition.ge is not None]
    if sum(tests) != 1:
        problems.append(Problem(file, path, "a test is exactly one of is, lt, ge"))
        return
    if condition.is_ is not None:
        if not condition.is_:
            problems.append(Problem(file, f"{path}.is", "empty"))
        for j, value in enumerate(condition.is_):
            if parse_answer(question, value) != value and value != UNKNOWN:
                problems.append(
                    Problem(
                        file, f"{path}.is[{j}]", f"{value!r} is not an answer to {question.id!r}"
                    )
                )
            if question.answer == "number" and value != UNKNOWN:
                problems.append(
                    Problem(file, f"{path}.is[{j}]", "numbers are tested with lt or ge")
                )
    elif question.answer != "number":
        problems.append(
            Problem(file, path, f"lt and ge test numbers; {question.id!r} is {question.answer}")
        )


def _check_determinant(
    file: str,
    path: str,
    card: Card,
    determinant: Determinant,
    scripts: set[str],
    types: set[str],
    problems: list[Problem],
) -> None:
    match = _CODE.match(determinant.code)
    if (
        match is None
        or int(match.group(1)) != card.number
        or match.group(2) != determinant.level[0]
    ):
        problems.append(
            Problem(
                file,
                f"{path}.code",
                f"{determinant.code!r} does not read {card.number:02d}-{determinant.level[0]}-<n>",
            )
        )
    if not 1 <= determinant.priority <= 5:
        problems.append(
            Problem(file, f"{path}.priority", f"priority {determinant.priority} is not 1-5")
        )
    if determinant.type not in types:
        problems.append(
            Problem(file, f"{path}.type", f"{determinant.type!r} is not a run card type")
        )
    if not 1 <= determinant.alarm <= 5:
        problems.append(Problem(file, f"{path}.alarm", f"alarm {determinant.alarm} is not 1-5"))
    for i, script_id in enumerate(determinant.instructions):
        if script_id not in scripts:
            problems.append(Problem(file, f"{path}.instructions[{i}]", f"no script {script_id!r}"))
    if not determinant.summary.strip():
        problems.append(Problem(file, f"{path}.summary", "a determinant is worded"))


# --- the flow ----------------------------------------------------------------------------------


def _thresholds(condition: Condition, into: dict[str, set[float]]) -> None:
    for part in (condition.all or []) + (condition.any or []):
        _thresholds(part, into)
    if condition.not_ is not None:
        _thresholds(condition.not_, into)
    if condition.q is not None:
        for bound in (condition.lt, condition.ge):
            if bound is not None:
                into.setdefault(condition.q, set()).add(bound)


def _candidates(question: Question, thresholds: Mapping[str, set[float]]) -> list[Answer]:
    """Answers standing for every case the card can tell apart (module docstring)."""
    if question.answer == "yes_no":
        return ["yes", "no", UNKNOWN]
    if question.answer == "choice":
        return [*(c.key for c in question.choices), UNKNOWN]
    values: set[float] = set()
    low = question.min if question.min is not None else -1e9
    high = question.max if question.max is not None else 1e9
    for bound in thresholds.get(question.id, set()):
        values.update({bound - 0.5, bound})
    if not values:
        values.add(low if question.min is not None else 0.0)
    kept = sorted(v for v in values if low <= v <= high)
    return [*(int(v) if float(v).is_integer() else v for v in kept), UNKNOWN]


def answer_paths(card: Card, card_set: CardSet) -> Iterator[dict[str, Answer]]:
    """Every complete answer path of ``card`` (module docstring), as the answers given."""
    thresholds: dict[str, set[float]] = {}
    for rule in card.rules:
        _thresholds(rule.when, thresholds)
    for question in [*card_set.case_entry, *card.questions]:
        if question.ask_if is not None:
            _thresholds(question.ask_if, thresholds)

    def walk(flow: Questioning) -> Iterator[dict[str, Answer]]:
        question = flow.next_question()
        if question is None:
            yield flow.answers
            return
        for answer in _candidates(question, thresholds):
            branch = Questioning(card_set, card, {**flow.answers, question.id: answer})
            yield from walk(branch)

    yield from walk(Questioning(card_set, card))


def _check_flow(
    file: str,
    card: Card,
    card_set: CardSet,
    determinants: list[tuple[str, Determinant]],
    problems: list[Problem],
) -> None:
    asked: set[str] = set()
    reached: set[str] = set()
    for paths, answers in enumerate(answer_paths(card, card_set), start=1):
        if paths > MAX_PATHS:
            problems.append(
                Problem(
                    file, "$.questions", f"more than {MAX_PATHS:,} answer paths: too many to check"
                )
            )
            return
        asked.update(answers)
        reached.add(determinant_of(card, answers).code)
    for i, question in enumerate(card.questions):
        if question.id not in asked:
            problems.append(Problem(file, f"$.questions[{i}]", f"{question.id!r} is never asked"))
    for path, determinant in determinants:
        if determinant.code not in reached:
            problems.append(
                Problem(
                    file,
                    path,
                    f"{determinant.code} is the determinant of no answer path "
                    "(shadowed or unreachable)",
                )
            )


def _check_cases(file: str, card: Card, card_set: CardSet, problems: list[Problem]) -> None:
    if not card.cases:
        problems.append(Problem(file, "$.cases", "a card has worked cases"))
    for i, case in enumerate(card.cases):
        flow = Questioning(card_set, card)
        path = f"$.cases[{i}]"
        bad = False
        for question_id, answer in case.answers.items():
            try:
                flow.answer(question_id, answer)
            except KeyError:
                problems.append(Problem(file, f"{path}.answers.{question_id}", "no such question"))
                bad = True
            except ValueError as exc:
                problems.append(Problem(file, f"{path}.answers.{question_id}", str(exc)))
                bad = True
        if bad:
            continue
        missing = flow.next_question()
        if missing is not None:
            problems.append(
                Problem(file, f"{path}.answers", f"incomplete: {missing.id!r} would still be asked")
            )
        got = flow.determinant()
        if (got.code, got.priority, got.send_now) != (case.code, case.priority, case.send_now):
            problems.append(
                Problem(
                    file,
                    path,
                    f"gives {got.code} P{got.priority}{' send now' if got.send_now else ''}, "
                    f"expected {case.code} P{case.priority}{' send now' if case.send_now else ''}",
                )
            )
