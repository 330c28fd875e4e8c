"""The radio aggregate (desktop/domain/radio.py) through `decide` and `World.apply`.

Contracts under test:
- ``radio.emergency`` records the radio's unit, that unit's incident and AVL position and the
  raised time (the activation time, never after ``now``), with a timeline line on the incident;
  a radio on no unit still raises an alarm; one active alarm per radio;
- ``radio.acknowledge`` once (the second is told who); ``radio.clear`` with a reason, recording a
  false activation, acknowledging an alarm nobody had;
- ``radio.assign_channel`` ("" releases; the same channel is no change) and its timeline wording;
- ``radio.log`` into the radio log and the incident's narrative (given, or the unit's), the
  channel taken from the incident; ``radio.mark`` once per (kind, due_at);
- the derived facts `active_alarms`, `channel_incidents`, `unit_channel`, `alarm_subject`;
- who may issue ``radio.emergency`` (`desktop.domain.roles.may_issue`).
"""

from __future__ import annotations

import pytest

from desktop.domain.catalog import COMMANDS, decide, describe_command
from desktop.domain.incidents import IncidentClose, IncidentCreate
from desktop.domain.kinds import CommandArgs, DecisionContext, DomainError, EventData
from desktop.domain.radio import (
    CHANNEL_MAX,
    RadioAcknowledge,
    RadioAlarmCleared,
    RadioAssignChannel,
    RadioClear,
    RadioEmergency,
    RadioEmergencyRaised,
    RadioLog,
    RadioLogged,
    RadioMarkAnswer,
    RadioMarked,
    active_alarms,
    alarm_subject,
    channel_incidents,
    radio_narrative,
    unit_channel,
)
from desktop.domain.roles import ROLES, may_issue
from desktop.domain.types import (
    Incident,
    LocationArgs,
    Position,
    RadioAlarm,
    RadioEntry,
    RadioMark,
    Unit,
    UnitStatus,
)
from desktop.domain.units import UnitAdded, UnitDispatch, UnitSetStatus
from desktop.domain.world import World
from desktop.protocol.errors import ErrorCode

T0 = 1_790_000_000.0
FIRE = "0190a1b2-0000-7000-8000-00000000f001"  # F2612-000123, FIRE-STRUCTURE, E12 and T3 OS
MED = "0190a1b2-0000-7000-8000-00000000f002"  # F2612-000124, MEDICAL, M55 dispatched
E12_AT = Position(lat=37.7786, lon=-122.4159, at=T0 - 5)
ALARM = "0190a1b2-0000-7000-8000-0000000a1a01"
ALARM_2 = "0190a1b2-0000-7000-8000-0000000a1a02"


def run(world: World, args: CommandArgs, now: float, actor: str = "ann") -> list[EventData]:
    """Decide ``args`` on ``world`` and apply its events; the events."""
    numbers = iter(["F2612-000123", "F2612-000124", "F2612-000125"])
    ctx = DecisionContext(actor, now, number_incident=lambda: next(numbers, None))
    events = decide(world, args, ctx)
    for data in events:
        world.apply(data, now, actor)
    return events


def refused(world: World, args: CommandArgs, now: float, actor: str = "ann") -> DomainError:
    with pytest.raises(DomainError) as caught:
        decide(world, args, DecisionContext(actor, now))
    return caught.value


def _create(world: World, incident_id: str, kind: str, number: str, now: float) -> None:
    ctx = DecisionContext("ann", now, number_incident=lambda: number)
    args = IncidentCreate(
        incident_id=incident_id, type=kind, priority=2, location=LocationArgs(address="1 Main St")
    )
    for data in decide(world, args, ctx):
        world.apply(data, now, "ann")


