"""Reading radio traffic as a dispatcher types it (desktop/radio_log.py) and the command line's
``RL`` and ``CH`` (desktop/commandline.py).

Contracts under test:
- the speaker is a unit id in any case or the radio (PTT) id bound to a unit; an unknown one is
  a problem naming it, pointing at it, saying the entry is kept; nothing said is a problem;
- the first status phrase of the plan found in the text, on word boundaries, proposes that
  status only when `ALLOWED_TRANSITIONS` allows it and the unit is not in it already;
- ``RL`` gives the `RadioLog` and offers the proposal (`Ok.offer`, `Offer.prompt`); ``CH``
  resolves a channel of the plan (any case), lists the channels for an unknown one, ``-``
  releases; `complete` offers units after ``RL`` and open incidents after ``CH``.
"""

from __future__ import annotations

import pytest

from desktop.commandline import Offer, Ok, Problem, complete, parse
from desktop.domain.catalog import decide
from desktop.domain.incidents import IncidentClose
from desktop.domain.kinds import DecisionContext
from desktop.domain.radio import RadioAssignChannel, RadioLog
from desktop.domain.types import UnitStatus
from desktop.domain.units import ALLOWED_TRANSITIONS, UnitSetStatus
from desktop.domain.world import World
from desktop.radio_log import RadioLine, RadioLineProblem, StatusProposal, read_radio_line
from desktop.radio_plan import load_radio_plan
from tests.core.test_radio import FIRE, MED, T0, make_world, run

PLAN = load_radio_plan()
UNKNOWN = "is not a unit on the roster nor a radio bound to one — correct it; the entry is kept"


@pytest.fixture
def world() -> World:
    """test_radio's world: E12 and T3 OS on FIRE, M55 (radio 7055) DP on MED, E2 AV, B2 AQ."""
    return make_world()


def line(text: str, world: World, offset: int = 0) -> RadioLine:
    read = read_radio_line(text, world, PLAN, offset=offset)
    assert isinstance(read, RadioLine), read
    return read


def proposal(text: str, world: World) -> tuple[str, UnitStatus, str] | None:
    found = line(text, world).proposal
    return None if found is None else (found.unit_id, found.status, found.words)


def set_status(world: World, unit_id: str, *statuses: UnitStatus) -> None:
    for status in statuses:
        run(world, UnitSetStatus(unit_id=unit_id, status=status), T0)


# --- the speaker ----------------------------------------------------------------------------


@pytest.mark.parametrize("speaker", ["M55", "m55", "M55:", "m55,", "7055"])
def test_the_speaker_is_a_unit_in_any_case_or_its_radio(world: World, speaker: str) -> None:
    read = line(f"{speaker} copy, responding from the station", world)
    assert (read.command.unit_id, read.command.text) == ("M55", "copy, responding from the station")
    assert (read.command.channel, read.command.incident_id) == ("", None)  # the rules decide
    assert read.summary == "Radio log · M55: copy, responding from the station"


def test_each_line_is_a_new_entry(world: World) -> None:
    first, second = line("E12 on scene", world), line("E12 on scene", world)
    assert first.command.entry_id != second.command.entry_id
    assert len(first.command.entry_id) == 36


def test_an_unknown_speaker_is_named_and_pointed_at(world: World) -> None:
    read = read_radio_line("  x9 on scene", world, PLAN, offset=3)
    assert read == RadioLineProblem(f"X9 {UNKNOWN}", 5)
    # a radio bound to no unit is not a speaker either
    assert read_radio_line("7999 on scene", world, PLAN) == RadioLineProblem(f"7999 {UNKNOWN}", 0)


def test_nothing_typed_or_nothing_said(world: World) -> None:
    assert read_radio_line("   ", world, PLAN) == RadioLineProblem(
        "type who spoke and what was said, e.g. E12 on scene", None
    )
    assert read_radio_line("e12  ", world, PLAN, offset=3) == RadioLineProblem(
        "what did E12 say?", 8
    )


# --- status proposals -----------------------------------------------------------------------


def test_on_scene_proposes_on_scene_to_a_dispatched_unit(world: World) -> None:
    assert proposal("M55 on scene, patient in sight", world) == (
        "M55",
        UnitStatus.OS,
        "M55 on scene",
    )
    assert proposal("m55 ON SCENE", world) == ("M55", UnitStatus.OS, "M55 on scene")
    assert proposal("7055 arrived", world) == ("M55", UnitStatus.OS, "M55 on scene")
    read = line("M55 on scene", world)
    assert read.proposal is not None
    assert read.proposal.command() == UnitSetStatus(unit_id="M55", status=UnitStatus.OS)


