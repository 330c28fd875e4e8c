"""The dispatcher's command line (desktop/commandline.py): parsing, completion, history.

Contract: `parse` turns a line into commands or a `Problem` with a message and a position; it
resolves unit and incident references against the world it is given and never raises, submits
or changes the world. `complete` offers whole replacement tokens for the token being typed.
`History` recalls lines like a shell.
"""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.command_history import History
from desktop.commandline import (
    COMPLETION_LIMIT,
    DEFAULT_PRIORITY,
    VERBS,
    Go,
    Ok,
    Problem,
    complete,
    find_incident,
    find_unit,
    parse,
)
from desktop.domain.catalog import decide
from desktop.domain.incidents import (
    IncidentAddNote,
    IncidentClose,
    IncidentClosed,
    IncidentCreate,
    IncidentCreated,
    IncidentUpdate,
)
from desktop.domain.kinds import DecisionContext, EventData
from desktop.domain.links import IncidentLinkTo
from desktop.domain.types import Incident, IncidentStatus, Location, Unit, UnitStatus
from desktop.domain.units import UnitAdded, UnitDispatch, UnitDispatched, UnitSetStatus
from desktop.domain.world import World

T0 = 1_700_000_000.0
ID_123 = "0190a1b2-0000-7000-8000-00000000000a"  # F2611-000123, open, T3 dispatched to it
ID_42 = "0190a1b2-0000-7000-8000-00000000000b"  # F2611-000042, closed (same 8-char id start)
ID_7A = "0190c3d4-0000-7000-8000-00000000000c"  # F2611-000007, open
ID_7B = "0190e5f6-0000-7000-8000-00000000000d"  # F2612-000007, open, newer
ID_PENDING = "0190ffee-1234-7abc-8def-0123456789ab"  # number not yet assigned, newest


def _incident(incident_id: str, number: str | None) -> Incident:
    location = Location(address="1 Main St")
    return Incident(id=incident_id, number=number, type="FIRE", priority=2, location=location)


def _unit(unit_id: str, status: UnitStatus = UnitStatus.AQ) -> Unit:
    return Unit(id=unit_id, type="engine", status=status)


def make_world() -> World:
    """Units E2 AV, E10 AQ, E12 AQ, M55 AV, M7 OOS, T3 DP on F2611-000123; incidents as above."""
    events: list[tuple[EventData, float]] = [
        (UnitAdded(unit=_unit("E2", UnitStatus.AV)), T0),
        (UnitAdded(unit=_unit("E10")), T0),
        (UnitAdded(unit=_unit("E12")), T0),
        (UnitAdded(unit=_unit("M55", UnitStatus.AV)), T0),
        (UnitAdded(unit=_unit("M7", UnitStatus.OOS)), T0),
        (UnitAdded(unit=_unit("T3", UnitStatus.AV)), T0),
        (IncidentCreated(incident=_incident(ID_42, "F2611-000042")), T0 + 10),
        (IncidentCreated(incident=_incident(ID_7A, "F2611-000007")), T0 + 20),
        (IncidentCreated(incident=_incident(ID_123, "F2611-000123")), T0 + 30),
        (IncidentCreated(incident=_incident(ID_7B, "F2612-000007")), T0 + 40),
        (IncidentCreated(incident=_incident(ID_PENDING, None)), T0 + 50),
        (UnitDispatched(unit_id="T3", incident_id=ID_123), T0 + 60),
        (IncidentClosed(incident_id=ID_42, disposition="CANCELLED"), T0 + 70),
    ]
    world = World()
    for data, at in events:
        world.apply(data, at)
    return world


@pytest.fixture
def world() -> World:
    return make_world()


def ok(text: str, world: World) -> Ok:
    result = parse(text, world, T0)
    assert isinstance(result, Ok), result
    return result


def problem(text: str, world: World) -> Problem:
    result = parse(text, world, T0)
    assert isinstance(result, Problem), result
    return result


def accepted(world: World, result: Ok) -> None:
    """Every command of ``result`` passes the business rules, applied in order."""
    world = world.fork()
    for command in result.commands:
        for data in decide(world, command, DecisionContext(actor="d", now=T0)):
            world.apply(data, T0)


