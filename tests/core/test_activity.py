"""What a position reports it has open (desktop/activity.py) and what a supervisor reads of the
floor (desktop/floor_positions.py, desktop/domain/presence.py)."""

from __future__ import annotations

from desktop.activity import INPUT_EVERY_S, ActivityTracker
from desktop.domain.presence import MAX_DRAFT_CHARS, MAX_DRAFTS, activity_problem, idle_s
from desktop.domain.types import Incident, Location, NarrativeEntry
from desktop.domain.world import World
from desktop.floor_positions import NOTHING_OPEN, position_rows, shadow_view
from desktop.protocol.messages import ActivityBody, PositionPresence


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def tracker() -> tuple[ActivityTracker, list[ActivityBody], Clock]:
    sent: list[ActivityBody] = []
    clock = Clock()
    return ActivityTracker(sent.append, clock), sent, clock


def observe(t: ActivityTracker, **drafts: str) -> None:
    t.observe(panel="incidents", call_id=None, incident_id="i-1", drafts=drafts)


def test_a_change_of_view_is_sent_once_with_the_newest_input() -> None:
    t, sent, clock = tracker()
    observe(t)
    assert t.report() and sent[-1].incident_id == "i-1" and sent[-1].input_at is None
    assert not t.report()  # nothing changed
    clock.now += 1
    t.touched()
    observe(t, command="D E")
    assert t.report()
    assert sent[-1].drafts == {"command": "D E"} and sent[-1].input_at == 1001.0
    assert len(sent) == 2


def test_input_alone_is_reported_at_most_every_few_seconds() -> None:
    t, sent, clock = tracker()
    observe(t)
    t.touched()
    t.report()
    for _ in range(4):
        clock.now += 1
        t.touched()
        assert not t.report()  # within INPUT_EVERY_S: idle time is right to within it
    clock.now += INPUT_EVERY_S
    t.touched()
    assert t.report() and sent[-1].input_at == clock.now


def test_drafts_are_cut_named_and_counted_within_the_rules() -> None:
    t, sent, _ = tracker()
    long = "x" * (MAX_DRAFT_CHARS + 50)
    t.observe(
        panel="call_taking",
        call_id="c-1",
        incident_id=None,
        drafts={"command": long, "call.address": "", "not-a-field": "secret"},
    )
    t.report()
    assert sent[-1].drafts == {"command": "x" * MAX_DRAFT_CHARS}
    assert activity_problem(sent[-1]) is None
    too_many = ActivityBody(drafts={f"f{n}": "a" for n in range(MAX_DRAFTS + 1)})
    assert activity_problem(too_many) == f"{MAX_DRAFTS + 1} drafts; at most {MAX_DRAFTS}"
    assert activity_problem(ActivityBody(incident_id="i" * 101)) is not None


def test_idle_runs_from_the_last_input_else_the_sign_in() -> None:
    assert idle_s(ActivityBody(input_at=90.0), 10.0, 100.0) == 10.0
    assert idle_s(ActivityBody(), 10.0, 100.0) == 90.0
    assert idle_s(ActivityBody(input_at=120.0), 10.0, 100.0) == 0.0  # never negative


def _world() -> World:
    incident = Incident(
        id="i-1",
        type="MEDICAL",
        priority=1,
        number="F2612-000007",
        location=Location(address="1200 Market St"),
        units=["M57"],
        narrative=[NarrativeEntry(at=float(n), author="ann", text=f"note {n}") for n in range(9)],
    )
    return World(incidents={"i-1": incident})


def _position(user: str, activity: ActivityBody, client_id: str = "") -> PositionPresence:
    return PositionPresence(
        client_id=client_id or f"ws-{user}",
        user=user,
        role="dispatcher",
        workstation=f"D-{user}",
        signed_in_at=0.0,
        activity=activity,
    )


def test_the_overview_names_what_each_position_has_open() -> None:
    presence = {
        "ws-bob": _position("bob", ActivityBody(call_id="c-unknown")),
        "ws-ann": _position("ann", ActivityBody(incident_id="i-1", input_at=40.0)),
        "ws-cy": _position("cy", ActivityBody()),
    }
    rows = position_rows(presence, _world(), 100.0)
    assert [row.user for row in rows] == ["ann", "bob", "cy"]
    assert rows[0].open == "F2612-000007 · P1 MEDICAL · 1200 Market St"
    assert rows[0].idle_s == 60.0
    assert rows[1].open == "a call not yet seen here"
    assert rows[2].open == NOTHING_OPEN and rows[2].idle_s == 100.0


def test_the_shadow_shows_the_incident_its_newest_notes_and_the_drafts_in_order() -> None:
    activity = ActivityBody(
        panel="incident_detail",
        incident_id="i-1",
        drafts={"incident.note": "2nd floor", "command": "D E51"},
    )
    view = shadow_view(_position("ann", activity), _world())
    assert view.title == "Shadowing ann (dispatcher) at D-ann"
    assert view.details == ("Status pending · units M57",)
    assert view.narrative[-1] == "ann: note 8" and len(view.narrative) == 6
    assert view.drafts == (("Command line", "D E51"), ("Narrative note", "2nd floor"))
    gone = shadow_view(None, _world(), "ann at D-ann")
    assert gone.gone and gone.title == "ann at D-ann signed out"