def test_en_route_proposes_en_route(world: World) -> None:
    assert proposal("M55 en route", world) == ("M55", UnitStatus.ER, "M55 en route")
    assert proposal("M55 responding", world) == ("M55", UnitStatus.ER, "M55 en route")
    set_status(world, "M55", UnitStatus.ER)
    assert proposal("M55 en route", world) is None  # already in it
    assert proposal("E2 en route", world) is None  # AV -> ER is not allowed


def test_available_transporting_and_at_hospital(world: World) -> None:
    assert proposal("E12 available", world) == ("E12", UnitStatus.AV, "E12 available")
    assert proposal("B2 back in service", world) == ("B2", UnitStatus.AV, "B2 available")
    assert proposal("E2 available", world) is None  # already
    assert proposal("E12 transporting one", world) == ("E12", UnitStatus.TR, "E12 transporting")
    assert proposal("M55 transporting one", world) is None  # DP -> TR is not allowed
    assert proposal("M55 at hospital", world) is None  # DP -> AH is not allowed
    set_status(world, "M55", UnitStatus.OS, UnitStatus.TR)
    assert proposal("M55 at hospital", world) == ("M55", UnitStatus.AH, "M55 at hospital")
    assert proposal("M55 at the hospital", world) == ("M55", UnitStatus.AH, "M55 at hospital")


def test_a_proposal_is_only_a_move_the_rules_allow(world: World) -> None:
    for unit in world.units.values():
        read = line(f"{unit.id} on scene", world)
        allowed = UnitStatus.OS in ALLOWED_TRANSITIONS[unit.status] and unit.status != "OS"
        assert (read.proposal is not None) == allowed, unit.id
    assert [u for u, unit in world.units.items() if line(f"{u} on scene", world).proposal] == [
        "M55"
    ]


def test_the_first_phrase_in_the_text_wins(world: World) -> None:
    assert proposal("M55 en route, on scene in two", world) == (
        "M55",
        UnitStatus.ER,
        "M55 en route",
    )
    assert proposal("M55 on scene, was en route", world) == ("M55", UnitStatus.OS, "M55 on scene")
    # the first phrase not allowed: nothing, even if a later one would be
    assert proposal("M55 transporting soon, on scene now", world) is None


@pytest.mark.parametrize(
    "said",
    [
        "scenery on the way",
        "on scenery",
        "don scene",
        "on scene-side",
        "unavailable",
        "en routed",
        "nothing to report",
    ],
)
def test_phrases_match_on_word_boundaries(world: World, said: str) -> None:
    assert proposal(f"M55 {said}", world) is None


def test_with_no_plan_nothing_is_proposed(world: World) -> None:
    read = read_radio_line("M55 on scene", world, None)
    assert isinstance(read, RadioLine) and read.proposal is None


# --- RL on the command line -----------------------------------------------------------------


def test_rl_logs_the_line_and_offers_the_status(world: World) -> None:
    result = parse("RL m55, on scene", world, T0, radio=PLAN)
    assert isinstance(result, Ok)
    [command] = result.commands
    assert isinstance(command, RadioLog)
    assert (command.unit_id, command.text) == ("M55", "on scene")
    assert result.summary == "Radio log · M55: on scene"
    assert result.offer == Offer(
        [UnitSetStatus(unit_id="M55", status=UnitStatus.OS)], "M55 on scene"
    )
    assert result.offer.prompt == "Enter sets M55 on scene · Esc: no"
    # the entry and its proposal pass the rules, in order
    for args in (*result.commands, *result.offer.commands):
        for data in decide(world, args, DecisionContext("bob", T0 + 1)):
            world.apply(data, T0 + 1, "bob")
    assert world.units["M55"].status is UnitStatus.OS
    assert world.incidents[MED].narrative[-1].text == "Radio M55: on scene"