def make_world() -> World:
    """Units E12 (radio 7012, at E12_AT), T3 (radio 7003), M55 (radio 7055), E2 (no radio),
    B2 (radio 7002, AQ on no incident). FIRE: E12 and T3 on scene from T0 - 600; MED: M55
    dispatched."""
    world = World()
    roster = [
        Unit(id="E12", type="ENGINE", radio_id="7012", status=UnitStatus.AQ, position=E12_AT),
        Unit(id="T3", type="TRUCK", radio_id="7003", status=UnitStatus.AQ),
        Unit(id="M55", type="MEDIC", radio_id="7055", status=UnitStatus.AV),
        Unit(id="E2", type="ENGINE", status=UnitStatus.AV),
        Unit(id="B2", type="CHIEF", radio_id="7002", status=UnitStatus.AQ),
    ]
    for unit in roster:
        world.apply(UnitAdded(unit=unit), T0 - 3600)
    _create(world, FIRE, "FIRE-STRUCTURE", "F2612-000123", T0 - 900)
    _create(world, MED, "MEDICAL", "F2612-000124", T0 - 800)
    run(world, UnitDispatch(incident_id=FIRE, unit_ids=["E12", "T3"]), T0 - 850)
    run(world, UnitSetStatus(unit_id="E12", status=UnitStatus.OS), T0 - 600)
    run(world, UnitSetStatus(unit_id="T3", status=UnitStatus.OS), T0 - 590)
    run(world, UnitDispatch(incident_id=MED, unit_ids=["M55"]), T0 - 700)
    return world


def timeline(world: World, incident_id: str) -> list[tuple[str, str]]:
    return [(e.kind, e.text) for e in world.incidents[incident_id].timeline]


def emergency(radio_id: str, alarm_id: str = ALARM, **kw: object) -> RadioEmergency:
    return RadioEmergency(alarm_id=alarm_id, radio_id=radio_id, **kw)  # type: ignore[arg-type]


# --- radio.emergency ------------------------------------------------------------------------


def test_an_emergency_records_the_unit_its_incident_and_position() -> None:
    world = make_world()
    before = len(world.incidents[FIRE].timeline)
    events = run(world, emergency("7012", channel="FIRE TAC 2", activated_at=T0 - 3), T0)
    assert events == [
        RadioEmergencyRaised(
            alarm=RadioAlarm(
                id=ALARM,
                radio_id="7012",
                channel="FIRE TAC 2",
                unit_id="E12",
                incident_id=FIRE,
                position=E12_AT,
                raised_at=T0 - 3,
            )
        )
    ]
    assert world.alarms[ALARM] == events[0].alarm  # type: ignore[attr-defined]
    assert timeline(world, FIRE)[before:] == [
        ("radio.emergency_raised", "RADIO EMERGENCY: E12 (radio 7012)")
    ]
    assert describe_command(world, emergency("7012")) == "emergency of radio 7012 (E12)"


def test_the_raised_time_is_now_when_not_given_and_never_after_now() -> None:
    world = make_world()
    [raised] = run(world, emergency("7012"), T0)
    assert isinstance(raised, RadioEmergencyRaised) and raised.alarm.raised_at == T0
    # a gateway clock a little ahead is bounded by the server's now
    [ahead] = decide(
        world, emergency("7003", ALARM_2, activated_at=T0 + 20), DecisionContext("g", T0)
    )
    assert isinstance(ahead, RadioEmergencyRaised) and ahead.alarm.raised_at == T0
    # far ahead, or not a time, is refused
    for at in (T0 + 61, -1.0, float("nan"), float("inf")):
        error = refused(world, emergency("7003", ALARM_2, activated_at=at), T0)
        assert error.code is ErrorCode.INVALID_COMMAND, at
        assert error.message == "activated_at must be a time (seconds)"


def test_a_radio_on_no_unit_still_raises_an_alarm() -> None:
    world = make_world()
    [raised] = run(world, emergency("MA-4471"), T0)
    assert isinstance(raised, RadioEmergencyRaised)
    alarm = raised.alarm
    assert (alarm.unit_id, alarm.incident_id, alarm.position) == ("", None, None)
    assert alarm_subject(alarm) == "radio MA-4471 (on no unit)"
    assert describe_command(world, emergency("MA-4471")) == "emergency of radio MA-4471"
    assert all(
        e.kind != "radio.emergency_raised" for i in world.incidents.values() for e in i.timeline
    )