# --- NEW -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "priority", "address"),
    [
        ("NEW MEDICAL P2 1 Market St", "MEDICAL", 2, "1 Market St"),
        ("new medical p2 1 Market St", "MEDICAL", 2, "1 Market St"),
        ("NEW FIRE 1 555 Mission St", "FIRE", 1, "555 Mission St"),
        ("NEW FIRE 1 Market St", "FIRE", DEFAULT_PRIORITY, "1 Market St"),  # house number
        ("NEW FIRE Market St & 5th St", "FIRE", DEFAULT_PRIORITY, "Market St & 5th St"),
        ("NEW P1 FIRE 555 Mission St", "FIRE", 1, "555 Mission St"),  # priority first
        ("  NEW  Fire,P4, 10 Main St, Apt 3  ", "FIRE", 4, "10 Main St, Apt 3"),
    ],
)
def test_new_creates_an_incident(
    world: World, text: str, kind: str, priority: int, address: str
) -> None:
    result = ok(text, world)
    (command,) = result.commands
    assert isinstance(command, IncidentCreate)
    assert (command.type, command.priority, command.location.address) == (kind, priority, address)
    assert command.incident_id not in world.incidents
    shown = f"P{priority}" + (" (default)" if priority == DEFAULT_PRIORITY else "")
    assert result.summary == f"new {kind} {shown} at {address}"
    accepted(world, result)


def test_new_takes_a_fresh_id_every_time(world: World) -> None:
    first, second = ok("NEW FIRE 1 Main St", world), ok("NEW FIRE 1 Main St", world)
    assert isinstance(first.commands[0], IncidentCreate)
    assert isinstance(second.commands[0], IncidentCreate)
    assert first.commands[0].incident_id != second.commands[0].incident_id


@pytest.mark.parametrize(
    ("text", "position"), [("NEW FIRE P9 1 Main St", 9), ("NEW FIRE 0 12 Main St", 9)]
)
def test_new_refuses_a_priority_out_of_range(world: World, text: str, position: int) -> None:
    found = problem(text, world)
    assert found.message.endswith("priorities are P1-P5")
    assert found.position == position


CARD_TYPES = ("FIRE-STRUCTURE", "FIRE-VEHICLE", "FIRE-OUTSIDE", "MEDICAL", "TC")


@pytest.mark.parametrize(
    ("text", "kind", "priority", "address"),
    [
        ("NEW FIRE-STRUCTURE P1 1200 Market St", "FIRE-STRUCTURE", 1, "1200 Market St"),
        ("new fire-structure p1 1200 Market St", "FIRE-STRUCTURE", 1, "1200 Market St"),
        ("NEW P2 medical 1 Main St", "MEDICAL", 2, "1 Main St"),
    ],
)
def test_new_takes_the_run_cards_type_codes(
    world: World, text: str, kind: str, priority: int, address: str
) -> None:
    result = parse(text, world, T0, incident_types=CARD_TYPES)
    assert isinstance(result, Ok), result
    (command,) = result.commands
    assert isinstance(command, IncidentCreate)
    assert (command.type, command.priority, command.location.address) == (kind, priority, address)
    assert result.summary == f"new {kind} P{priority} at {address}"


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        (
            "NEW STRUCTURE FIRE P1 1200 Market St",  # issue #10: was STRUCTURE, P3, "FIRE P1 ..."
            "a type is one word: FIRE-STRUCTURE (Tab completes it)",
            4,
        ),
        (
            "NEW STRUCTURE P1 1200 Market St",
            "no incident type STRUCTURE: did you mean FIRE-STRUCTURE? (Tab completes)",
            4,
        ),
        (
            "NEW FIRE P1 1 Main St",
            "no incident type FIRE: did you mean FIRE-STRUCTURE or FIRE-VEHICLE or "
            "FIRE-OUTSIDE? (Tab completes)",
            4,
        ),
        (
            "NEW MEDICLA P1 1 Main St",
            "no incident type MEDICLA: did you mean MEDICAL? (Tab completes)",
            4,
        ),
        ("NEW XYZZY P1 1 Main St", "no incident type XYZZY: Tab lists the run cards' types", 4),
        (
            "NEW MEDICAL 1 Main St P1",
            "P1 looks like a priority: put it right after the type, e.g. NEW MEDICAL P1 <address>",
            22,
        ),
        ("NEW MEDICAL P7 1 Main St", "no priority P7: priorities are P1-P5", 12),
    ],
)
def test_new_refuses_what_it_cannot_read_and_says_why(
    world: World, text: str, message: str, position: int
) -> None:
    assert parse(text, world, T0, incident_types=CARD_TYPES) == Problem(message, position)


