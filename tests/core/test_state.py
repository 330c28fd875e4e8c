"""ClientState: seq order, gaps, the optimistic overlay, and observer notifications."""

from __future__ import annotations

import msgspec
import pytest

from desktop.domain.catalog import decide, event_kind_of
from desktop.domain.incidents import IncidentAddNote, IncidentCreate, IncidentCreated
from desktop.domain.kinds import DecisionContext, DomainError
from desktop.domain.types import Incident, Location, Unit, UnitStatus
from desktop.domain.units import UnitAdd, UnitAdded, UnitDispatch
from desktop.domain.world import World
from desktop.outbox import OutboxEntry
from desktop.protocol.messages import ActivityBody, PositionPresence, PresenceBody
from desktop.state import Change, ClientState, GapError

enc = msgspec.json.encode


def _entry(seq: int, key: str, args: object, kind: str) -> OutboxEntry:
    return OutboxEntry(seq, key, kind, enc(args), 100.0 + seq)


def _feed(state: ClientState, seq: int, data: object, key: str | None = None) -> None:
    state.apply_event(seq, event_kind_of(data).name, enc(data), 50.0 + seq, key)


def _incident(incident_id: str) -> Incident:
    return Incident(id=incident_id, type="FIRE", priority=1, location=Location(address="1 Main"))


def test_events_apply_in_order_duplicates_ignored_gaps_raise() -> None:
    state = ClientState("ann")
    _feed(state, 1, UnitAdded(unit=Unit(id="E1", type="ENGINE")))
    _feed(state, 1, UnitAdded(unit=Unit(id="E9", type="ENGINE")))  # duplicate seq: ignored
    assert set(state.view.units) == {"E1"}
    with pytest.raises(GapError) as gap:
        _feed(state, 3, UnitAdded(unit=Unit(id="E3", type="ENGINE")))
    assert (gap.value.expected, gap.value.got) == (2, 3)
    assert state.last_seq == 1


def test_unknown_event_kinds_advance_seq_only() -> None:
    state = ClientState("ann")
    state.apply_event(1, "radio.keyed_up", b'{"radio":"123"}', 1.0)
    assert state.last_seq == 1


def test_pending_command_is_visible_then_replaced_by_its_event() -> None:
    state = ClientState("ann")
    args = IncidentCreate(incident_id="i1", type="FIRE", priority=1, location=Location(address="x"))
    state.add_pending(_entry(1, "k1", args, "incident.create"))
    assert state.incident("i1") is not None
    assert "i1" not in state.confirmed.incidents
    # the server's event arrives (with the command's key), before the result
    _feed(state, 1, IncidentCreated(incident=_incident("i1")), key="k1")
    assert state.incident("i1") is not None
    state.resolve_pending("k1")
    assert state.pending_count() == 0
    assert state.view is state.confirmed


def test_note_forecast_is_not_shown_twice_while_result_is_in_flight() -> None:
    state = ClientState("ann")
    _feed(state, 1, IncidentCreated(incident=_incident("i1")))
    args = IncidentAddNote(incident_id="i1", text="smoke showing")
    state.add_pending(_entry(1, "k1", args, "incident.add_note"))
    assert len(state.incident("i1").narrative) == 1  # type: ignore[union-attr]
    world = state.confirmed.fork()
    [note] = decide(world, args, DecisionContext(actor="ann", now=1.0))
    _feed(state, 2, note, key="k1")
    assert len(state.incident("i1").narrative) == 1  # type: ignore[union-attr]


def test_forecast_that_no_longer_fits_is_reported_not_applied() -> None:
    state = ClientState("bob")
    _feed(state, 1, UnitAdded(unit=Unit(id="E1", type="ENGINE", status=UnitStatus.AV)))
    _feed(state, 2, IncidentCreated(incident=_incident("a")))
    _feed(state, 3, IncidentCreated(incident=_incident("b")))
    args = UnitDispatch(incident_id="b", unit_ids=["E1"])
    state.add_pending(_entry(1, "k1", args, "unit.dispatch"))
    assert state.unit("E1").incident_id == "b"  # type: ignore[union-attr]
    # another dispatcher's dispatch of E1 to "a" arrives first
    world = state.confirmed.fork()
    for seq, event in enumerate(
        decide(world, UnitDispatch(incident_id="a", unit_ids=["E1"]), DecisionContext("x", 1.0)),
        start=4,
    ):
        _feed(state, seq, event)
    [pending] = state.pending()
    assert isinstance(pending.forecast_error, DomainError)
    assert pending.forecast_error.code == "unit_unavailable"
    assert state.unit("E1").incident_id == "a"  # type: ignore[union-attr]


def test_forecast_refuses_what_cannot_apply_and_changes_nothing() -> None:
    """The line's first command changed the view before the second was refused: the view is
    worked out again, without it."""
    state = ClientState("ann")
    _feed(state, 1, IncidentCreated(incident=_incident("i1")))
    with pytest.raises(DomainError):
        state.forecast(
            [IncidentAddNote(incident_id="i1", text="x"), UnitAdd(unit_id="", type="E")], 1.0
        )
    assert state.incident("i1").narrative == [] and state.pending_count() == 0  # type: ignore[union-attr]
    with pytest.raises(DomainError):
        state.check(UnitAdd(unit_id="", type="E"), 1.0)
    state.check(IncidentAddNote(incident_id="i1", text="x"), 1.0)  # a check changes nothing
    assert state.incident("i1").narrative == []  # type: ignore[union-attr]