def test_a_unit_on_no_incident_raises_an_alarm_without_one() -> None:
    world = make_world()
    [raised] = run(world, emergency("7002"), T0)
    assert isinstance(raised, RadioEmergencyRaised)
    assert (raised.alarm.unit_id, raised.alarm.incident_id) == ("B2", None)
    assert alarm_subject(raised.alarm) == "B2 (radio 7002)"


def test_a_second_activation_of_a_radio_in_emergency_is_refused() -> None:
    world = make_world()
    run(world, emergency("7012"), T0)
    error = refused(world, emergency("7012", ALARM_2), T0 + 1)
    assert (error.code, error.message) == (
        ErrorCode.ALREADY_EXISTS,
        "E12 (radio 7012) is already in emergency",
    )
    again = refused(world, emergency("7003"), T0 + 1)  # the same activation id
    assert (again.code, again.message) == (
        ErrorCode.ALREADY_EXISTS,
        "this activation is already raised",
    )
    # once cleared, the radio may raise a new alarm
    run(world, RadioClear(alarm_id=ALARM, reason="unit answered"), T0 + 5)
    [raised] = run(world, emergency("7012", ALARM_2), T0 + 10)
    assert isinstance(raised, RadioEmergencyRaised) and raised.alarm.raised_at == T0 + 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (emergency("7012", ""), "alarm id must be 1-64 characters"),
        (emergency("7012", "a" * 65), "alarm id must be 1-64 characters"),
        (emergency(""), "a radio id must be given"),
        (
            emergency("7012", channel="C" * (CHANNEL_MAX + 1)),
            "a channel name is at most 32 characters",
        ),
        (emergency("7012", channel="  "), "a channel name is at most 32 characters"),
    ],
)
def test_an_emergency_with_bad_fields_is_invalid(args: RadioEmergency, message: str) -> None:
    error = refused(make_world(), args, T0)
    assert (error.code, error.message) == (ErrorCode.INVALID_COMMAND, message)


# --- radio.acknowledge and radio.clear ------------------------------------------------------


def test_an_alarm_is_acknowledged_once_and_the_second_is_told_who() -> None:
    world = make_world()
    run(world, emergency("7012"), T0)
    before = len(world.incidents[FIRE].timeline)
    run(world, RadioAcknowledge(alarm_id=ALARM), T0 + 4, actor="bob")
    alarm = world.alarms[ALARM]
    assert (alarm.acknowledged_at, alarm.acknowledged_by, alarm.cleared_at) == (T0 + 4, "bob", None)
    assert timeline(world, FIRE)[before:] == [
        ("radio.alarm_acknowledged", "Radio emergency acknowledged: E12 (radio 7012)")
    ]
    error = refused(world, RadioAcknowledge(alarm_id=ALARM), T0 + 5, actor="cat")
    assert (error.code, error.message) == (
        ErrorCode.NO_CHANGE,
        "E12 (radio 7012) already acknowledged by bob",
    )
    missing = refused(world, RadioAcknowledge(alarm_id="nope"), T0 + 5)
    assert (missing.code, missing.message) == (ErrorCode.NOT_FOUND, "no such radio alarm")


def test_clearing_needs_a_reason() -> None:
    world = make_world()
    run(world, emergency("7012"), T0)
    for reason in ("", "   ", "r" * 201):
        error = refused(world, RadioClear(alarm_id=ALARM, reason=reason), T0 + 1)
        assert (error.code, error.message) == (
            ErrorCode.INVALID_COMMAND,
            "reason must be 1-200 characters",
        )
    missing = refused(world, RadioClear(alarm_id="nope", reason="x"), T0 + 1)
    assert missing.code is ErrorCode.NOT_FOUND