def test_new_says_when_the_priority_is_the_default(world: World) -> None:
    result = parse("NEW MEDICAL 1 Main St", world, T0, incident_types=CARD_TYPES)
    assert isinstance(result, Ok)
    assert result.summary == "new MEDICAL P3 (default) at 1 Main St"


@pytest.mark.parametrize(
    ("text", "candidates"),
    [
        ("NEW ", sorted(CARD_TYPES)),
        ("NEW fi", ["FIRE-OUTSIDE", "FIRE-STRUCTURE", "FIRE-VEHICLE"]),
        ("NEW STRU", ["FIRE-STRUCTURE"]),  # by any word of the code
        ("new med", ["MEDICAL"]),
        ("NEW FIRE-STRUCTURE ", ["P1", "P2", "P3", "P4", "P5"]),
        ("NEW FIRE-STRUCTURE p", ["P1", "P2", "P3", "P4", "P5"]),
        ("NEW FIRE-STRUCTURE 12", []),
    ],
)
def test_new_completes_types_and_priorities(world: World, text: str, candidates: list[str]) -> None:
    assert complete(text, world, incident_types=CARD_TYPES) == candidates


@pytest.mark.parametrize("text", ["NEW", "NEW FIRE", "new P1", "NEW   "])
def test_new_needs_a_type_and_an_address(world: World, text: str) -> None:
    found = problem(text, world)
    assert found.message.startswith("NEW needs a type and an address")
    assert found.position == len(text)


@pytest.mark.parametrize("text", ["NEW FIRE P1", "NEW P1 FIRE", "NEW FIRE P2 ,"])
def test_new_needs_an_address_after_the_priority(world: World, text: str) -> None:
    assert problem(text, world).message == "NEW needs an address after the priority"


# --- DISP ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "DISP E12 M55 F2611-000123",
        "disp e12,m55 f2611-000123",
        "DISP E12, M55, 123",
        "Disp E12 M55 000123",
        "DISP E12 M55 F2611-123",
        "DISP E12 M55 0190a1b2-0000-7000-8000-00000000000a",
        "DISP E12 M55 e12 F2611-000123",  # a unit named twice counts once
        "DP E12 M55 123",
        "DISPATCH E12 M55 123",
    ],
)
def test_dispatch(world: World, text: str) -> None:
    result = ok(text, world)
    assert result.commands == [UnitDispatch(incident_id=ID_123, unit_ids=["E12", "M55"])]
    assert result.summary == "E12, M55 dispatched to F2611-000123"
    accepted(world, result)


def test_dispatch_to_an_incident_whose_number_is_pending(world: World) -> None:
    result = ok("DISP E2 0190ffee", world)
    assert result.commands == [UnitDispatch(incident_id=ID_PENDING, unit_ids=["E2"])]
    assert result.summary == "E2 dispatched to 0190ffee (number pending)"
    accepted(world, result)


def test_dispatch_leaves_availability_to_the_rules(world: World) -> None:
    result = ok("DISP M7 0190c3d4", world)  # M7 is out of service: the service refuses it
    assert result.commands == [UnitDispatch(incident_id=ID_7A, unit_ids=["M7"])]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("DISP", "DISP needs at least one unit and an incident", 4),
        ("DISP E12", "DISP needs at least one unit and an incident", 8),
        ("DISP E12 M55", "DISP needs an incident after the units — M55 is a unit", 12),
        ("DISP E99 123", "no unit E99", 5),
        ("DISP E12 e99, 123", "no unit E99", 9),
        ("DISP E12 999", "no incident 999", 9),
        ("DISP E12 F2611-000124", "no incident F2611-000124", 9),
        ("DISP E12 0190c", "no incident 0190c", 9),  # under 6 characters of an id
        ("DISP E12 42", "incident F2611-000042 is closed", 9),
        (
            "DISP E12 7",
            "incident 7 is ambiguous: F2612-000007, F2611-000007",
            9,
        ),
    ],
)
def test_dispatch_problems(world: World, text: str, message: str, position: int) -> None:
    assert problem(text, world) == Problem(message, position)


