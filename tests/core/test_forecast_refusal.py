"""A refused command leaves the view following the log: with nothing pending, the view is the
confirmed world again (a fork left in its place would miss every event that arrives)."""

from __future__ import annotations

import msgspec
import pytest

from desktop.domain.kinds import DomainError
from desktop.domain.types import Unit, UnitStatus
from desktop.domain.units import UnitAdded, UnitSetStatus
from desktop.domain.world import World
from desktop.state import ClientState


def test_the_view_follows_events_after_a_refusal_with_nothing_pending() -> None:
    state = ClientState("ann", World(units={"E1": Unit(id="E1", type="ENGINE")}))
    with pytest.raises(DomainError):
        state.forecast([UnitSetStatus(unit_id="X9", status=UnitStatus.AV)], 1.0)
    assert state.view is state.confirmed
    with pytest.raises(DomainError):  # a line refused after its first command changed the view
        state.forecast(
            [
                UnitSetStatus(unit_id="E1", status=UnitStatus.AV),
                UnitSetStatus(unit_id="X9", status=UnitStatus.AV),
            ],
            1.0,
        )
    assert state.view is state.confirmed
    assert state.view.units["E1"].status is UnitStatus.AQ
    data = msgspec.json.encode(UnitAdded(unit=Unit(id="M2", type="MEDIC")))
    state.apply_event(1, "unit.added", data, 2.0)
    assert "M2" in state.view.units