def test_clearing_an_unacknowledged_false_activation_acknowledges_it() -> None:
    world = make_world()
    run(world, emergency("7012"), T0)
    before = len(world.incidents[FIRE].timeline)
    clear = RadioClear(alarm_id=ALARM, reason="  pressed by mistake ", false_activation=True)
    events = run(world, clear, T0 + 9, actor="bob")
    assert events == [
        RadioAlarmCleared(
            alarm_id=ALARM,
            actor="bob",
            reason="pressed by mistake",
            false_activation=True,
            acknowledged=True,
        )
    ]
    alarm = world.alarms[ALARM]
    assert (alarm.acknowledged_at, alarm.acknowledged_by) == (T0 + 9, "bob")
    assert (alarm.cleared_at, alarm.cleared_by, alarm.clear_reason) == (
        T0 + 9,
        "bob",
        "pressed by mistake",
    )
    assert alarm.false_activation is True
    assert timeline(world, FIRE)[before:] == [
        (
            "radio.alarm_cleared",
            "Radio emergency false activation: E12 (radio 7012) — pressed by mistake",
        )
    ]
    error = refused(world, RadioClear(alarm_id=ALARM, reason="again"), T0 + 10, actor="cat")
    assert (error.code, error.message) == (
        ErrorCode.NO_CHANGE,
        "E12 (radio 7012) already cleared by bob",
    )
    assert active_alarms(world) == []


def test_clearing_an_acknowledged_alarm_keeps_who_acknowledged_it() -> None:
    world = make_world()
    run(world, emergency("7012"), T0)
    run(world, RadioAcknowledge(alarm_id=ALARM), T0 + 2, actor="bob")
    [cleared] = run(world, RadioClear(alarm_id=ALARM, reason="unit answered"), T0 + 30, "cat")
    assert isinstance(cleared, RadioAlarmCleared)
    assert (cleared.acknowledged, cleared.false_activation) == (False, False)
    alarm = world.alarms[ALARM]
    assert (alarm.acknowledged_at, alarm.acknowledged_by) == (T0 + 2, "bob")
    assert (alarm.cleared_at, alarm.cleared_by) == (T0 + 30, "cat")
    assert timeline(world, FIRE)[-1] == (
        "radio.alarm_cleared",
        "Radio emergency cleared: E12 (radio 7012) — unit answered",
    )


# --- radio.assign_channel -------------------------------------------------------------------


def test_assigning_changing_and_releasing_a_channel() -> None:
    world = make_world()
    run(world, RadioAssignChannel(incident_id=FIRE, channel="FIRE TAC 2"), T0)
    assert world.incidents[FIRE].channel == "FIRE TAC 2"
    assert timeline(world, FIRE)[-1] == ("radio.channel_assigned", "Radio channel FIRE TAC 2")
    run(world, RadioAssignChannel(incident_id=FIRE, channel="FIRE TAC 3"), T0 + 1)
    assert timeline(world, FIRE)[-1] == (
        "radio.channel_assigned",
        "Radio channel FIRE TAC 3 (was FIRE TAC 2)",
    )
    error = refused(world, RadioAssignChannel(incident_id=FIRE, channel="FIRE TAC 3"), T0 + 2)
    assert (error.code, error.message) == (
        ErrorCode.NO_CHANGE,
        "F2612-000123 is already on FIRE TAC 3",
    )
    run(world, RadioAssignChannel(incident_id=FIRE, channel=""), T0 + 3)
    assert world.incidents[FIRE].channel == ""
    assert timeline(world, FIRE)[-1] == (
        "radio.channel_assigned",
        "Radio channel FIRE TAC 3 released",
    )
    assert describe_command(world, RadioAssignChannel(incident_id=FIRE, channel="X")) == (
        "put F2612-000123 on X"
    )
    assert describe_command(world, RadioAssignChannel(incident_id=FIRE, channel="")) == (
        "take F2612-000123 off its channel"
    )


def test_assigning_a_channel_is_checked() -> None:
    world = make_world()
    missing = refused(world, RadioAssignChannel(incident_id="nope", channel="FIRE TAC 1"), T0)
    assert (missing.code, missing.message) == (ErrorCode.NOT_FOUND, "no incident nope")
    long = refused(world, RadioAssignChannel(incident_id=FIRE, channel="C" * 33), T0)
    assert long.code is ErrorCode.INVALID_COMMAND
    run(world, RadioAssignChannel(incident_id=FIRE, channel="C" * CHANNEL_MAX), T0)
    assert world.incidents[FIRE].channel == "C" * CHANNEL_MAX


