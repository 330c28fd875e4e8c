"""The call aggregate, incident links and premises: rules, effects, times and the queries the
call-taking panel asks (duplicates, prior incidents, premise flags)."""

from __future__ import annotations

import pytest

from desktop.domain.caller_location import CallerLocation, Geodetic
from desktop.domain.calls import (
    CallAnswer,
    CallEnd,
    CallLink,
    CallMarkCalledBack,
    CallOffer,
    CallRelease,
    callback_list,
    calls_answered_by,
    needs_follow_up,
    ringing_calls,
)
from desktop.domain.catalog import decide
from desktop.domain.incidents import IncidentCreate
from desktop.domain.kinds import CommandArgs, DecisionContext, DomainError
from desktop.domain.links import IncidentLinkTo
from desktop.domain.premises import PremiseRemove, PremiseSet, premise_key
from desktop.domain.types import CallStatus, IncidentStatus, LocationArgs, Unit, UnitStatus
from desktop.domain.units import UnitDispatch, UnitSetStatus
from desktop.domain.wording import ani_text, call_label
from desktop.domain.world import World
from desktop.geo.nearby import (
    compatible_types,
    duplicate_candidates,
    metres_between,
    premise_at,
    prior_incidents,
)
from desktop.protocol.errors import ErrorCode

T0 = 1_790_000_000.0
MARKET = LocationArgs(address="1200 MARKET ST", lat=37.7786, lon=-122.4159, verified=True)


def run(world: World, args: CommandArgs, actor: str = "ann", at: float = T0) -> list[str]:
    """Decide ``args`` and apply its events; return the event kinds' data class names."""
    events = decide(world, args, DecisionContext(actor=actor, now=at, number_incident=lambda: None))
    for data in events:
        world.apply(data, at, actor)
    return [type(e).__name__ for e in events]


def refused(world: World, args: CommandArgs, actor: str = "ann") -> ErrorCode:
    with pytest.raises(DomainError) as caught:
        decide(world, args, DecisionContext(actor=actor, now=T0))
    return caught.value.code


def offered(world: World, call_id: str = "c1", at: float = T0, **kw: object) -> None:
    circle = CallerLocation(
        kind="geodetic",
        geodetic=Geodetic(shape="Circle", lat=37.7787, lon=-122.4160, uncertainty_m=50.0),
        method="Cell",
    )
    args = CallOffer(
        call_id=call_id,
        ani="+14155550134",
        class_of_service="wireless",
        locations=[circle],
        **kw,  # type: ignore[arg-type]
    )
    run(world, args, actor="sip-intake", at=at)


def test_a_call_rings_is_answered_linked_and_released_with_its_times() -> None:
    world = World()
    offered(world)
    assert [c.id for c in ringing_calls(world)] == ["c1"]
    run(world, CallAnswer(call_id="c1"), "ann", T0 + 4)
    assert world.calls["c1"].status is CallStatus.ANSWERED and ringing_calls(world) == []
    assert [c.id for c in calls_answered_by(world, "ann")] == ["c1"]
    kinds = run(
        world,
        IncidentCreate(incident_id="i1", type="FIRE", priority=1, location=MARKET, call_id="c1"),
        "ann",
        T0 + 30,
    )
    assert kinds == ["IncidentCreated", "CallLinked"]
    call, incident = world.calls["c1"], world.incidents["i1"]
    assert call.status is CallStatus.LINKED and call.incident_id == "i1"
    assert incident.calls == ["c1"]
    assert incident.times["call_received"] == T0 and incident.times["call_answered"] == T0 + 4
    assert incident.times["created"] == T0 + 30
    assert any(e.text.startswith("Call linked: (415) 555-0134 wireless") for e in incident.timeline)
    run(world, CallRelease(call_id="c1"), "ann", T0 + 90)
    assert world.calls["c1"].status is CallStatus.RELEASED
    assert world.calls["c1"].times == {
        "received": T0,
        "answered": T0 + 4,
        "linked": T0 + 30,
        "ended": T0 + 90,
    }
    assert world.incidents["i1"].timeline[-1].text == "Call ended: released by ann"


def test_exactly_one_position_wins_the_answer() -> None:
    world = World()
    offered(world)
    run(world, CallAnswer(call_id="c1"), "ann")
    assert refused(world, CallAnswer(call_id="c1"), "bob") is ErrorCode.ALREADY_ANSWERED
    assert world.calls["c1"].answered_by == "ann"


def test_abandoned_calls_wait_on_the_callback_list_until_called_back() -> None:
    world = World()
    offered(world, "c1", T0)
    offered(world, "c2", T0 + 5)
    assert run(world, CallEnd(call_id="c2", reason="cancelled before answer")) == ["CallAbandoned"]
    run(world, CallAnswer(call_id="c1"))
    run(world, CallEnd(call_id="c1"))  # hung up after the answer, before any incident
    assert world.calls["c1"].status is CallStatus.ABANDONED
    assert [c.id for c in callback_list(world)] == ["c1", "c2"]
    assert refused(world, CallAnswer(call_id="c2")) is ErrorCode.CALL_ENDED
    run(world, CallMarkCalledBack(call_id="c2", note="no answer, left message"))
    assert [c.id for c in callback_list(world)] == ["c1"]
    assert world.calls["c2"].callback_note == "no answer, left message"
    assert refused(world, CallMarkCalledBack(call_id="c2")) is ErrorCode.NO_CHANGE
    assert refused(world, CallEnd(call_id="c2")) is ErrorCode.NO_CHANGE


