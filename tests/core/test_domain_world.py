"""`World.apply` for every event kind, NFORS times, `fork` independence, unknown entities.

Contract (desktop/domain/world.py): events are applied by replacing entities with changed copies,
never by mutating them, so a fork shares entities with its parent safely; an event about an
entity the world does not hold is ignored and touches nothing.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from desktop.domain.alerts import AlertAcknowledged
from desktop.domain.catalog import EVENTS
from desktop.domain.incidents import (
    IncidentClosed,
    IncidentCreated,
    IncidentNoteAdded,
    IncidentStatusChanged,
    IncidentUpdated,
)
from desktop.domain.kinds import EventData
from desktop.domain.links import IncidentLinked
from desktop.domain.premises import PremiseRemoved, PremiseUpdated
from desktop.domain.types import (
    Caller,
    Incident,
    IncidentStatus,
    Location,
    NarrativeEntry,
    Position,
    Unit,
    UnitStatus,
)
from desktop.domain.units import (
    PlanOverridden,
    UnitAdded,
    UnitDispatched,
    UnitStatusChanged,
    UnitUpdated,
)
from desktop.domain.world import World

T0 = 1_700_000_000.0
MAIN_ST = Location(address="1 Main St", city="San Francisco", lat=37.77, lon=-122.41)


def incident(incident_id: str = "i-1", **changes: Any) -> Incident:
    values: dict[str, Any] = {
        "id": incident_id,
        "type": "STRUCTURE FIRE",
        "priority": 1,
        "location": MAIN_ST,
        "number": "F2611-000001",
        "created_by": "c.taker",
        **changes,
    }
    return Incident(**values)


def unit(unit_id: str = "E12", **changes: Any) -> Unit:
    values: dict[str, Any] = {"id": unit_id, "type": "engine", "station": "ST12", **changes}
    return Unit(**values)


def world_with(*events: tuple[EventData, float]) -> World:
    world = World()
    for data, at in events:
        world.apply(data, at)
    return world


def base_world() -> World:
    """Incident i-1 (pending) and units E12, M55 (AQ) and T3 (AV)."""
    return world_with(
        (IncidentCreated(incident=incident()), T0),
        (UnitAdded(unit=unit("E12")), T0),
        (UnitAdded(unit=unit("M55", type="medic")), T0),
        (UnitAdded(unit=unit("T3", type="truck", status=UnitStatus.AV)), T0),
    )


def encoded(world: World) -> bytes:
    """The whole world as bytes, to compare states before and after."""
    return msgspec.json.encode([sorted(world.incidents.items()), sorted(world.units.items())])


# --- incidents --------------------------------------------------------------------------------


def test_incident_created_sets_created_time_when_absent() -> None:
    world = World()
    touched = world.apply(IncidentCreated(incident=incident()), T0 + 5)
    assert touched == [("incident", "i-1")]
    stored = world.incidents["i-1"]
    assert stored.times == {"created": T0 + 5, "pending": T0 + 5}
    assert stored.status is IncidentStatus.PENDING
    assert stored.number == "F2611-000001"


def test_incident_created_keeps_its_own_created_time() -> None:
    world = World()
    created = incident(times={"created": T0})
    world.apply(IncidentCreated(incident=created), T0 + 99)
    assert world.incidents["i-1"].times == {"created": T0, "pending": T0}
    assert created.times == {"created": T0}


def test_incident_created_does_not_alias_the_event() -> None:
    created = incident()
    world = World()
    world.apply(IncidentCreated(incident=created), T0)
    assert created.times == {}  # the event's own entity was not stamped in place


def test_incident_updated_changes_only_fields_present() -> None:
    world = base_world()
    caller = Caller(name="R. Party", callback="+14155550100")
    touched = world.apply(IncidentUpdated(incident_id="i-1", priority=2, caller=caller), T0 + 1)
    assert touched == [("incident", "i-1")]
    updated = world.incidents["i-1"]
    assert (updated.priority, updated.caller) == (2, caller)
    assert (updated.type, updated.location) == ("STRUCTURE FIRE", MAIN_ST)

    elsewhere = Location(address="9 Side St")
    world.apply(IncidentUpdated(incident_id="i-1", type="VEHICLE FIRE", location=elsewhere), T0)
    updated = world.incidents["i-1"]
    assert (updated.type, updated.location, updated.priority) == ("VEHICLE FIRE", elsewhere, 2)
    assert updated.caller == caller


def test_incident_note_added_appends() -> None:
    world = base_world()
    first = NarrativeEntry(at=T0 + 1, author="d.jones", text="smoke showing")
    second = NarrativeEntry(at=T0 + 2, author="d.jones", text="2nd alarm")
    assert world.apply(IncidentNoteAdded(incident_id="i-1", entry=first), T0 + 1) == [
        ("incident", "i-1")
    ]
    world.apply(IncidentNoteAdded(incident_id="i-1", entry=second), T0 + 2)
    assert world.incidents["i-1"].narrative == [first, second]


@pytest.mark.parametrize("status", list(IncidentStatus))
def test_incident_status_changed(status: IncidentStatus) -> None:
    world = base_world()
    touched = world.apply(IncidentStatusChanged(incident_id="i-1", status=status), T0 + 1)
    assert touched == [("incident", "i-1")]
    assert world.incidents["i-1"].status is status


def test_incident_closed_records_disposition_and_time() -> None:
    world = base_world()
    touched = world.apply(IncidentClosed(incident_id="i-1", disposition="FIRE OUT"), T0 + 600)
    assert touched == [("incident", "i-1")]
    closed = world.incidents["i-1"]
    assert closed.status is IncidentStatus.CLOSED
    assert closed.disposition == "FIRE OUT"
    assert closed.times == {"created": T0, "pending": T0, "closed": T0 + 600}


def test_incident_closed_time_is_set_once() -> None:
    world = base_world()
    world.apply(IncidentClosed(incident_id="i-1", disposition="FIRE OUT"), T0 + 600)
    world.apply(IncidentClosed(incident_id="i-1", disposition="FIRE OUT"), T0 + 700)
    assert world.incidents["i-1"].times["closed"] == T0 + 600


# --- units ------------------------------------------------------------------------------------


def test_unit_added_takes_the_event_time_unless_it_has_one() -> None:
    world = World()
    assert world.apply(UnitAdded(unit=unit("E12")), T0 + 3) == [("unit", "E12")]
    assert world.units["E12"].status_at == T0 + 3
    assert world.units["E12"].status is UnitStatus.AQ
    world.apply(UnitAdded(unit=unit("M55", status_at=T0 - 50, status=UnitStatus.OOS)), T0 + 3)
    assert world.units["M55"].status_at == T0 - 50
    assert world.units["M55"].status is UnitStatus.OOS


def test_unit_updated_changes_only_fields_present() -> None:
    world = base_world()
    touched = world.apply(UnitUpdated(unit_id="E12", capabilities=["ALS", "foam"]), T0 + 1)
    assert touched == [("unit", "E12")]
    assert world.units["E12"].capabilities == ["ALS", "foam"]
    assert (world.units["E12"].type, world.units["E12"].station) == ("engine", "ST12")
    world.apply(UnitUpdated(unit_id="E12", type="quint", station="ST14"), T0 + 2)
    updated = world.units["E12"]
    assert (updated.type, updated.station, updated.capabilities) == (
        "quint",
        "ST14",
        ["ALS", "foam"],
    )
    assert updated.status_at == T0  # not a status change


def test_unit_dispatched_commits_unit_and_records_first_dispatch_once() -> None:
    world = base_world()
    touched = world.apply(UnitDispatched(unit_id="E12", incident_id="i-1"), T0 + 30)
    assert touched == [("unit", "E12"), ("incident", "i-1")]
    e12 = world.units["E12"]
    assert (e12.status, e12.incident_id, e12.status_at) == (UnitStatus.DP, "i-1", T0 + 30)
    assert world.incidents["i-1"].units == ["E12"]
    assert world.incidents["i-1"].times["first_dispatch"] == T0 + 30

    world.apply(UnitDispatched(unit_id="M55", incident_id="i-1"), T0 + 45)
    assert world.incidents["i-1"].units == ["E12", "M55"]
    assert world.incidents["i-1"].times["first_dispatch"] == T0 + 30

    world.apply(UnitDispatched(unit_id="E12", incident_id="i-1"), T0 + 50)  # dispatched again
    assert world.incidents["i-1"].units == ["E12", "M55"]
    assert world.units["E12"].status_at == T0 + 50


def test_unit_dispatched_to_an_unknown_incident_moves_only_the_unit() -> None:
    world = base_world()
    before = world.incidents["i-1"]
    assert world.apply(UnitDispatched(unit_id="E12", incident_id="nope"), T0) == [("unit", "E12")]
    assert world.units["E12"].incident_id == "nope"
    assert world.incidents == {"i-1": before}


def _status(
    unit_id: str, status: UnitStatus, previous: UnitStatus, incident_id: str | None
) -> UnitStatusChanged:
    return UnitStatusChanged(
        unit_id=unit_id, status=status, previous=previous, incident_id=incident_id
    )


def test_nfors_times_are_set_by_the_first_unit_only() -> None:
    world = base_world()
    world.apply(UnitDispatched(unit_id="E12", incident_id="i-1"), T0 + 30)
    world.apply(UnitDispatched(unit_id="M55", incident_id="i-1"), T0 + 31)

    touched = world.apply(_status("E12", UnitStatus.ER, UnitStatus.DP, "i-1"), T0 + 60)
    assert touched == [("unit", "E12"), ("incident", "i-1")]
    # a second unit going en route later does not move first_enroute (the incident is
    # touched only because its timeline records the change)
    assert world.apply(_status("M55", UnitStatus.ER, UnitStatus.DP, "i-1"), T0 + 90) == [
        ("unit", "M55"),
        ("incident", "i-1"),
    ]
    world.apply(_status("M55", UnitStatus.OS, UnitStatus.ER, "i-1"), T0 + 200)
    world.apply(_status("E12", UnitStatus.OS, UnitStatus.ER, "i-1"), T0 + 240)
    world.apply(UnitDispatched(unit_id="T3", incident_id="i-1"), T0 + 300)
    world.apply(_status("T3", UnitStatus.OS, UnitStatus.DP, "i-1"), T0 + 400)

    times = world.incidents["i-1"].times
    assert times == {
        "created": T0,
        "pending": T0,
        "first_dispatch": T0 + 30,
        "first_enroute": T0 + 60,
        "first_onscene": T0 + 200,
    }
    assert world.units["E12"].status is UnitStatus.OS
    assert world.units["E12"].status_at == T0 + 240


def test_status_change_within_the_incident_keeps_the_assignment() -> None:
    world = base_world()
    world.apply(UnitDispatched(unit_id="M55", incident_id="i-1"), T0 + 1)
    for at, (previous, status) in enumerate(
        [
            (UnitStatus.DP, UnitStatus.ER),
            (UnitStatus.ER, UnitStatus.OS),
            (UnitStatus.OS, UnitStatus.TR),
            (UnitStatus.TR, UnitStatus.AH),
        ],
        start=2,
    ):
        world.apply(_status("M55", status, previous, "i-1"), T0 + at)
        assert world.units["M55"].status is status
        assert world.units["M55"].incident_id == "i-1"
        assert world.incidents["i-1"].units == ["M55"]
    assert "first_transport" not in world.incidents["i-1"].times


def test_clearing_unit_leaves_the_incident() -> None:
    world = base_world()
    world.apply(UnitDispatched(unit_id="E12", incident_id="i-1"), T0 + 1)
    world.apply(UnitDispatched(unit_id="M55", incident_id="i-1"), T0 + 2)
    touched = world.apply(_status("E12", UnitStatus.AV, UnitStatus.DP, None), T0 + 3)
    assert touched == [("unit", "E12"), ("incident", "i-1")]
    assert world.units["E12"].incident_id is None
    assert world.units["E12"].status is UnitStatus.AV
    assert world.incidents["i-1"].units == ["M55"]
    assert world.incidents["i-1"].times["first_dispatch"] == T0 + 1


def test_status_change_of_an_idle_unit_touches_only_the_unit() -> None:
    world = base_world()
    assert world.apply(_status("E12", UnitStatus.OOS, UnitStatus.AQ, None), T0 + 1) == [
        ("unit", "E12")
    ]
    assert world.units["E12"].status is UnitStatus.OOS
    assert world.units["E12"].status_at == T0 + 1


# --- unknown entities and kinds ---------------------------------------------------------------


ABOUT_NOBODY: list[EventData] = [
    IncidentUpdated(incident_id="ghost", priority=3),
    IncidentNoteAdded(incident_id="ghost", entry=NarrativeEntry(at=T0, author="a", text="t")),
    IncidentStatusChanged(incident_id="ghost", status=IncidentStatus.ACTIVE),
    IncidentClosed(incident_id="ghost", disposition="X"),
    UnitUpdated(unit_id="ghost", station="ST1"),
    UnitDispatched(unit_id="ghost", incident_id="i-1"),
    UnitStatusChanged(
        unit_id="ghost", status=UnitStatus.ER, previous=UnitStatus.DP, incident_id="i-1"
    ),
]


@pytest.mark.parametrize("data", ABOUT_NOBODY, ids=lambda d: type(d).__name__)
def test_events_about_unknown_entities_are_ignored(data: EventData) -> None:
    world = base_world()
    before = encoded(world)
    assert world.apply(data, T0 + 10) == []
    assert encoded(world) == before
    assert "ghost" not in world.incidents
    assert "ghost" not in world.units


def test_unknown_event_class_is_ignored() -> None:
    class FromTheFuture(EventData):
        what: str = ""

    world = base_world()
    before = encoded(world)
    assert world.apply(FromTheFuture(what="x"), T0) == []
    assert encoded(world) == before


def test_every_event_kind_is_covered_here() -> None:
    covered = {
        IncidentCreated,
        IncidentUpdated,
        IncidentNoteAdded,
        IncidentStatusChanged,
        IncidentClosed,
        UnitAdded,
        UnitUpdated,
        UnitDispatched,
        UnitStatusChanged,
        AlertAcknowledged,  # tests/core/test_timers.py
        PlanOverridden,  # tests/core/test_timeline.py
        *(kind.data for kind in EVENTS.values() if kind.name.startswith("call.")),
        # tests/core/test_calls.py
        IncidentLinked,  # tests/core/test_calls.py
        PremiseUpdated,  # tests/core/test_calls.py
        PremiseRemoved,  # tests/core/test_calls.py
        *(kind.data for kind in EVENTS.values() if kind.name.startswith("radio.")),
        # tests/core/test_radio.py
    }
    assert {kind.data for kind in EVENTS.values()} == covered


# --- fork and immutability --------------------------------------------------------------------

INCIDENT_IDS = ["i-1", "i-2", "i-3"]
UNIT_IDS = ["E12", "M55", "T3", "B2"]
incident_ids = st.sampled_from(INCIDENT_IDS)
unit_ids = st.sampled_from(UNIT_IDS)
statuses = st.sampled_from(list(UnitStatus))
times = st.floats(min_value=T0, max_value=T0 + 86_400)
words = st.text(max_size=6)

events = st.one_of(
    st.builds(
        IncidentCreated,
        incident=st.builds(
            Incident,
            id=incident_ids,
            type=words,
            priority=st.integers(1, 5),
            location=st.just(MAIN_ST),
            times=st.dictionaries(st.sampled_from(["created", "first_dispatch"]), times),
        ),
    ),
    st.builds(
        IncidentUpdated,
        incident_id=incident_ids,
        type=st.none() | words,
        priority=st.none() | st.integers(1, 5),
        location=st.none() | st.just(Location(address="2 Elm St")),
        caller=st.none() | st.builds(Caller, name=words),
    ),
    st.builds(
        IncidentNoteAdded,
        incident_id=incident_ids,
        entry=st.builds(NarrativeEntry, at=times, author=words, text=words),
    ),
    st.builds(
        IncidentStatusChanged, incident_id=incident_ids, status=st.sampled_from(IncidentStatus)
    ),
    st.builds(IncidentClosed, incident_id=incident_ids, disposition=words),
    st.builds(
        UnitAdded,
        unit=st.builds(
            Unit,
            id=unit_ids,
            type=words,
            capabilities=st.lists(words, max_size=2),
            status=statuses,
            position=st.none()
            | st.builds(Position, lat=st.just(37.7), lon=st.just(-122.4), at=times),
        ),
    ),
    st.builds(
        UnitUpdated,
        unit_id=unit_ids,
        station=st.none() | words,
        capabilities=st.none() | st.lists(words, max_size=2),
    ),
    st.builds(UnitDispatched, unit_id=unit_ids, incident_id=incident_ids),
    st.builds(
        UnitStatusChanged,
        unit_id=unit_ids,
        status=statuses,
        previous=statuses,
        incident_id=st.none() | incident_ids,
    ),
)
histories = st.lists(st.tuples(events, times), max_size=25)


def _snapshot_entities(world: World) -> list[tuple[object, bytes]]:
    """Every entity object the world holds, with its encoding now."""
    held: list[Any] = [*world.incidents.values(), *world.units.values()]
    return [(entity, msgspec.json.encode(entity)) for entity in held]


def _assert_unchanged(entities: list[tuple[object, bytes]]) -> None:
    for entity, was in entities:
        assert msgspec.json.encode(entity) == was, f"{entity!r} was mutated in place"


@settings(max_examples=150, deadline=None)
@given(before=histories, after=histories)
def test_a_fork_never_changes_its_parent(
    before: list[tuple[EventData, float]], after: list[tuple[EventData, float]]
) -> None:
    parent = world_with(*before)
    parent_state = encoded(parent)
    parent_entities = _snapshot_entities(parent)

    child = parent.fork()
    assert encoded(child) == parent_state
    for data, at in after:
        entities = _snapshot_entities(child)
        child.apply(data, at)
        _assert_unchanged(entities)  # apply replaces entities, it never mutates them

    assert encoded(parent) == parent_state
    _assert_unchanged(parent_entities)
    # the fork reached the same state as the parent would have
    replay = world_with(*before, *after)
    assert encoded(child) == encoded(replay)


@settings(max_examples=100, deadline=None)
@given(before=histories, after=histories)
def test_changing_the_parent_never_changes_a_fork(
    before: list[tuple[EventData, float]], after: list[tuple[EventData, float]]
) -> None:
    parent = world_with(*before)
    child = parent.fork()
    grandchild = child.fork()
    child_state = encoded(child)
    for data, at in after:
        parent.apply(data, at)
    assert encoded(child) == child_state
    assert encoded(grandchild) == child_state


@settings(max_examples=100, deadline=None)
@given(history=histories)
def test_touched_names_only_held_entities(history: list[tuple[EventData, float]]) -> None:
    world = World()
    for data, at in history:
        for kind, entity_id in world.apply(data, at):
            held = world.incidents if kind == "incident" else world.units
            assert kind in {"incident", "unit"}
            assert entity_id in held


def test_fork_shares_entities_but_not_maps() -> None:
    parent = base_world()
    child = parent.fork()
    assert child.incidents is not parent.incidents
    assert child.units is not parent.units
    assert child.incidents["i-1"] is parent.incidents["i-1"]
    child.apply(UnitDispatched(unit_id="E12", incident_id="i-1"), T0 + 1)
    assert parent.units["E12"].status is UnitStatus.AQ
    assert parent.incidents["i-1"].units == []
    assert child.incidents["i-1"].units == ["E12"]
    child.apply(UnitAdded(unit=unit("B2", type="chief")), T0 + 2)
    assert "B2" not in parent.units