# --- status verbs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("verb", "words"),
    [
        ("ER", "en route"),
        ("OS", "on scene"),
        ("TR", "transporting"),
        ("AH", "at hospital"),
        ("AV", "available"),
        ("AQ", "in quarters"),
        ("OOS", "out of service"),
    ],
)
def test_status_verbs_make_one_command_per_unit(world: World, verb: str, words: str) -> None:
    for text in (f"{verb} E12 m55", f"{verb.lower()} e12,M55", f"{verb} E12, M55 E12"):
        result = ok(text, world)
        status = UnitStatus(verb)
        assert result.commands == [
            UnitSetStatus(unit_id="E12", status=status),
            UnitSetStatus(unit_id="M55", status=status),
        ]
        assert result.summary == f"E12, M55 {words} ({verb})"


def test_status_verbs_leave_transitions_to_the_rules(world: World) -> None:
    result = ok("OS T3", world)  # T3 is DP: allowed
    accepted(world, result)
    assert ok("TR E12", world).commands == [UnitSetStatus(unit_id="E12", status=UnitStatus.TR)]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("ER", "ER needs at least one unit", 2),
        ("oos ,", "OOS needs at least one unit", 5),
        ("AV E12 X9", "no unit X9", 7),
        ("OS 123", "no unit 123", 3),
    ],
)
def test_status_problems(world: World, text: str, message: str, position: int) -> None:
    assert problem(text, world) == Problem(message, position)


def test_units_match_ignoring_case_but_an_exact_id_wins() -> None:
    world = make_world()
    world.apply(UnitAdded(unit=_unit("e12")), T0)
    assert ok("AV e12", world).commands == [UnitSetStatus(unit_id="e12", status=UnitStatus.AV)]
    assert ok("AV E12", world).commands == [UnitSetStatus(unit_id="E12", status=UnitStatus.AV)]


def test_a_unit_matching_several_ids_but_none_exactly_is_ambiguous() -> None:
    world = make_world()
    world.apply(UnitAdded(unit=_unit("Ab1")), T0)
    world.apply(UnitAdded(unit=_unit("aB1")), T0)
    assert problem("AV E12 ab1", world) == Problem("unit ab1 is ambiguous: Ab1, aB1", 7)


# --- NOTE and CLOSE ------------------------------------------------------------------------


def test_note_keeps_the_text_as_typed(world: World) -> None:
    result = ok("note 123   Caller says: 2nd floor, smoke; RP is O'Brien  ", world)
    assert result.commands == [
        IncidentAddNote(incident_id=ID_123, text="Caller says: 2nd floor, smoke; RP is O'Brien")
    ]
    assert result.summary == "note added to F2611-000123"
    accepted(world, result)


def test_note_reaches_closed_and_pending_incidents(world: World) -> None:
    # a note on a closed incident is allowed by the rules, so parse lets it through
    assert ok("NOTE 42 late info", world).commands == [
        IncidentAddNote(incident_id=ID_42, text="late info")
    ]
    result = ok("NOTE 0190FFEE-12 ok", world)  # id start, any case
    assert result.commands == [IncidentAddNote(incident_id=ID_PENDING, text="ok")]
    assert result.summary == "note added to 0190ffee (number pending)"


def test_close(world: World) -> None:
    result = ok("CLOSE F2611-7 Cancelled by caller", world)
    assert result.commands == [IncidentClose(incident_id=ID_7A, disposition="Cancelled by caller")]
    assert result.summary == "F2611-000007 closed: Cancelled by caller"
    accepted(world, result)


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("NOTE", "NOTE needs an incident and some text", 4),
        ("NOTE 123", "NOTE needs an incident and some text", 8),
        ("NOTE 123 ", "NOTE needs an incident and some text", 9),
        ("NOTE 999 hello", "no incident 999", 5),
        ("NOTE 7 hello", "incident 7 is ambiguous: F2612-000007, F2611-000007", 5),
        ("CLOSE", "CLOSE needs an incident and a disposition", 5),
        ("CLOSE 123", "CLOSE needs an incident and a disposition", 9),
        ("CLOSE 42 DUPLICATE", "incident F2611-000042 is already closed", 6),
        ("CLOSE abcdefg DUPLICATE", "no incident abcdefg", 6),
    ],
)
def test_note_and_close_problems(world: World, text: str, message: str, position: int) -> None:
    assert problem(text, world) == Problem(message, position)