def test_a_call_is_answered_before_it_is_linked_and_linked_once() -> None:
    world = World()
    offered(world)
    run(world, IncidentCreate(incident_id="i1", type="FIRE", priority=1, location=MARKET))
    link = CallLink(call_id="c1", incident_id="i1")
    assert refused(world, link) is ErrorCode.CALL_NOT_ANSWERED
    assert refused(world, CallRelease(call_id="c1")) is ErrorCode.CALL_NOT_ANSWERED
    run(world, CallAnswer(call_id="c1"))
    run(world, link)
    assert refused(world, link) is ErrorCode.NO_CHANGE
    run(world, IncidentCreate(incident_id="i2", type="FIRE", priority=1, location=MARKET))
    assert refused(world, CallLink(call_id="c1", incident_id="i2")) is ErrorCode.ALREADY_EXISTS
    create = IncidentCreate(incident_id="i3", type="F", priority=1, location=MARKET, call_id="c1")
    assert refused(world, create) is ErrorCode.ALREADY_EXISTS
    assert "i3" not in world.incidents


def test_the_caller_hanging_up_a_linked_call_releases_it() -> None:
    world = World()
    offered(world)
    run(world, CallAnswer(call_id="c1"))
    run(
        world, IncidentCreate(incident_id="i1", type="F", priority=1, location=MARKET, call_id="c1")
    )
    assert run(world, CallEnd(call_id="c1")) == ["CallReleased"]
    assert world.incidents["i1"].timeline[-1].text == "Call ended: caller hung up"


def test_offers_are_checked() -> None:
    world = World()
    offered(world)
    assert refused(world, CallOffer(call_id="c1")) is ErrorCode.ALREADY_EXISTS
    assert refused(world, CallOffer(call_id="c9", class_of_service="pager")) is (
        ErrorCode.INVALID_COMMAND
    )
    assert refused(world, CallOffer(call_id="c9", ani="1" * 65)) is ErrorCode.INVALID_COMMAND


def test_cleared_and_nfors_times_come_from_the_record() -> None:
    world = World({}, {"E1": Unit(id="E1", type="ENGINE", status=UnitStatus.AQ)})
    run(world, IncidentCreate(incident_id="i1", type="FIRE", priority=1, location=MARKET))
    run(world, UnitDispatch(incident_id="i1", unit_ids=["E1"]), at=T0 + 60)
    run(world, UnitSetStatus(unit_id="E1", status=UnitStatus.ER), at=T0 + 90)
    run(world, UnitSetStatus(unit_id="E1", status=UnitStatus.OS), at=T0 + 400)
    run(world, UnitSetStatus(unit_id="E1", status=UnitStatus.AV), at=T0 + 1200)
    times = world.incidents["i1"].times
    assert (times["first_dispatch"], times["first_enroute"]) == (T0 + 60, T0 + 90)
    assert (times["first_onscene"], times["cleared"]) == (T0 + 400, T0 + 1200)


def test_a_child_link_is_recorded_on_both_incidents_and_timelines() -> None:
    world = World()
    run(world, IncidentCreate(incident_id="a", type="FIRE", priority=1, location=MARKET))
    run(world, IncidentCreate(incident_id="b", type="FIRE", priority=2, location=MARKET))
    run(world, IncidentLinkTo(incident_id="b", target_id="a", relation="child"))
    a, b = world.incidents["a"], world.incidents["b"]
    assert [(link.incident_id, link.relation) for link in b.links] == [("a", "child")]
    assert [(link.incident_id, link.relation) for link in a.links] == [("b", "parent")]
    assert b.timeline[-1].text.startswith("Linked as a child of")
    assert a.timeline[-1].text.startswith("Child incident")
    assert b.status is IncidentStatus.PENDING
    link = IncidentLinkTo(incident_id="b", target_id="a", relation="child")
    assert refused(world, link) is ErrorCode.NO_CHANGE


def test_a_merge_closes_the_replaced_incident_into_the_other() -> None:
    world = World({}, {"E1": Unit(id="E1", type="ENGINE", status=UnitStatus.AQ)})
    run(world, IncidentCreate(incident_id="a", type="FIRE", priority=1, location=MARKET))
    run(world, IncidentCreate(incident_id="b", type="FIRE", priority=2, location=MARKET))
    run(world, UnitDispatch(incident_id="b", unit_ids=["E1"]))
    merge = IncidentLinkTo(incident_id="b", target_id="a", relation="replaced")
    assert refused(world, merge) is ErrorCode.UNITS_STILL_ASSIGNED
    run(world, UnitSetStatus(unit_id="E1", status=UnitStatus.AQ))
    assert run(world, merge) == ["IncidentLinked", "IncidentClosed"]
    b = world.incidents["b"]
    assert b.status is IncidentStatus.CLOSED and b.disposition is not None
    assert b.disposition.startswith("merged into")
    assert [link.relation for link in world.incidents["a"].links] == ["replacing"]


