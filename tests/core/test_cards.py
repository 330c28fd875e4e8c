"""Protocol cards (desktop/cards/): the shipped set checks (every card's determinants reachable,
no dead ends, priority monotone in severity, its worked cases), the checker names file and path
of every problem, the questioning flow (skip logic, changing answers and complaints), the
pre-arrival scripts (CPR cycles, the 2-minute switch), and the record questioning leaves."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from desktop.calltaking.questioning import CaseRecord, opening_words
from desktop.cards.check import answer_paths, check_directory
from desktop.cards.flow import Questioning, determinant_of, matching, parse_answer
from desktop.cards.library import CardLibrary, CardSetError, approval_words, default_dir
from desktop.cards.model import LEVELS
from desktop.cards.scripts import ScriptRun
from desktop.domain.incidents import IncidentAddNote, IncidentUpdate
from server.cli import main as cli_main

COMPLAINTS = {
    "breathing-problems",
    "chest-pain",
    "unconscious-fainting",
    "cardiac-arrest",
    "bleeding-trauma",
    "fall",
    "traffic-collision",
    "structure-fire",
    "vehicle-fire",
    "smoke-odour-gas",
    "alarm",
    "assault-violence",
    "overdose-poisoning",
    "welfare-check",
}
SCRIPTS = {
    "direct-pressure",
    "recovery-position",
    "cpr-hands-only",
    "choking-adult",
    "choking-child",
    "choking-infant",
    "childbirth",
    "fire-get-out",
    "carbon-monoxide",
    "safe-place",
}


@pytest.fixture(scope="module")
def library() -> CardLibrary:
    return CardLibrary.load()


# --- the shipped set ---------------------------------------------------------------------------


def test_the_shipped_set_checks_and_covers_every_chief_complaint(library: CardLibrary) -> None:
    assert set(library.cards) >= COMPLAINTS
    assert set(library.scripts) >= SCRIPTS
    assert library.set.status == "draft"  # until a medical director approves it
    assert "DRAFT, not approved by a medical director" in approval_words(library.set)


@pytest.mark.parametrize("card_id", sorted(COMPLAINTS))
def test_every_card_reaches_each_determinant_and_its_worked_cases(
    library: CardLibrary, card_id: str
) -> None:
    card = library.card(card_id)
    determinants = [r.determinant for r in card.rules] + [card.default]
    reached: dict[str, int] = {}
    for answers in answer_paths(card, library.set):
        flow = Questioning(library.set, card, answers)
        assert flow.done  # no dead end: every path ends with nothing left to ask
        got = determinant_of(card, answers)
        reached[got.code] = got.priority
    assert {d.code for d in determinants} <= set(reached)  # each one reachable
    for a in determinants:  # a more severe level is never less urgent
        for b in determinants:
            if LEVELS.index(a.level) > LEVELS.index(b.level):
                assert a.priority <= b.priority, (a.code, b.code)
    assert len(card.cases) >= 3
    for case in card.cases:  # the worked cases: answers -> expected determinant and priority
        flow = Questioning(library.set, card)
        for question_id, answer in case.answers.items():
            flow.answer(question_id, answer)
        got = flow.determinant()
        assert (got.code, got.priority, got.send_now) == (case.code, case.priority, case.send_now)


def test_not_breathing_is_a_send_now_echo_on_every_medical_card(library: CardLibrary) -> None:
    for card_id in ("cardiac-arrest", "chest-pain", "unconscious-fainting", "breathing-problems"):
        card = library.card(card_id)
        flow = Questioning(library.set, card, {"age": 50, "conscious": "no", "breathing": "no"})
        determinant = flow.determinant()
        assert determinant.level == "ECHO" and determinant.send_now, card_id
        assert determinant.priority == 1


# --- the checker -------------------------------------------------------------------------------


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "cards"
    shutil.copytree(default_dir(), target)
    return target


def _edit(path: Path, change: Any) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _problems(directory: Path) -> list[str]:
    return [str(p) for p in check_directory(directory)[1]]


def test_the_checker_names_the_file_and_path_of_each_problem(tmp_path: Path) -> None:
    cards = _copy(tmp_path)
    arrest = cards / "cards" / "cardiac-arrest.json"

    def break_it(data: dict[str, Any]) -> None:
        data["rules"][0]["determinant"]["code"] = "09-X-1"  # not the level's letter
        data["rules"][1]["when"]["all"][0]["q"] = "pulse"  # no such question
        data["default"]["type"] = "PICNIC"  # no such run card
        data["default"]["priority"] = 1  # CHARLIE more urgent than... monotone is still fine
        data["cases"][0]["priority"] = 4  # the case's expectation is wrong

    _edit(arrest, break_it)
    _edit(cards / "cards" / "fall.json", lambda d: d.update(colour="red"))
    (cards / "cards" / "alarm.json").write_text("{not json")
    _edit(cards / "instructions" / "childbirth.json", lambda d: d.update(repeat_from=99))
    problems = "\n".join(_problems(cards))
    assert (
        "cards/cardiac-arrest.json: $.rules[0].determinant.code: '09-X-1' does not read 09-B"
        in problems
    )
    assert (
        "cards/cardiac-arrest.json: $.rules[1].when.all[0].q: 'pulse': no such question" in problems
    )
    assert "cards/cardiac-arrest.json: $.default.type: 'PICNIC' is not a run card type" in problems
    assert "cards/fall.json: $: Object contains unknown field `colour`" in problems
    assert "cards/alarm.json: $: not JSON" in problems
    assert "instructions/childbirth.json: $.repeat_from: 99 is not a step" in problems
    with pytest.raises(CardSetError) as raised:
        CardLibrary.load(cards)
    assert len(raised.value.problems) >= 6


def test_the_checker_finds_shadowed_rules_dead_questions_and_bad_priorities(
    tmp_path: Path,
) -> None:
    cards = _copy(tmp_path)
    arrest = cards / "cards" / "cardiac-arrest.json"

    def shadow(data: dict[str, Any]) -> None:
        # an ECHO on "conscious: no" shadows the DELTA rule on the same answers for ever
        data["rules"].append(
            {
                "when": {"q": "conscious", "is": ["no", "unknown"]},
                "determinant": {
                    "level": "ECHO", "code": "09-E-2", "summary": "x", "priority": 1,
                    "type": "MEDICAL",
                },
            }
        )  # fmt: skip
        data["questions"][0]["ask_if"] = {"q": "age", "lt": -5}  # never asked
        data["cases"] = []

    _edit(arrest, shadow)
    _edit(  # the default, BRAVO, less urgent than the ALPHA rule (P4)
        cards / "cards" / "fall.json",
        lambda d: d["default"].update(priority=5),
    )
    problems = "\n".join(_problems(cards))
    assert (
        "cardiac-arrest.json: $.rules[2].determinant: 09-D-1 is the determinant of no" in problems
    )
    assert "cardiac-arrest.json: $.questions[0]: 'witnessed' is never asked" in problems
    assert "cardiac-arrest.json: $.cases: a card has worked cases" in problems
    assert "fall.json: $.default.priority: 05-B-1 (BRAVO) is P5, less urgent than" in problems


def test_cards_check_prints_every_problem_and_exits_nonzero(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["cards", "check", str(default_dir())]) == 0
    out = capsys.readouterr().out
    assert "checks" in out and "DRAFT" in out
    cards = _copy(tmp_path)
    _edit(cards / "cards" / "fall.json", lambda d: d["default"].update(priority=9))
    assert cli_main(["cards", "check", str(cards)]) == 1
    out = capsys.readouterr().out
    assert "cards/fall.json: $.default.priority: priority 9 is not 1-5" in out
    assert cli_main(["cards", "check", str(tmp_path / "none")]) == 2


# --- questioning ---------------------------------------------------------------------------------


def test_questions_follow_skip_logic_and_answers_can_be_changed(library: CardLibrary) -> None:
    card = library.card("cardiac-arrest")
    flow = Questioning(library.set, card)
    asked = []
    for answer in ("62", "n", "y", "y"):  # age, conscious, breathing (yes), witnessed
        question = flow.next_question()
        assert question is not None
        asked.append(question.id)
        flow.answer(question.id, answer)
    assert asked == ["age", "conscious", "breathing", "witnessed"]
    assert flow.done  # breathing: no AED or obvious-death question
    assert flow.determinant().code == "09-D-1"
    flow.answer("breathing", "n")  # changed: now the arrest questions apply
    assert flow.next_question() is not None and flow.next_question().id == "aed"
    assert flow.determinant().code == "09-E-1" and flow.determinant().send_now
    assert flow.back() is not None and flow.back() is not None  # witnessed, then breathing
    assert flow.next_question().id == "breathing"
    with pytest.raises(ValueError):
        flow.answer("age", "300")  # beyond its max
    assert parse_answer(card.questions[0], "U") == "unknown"


def test_changing_the_complaint_keeps_the_answers_that_still_apply(library: CardLibrary) -> None:
    flow = Questioning(library.set, library.card("fall"))
    for question_id, answer in (("age", "80"), ("conscious", "y"), ("breathing", "y")):
        flow.answer(question_id, answer)
    flow.change_card(library.card("cardiac-arrest"))
    assert flow.answers == {"age": 80, "conscious": "yes", "breathing": "yes"}
    assert flow.next_question().id == "witnessed"
    assert [c.id for c in matching(library.ordered(), "9")] == ["cardiac-arrest"]
    assert "structure-fire" in [c.id for c in matching(library.ordered(), "fire")]


def test_the_record_notes_each_answer_and_sets_the_determinant(library: CardLibrary) -> None:
    flow = Questioning(library.set, library.card("cardiac-arrest"), {"age": 62})
    assert opening_words(flow).splitlines()[:2] == [
        "Chief complaint: Cardiac arrest / not breathing",
        "Age: 62 years",
    ]
    record = CaseRecord("inc-1", flow)
    flow.answer("conscious", "n")
    asked = flow.asked()[-1]
    commands = record.answered(flow, asked)
    assert commands[0] == IncidentAddNote(incident_id="inc-1", text="Conscious: No")
    flow.answer("breathing", "n")
    commands = record.answered(flow, flow.asked()[-1])
    assert commands[1] == IncidentUpdate(incident_id="inc-1", priority=1)
    assert isinstance(commands[2], IncidentAddNote) and "09-E-1" in commands[2].text
    assert record.determined(flow) == []  # unchanged: nothing more


# --- pre-arrival scripts ----------------------------------------------------------------------


def test_cpr_counts_cycles_and_reminds_to_switch_every_two_minutes(library: CardLibrary) -> None:
    script = library.scripts["cpr-hands-only"]
    assert script.metronome_bpm is not None and 100 <= script.metronome_bpm <= 120
    run = ScriptRun(script, 1000.0)
    now = 1000.0
    while not run.compressing:
        now += 5
        run.advance(now)
    started = now
    reminders = []
    for _ in range(16):  # 16 cycles of 30 at 110/min: about 4.4 minutes
        now += 30 * 60 / script.metronome_bpm
        run.advance(now)
        reminders += run.due(now)
    assert run.cycles == 16 and run.compressions == 480
    assert [r.at - started for r in reminders] == [120.0, 240.0]
    assert "switch rescuers" in reminders[0].text
    assert run.index >= script.repeat_from  # it loops on the compressions
    assert run.stop(now)[0].text.startswith("Stopped: Hands-only CPR")
    assert run.advance(now + 1) == []


def test_a_script_without_repeat_ends_and_logs_each_step(library: CardLibrary) -> None:
    script = library.scripts["childbirth"]
    run = ScriptRun(script, 0.0)
    for t in range(1, len(script.steps) + 1):
        run.advance(float(t))
    assert run.ended and run.log[-1].text == f"Finished: {script.title}"
    shown = [entry.text for entry in run.log if entry.text.startswith("Step ")]
    assert len(shown) == len(script.steps)