# --- ALARM ---------------------------------------------------------------------------------


@pytest.mark.parametrize("level", ["2", "2nd", "2ND"])
def test_alarm_strikes_a_level(world: World, level: str) -> None:
    result = ok(f"alarm 123 {level}", world)
    assert result.commands == [IncidentUpdate(incident_id=ID_123, alarm=2)]
    assert result.summary == "F2611-000123: 2nd alarm"
    accepted(world, result)


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("ALARM", "ALARM needs an incident and a level, e.g. ALARM 123 2", 5),
        ("ALARM 123", "ALARM needs an incident and a level, e.g. ALARM 123 2", 9),
        ("ALARM 123 2 3", "ALARM needs an incident and a level, e.g. ALARM 123 2", 13),
        ("ALARM 123 6", "'6' is not an alarm level: 1-5, or 1st-5th", 10),
        ("ALARM 123 second", "'second' is not an alarm level: 1-5, or 1st-5th", 10),
        ("ALARM 42 2", "incident F2611-000042 is closed", 6),
        ("ALARM 999 2", "no incident 999", 6),
    ],
)
def test_alarm_problems(world: World, text: str, message: str, position: int) -> None:
    assert problem(text, world) == Problem(message, position)


def test_link_and_merge_name_two_incidents(world: World) -> None:
    link = ok("LINK F2612-000007 123", world)
    assert link.commands == [IncidentLinkTo(incident_id=ID_7B, target_id=ID_123, relation="child")]
    assert link.summary == "F2612-000007 linked as a child of F2611-000123"
    accepted(world, link)
    merge = ok("merge F2611-000007 F2612-000007", world)
    assert merge.commands == [
        IncidentLinkTo(incident_id=ID_7A, target_id=ID_7B, relation="replaced")
    ]
    assert merge.summary == "F2611-000007 merged into F2612-000007"
    accepted(world, merge)
    assert problem("LINK 123", world) == Problem("LINK needs two incidents, e.g. LINK 124 123", 8)
    assert problem("MERGE 123 123", world).message == "MERGE needs two different incidents"
    assert complete("MERGE ", world)  # incidents offered


# --- verbs, references, general ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("DSIP E12 123", "unknown verb 'DSIP' — did you mean DISP?"),
        ("dips E12 123", "unknown verb 'dips' — did you mean DISP?"),
        ("CLSOE 123 x", "unknown verb 'CLSOE' — did you mean CLOSE?"),
        ("NWE FIRE 1 Main", "unknown verb 'NWE' — did you mean NEW?"),
        ("DISPTCH E12 123", "unknown verb 'DISPTCH' — did you mean DISP?"),  # via the alias
        ("OSS E12", "unknown verb 'OSS' — did you mean OS or OOS?"),
        (
            "HELP",
            "unknown verb 'HELP' — verbs are NEW, DISP, ER, OS, TR, AH, AV, AQ, OOS, NOTE, "
            "CLOSE, ALARM, GO, LINK, MERGE, RL, CH",
        ),
        ("e12 OS", "start with a verb: E12 is a unit, e.g. OS E12"),
    ],
)
def test_unknown_verbs(world: World, text: str, message: str) -> None:
    assert problem(text, world) == Problem(message, 0)


def test_unknown_verb_position_skips_leading_blanks(world: World) -> None:
    assert problem("   XYZ", world).position == 3


@pytest.mark.parametrize("text", ["", "   ", " , ,", "\t\n"])
def test_an_empty_line_is_a_problem_without_position(world: World, text: str) -> None:
    assert problem(text, world) == Problem("type a command, e.g. DISP E12 123", None)


@pytest.mark.parametrize(
    ("reference", "incident_id"),
    [
        ("F2611-000123", ID_123),  # full number
        ("f2611-000123", ID_123),  # in any case
        ("F2611-123", ID_123),  # number without its leading zeros
        ("123", ID_123),  # numeric tail
        ("000123", ID_123),  # numeric tail with its zeros
        ("00000123", ID_123),
        ("F2612-7", ID_7B),  # the part before the dash tells the two 7s apart
        ("F2612-000007", ID_7B),
        ("0190c3", ID_7A),  # six characters of the id
        ("0190C3D4-0000", ID_7A),
        (ID_7B, ID_7B),  # the whole id
        ("0190ffee", ID_PENDING),  # number pending: reachable by its id
    ],
)
def test_incident_references(world: World, reference: str, incident_id: str) -> None:
    result = ok(f"NOTE {reference} x", world)
    assert result.commands == [IncidentAddNote(incident_id=incident_id, text="x")]


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("7", "incident 7 is ambiguous: F2612-000007, F2611-000007"),  # both open
        ("000007", "incident 000007 is ambiguous: F2612-000007, F2611-000007"),
        ("0190", "no incident 0190"),  # fewer than 6 characters of an id
        ("0190a", "no incident 0190a"),
    ],
)
def test_ambiguous_or_short_references_are_refused(
    world: World, reference: str, message: str
) -> None:
    assert problem(f"NOTE {reference} x", world) == Problem(message, 5)