# --- radio.log ------------------------------------------------------------------------------


def log(text: str, entry_id: str = "r-1", **kw: object) -> RadioLog:
    return RadioLog(entry_id=entry_id, text=text, **kw)  # type: ignore[arg-type]


def test_a_unit_line_goes_to_the_radio_log_and_its_incident_narrative() -> None:
    world = make_world()
    run(world, RadioAssignChannel(incident_id=FIRE, channel="FIRE TAC 2"), T0)
    before = len(world.incidents[FIRE].timeline)
    [logged] = run(world, log("  on scene, smoke showing ", unit_id="E12"), T0 + 1, actor="bob")
    entry = RadioEntry(
        id="r-1",
        at=T0 + 1,
        actor="bob",
        text="on scene, smoke showing",
        unit_id="E12",
        channel="FIRE TAC 2",  # the incident's
        incident_id=FIRE,
    )
    assert logged == RadioLogged(entry=entry)
    assert world.radio_log == {"r-1": entry}
    last = world.incidents[FIRE].narrative[-1]
    assert (last.at, last.author, last.text) == (
        T0 + 1,
        "bob",
        "Radio E12: on scene, smoke showing",
    )
    assert radio_narrative(entry) == "Radio E12: on scene, smoke showing"
    assert len(world.incidents[FIRE].timeline) == before  # the narrative holds it
    assert describe_command(world, log("on scene", unit_id="E12")) == "radio log: E12 on scene"


def test_an_explicit_incident_and_channel_win_over_the_unit_s() -> None:
    world = make_world()
    run(world, RadioAssignChannel(incident_id=FIRE, channel="FIRE TAC 2"), T0)
    args = log("relay to medic", unit_id="E12", incident_id=MED, channel="EMS TAC 1")
    [logged] = run(world, args, T0 + 1)
    assert isinstance(logged, RadioLogged)
    assert (logged.entry.incident_id, logged.entry.channel) == (MED, "EMS TAC 1")
    assert world.incidents[MED].narrative[-1].text == "Radio E12: relay to medic"
    assert all(n.text != "Radio E12: relay to medic" for n in world.incidents[FIRE].narrative)


def test_a_line_about_no_incident_or_from_no_unit() -> None:
    world = make_world()
    [b2] = run(world, log("in quarters", unit_id="B2"), T0)  # B2 is on no incident
    assert isinstance(b2, RadioLogged)
    assert (b2.entry.incident_id, b2.entry.channel) == (None, "")
    [anon] = run(world, log("county fire to dispatch", "r-2", channel="FIRE DISPATCH"), T0)
    assert isinstance(anon, RadioLogged)
    assert (anon.entry.unit_id, anon.entry.incident_id, anon.entry.channel) == (
        "",
        None,
        "FIRE DISPATCH",
    )
    assert radio_narrative(anon.entry) == "Radio: county fire to dispatch"
    [about] = run(world, log("mutual aid engine arriving", "r-3", incident_id=FIRE), T0)
    assert isinstance(about, RadioLogged) and about.entry.incident_id == FIRE
    assert world.incidents[FIRE].narrative[-1].text == "Radio: mutual aid engine arriving"
    assert sorted(world.radio_log) == ["r-1", "r-2", "r-3"]


