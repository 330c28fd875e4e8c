"""`DispatchService.submit_all`: one check per command, all or none, role refusals in place.

The service is built but never started: nothing here needs a server (commands stay queued).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import desktop.state
from desktop.domain.incidents import IncidentAddNote, IncidentCreate
from desktop.domain.kinds import CommandArgs, DecisionContext, EventData
from desktop.domain.types import LocationArgs, UnitStatus
from desktop.domain.units import UnitAdd, UnitDispatch
from desktop.domain.world import World
from desktop.service import CommandRefused, DispatchService, ServiceConfig
from desktop.signin import SignIn


@pytest.fixture
def service(tmp_path: Path) -> Iterator[DispatchService]:
    config = ServiceConfig(data_dir=tmp_path / "ws", url="ws://127.0.0.1:9", workstation="t")
    service = DispatchService(config, SignIn("ann", "pw"))
    yield service
    service.db.close()


@pytest.fixture
def decisions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every run of the rules on the workstation, by command type."""
    runs: list[str] = []
    real = desktop.state.decide

    def counting(world: World, args: CommandArgs, ctx: DecisionContext) -> list[EventData]:
        runs.append(type(args).__name__)
        return real(world, args, ctx)

    monkeypatch.setattr(desktop.state, "decide", counting)
    return runs


def _incident(incident_id: str = "0193c1f2-0000-7000-8000-000000000001") -> IncidentCreate:
    return IncidentCreate(
        incident_id=incident_id, type="FIRE", priority=1, location=LocationArgs(address="1 Main")
    )


def test_a_command_is_checked_once(service: DispatchService, decisions: list[str]) -> None:
    service.submit(_incident())
    assert decisions == ["IncidentCreate"]
    assert service.incident(_incident().incident_id) is not None  # the forecast is shown
    assert decisions == ["IncidentCreate"]  # ... without deciding it again


def test_a_line_of_commands_is_checked_once_each_in_order(
    service: DispatchService, decisions: list[str]
) -> None:
    incident = _incident()
    commands: list[Any] = [
        UnitAdd(unit_id="E1", type="ENGINE", status=UnitStatus.AV),
        incident,
        UnitDispatch(incident_id=incident.incident_id, unit_ids=["E1"]),
        IncidentAddNote(incident_id=incident.incident_id, text="E1 sent"),
    ]
    entries = service.submit_all(commands)
    assert decisions == ["UnitAdd", "IncidentCreate", "UnitDispatch", "IncidentAddNote"]
    assert [e.kind for e in entries] == [
        "unit.add",
        "incident.create",
        "unit.dispatch",
        "incident.add_note",
    ]
    assert len({e.issued_at for e in entries}) == 1
    assert service.unit("E1").incident_id == incident.incident_id  # type: ignore[union-attr]
    assert len(decisions) == 4


def test_a_refused_command_queues_none_of_its_line(service: DispatchService) -> None:
    incident = _incident()
    with pytest.raises(CommandRefused) as refused:
        service.submit_all(
            [incident, UnitDispatch(incident_id=incident.incident_id, unit_ids=["E404"])]
        )
    assert refused.value.code == "not_found" and "E404" in refused.value.message
    assert len(service.outbox) == 0 and service.incident(incident.incident_id) is None


def test_a_monitoring_position_is_refused_in_the_roles_wording(tmp_path: Path) -> None:
    config = ServiceConfig(
        data_dir=tmp_path / "ws", url="ws://127.0.0.1:9", role_requested="supervisor"
    )
    service = DispatchService(config, SignIn("sam", "pw"))
    with pytest.raises(CommandRefused) as refused:
        service.submit(_incident())
    assert refused.value.code == "forbidden"
    assert refused.value.message == "a monitoring position is read-only: it cannot change anything"
    assert len(service.outbox) == 0
    service.db.close()