def test_a_short_reference_prefers_the_one_open_incident(world: World) -> None:
    # 0190a1b2 starts the ids of F2611-000123 (open) and F2611-000042 (closed)
    assert ok("DISP E12 0190a1b2", world).commands == [
        UnitDispatch(incident_id=ID_123, unit_ids=["E12"])
    ]
    # last month's closed F2610-000123 does not make "123" ambiguous
    old = _incident("0180aaaa-0000-7000-8000-000000000000", "F2610-000123")
    world.apply(IncidentCreated(incident=old), T0 - 1000)
    world.apply(IncidentClosed(incident_id=old.id, disposition="DONE"), T0 - 900)
    assert ok("CLOSE 123 DONE", world).commands == [
        IncidentClose(incident_id=ID_123, disposition="DONE")
    ]
    assert ok("NOTE F2610-123 late", world).commands == [  # the full form still reaches it
        IncidentAddNote(incident_id=old.id, text="late")
    ]
    # several closed ones and no open one: ambiguous
    world.apply(IncidentClosed(incident_id=ID_123, disposition="DONE"), T0 + 100)
    assert problem("NOTE 123 x", world).message == (
        "incident 123 is ambiguous: F2611-000123, F2610-000123"
    )


def test_ambiguity_lists_at_most_three() -> None:
    world = make_world()
    for n in range(5):
        incident = _incident(f"0190dddd-0000-7000-8000-00000000000{n}", f"F26{n}-000555")
        world.apply(IncidentCreated(incident=incident), T0 + n)
    message = problem("NOTE 555 x", world).message
    assert message == "incident 555 is ambiguous: F264-000555, F263-000555, F262-000555, …"


def test_pending_incidents_twinned_by_their_id_start_are_listed_by_whole_id() -> None:
    world = make_world()
    twin = "0190ffee-1299-7000-8000-000000000000"  # created in the same minute as ID_PENDING
    world.apply(IncidentCreated(incident=_incident(twin, None)), T0 + 60)
    assert problem("NOTE 0190ffee x", world).message == (
        f"incident 0190ffee is ambiguous: {twin}, {ID_PENDING}"
    )
    assert ok("NOTE 0190ffee-123 x", world).commands == [
        IncidentAddNote(incident_id=ID_PENDING, text="x")
    ]
    assert complete("NOTE 0190ffee-12", world) == [twin, ID_PENDING]


def test_parse_never_changes_the_world(world: World) -> None:
    before = msgspec.json.encode([world.incidents, world.units])
    for text in ("DISP E12 123", "OS T3", "CLOSE 7 x", "NEW FIRE 1 Main", "NOTE 123 hi"):
        parse(text, world, T0)
    assert msgspec.json.encode([world.incidents, world.units]) == before


# --- completion ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", list(VERBS)),
        ("   ", list(VERBS)),
        ("d", ["DISP"]),
        ("a", ["AH", "AV", "AQ", "ALARM"]),
        ("O", ["OS", "OOS"]),
        ("zz", []),
    ],
)
def test_complete_verbs(world: World, text: str, expected: list[str]) -> None:
    assert complete(text, world) == expected


def test_complete_dispatch_units_available_first_in_natural_order(world: World) -> None:
    # AV/AQ: E2, E10, E12, M55, T3 is DP now; then the others: M7 (OOS), T3 (DP)
    assert complete("DISP ", world) == ["E2", "E10", "E12", "M55", "M7", "T3"]
    assert complete("disp e", world) == ["E2", "E10", "E12"]
    assert complete("DISP E1", world) == ["E10", "E12"]