def test_a_radio_log_line_is_checked() -> None:
    world = make_world()
    unknown = refused(world, log("on scene", unit_id="X9"), T0)
    assert (unknown.code, unknown.message) == (
        ErrorCode.NOT_FOUND,
        "X9 is not a unit on the roster",
    )
    no_incident = refused(world, log("on scene", incident_id="nope"), T0)
    assert (no_incident.code, no_incident.message) == (ErrorCode.NOT_FOUND, "no incident nope")
    for text, message in (
        ("   ", "text must be 1-4000 characters"),
        ("x" * 501, "a radio log line is at most 500 characters"),
    ):
        error = refused(world, log(text, unit_id="E12"), T0)
        assert (error.code, error.message) == (ErrorCode.INVALID_COMMAND, message)
    run(world, log("on scene", unit_id="E12"), T0)
    twice = refused(world, log("again", unit_id="E12"), T0)
    assert (twice.code, twice.message) == (
        ErrorCode.ALREADY_EXISTS,
        "this radio log line is already logged",
    )


# --- radio.mark -----------------------------------------------------------------------------


def test_a_mark_is_recorded_once_per_kind_and_due_time() -> None:
    world = make_world()
    due = T0 - 600 + 600
    run(world, RadioMarkAnswer(incident_id=FIRE, kind="elapsed", due_at=due), T0 + 5, "bob")
    answer = RadioMarkAnswer(incident_id=FIRE, kind="par", due_at=due, answer=" all accounted ")
    events = run(world, answer, T0 + 6, "bob")
    assert events == [
        RadioMarked(
            incident_id=FIRE,
            mark=RadioMark(kind="par", due_at=due, at=T0 + 6, actor="bob", answer="all accounted"),
        )
    ]
    assert [(m.kind, m.due_at, m.at) for m in world.incidents[FIRE].radio_marks] == [
        ("elapsed", due, T0 + 5),
        ("par", due, T0 + 6),
    ]
    assert timeline(world, FIRE)[-2:] == [
        ("radio.marked", "elapsed-time mark answered"),
        ("radio.marked", "PAR answered: all accounted"),
    ]
    error = refused(world, RadioMarkAnswer(incident_id=FIRE, kind="par", due_at=due), T0 + 7)
    assert (error.code, error.message) == (ErrorCode.NO_CHANGE, "already answered by bob")
    # the next one due is a new mark
    run(world, RadioMarkAnswer(incident_id=FIRE, kind="par", due_at=due + 1200), T0 + 1200)
    assert len(world.incidents[FIRE].radio_marks) == 3
    assert describe_command(world, answer) == "PAR of F2612-000123"


def test_a_mark_is_checked() -> None:
    world = make_world()
    missing = refused(world, RadioMarkAnswer(incident_id="nope", kind="par", due_at=T0), T0)
    assert missing.code is ErrorCode.NOT_FOUND
    for due in (-1.0, float("nan")):
        error = refused(world, RadioMarkAnswer(incident_id=FIRE, kind="par", due_at=due), T0)
        assert (error.code, error.message) == (
            ErrorCode.INVALID_COMMAND,
            "due_at must be a time (seconds)",
        )
    long = refused(
        world, RadioMarkAnswer(incident_id=FIRE, kind="par", due_at=T0, answer="a" * 201), T0
    )
    assert long.code is ErrorCode.INVALID_COMMAND


# --- derived facts --------------------------------------------------------------------------


def test_active_alarms_unacknowledged_first_then_oldest_first() -> None:
    world = make_world()
    run(world, emergency("7012", "a-old", activated_at=T0 - 30), T0)
    run(world, emergency("7003", "a-new"), T0 + 10)
    run(world, emergency("7055", "a-mid", activated_at=T0 + 5), T0 + 10)
    run(world, emergency("7002", "a-cleared"), T0 + 11)
    assert [a.id for a in active_alarms(world)] == ["a-old", "a-mid", "a-new", "a-cleared"]
    run(world, RadioAcknowledge(alarm_id="a-old"), T0 + 12)
    run(world, RadioClear(alarm_id="a-cleared", reason="answered"), T0 + 13)
    assert [a.id for a in active_alarms(world)] == ["a-mid", "a-new", "a-old"]
    run(world, RadioAcknowledge(alarm_id="a-new"), T0 + 14)
    assert [a.id for a in active_alarms(world)] == ["a-mid", "a-old", "a-new"]


