"""The catalog: every kind declared once, and the worked example in docs/architecture.md is a
command kind that works as written (its record decides, words and applies)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from desktop.domain import catalog, checks, kinds, types, units, world
from desktop.domain.kinds import CommandKind, DecisionContext, EventKind

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def test_every_aggregate_kind_is_in_the_catalog_once() -> None:
    declared = [k.name for module in catalog.AGGREGATES for k in module.COMMANDS]
    assert sorted(declared) == sorted(catalog.COMMANDS) and len(set(declared)) == len(declared)
    events = [k.name for module in catalog.AGGREGATES for k in module.EVENTS]
    assert sorted(events) == sorted(catalog.EVENTS) and len(set(events)) == len(events)


def test_a_kind_declared_twice_stops_the_import() -> None:
    twice = [catalog.COMMANDS["unit.add"], catalog.COMMANDS["unit.add"]]
    with pytest.raises(ValueError, match="declared twice"):
        catalog._by_name(twice, "command kind")


def _example() -> dict[str, Any]:
    """Run the worked example of docs/architecture.md in the namespace of an aggregate module."""
    text = DOC.read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    namespace: dict[str, Any] = {
        **vars(kinds),
        **vars(checks),
        **vars(types),
        "World": world.World,
        "Touched": world.Touched,
    }
    namespace.pop("__builtins__", None)
    exec(compile("from __future__ import annotations\n" + code, str(DOC), "exec"), namespace)
    return namespace


def test_the_documented_way_to_add_a_command_kind_works() -> None:
    example = _example()
    command, event = example["COMMANDS"][-1], example["EVENTS"][-1]
    assert isinstance(command, CommandKind) and command.name == "unit.note"
    assert isinstance(event, EventKind) and event.name == "unit.noted"
    state = world.World()
    for data in catalog.decide(
        state, units.UnitAdd(unit_id="E1", type="ENGINE"), DecisionContext("ann", 1.0)
    ):
        state.apply(data, 1.0, "ann")
    args = command.args(unit_id="E1", text="crew of three")
    [noted] = command.decide(state, args, DecisionContext("ann", 2.0))
    assert command.describe(state, args) == "note on E1"
    assert event.apply(state, noted, 2.0) == [("unit", "E1")]
    assert command.least_role == "dispatcher"