def test_complete_dispatch_after_a_unit_offers_units_then_open_incidents(world: World) -> None:
    assert complete("DISP E12 ", world) == [
        "E2",
        "E10",
        "M55",
        ID_PENDING,  # open incidents, newest first (the closed F2611-000042 is left out)
        "F2612-000007",
        "F2611-000123",
        "F2611-000007",
        "M7",
        "T3",
    ]
    assert complete("DISP E12,M55,", world)[:2] == ["E2", "E10"]
    assert complete("DISP E12 12", world) == ["F2611-000123"]  # by numeric tail
    assert complete("DISP E12 0001", world) == ["F2611-000123"]
    assert complete("DISP E12 f2611", world) == ["F2611-000123", "F2611-000007"]
    assert complete("DISP E12 0190f", world) == [ID_PENDING]  # number pending: the whole id


def test_complete_status_units_that_can_take_the_status_first(world: World) -> None:
    assert complete("OS ", world) == ["T3", "E2", "E10", "E12", "M7", "M55"]
    assert complete("AV ", world) == ["E10", "E12", "M7", "T3", "E2", "M55"]
    assert complete("AV E12 ", world) == ["E10", "M7", "T3", "E2", "M55"]
    assert complete("oos m", world) == ["M55", "M7"]


def test_complete_incidents_for_note_and_close(world: World) -> None:
    open_newest_first = [ID_PENDING, "F2612-000007", "F2611-000123", "F2611-000007"]
    assert complete("NOTE ", world) == [*open_newest_first, "F2611-000042"]
    assert complete("CLOSE ", world) == open_newest_first
    assert complete("ALARM ", world) == open_newest_first
    assert complete("ALARM 123 ", world) == []
    assert complete("NOTE 4", world) == ["F2611-000042"]
    assert complete("note f2612", world) == ["F2612-000007"]


@pytest.mark.parametrize(
    "text",
    ["NEW ", "NEW FIRE P1 ", "NEW FIRE P1 1 Ma", "NOTE 123 ", "NOTE 123 smo", "CLOSE 7 C", "XYZ "],
)
def test_no_candidates_for_free_text_or_unknown_verbs(world: World, text: str) -> None:
    assert complete(text, world) == []


def test_natural_sort_and_limit() -> None:
    world = World()
    for n in range(120, 0, -1):
        world.apply(UnitAdded(unit=_unit(f"E{n}")), T0)
    for unit_id in ("e3a", "E03", "E3b"):
        world.apply(UnitAdded(unit=_unit(unit_id)), T0)
    candidates = complete("ER ", world)
    assert len(candidates) == COMPLETION_LIMIT
    assert candidates[:8] == ["E1", "E2", "E03", "E3", "e3a", "E3b", "E4", "E5"]
    assert complete("ER E1", world)[:5] == ["E1", "E10", "E11", "E12", "E13"]
    assert complete("ER E10", world) == ["E10", "E100", *[f"E{n}" for n in range(101, 110)]]


# --- history -------------------------------------------------------------------------------


def test_history_browses_like_a_shell() -> None:
    history = History()
    for line in ("DISP E12 123", "OS E12", "NOTE 123 hi"):
        history.push(line)
    assert history.previous("ER M5") == "NOTE 123 hi"
    assert history.previous("NOTE 123 hi") == "OS E12"
    assert history.previous("OS E12") == "DISP E12 123"
    assert history.previous("DISP E12 123") == "DISP E12 123"  # stays on the oldest
    assert history.next() == "OS E12"
    assert history.next() == "NOTE 123 hi"
    assert history.next() == "ER M5"  # back to what was being typed
    assert history.next() is None  # not browsing any more
    assert history.previous("") == "NOTE 123 hi"  # browsing starts again from the newest


def test_history_keeps_no_blanks_nor_consecutive_duplicates() -> None:
    history = History()
    for line in ("OS E12", "  OS E12  ", "", "   ", "ER M55", "OS E12"):
        history.push(line)
    assert history.entries() == ["OS E12", "ER M55", "OS E12"]


def test_history_push_ends_browsing_and_forgets_the_draft() -> None:
    history = History()
    history.push("OS E12")
    history.push("ER M55")
    assert history.previous("draft") == "ER M55"
    history.push("AV E12")
    assert history.next() is None
    assert history.previous("") == "AV E12"
    history.reset()
    assert history.next() is None


