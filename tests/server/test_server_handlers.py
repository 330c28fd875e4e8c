"""`server.handlers.handle`: every kind accepted and refused, roles, every unit transition, fuzz."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.domain.catalog import COMMANDS, EVENTS
from desktop.domain.roles import ROLES, roles_from
from desktop.domain.types import (
    ASSIGNED_STATUSES,
    Call,
    CallStatus,
    Incident,
    IncidentStatus,
    Location,
    Premise,
    RadioAlarm,
    Unit,
    UnitStatus,
)
from desktop.domain.units import ALLOWED_TRANSITIONS
from desktop.domain.world import World
from desktop.protocol.messages import CommandBody
from server.handlers import Accepted, Outcome, Rejected, handle, valid_key

NOW = 1_790_000_000.0


def numbers() -> Any:
    counter = iter(range(1, 1_000_000))
    return lambda: f"F2609-{next(counter):06d}"


def world() -> World:
    """inc-1 pending, inc-2 dispatched (E3 on it), inc-x closed; E1 AV, E2 AQ, E3 DP, M1 OOS;
    call-r ringing, call-a answered by bob, call-x abandoned; hazards at 1 MAIN ST."""
    loc = Location(address="1 Main St")
    incidents = {
        "inc-1": Incident(id="inc-1", type="FIRE", priority=2, location=loc, number="F2609-000001"),
        "inc-2": Incident(
            id="inc-2",
            type="EMS",
            priority=1,
            location=loc,
            status=IncidentStatus.DISPATCHED,
            units=["E3"],
        ),
        "inc-x": Incident(
            id="inc-x",
            type="FIRE",
            priority=3,
            location=loc,
            status=IncidentStatus.CLOSED,
            disposition="done",
        ),
    }
    units = {
        "E1": Unit(id="E1", type="ENGINE", status=UnitStatus.AV),
        "E2": Unit(id="E2", type="ENGINE", status=UnitStatus.AQ),
        "E3": Unit(id="E3", type="ENGINE", status=UnitStatus.DP, incident_id="inc-2"),
        "M1": Unit(id="M1", type="MEDIC", status=UnitStatus.OOS),
    }
    calls = {
        "call-r": Call(id="call-r", ani="4155550100", times={"received": NOW - 10}),
        "call-a": Call(
            id="call-a",
            status=CallStatus.ANSWERED,
            answered_by="bob",
            times={"received": NOW - 30, "answered": NOW - 25},
        ),
        "call-x": Call(id="call-x", status=CallStatus.ABANDONED, times={"received": NOW - 60}),
    }
    premises = {"1 MAIN ST": Premise(id="1 MAIN ST", address="1 MAIN ST", hazards=["dog"])}
    alarms = {"al-1": RadioAlarm(id="al-1", radio_id="7001", unit_id="E1", raised_at=NOW - 5)}
    return World(incidents, units, calls, premises, alarms)


def cmd(kind: str, args: Any, *, key: str | None = None, client_seq: int = 1) -> CommandBody:
    raw = args if isinstance(args, bytes) else msgspec.json.encode(args)
    return CommandBody(
        key=str(uuid.uuid4()) if key is None else key,
        client_seq=client_seq,
        kind=kind,
        args=msgspec.Raw(raw),
        issued_at=NOW,
    )


def run(kind: str, args: Any, role: str = "dispatcher", w: World | None = None) -> Outcome:
    return handle(w or world(), cmd(kind, args), "ann", role, NOW, numbers())


def code(outcome: Outcome) -> str:
    assert isinstance(outcome, Rejected), outcome
    return outcome.error.code


def kinds(outcome: Outcome) -> list[str]:
    assert isinstance(outcome, Accepted), outcome
    return [kind for kind, _ in outcome.events]


LOC = {"address": "9 Elm"}
ACCEPTED: dict[str, tuple[dict[str, Any], list[str]]] = {
    "incident.create": (
        {"incident_id": "inc-new", "type": "FIRE", "priority": 1, "location": LOC, "note": "hi"},
        ["incident.created"],
    ),
    "incident.update": ({"incident_id": "inc-1", "priority": 4}, ["incident.updated"]),
    "incident.add_note": ({"incident_id": "inc-1", "text": "smoke"}, ["incident.note_added"]),
    "incident.close": ({"incident_id": "inc-1", "disposition": "false alarm"}, ["incident.closed"]),
    "unit.add": ({"unit_id": "T9", "type": "TRUCK"}, ["unit.added"]),
    "unit.update": ({"unit_id": "E1", "station": "12"}, ["unit.updated"]),
    "unit.dispatch": (
        {"incident_id": "inc-1", "unit_ids": ["E1", "E2"]},
        ["unit.dispatched", "unit.dispatched", "incident.status_changed"],
    ),
    "unit.set_status": ({"unit_id": "E1", "status": "AQ"}, ["unit.status_changed"]),
    "alert.acknowledge": (
        {"entity": "unit", "entity_id": "E3", "reason": "welfare check", "started_at": 0.0},
        ["alert.acknowledged"],
    ),
    "call.offer": (
        {"call_id": "call-new", "ani": "+14155550134", "class_of_service": "wireless"},
        ["call.offered"],
    ),
    "call.end": ({"call_id": "call-r"}, ["call.abandoned"]),
    "call.answer": ({"call_id": "call-r"}, ["call.answered"]),
    "call.link": ({"call_id": "call-a", "incident_id": "inc-1"}, ["call.linked"]),
    "call.release": ({"call_id": "call-a"}, ["call.released"]),
    "call.mark_called_back": ({"call_id": "call-x", "note": "no answer"}, ["call.called_back"]),
    "incident.link": (
        {"incident_id": "inc-1", "target_id": "inc-2", "relation": "replaced"},
        ["incident.linked", "incident.closed"],
    ),
    "premise.set": ({"address": "9 Elm St", "hazards": ["dog"]}, ["premise.set"]),
    "premise.remove": ({"address": "1 Main St"}, ["premise.removed"]),
    "radio.emergency": ({"alarm_id": "al-2", "radio_id": "7002"}, ["radio.emergency_raised"]),
    "radio.acknowledge": ({"alarm_id": "al-1"}, ["radio.alarm_acknowledged"]),
    "radio.clear": ({"alarm_id": "al-1", "reason": "answered"}, ["radio.alarm_cleared"]),
    "radio.assign_channel": (
        {"incident_id": "inc-1", "channel": "FIRE TAC 2"},
        ["radio.channel_assigned"],
    ),
    "radio.log": ({"entry_id": "r-1", "unit_id": "E1", "text": "on scene"}, ["radio.logged"]),
    "radio.mark": ({"incident_id": "inc-1", "kind": "par", "due_at": 1.0}, ["radio.marked"]),
}

REJECTED: list[tuple[str, dict[str, Any], str]] = [
    (
        "incident.create",
        {"incident_id": "inc-1", "type": "F", "priority": 1, "location": LOC},
        "already_exists",
    ),
    (
        "incident.create",
        {"incident_id": "n", "type": "F", "priority": 9, "location": LOC},
        "invalid_command",
    ),
    (
        "incident.create",
        {"incident_id": "n", "type": "F", "priority": 1, "location": {}},
        "invalid_command",
    ),
    (
        "incident.create",
        {"incident_id": "n", "type": " ", "priority": 1, "location": LOC},
        "invalid_command",
    ),
    (
        "incident.create",
        {"incident_id": "n", "type": "F", "priority": 1, "location": {"lat": 91.0, "lon": 0.0}},
        "invalid_command",
    ),
    ("incident.create", {"incident_id": "n", "type": "F"}, "invalid_command"),  # missing fields
    ("incident.update", {"incident_id": "nope", "priority": 2}, "not_found"),
    ("incident.update", {"incident_id": "inc-1", "priority": 2}, "no_change"),
    ("incident.update", {"incident_id": "inc-x", "priority": 1}, "incident_closed"),
    ("incident.update", {"incident_id": "inc-1", "bogus": 1}, "invalid_command"),
    ("incident.add_note", {"incident_id": "inc-1", "text": "  "}, "invalid_command"),
    ("incident.add_note", {"incident_id": "nope", "text": "x"}, "not_found"),
    ("incident.close", {"incident_id": "inc-2", "disposition": "x"}, "units_still_assigned"),
    ("incident.close", {"incident_id": "inc-x", "disposition": "x"}, "incident_closed"),
    ("unit.add", {"unit_id": "E1", "type": "ENGINE"}, "already_exists"),
    ("unit.add", {"unit_id": "bad id!", "type": "ENGINE"}, "invalid_command"),
    ("unit.add", {"unit_id": "Z1", "type": "ENGINE", "status": "DP"}, "invalid_command"),
    ("unit.update", {"unit_id": "nope", "station": "1"}, "not_found"),
    ("unit.update", {"unit_id": "E1"}, "no_change"),
    ("unit.dispatch", {"incident_id": "inc-1", "unit_ids": ["E3"]}, "unit_unavailable"),
    ("unit.dispatch", {"incident_id": "inc-1", "unit_ids": []}, "invalid_command"),
    ("unit.dispatch", {"incident_id": "inc-1", "unit_ids": ["E1", "E1"]}, "invalid_command"),
    ("unit.dispatch", {"incident_id": "inc-x", "unit_ids": ["E1"]}, "incident_closed"),
    ("unit.dispatch", {"incident_id": "inc-1", "unit_ids": ["nope"]}, "not_found"),
    ("unit.set_status", {"unit_id": "E1", "status": "AV"}, "no_change"),
    ("unit.set_status", {"unit_id": "E1", "status": "ZZ"}, "invalid_command"),
    ("unit.set_status", {"unit_id": "nope", "status": "AV"}, "not_found"),
    (
        "alert.acknowledge",
        {"entity": "incident", "entity_id": "nope", "reason": "r", "started_at": 0.0},
        "not_found",
    ),
    (
        "alert.acknowledge",
        {"entity": "unit", "entity_id": "E1", "reason": " ", "started_at": 0.0},
        "invalid_command",
    ),
    ("call.offer", {"call_id": "call-r"}, "already_exists"),
    ("call.offer", {"call_id": "c9", "class_of_service": "pager"}, "invalid_command"),
    ("call.end", {"call_id": "call-x"}, "no_change"),
    ("call.end", {"call_id": "nope"}, "not_found"),
    ("call.answer", {"call_id": "call-a"}, "already_answered"),
    ("call.answer", {"call_id": "call-x"}, "call_ended"),
    ("call.link", {"call_id": "call-r", "incident_id": "inc-1"}, "call_not_answered"),
    ("call.link", {"call_id": "call-a", "incident_id": "inc-x"}, "incident_closed"),
    ("call.release", {"call_id": "call-r"}, "call_not_answered"),
    ("call.release", {"call_id": "call-x"}, "call_ended"),
    ("call.mark_called_back", {"call_id": "call-a"}, "invalid_command"),
    (
        "incident.link",
        {"incident_id": "inc-1", "target_id": "inc-1", "relation": "child"},
        "invalid_command",
    ),
    (
        "incident.link",
        {"incident_id": "inc-2", "target_id": "inc-1", "relation": "replaced"},
        "units_still_assigned",
    ),
    ("premise.set", {"address": "9 Elm St", "hazards": [" "]}, "invalid_command"),
    ("premise.remove", {"address": "9 Elm St"}, "not_found"),
    ("radio.emergency", {"alarm_id": "al-3", "radio_id": "7001"}, "already_exists"),
    ("radio.acknowledge", {"alarm_id": "nope"}, "not_found"),
    ("radio.clear", {"alarm_id": "al-1", "reason": " "}, "invalid_command"),
    ("radio.assign_channel", {"incident_id": "nope", "channel": "FIRE TAC 2"}, "not_found"),
    ("radio.log", {"entry_id": "r-1", "unit_id": "X99", "text": "hi"}, "not_found"),
    ("radio.mark", {"incident_id": "inc-1", "kind": "par", "due_at": -1.0}, "invalid_command"),
]


def test_tables_cover_every_kind() -> None:
    assert set(ACCEPTED) == set(COMMANDS)
    assert {kind for kind, _, _ in REJECTED} == set(COMMANDS)


@pytest.mark.parametrize("kind", sorted(ACCEPTED))
def test_every_kind_accepted(kind: str) -> None:
    args, expected = ACCEPTED[kind]
    before = world()
    snapshot = (dict(before.incidents), dict(before.units))
    outcome = handle(before, cmd(kind, args), "ann", "admin", NOW, numbers())
    assert kinds(outcome) == expected
    assert (before.incidents, before.units) == snapshot  # handle never mutates the world
    assert isinstance(outcome, Accepted)
    for event_kind, data in outcome.events:
        assert isinstance(data, EVENTS[event_kind].data)


def test_created_incident_gets_a_server_number() -> None:
    outcome = run("incident.create", ACCEPTED["incident.create"][0])
    assert isinstance(outcome, Accepted)
    (_, data) = outcome.events[0]
    assert data.incident.number == "F2609-000001"  # type: ignore[attr-defined]
    assert data.incident.created_by == "ann"  # type: ignore[attr-defined]


def test_refused_creation_does_not_consume_a_number() -> None:
    calls: list[int] = []

    def number() -> str:
        calls.append(1)
        return "F2609-000001"

    bad = {"incident_id": "inc-1", "type": "F", "priority": 1, "location": LOC}
    handle(world(), cmd("incident.create", bad), "ann", "dispatcher", NOW, number)
    assert calls == []


@pytest.mark.parametrize(("kind", "args", "expected"), REJECTED)
def test_every_kind_refused(kind: str, args: dict[str, Any], expected: str) -> None:
    assert code(run(kind, args, "admin")) == expected


@pytest.mark.parametrize("kind", [*sorted(COMMANDS), "no.such.kind", ""])
def test_supervisor_is_forbidden_every_kind(kind: str) -> None:
    args = ACCEPTED.get(kind, ({}, []))[0]
    assert code(run(kind, args, "supervisor")) == "forbidden"


@pytest.mark.parametrize("kind", sorted(COMMANDS))
@pytest.mark.parametrize("role", ["calltaker", "dispatcher", "admin", "janitor"])
def test_role_matrix(kind: str, role: str) -> None:
    outcome = run(kind, ACCEPTED[kind][0], role)
    if role in roles_from(COMMANDS[kind].least_role):
        assert isinstance(outcome, Accepted)
    else:
        assert code(outcome) == "forbidden"


def test_unknown_kind() -> None:
    assert code(run("incident.explode", {})) == "unknown_kind"


def test_key_and_client_seq_are_validated() -> None:
    args = ACCEPTED["unit.add"][0]
    for key in (
        "not-a-uuid",
        "",
        "{" + str(uuid.uuid4()) + "}",
        str(uuid.uuid4()).replace("-", ""),
    ):
        bad = cmd("unit.add", args, key=key)
        assert code(handle(world(), bad, "ann", "dispatcher", NOW, numbers())) == "invalid_command"
    for client_seq in (0, -5):
        bad = cmd("unit.add", args, client_seq=client_seq)
        assert code(handle(world(), bad, "ann", "dispatcher", NOW, numbers())) == "invalid_command"
    assert valid_key(str(uuid.uuid4()).upper())


@pytest.mark.parametrize(
    "raw", [b"null", b"[]", b"42", b'"text"', b'{"unit_id": 5, "type": "E"}', b"{}"]
)
def test_malformed_args_are_invalid_command(raw: bytes) -> None:
    assert code(run("unit.add", raw)) == "invalid_command"


# --- every unit status transition -----------------------------------------------------------


def unit_in(status: UnitStatus) -> World:
    w = world()
    on_incident = status in ASSIGNED_STATUSES
    w.units["U1"] = Unit(
        id="U1", type="ENGINE", status=status, incident_id="inc-2" if on_incident else None
    )
    return w


TRANSITIONS = [(a, b) for a in UnitStatus for b in UnitStatus]


@pytest.mark.parametrize(
    ("current", "target"), TRANSITIONS, ids=[f"{a}-{b}" for a, b in TRANSITIONS]
)
def test_unit_status_transition(current: UnitStatus, target: UnitStatus) -> None:
    outcome = run("unit.set_status", {"unit_id": "U1", "status": target}, w=unit_in(current))
    if current == target:
        assert code(outcome) == "no_change"
    elif target in ALLOWED_TRANSITIONS[current]:
        assert isinstance(outcome, Accepted), outcome
        kind, data = outcome.events[0]
        assert kind == "unit.status_changed"
        assert (data.status, data.previous) == (target, current)  # type: ignore[attr-defined]
        expected_incident = (
            "inc-2" if target in ASSIGNED_STATUSES and current in ASSIGNED_STATUSES else None
        )
        assert data.incident_id == expected_incident  # type: ignore[attr-defined]
    else:
        assert code(outcome) == "invalid_transition"


def test_dispatch_only_through_unit_dispatch() -> None:
    assert code(run("unit.set_status", {"unit_id": "E1", "status": "DP"})) == "invalid_transition"


# --- recommendation overrides -----------------------------------------------------------------


def test_the_alarm_level_is_struck_and_checked() -> None:
    outcome = run("incident.update", {"incident_id": "inc-1", "alarm": 2})
    assert kinds(outcome) == ["incident.updated"]
    assert outcome.events[0][1].alarm == 2  # type: ignore[union-attr, attr-defined]
    assert code(run("incident.update", {"incident_id": "inc-1", "alarm": 1})) == "no_change"
    for bad in (0, 6, -1):
        assert code(run("incident.update", {"incident_id": "inc-1", "alarm": bad})) == (
            "invalid_command"
        )
    assert code(run("incident.update", {"incident_id": "inc-x", "alarm": 2})) == ("incident_closed")


def test_dispatching_the_recommended_units_records_no_override() -> None:
    args = {"incident_id": "inc-1", "unit_ids": ["E2", "E1"], "recommended": ["E1", "E2"]}
    assert kinds(run("unit.dispatch", args)) == [
        "unit.dispatched",
        "unit.dispatched",
        "incident.status_changed",
    ]


def test_dispatching_other_units_than_recommended_records_the_override_first() -> None:
    args = {
        "incident_id": "inc-1",
        "unit_ids": ["E2"],
        "recommended": ["E1", "T9"],  # T9 need not exist any more
        "override_reason": " E1 crew on break ",
    }
    outcome = run("unit.dispatch", args)
    assert kinds(outcome)[0] == "incident.plan_overridden"
    assert isinstance(outcome, Accepted)
    data = outcome.events[0][1]
    assert msgspec.structs.asdict(data) == {  # type: ignore[arg-type]
        "incident_id": "inc-1",
        "recommended": ["E1", "T9"],
        "dispatched": ["E2"],
        "reason": "E1 crew on break",
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"recommended": ["E1", "bad id!"]},
        {"recommended": [f"U{n}" for n in range(51)]},
        {"recommended": ["E1"], "override_reason": "x" * 201},
        {"override_reason": "x" * 201},
    ],
)
def test_malformed_recommendations_are_refused(extra: dict[str, Any]) -> None:
    args = {"incident_id": "inc-1", "unit_ids": ["E2"], **extra}
    assert code(run("unit.dispatch", args)) == "invalid_command"


# --- fuzz: never raises, never "internal" -----------------------------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=15,
)
IDS = st.sampled_from(["inc-1", "inc-2", "inc-x", "E1", "E2", "E3", "M1", "nope", "", " "])
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "incident_id": IDS,
    "unit_id": IDS,
    "unit_ids": st.lists(IDS, max_size=4),
    "status": st.sampled_from([s.value for s in UnitStatus] + ["XX"]),
    "priority": st.integers(-3, 8),
    "alarm": st.integers(-1, 7),
    "recommended": st.none() | st.lists(IDS | st.text(max_size=20), max_size=4),
    "override_reason": st.text(max_size=250),
    "type": st.sampled_from(["FIRE", "", "x" * 70]),
    "location": st.fixed_dictionaries(
        {},
        optional={
            "address": st.text(max_size=10),
            "lat": st.floats(-200, 200),
            "lon": st.floats(-200, 200),
        },
    ),
}


@st.composite
def commands(draw: st.DrawFn) -> CommandBody:
    kind = draw(st.sampled_from(sorted(COMMANDS)) | st.text(max_size=20))
    args_type = COMMANDS[kind].args if kind in COMMANDS else None
    if args_type is not None and draw(st.booleans()):
        names = list(args_type.__struct_fields__)
        args: Any = {
            name: draw(PLAUSIBLE.get(name, JSON) | JSON)
            for name in names
            if draw(st.integers(0, 4)) > 0
        }
        if draw(st.booleans()):
            args.update(draw(st.dictionaries(st.text(max_size=8), JSON, max_size=2)))
    else:
        args = draw(JSON)
    key = draw(st.just(str(uuid.uuid4())) | st.text(max_size=40))
    return CommandBody(
        key=key,
        client_seq=draw(st.integers(-(2**63), 2**63 - 1)),
        kind=kind,
        args=msgspec.Raw(msgspec.json.encode(args)),
        issued_at=NOW,
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands(), st.sampled_from([*ROLES, "", "root"]))
def test_fuzz_handle_never_raises(command: CommandBody, role: str) -> None:
    w = world()
    snapshot = (dict(w.incidents), dict(w.units))
    outcome = handle(w, command, "ann", role, NOW, numbers())
    assert isinstance(outcome, Accepted | Rejected)
    if isinstance(outcome, Rejected):
        assert outcome.error.code != "internal", outcome
    assert (w.incidents, w.units) == snapshot


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=60))
def test_fuzz_raw_bytes_as_args_never_raise(raw: bytes) -> None:
    outcome = handle(world(), cmd("unit.add", raw), "ann", "dispatcher", NOW, numbers())
    assert isinstance(outcome, Accepted | Rejected)