def test_a_forecast_not_queued_is_taken_back() -> None:
    state = ClientState("ann")
    _feed(state, 1, IncidentCreated(incident=_incident("i1")))
    forecast = state.forecast([IncidentAddNote(incident_id="i1", text="x")], 1.0)
    assert len(state.incident("i1").narrative) == 1  # type: ignore[union-attr]
    state.drop_forecast(forecast)  # e.g. the disk was full
    assert state.incident("i1").narrative == [] and state.view is state.confirmed  # type: ignore[union-attr]


def test_a_forecast_is_overlaid_as_it_was_worked_out() -> None:
    """Commands are checked once: the forecast applied their effect to the view, each later
    command of a line seeing the earlier ones' effect, and queued they keep it."""
    state = ClientState("ann")
    _feed(state, 1, IncidentCreated(incident=_incident("i1")))
    _feed(state, 2, UnitAdded(unit=Unit(id="E1", type="ENGINE", status=UnitStatus.AV)))
    commands = [
        UnitDispatch(incident_id="i1", unit_ids=["E1"]),
        IncidentAddNote(incident_id="i1", text="E1 going"),
    ]
    forecast = state.forecast(commands, 200.0)
    entries = [
        _entry(n, f"k{n}", args, kind)
        for n, (args, kind) in enumerate(
            zip(commands, ["unit.dispatch", "incident.add_note"], strict=True), start=1
        )
    ]
    view = state.view
    state.add_forecast(forecast, entries)
    assert state.view is view  # not worked out again
    assert state.unit("E1").incident_id == "i1"  # type: ignore[union-attr]
    assert [p.touched for p in state.pending()] == list(forecast.touched)
    assert state.flush().pending


def test_a_forecast_checked_against_an_older_view_is_worked_out_again() -> None:
    state = ClientState("ann")
    _feed(state, 1, IncidentCreated(incident=_incident("i1")))
    note = IncidentAddNote(incident_id="i1", text="first")
    forecast = state.forecast([note], 200.0)
    _feed(state, 2, IncidentCreated(incident=_incident("i2")))  # the view moved on meanwhile
    state.add_forecast(forecast, [_entry(1, "k1", note, "incident.add_note")])
    assert set(state.view.incidents) == {"i1", "i2"}
    assert [e.text for e in state.incident("i1").narrative] == ["first"]  # type: ignore[union-attr]


def test_observers_get_one_change_per_flush() -> None:
    state = ClientState("ann")
    changes: list[Change] = []
    unsubscribe = state.subscribe(changes.append)
    for seq in range(1, 4):
        _feed(state, seq, UnitAdded(unit=Unit(id=f"E{seq}", type="ENGINE")))
    args = UnitAdd(unit_id="E9", type="ENGINE")
    state.add_pending(_entry(1, "k", args, "unit.add"))
    state.flush()
    state.flush()  # nothing new: no call
    assert len(changes) == 1
    assert changes[0].units == {"E1", "E2", "E3", "E9"} and changes[0].pending
    unsubscribe()
    _feed(state, 4, UnitAdded(unit=Unit(id="E4", type="ENGINE")))
    state.flush()
    assert len(changes) == 1


def test_snapshot_replaces_confirmed_world() -> None:
    state = ClientState("ann", World(), 0)
    _feed(state, 1, UnitAdded(unit=Unit(id="OLD", type="ENGINE")))
    state.load_snapshot(
        40,
        {
            "incidents": [enc([_incident("i1")])],
            "units": [enc([Unit(id="E1", type="ENGINE"), Unit(id="E2", type="X")])],
        },
    )
    assert state.last_seq == 40
    assert set(state.view.units) == {"E1", "E2"} and set(state.view.incidents) == {"i1"}
    assert state.flush().reset


def _present(client_id: str, user: str = "ann") -> PositionPresence:
    return PositionPresence(
        client_id=client_id, user=user, role="dispatcher", workstation="ws", signed_in_at=1.0
    )


def test_presence_updates_sign_outs_and_a_full_frame_that_forgets_the_unlisted() -> None:
    state = ClientState("sam")
    assert state.apply_presence(PresenceBody(positions=[_present("a"), _present("b")])) == {
        "a",
        "b",
    }
    busy = msgspec.structs.replace(_present("a"), activity=ActivityBody(panel="units"))
    assert state.apply_presence(PresenceBody(positions=[busy, _present("b")])) == {"a"}
    assert state.apply_presence(PresenceBody(gone=["b", "never-seen"])) == {"b"}
    assert set(state.presence) == {"a"} and state.presence["a"].activity.panel == "units"
    state.apply_presence(PresenceBody(positions=[_present("c")]))
    assert state.apply_presence(PresenceBody(positions=[_present("c")], full=True)) == {"a"}
    assert set(state.presence) == {"c"}
    assert state.flush().presence == {"a", "b", "c"}


def test_a_catch_up_split_over_frames_keeps_every_position_it_lists() -> None:
    state = ClientState("sam")
    state.apply_presence(PresenceBody(positions=[_present("old")]))
    state.apply_presence(PresenceBody(positions=[_present("a"), _present("b")], full=True))
    state.apply_presence(PresenceBody(positions=[_present("c")]))  # the catch-up's second part
    assert set(state.presence) == {"a", "b", "c"}
