"""The Supervisor panel's tiles (`desktop.floor_tiles`): each figure and its standing against
its target, from a world and the figures of a `FloorLog` fed with events."""

from __future__ import annotations

from desktop.domain.calls import CallAnswered, CallLinked, CallOffered
from desktop.domain.floor_figures import FloorLog
from desktop.domain.incidents import IncidentCreated
from desktop.domain.types import (
    Call,
    CallStatus,
    Incident,
    IncidentStatus,
    Location,
    Unit,
    UnitStatus,
)
from desktop.domain.units import UnitDispatched, UnitStatusChanged
from desktop.domain.world import World
from desktop.floor_tiles import Tile, floor_tiles

T0 = 1_790_000_000.0


def _floor(answers: list[float], processing: list[float]) -> FloorLog:
    floor = FloorLog()
    for n, (answer, process) in enumerate(zip(answers, processing, strict=True)):
        call, incident = f"c{n}", f"i{n}"
        received = T0 + 100 * n
        floor.read(CallOffered(call=Call(id=call, times={"received": received})), received)
        floor.read(CallAnswered(call_id=call, by="ann"), received + answer)
        created = Incident(
            id=incident,
            type="MEDICAL",
            priority=2,
            location=Location(),
            times={"created": received},
        )
        floor.read(IncidentCreated(incident=created), received + answer)
        floor.read(CallLinked(call_id=call, incident_id=incident), received + answer)
        floor.read(UnitDispatched(unit_id=f"M{n}", incident_id=incident), received + process)
    return floor


def _by_key(tiles: list[Tile]) -> dict[str, Tile]:
    return {tile.key: tile for tile in tiles}


def test_shares_stand_against_their_targets() -> None:
    # 10 calls: 9 answered within 15 s (90 %: ok), 9 within 20 s (90 % < 95 % - 5: bad)
    answers = [5.0] * 9 + [30.0]
    processing = [50.0] * 8 + [70.0, 80.0]  # 80 % within 60 s: bad (target 90 %)
    floor = _floor(answers, processing)
    figures = floor.figures(T0 - 10, T0 + 10_000)
    tiles = _by_key(floor_tiles(World(), figures, T0 + 2000, alarms=0, alerts=0))
    assert (tiles["answered_15s"].value, tiles["answered_15s"].standing) == ("90%", "ok")
    assert tiles["answered_15s"].detail == "target 90% · 10 calls"
    assert (tiles["answered_20s"].value, tiles["answered_20s"].standing) == ("90%", "warn")
    assert (tiles["processed_60s"].value, tiles["processed_60s"].standing) == ("80%", "bad")
    assert tiles["turnout_p90"].standing == "none" and tiles["turnout_p90"].value == "—"


def test_turnout_travel_and_the_world_tiles() -> None:
    floor = _floor([5.0], [40.0])
    floor.read(
        UnitStatusChanged(
            unit_id="M0", status=UnitStatus.ER, previous=UnitStatus.DP, incident_id="i0"
        ),
        T0 + 130,
    )
    floor.read(
        UnitStatusChanged(
            unit_id="M0", status=UnitStatus.OS, previous=UnitStatus.ER, incident_id="i0"
        ),
        T0 + 530,
    )
    figures = floor.figures(T0 - 10, T0 + 10_000)
    world = World(
        incidents={
            "a": Incident(id="a", type="FIRE", priority=1, location=Location()),
            "b": Incident(id="b", type="MEDICAL", priority=3, location=Location()),
            "c": Incident(
                id="c", type="MEDICAL", priority=3, location=Location(),
                status=IncidentStatus.CLOSED,
            ),
        },
        units={
            "E1": Unit(id="E1", type="ENGINE", status=UnitStatus.AV),
            "E2": Unit(id="E2", type="ENGINE", status=UnitStatus.AQ),
            "M1": Unit(id="M1", type="MEDIC", status=UnitStatus.OS),
        },
        calls={"r": Call(id="r", status=CallStatus.RINGING, times={"received": T0 + 1980})},
    )  # fmt: skip
    tiles = _by_key(floor_tiles(world, figures, T0 + 2000, alarms=1, alerts=2))
    assert (tiles["turnout_p90"].value, tiles["turnout_p90"].standing) == ("90 s", "warn")
    assert (tiles["travel_p90"].value, tiles["travel_p90"].standing) == ("400 s", "bad")
    assert (tiles["ringing"].value, tiles["ringing"].detail) == ("1", "longest 20 s")
    assert tiles["ringing"].standing == "bad"
    assert (tiles["active"].value, tiles["active"].detail) == ("2", "P1 1 · P3 1")
    assert (tiles["available"].value, tiles["available"].detail) == ("2", "ENGINE 2")
    assert tiles["unacknowledged"].value == "3" and tiles["unacknowledged"].standing == "bad"
