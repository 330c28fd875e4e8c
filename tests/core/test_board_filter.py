"""The board's filter and order (desktop.board_filter): pure, no Qt."""

from __future__ import annotations

import pytest

from desktop.board_filter import (
    EN_DASH,
    IncidentFilter,
    age_since,
    area_labeller,
    board_order,
)
from desktop.domain.incidents import pending_since
from desktop.domain.types import Incident, IncidentStatus, Location
from desktop.geo.areas import AreaIndex


def incident(
    incident_id: str,
    *,
    type: str = "FIRE",
    priority: int = 3,
    status: IncidentStatus = IncidentStatus.PENDING,
    created: float = 1000.0,
    pending: float | None = None,
) -> Incident:
    times = {"created": created}
    if pending is not None:
        times["pending"] = pending
    return Incident(
        id=incident_id,
        type=type,
        priority=priority,
        location=Location(address="1 Main"),
        status=status,
        times=times,
    )


def test_pending_since_prefers_the_pending_entry_then_created() -> None:
    assert pending_since(incident("a", created=10.0)) == 10.0
    assert pending_since(incident("a", created=10.0, pending=50.0)) == 50.0
    bare = Incident(id="b", type="X", priority=1, location=Location())
    assert pending_since(bare) == 0.0


def test_age_counts_pending_since_for_the_queue_and_created_for_the_rest() -> None:
    assert age_since(incident("a", created=10.0, pending=50.0)) == 50.0
    active = incident("b", status=IncidentStatus.ACTIVE, created=10.0, pending=50.0)
    assert age_since(active) == 10.0


def test_board_order_pending_queue_first_by_priority_then_longest_waiting() -> None:
    rows = [
        incident("active-p1", priority=1, status=IncidentStatus.ACTIVE, created=900.0),
        incident("dispatched-p1-old", priority=1, status=IncidentStatus.DISPATCHED, created=800.0),
        incident("pending-p3-old", priority=3, created=100.0),
        incident("pending-p1-new", priority=1, created=990.0),
        incident("pending-p1-old", priority=1, created=950.0),
        # created first, but released back to pending recently: waits less than pending-p2-b
        incident("pending-p2-released", priority=2, created=10.0, pending=980.0),
        incident("pending-p2-b", priority=2, created=970.0),
        incident("dispatched-p3", priority=3, status=IncidentStatus.DISPATCHED, created=1.0),
    ]
    ordered = [i.id for i in sorted(rows, key=board_order)]
    assert ordered == [
        "pending-p1-old",
        "pending-p1-new",
        "pending-p2-b",
        "pending-p2-released",
        "pending-p3-old",
        "dispatched-p1-old",
        "active-p1",
        "dispatched-p3",
    ]


def test_board_order_is_total() -> None:
    a, b = incident("a"), incident("b")
    assert sorted([b, a], key=board_order) == [a, b]


def test_the_everything_filter() -> None:
    everything = IncidentFilter()
    assert everything.is_everything
    assert not everything.needs_area
    assert everything.describe() == ""
    assert everything.matches(incident("a"), "B04")
    assert everything.matches(incident("a"))


def test_type_filter_is_case_insensitive() -> None:
    fire = IncidentFilter(types=frozenset({"fire "}))
    assert fire.types == frozenset({"FIRE"})
    assert not fire.is_everything
    assert fire.matches(incident("a", type="Fire"))
    assert not fire.matches(incident("a", type="MEDICAL"))
    assert fire.describe() == "FIRE"


def test_priority_filter_and_its_description() -> None:
    urgent = IncidentFilter(priorities=frozenset({1, 2}))
    assert urgent.matches(incident("a", priority=1))
    assert urgent.matches(incident("a", priority=2))
    assert not urgent.matches(incident("a", priority=3))
    assert urgent.describe() == f"P1{EN_DASH}2"
    assert IncidentFilter(priorities=frozenset({1})).describe() == "P1"
    assert IncidentFilter(priorities=frozenset({1, 3})).describe() == "P1,3"
    assert IncidentFilter(priorities=frozenset()).describe() == "no priorities"


def test_area_filter_matches_the_label_or_its_leading_part() -> None:
    b04 = IncidentFilter(areas=frozenset({"B04"}))
    assert b04.needs_area
    assert b04.matches(incident("a"), "B04")
    assert b04.matches(incident("a"), "B04 · Stn 16")
    assert not b04.matches(incident("a"), "B040")
    assert not b04.matches(incident("a"), "B02 · Stn 1")
    assert not b04.matches(incident("a"), "")  # unknown area: not in B04
    station = IncidentFilter(areas=frozenset({"B04 · Stn 16"}))
    assert station.matches(incident("a"), "B04 · Stn 16")
    assert not station.matches(incident("a"), "B04 · Stn 17")


def test_status_filter() -> None:
    queue = IncidentFilter(statuses=frozenset({IncidentStatus.PENDING}))
    assert queue.matches(incident("a"))
    assert not queue.matches(incident("a", status=IncidentStatus.ACTIVE))
    assert queue.describe() == "pending"


def test_criteria_combine_and_describe_in_a_fixed_order() -> None:
    f = IncidentFilter(
        types=frozenset({"FIRE"}), priorities=frozenset({1, 2}), areas=frozenset({"B04"})
    )
    assert f.describe() == f"P1{EN_DASH}2 · FIRE · B04"
    assert f.matches(incident("a", priority=2), "B04 · Stn 16")
    assert not f.matches(incident("a", priority=2), "B03")
    assert not f.matches(incident("a", priority=3), "B04")
    assert not f.matches(incident("a", type="MEDICAL", priority=1), "B04")
    many = IncidentFilter(types=frozenset({"A", "B", "C"}), areas=frozenset({"B01", "B02"}))
    assert many.describe() == "3 types · B01/B02"


@pytest.mark.parametrize(
    "f",
    [
        IncidentFilter(),
        IncidentFilter(types=frozenset({"FIRE"}), priorities=frozenset({1, 2})),
        IncidentFilter(areas=frozenset({"B04 · Stn 16"}), priorities=frozenset()),
        IncidentFilter(statuses=frozenset({IncidentStatus.PENDING, IncidentStatus.ACTIVE})),
    ],
)
def test_json_round_trip(f: IncidentFilter) -> None:
    assert IncidentFilter.from_json(f.to_json()) == f


@pytest.mark.parametrize(
    "text",
    [None, "", "nonsense", "[1, 2]", '{"priorities": "1"}', '{"priorities": [true]}'],
)
def test_unreadable_json_gives_everything(text: str | None) -> None:
    assert IncidentFilter.from_json(text).is_everything


def test_an_unreadable_criterion_is_left_at_any() -> None:
    f = IncidentFilter.from_json('{"priorities": [1], "statuses": ["gone"], "areas": [3]}')
    assert f == IncidentFilter(priorities=frozenset({1}))


def test_area_labeller_labels_by_the_nearest_known_point() -> None:
    index = AreaIndex([37.77, 37.70], [-122.42, -122.40], ["16", "1"], {"16": "B04", "1": "B01"})
    label = area_labeller(index)
    at = Incident(id="a", type="X", priority=1, location=Location(lat=37.7701, lon=-122.4201))
    assert label(at) == "B04 · Stn 16"
    assert IncidentFilter(areas=frozenset(index.battalions()[-1:])).matches(at, label(at))
    far = Incident(id="b", type="X", priority=1, location=Location(lat=38.5, lon=-121.0))
    assert label(far) == ""
    assert label(incident("c")) == ""  # an address without coordinates