def test_rl_alias_and_no_offer(world: World) -> None:
    result = parse("radio 7055 copy", world, T0, radio=PLAN)
    assert isinstance(result, Ok) and result.offer is None
    assert result.summary == "Radio log · M55: copy"
    no_plan = parse("RL M55 on scene", world, T0)
    assert isinstance(no_plan, Ok) and no_plan.offer is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("RL", Problem("RL needs who spoke and what was said, e.g. RL E12 on scene", 2)),
        ("RL   ", Problem("RL needs who spoke and what was said, e.g. RL E12 on scene", 5)),
        ("RL x9 on scene", Problem(f"X9 {UNKNOWN}", 3)),
        ("rl  zz9 copy", Problem(f"ZZ9 {UNKNOWN}", 4)),
        ("RL M55", Problem("what did M55 say?", 6)),
    ],
)
def test_rl_problems(world: World, text: str, expected: Problem) -> None:
    assert parse(text, world, T0, radio=PLAN) == expected


# --- CH on the command line -----------------------------------------------------------------


def test_ch_puts_an_incident_on_a_channel_of_the_plan(world: World) -> None:
    assert parse("CH 123 fire tac 2", world, T0, radio=PLAN) == Ok(
        [RadioAssignChannel(incident_id=FIRE, channel="FIRE TAC 2")], "F2612-000123 on FIRE TAC 2"
    )
    assert parse("ch 124   EMS  tac 1", world, T0, radio=PLAN) == Ok(
        [RadioAssignChannel(incident_id=MED, channel="EMS TAC 1")], "F2612-000124 on EMS TAC 1"
    )


def test_ch_dash_takes_it_off_its_channel(world: World) -> None:
    assert parse("CH 123 -", world, T0, radio=PLAN) == Ok(
        [RadioAssignChannel(incident_id=FIRE, channel="")], "F2612-000123: no channel"
    )


def test_ch_refuses_a_channel_not_in_the_plan_and_lists_them(world: World) -> None:
    names = ", ".join(channel.name for channel in PLAN.channels)
    assert names.startswith("FIRE DISPATCH, EMS DISPATCH, FIRE TAC 1")
    assert parse("CH 123 fire tac 9", world, T0, radio=PLAN) == Problem(
        f"no channel FIRE TAC 9 — channels are {names}", 7
    )


def test_ch_without_a_plan_takes_any_channel(world: World) -> None:
    assert parse("CH 123 county mutual aid", world, T0) == Ok(
        [RadioAssignChannel(incident_id=FIRE, channel="COUNTY MUTUAL AID")],
        "F2612-000123 on COUNTY MUTUAL AID",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CH", Problem("CH needs an incident and a channel, e.g. CH 123 FIRE TAC 2", 2)),
        ("CH 123", Problem("CH needs an incident and a channel, e.g. CH 123 FIRE TAC 2", 6)),
        ("CH 999 fire tac 2", Problem("no incident 999", 3)),
    ],
)
def test_ch_problems(world: World, text: str, expected: Problem) -> None:
    assert parse(text, world, T0, radio=PLAN) == expected


# --- completion -----------------------------------------------------------------------------


def test_complete_offers_units_after_rl_and_open_incidents_after_ch(world: World) -> None:
    assert complete("RL ", world) == ["B2", "E2", "E12", "M55", "T3"]
    assert complete("rl e", world) == ["E2", "E12"]
    assert complete("RL E12 on ", world) == []  # free text
    assert complete("CH ", world) == ["F2612-000124", "F2612-000123"]  # newest first
    for unit_id in ("E12", "T3"):
        run(world, UnitSetStatus(unit_id=unit_id, status=UnitStatus.AV), T0)
    run(world, IncidentClose(incident_id=FIRE, disposition="OUT"), T0)
    assert complete("CH ", world) == ["F2612-000124"]  # open ones only
    assert complete("CH 124 fire", world) == []
    assert "RL" in complete("R", world) and "CH" in complete("C", world)


def test_a_status_proposal_words_its_status() -> None:
    found = StatusProposal("E12", UnitStatus.AV, "E12 available")
    assert found.command() == UnitSetStatus(unit_id="E12", status=UnitStatus.AV)


def test_punctuation_is_no_speaker_and_no_text(world: World) -> None:
    assert read_radio_line(": on scene", world, PLAN) == RadioLineProblem(
        "start with who spoke, e.g. E12 on scene", 0
    )
    assert read_radio_line("E12 ,", world, PLAN) == RadioLineProblem("what did E12 say?", 5)
    assert line("E12: on scene", world).command.text == "on scene"