def test_premises_are_set_replaced_and_removed_by_key() -> None:
    world = World()
    assert premise_key(" 1200  Market St, San Francisco ") == "1200 MARKET ST"
    run(world, PremiseSet(address="1200 Market St", hazards=["dog", "dog", "oxygen in use"]))
    assert world.premises["1200 MARKET ST"].hazards == ["dog", "oxygen in use"]
    again = PremiseSet(address="1200 MARKET ST", hazards=["dog", "oxygen in use"])
    assert refused(world, again) is ErrorCode.NO_CHANGE
    assert refused(world, PremiseSet(address="x", hazards=[])) is ErrorCode.INVALID_COMMAND
    assert refused(world, PremiseSet(address="x", hazards=["a"], lat=1.0)) is (
        ErrorCode.INVALID_COMMAND
    )
    run(world, PremiseRemove(address="1200 market st"))
    assert world.premises == {}
    assert refused(world, PremiseRemove(address="1200 market st")) is ErrorCode.NOT_FOUND


def test_duplicates_are_near_recent_open_and_of_a_compatible_type() -> None:
    world = World()
    run(
        world,
        IncidentCreate(incident_id="near", type="FIRE-STRUCTURE", priority=1, location=MARKET),
    )
    far = LocationArgs(address="1 MARKET ST", lat=37.7940, lon=-122.3950)
    run(world, IncidentCreate(incident_id="far", type="FIRE-STRUCTURE", priority=1, location=far))
    run(world, IncidentCreate(incident_id="ems", type="MEDICAL", priority=1, location=MARKET))
    old = LocationArgs(address="1210 MARKET ST", lat=37.7787, lon=-122.4160)
    run(
        world,
        IncidentCreate(incident_id="old", type="FIRE", priority=1, location=old),
        at=T0 - 3600,
    )
    caller = LocationArgs(lat=37.7790, lon=-122.4162)
    found = duplicate_candidates(world, caller, "FIRE-VEHICLE", T0 + 60)
    assert [d.incident.id for d in found] == ["near"]
    assert 40 < found[0].distance_m < 60
    assert {d.incident.id for d in duplicate_candidates(world, caller, "", T0)} == {"near", "ems"}
    assert compatible_types("FIRE-ALARM", "FIRE-STRUCTURE")
    assert not compatible_types("MEDICAL", "FIRE-STRUCTURE")


def test_prior_incidents_and_premise_flags_at_an_address() -> None:
    world = World()
    for n, at in enumerate((T0 - 86400 * 30, T0 - 86400, T0)):
        run(
            world,
            IncidentCreate(incident_id=f"i{n}", type="FIRE", priority=2, location=MARKET),
            at=at,
        )
    run(world, PremiseSet(address="1200 MARKET ST", hazards=["dog"], lat=37.7786, lon=-122.4159))
    here = LocationArgs(address="1200 Market St", lat=37.77861, lon=-122.41591)
    assert [i.id for i in prior_incidents(world, here, exclude="i2")] == ["i1", "i0"]
    premise = premise_at(world, here)
    assert premise is not None and premise.hazards == ["dog"]
    nearby_point = LocationArgs(lat=37.77862, lon=-122.41592)
    assert premise_at(world, nearby_point) is premise
    assert premise_at(world, LocationArgs(lat=37.79, lon=-122.40)) is None
    assert metres_between(37.7786, -122.4159, 37.7786, -122.4159) == 0.0


def test_follow_up_is_needed_for_a_forced_unverified_address() -> None:
    world = World()
    forced = LocationArgs(address="BEHIND THE OLD MILL", forced=True)
    run(world, IncidentCreate(incident_id="i1", type="FIRE", priority=1, location=forced))
    assert needs_follow_up(world.incidents["i1"])
    run(world, IncidentCreate(incident_id="i2", type="FIRE", priority=1, location=MARKET))
    assert not needs_follow_up(world.incidents["i2"])


@pytest.mark.parametrize(
    ("ani", "text"),
    [
        ("+14155550134", "(415) 555-0134"),
        ("tel:+1-415-555-0134", "(415) 555-0134"),
        ("sip:4155550134@carrier.example;user=phone", "(415) 555-0134"),
        ("+441632960961", "+441632960961"),
        ("", "no callback number"),
    ],
)
def test_callback_numbers_are_read_aloud(ani: str, text: str) -> None:
    assert ani_text(ani) == text


def test_call_label_names_number_and_service() -> None:
    world = World()
    offered(world)
    assert call_label(world.calls["c1"]) == "(415) 555-0134 wireless"