def test_channel_incidents_and_unit_channel() -> None:
    world = make_world()
    _create(world, "0190a1b2-0000-7000-8000-00000000f003", "FIRE-OUTSIDE", "F2612-000125", T0)
    closing = "0190a1b2-0000-7000-8000-00000000f003"
    for incident_id in (closing, FIRE, MED):
        run(world, RadioAssignChannel(incident_id=incident_id, channel="FIRE TAC 2"), T0 + 1)
    assert [i.id for i in channel_incidents(world, "FIRE TAC 2")] == [FIRE, MED, closing]
    run(world, IncidentClose(incident_id=closing, disposition="OUT"), T0 + 2)
    assert [i.id for i in channel_incidents(world, "FIRE TAC 2")] == [FIRE, MED]
    assert channel_incidents(world, "FIRE TAC 1") == []
    assert unit_channel(world, "E12") == "FIRE TAC 2"
    assert unit_channel(world, "B2") == ""  # on no incident
    assert unit_channel(world, "X9") == ""  # not on the roster
    run(world, RadioAssignChannel(incident_id=FIRE, channel=""), T0 + 3)
    assert unit_channel(world, "E12") == ""


def test_an_incident_is_on_no_channel_until_assigned() -> None:
    incident: Incident = make_world().incidents[FIRE]
    assert (incident.channel, incident.radio_marks) == ("", [])


# --- roles ----------------------------------------------------------------------------------


def test_only_the_radio_gateway_and_admin_raise_an_emergency() -> None:
    least = COMMANDS["radio.emergency"].least_role
    assert {role for role in ROLES if may_issue(role, least)} == {"radio", "admin"}


@pytest.mark.parametrize(
    ("kind", "allowed"),
    [
        ("radio.acknowledge", {"calltaker", "dispatcher", "admin"}),
        ("radio.clear", {"dispatcher", "admin"}),
        ("radio.assign_channel", {"dispatcher", "admin"}),
        ("radio.log", {"calltaker", "dispatcher", "admin"}),
        ("radio.mark", {"calltaker", "dispatcher", "admin"}),
    ],
)
def test_who_works_the_radio(kind: str, allowed: set[str]) -> None:
    least = COMMANDS[kind].least_role
    assert {role for role in ROLES if may_issue(role, least)} == allowed
    assert not may_issue("supervisor", least) and not may_issue("radio", least)


def test_a_supervisor_issues_no_radio_command() -> None:
    radio_kinds = [k for k in COMMANDS.values() if k.name.startswith("radio.")]
    assert len(radio_kinds) == 6
    assert not any(may_issue("supervisor", k.least_role) for k in radio_kinds)


def test_a_closed_incident_takes_no_channel_and_releasing_none_says_so() -> None:
    world = make_world()
    released = refused(world, RadioAssignChannel(incident_id=FIRE, channel=""), T0)
    assert (released.code, released.message) == (
        ErrorCode.NO_CHANGE,
        "F2612-000123 is on no channel",
    )
    _create(world, "0190a1b2-0000-7000-8000-00000000f004", "FIRE-OUTSIDE", "F2612-000126", T0)
    run(
        world,
        IncidentClose(incident_id="0190a1b2-0000-7000-8000-00000000f004", disposition="OUT"),
        T0 + 1,
    )
    closed = refused(
        world,
        RadioAssignChannel(
            incident_id="0190a1b2-0000-7000-8000-00000000f004", channel="FIRE TAC 1"
        ),
        T0 + 2,
    )
    assert closed.code is ErrorCode.INCIDENT_CLOSED


def test_the_server_records_the_position_its_position_book_holds() -> None:
    """A unit's AVL fixes live beside the server's world: the rule asks for the newest."""
    world = make_world()
    fix = Position(lat=37.7, lon=-122.4, at=T0 - 1)
    ctx = DecisionContext(actor="rad", now=T0, position_of=lambda unit_id: fix)
    [raised] = decide(world, RadioEmergency(alarm_id="a-9", radio_id="7003"), ctx)
    assert isinstance(raised, RadioEmergencyRaised) and raised.alarm.position == fix