def test_history_is_bounded() -> None:
    history = History(max_length=3)
    for n in range(5):
        history.push(f"AV E{n}")
    assert history.entries() == ["AV E2", "AV E3", "AV E4"]
    assert [history.previous("") for _ in range(4)] == ["AV E4", "AV E3", "AV E2", "AV E2"]
    assert len(History().entries()) == 0
    with pytest.raises(ValueError):
        History(max_length=0)


def test_empty_history_recalls_nothing() -> None:
    history = History()
    assert history.previous("typing") is None
    assert history.next() is None


# --- help ----------------------------------------------------------------------------------


def test_verbs_cover_every_settable_status_and_each_has_help() -> None:
    assert list(VERBS) == [
        "NEW",
        "DISP",
        "ER",
        "OS",
        "TR",
        "AH",
        "AV",
        "AQ",
        "OOS",
        "NOTE",
        "CLOSE",
        "ALARM",
        "GO",
        "LINK",
        "MERGE",
        "RL",
        "CH",
    ]
    assert {s.value for s in UnitStatus} - set(VERBS) == {"DP"}  # DP is DISP's alias
    assert "DP" in VERBS["DISP"].aliases
    for name, verb in VERBS.items():
        assert verb.name == name and verb.usage.startswith(name)
        assert verb.help and "\n" not in verb.help


# --- never raise ---------------------------------------------------------------------------

_VOCABULARY = [
    *VERBS,
    "dp",
    "E12",
    "e2",
    "M7",
    "T3",
    "123",
    "7",
    "0",
    "000",
    "F2611-",
    "F2611-000123",
    "-7",
    "0190ffee",
    "0190a1b2",
    "P1",
    "p99999",
    "1",
    ",",
    " ",
    "  ",
    "\t",
    "é",
    "٣",
    "²",
    "ß",
]
_WORLD = make_world()


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_parse_and_complete_never_raise_on_any_text(text: str) -> None:
    assert isinstance(parse(text, _WORLD, T0), Ok | Go | Problem)
    assert all(isinstance(c, str) for c in complete(text, _WORLD))


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_VOCABULARY) | st.text(max_size=4), max_size=8))
def test_parse_and_complete_never_raise_on_token_soup(words: list[str]) -> None:
    text = " ".join(words)
    result = parse(text, _WORLD, T0)
    if isinstance(result, Problem):
        assert result.message
        assert result.position is None or 0 <= result.position <= len(text)
    elif isinstance(result, Go):
        assert result.entity_id and result.summary
    else:
        assert result.commands and result.summary
    assert len(complete(text, _WORLD)) <= COMPLETION_LIMIT


def test_states_used_above() -> None:
    """Guard the fixture's assumptions the expectations depend on."""
    world = make_world()
    assert world.units["T3"].status is UnitStatus.DP
    assert world.incidents[ID_42].status is IncidentStatus.CLOSED
    assert world.incidents[ID_PENDING].number is None


# --- GO ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GO 123", Go("incident", ID_123, "incident F2611-000123 selected")),
        ("go f2611-000123", Go("incident", ID_123, "incident F2611-000123 selected")),
        ("FIND e12", Go("unit", "E12", "unit E12 selected")),
        ("GO UNIT M55", Go("unit", "M55", "unit M55 selected")),
        ("GO INCIDENT 123", Go("incident", ID_123, "incident F2611-000123 selected")),
        ("GO E99", Problem("no incident or unit E99", 3)),
        ("GO UNIT 123", Problem("no unit 123", 8)),
        ("GO", Problem("GO needs one incident or unit, e.g. GO 123 or GO E12", 2)),
    ],
)
def test_go_names_an_incident_or_a_unit(world: World, text: str, expected: object) -> None:
    assert parse(text, world, T0) == expected


def test_go_completes_open_incidents_then_units(world: World) -> None:
    assert complete("GO E1", world) == ["E10", "E12"]
    assert complete("GO 12", world) == ["F2611-000123"]
    assert complete("GO UNIT M", world) == ["M7", "M55"]


def test_find_uses_the_command_lines_reading(world: World) -> None:
    assert find_incident(world, " 123 ") == world.incidents[ID_123]
    assert find_unit(world, "m55") == world.units["M55"]
    assert find_unit(world, "E99") == Problem("no unit E99", 0)
    assert isinstance(find_incident(world, "1 2"), Problem)
