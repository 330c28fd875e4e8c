"""The radio plan (desktop/radio_plan.py, resources/radio.json): the shipped plan loads, alone
and with the other centre rules, and a broken plan is refused with the file named and the
field that breaks a rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from desktop.centre import CentreRulesError, load_centre_rules
from desktop.domain.radio import CHANNEL_MAX
from desktop.domain.types import UnitStatus
from desktop.radio_plan import (
    AlarmRules,
    Channel,
    MarkRule,
    RadioPlan,
    RadioPlanError,
    load_radio_plan,
)
from desktop.resources import resource_path

SHIPPED = resource_path("radio.json")


def test_the_shipped_plan_loads() -> None:
    plan = load_radio_plan()
    assert plan == load_radio_plan(SHIPPED)
    assert [c.name for c in plan.channels][:3] == ["FIRE DISPATCH", "EMS DISPATCH", "FIRE TAC 1"]
    assert len(plan.channels) == 9
    assert {c.use for c in plan.channels} == {"dispatch", "tactical", "command"}
    assert [c.name for c in plan.channels if not c.selected] == ["FIRE TAC 4", "EMS TAC 2"]
    assert plan.alarms == AlarmRules(
        escalate_after_s=30, repeat_every_s=3, par_escalate_after_s=120
    )
    assert plan.marks_for("FIRE-STRUCTURE") == MarkRule(elapsed_every_s=600, par_every_s=1200)
    assert plan.marks_for("fire-outside") == MarkRule(elapsed_every_s=600)
    assert plan.marks_for("MEDICAL") is None
    assert plan.status_phrases["on scene"] is UnitStatus.OS
    assert plan.status_phrases["at hospital"] is UnitStatus.AH
    assert plan.talking_timeout_s == 30


def test_every_shipped_mark_type_has_a_run_card() -> None:
    rules = load_centre_rules()
    assert set(rules.radio.marks) <= set(rules.runcards.incident_types())


def test_the_plan_loads_with_the_centre_rules() -> None:
    rules = load_centre_rules()
    assert rules.radio == load_radio_plan()


def test_a_channel_is_found_in_any_case() -> None:
    plan = load_radio_plan()
    assert plan.channel(" fire tac 2 ") == Channel(name="FIRE TAC 2", use="tactical")
    assert plan.channel("FIRE TAC 9") is None


def test_defaults() -> None:
    plan = RadioPlan(channels=[Channel(name="A")])
    assert plan.channels[0] == Channel(name="A", use="tactical", about="", selected=True)
    assert plan.alarms == AlarmRules(
        escalate_after_s=30, repeat_every_s=3, par_escalate_after_s=120
    )
    assert (plan.marks, plan.status_phrases, plan.talking_timeout_s) == ({}, {}, 30.0)


def plan_with(**changes: Any) -> dict[str, Any]:
    text: dict[str, Any] = json.loads(SHIPPED.read_text(encoding="utf-8"))
    text.update(changes)
    return text


def one_channel(**fields: Any) -> list[dict[str, Any]]:
    return [{"name": "FIRE DISPATCH", **fields}]


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"channels": one_channel() + one_channel()}, "each channel is named once"),
        ({"channels": one_channel(name="Fire Tac 1")}, "upper case"),
        ({"channels": one_channel(name="C" * (CHANNEL_MAX + 1))}, "1-32 characters"),
        ({"channels": one_channel(name="   ")}, "1-32 characters"),
        ({"channels": one_channel(use="talk")}, "use"),
        ({"channels": []}, "name at least one channel"),
        ({"alarms": {"escalate_after_s": -1}}, "escalate_after_s must be a positive number"),
        ({"alarms": {"repeat_every_s": 0}}, "repeat_every_s must be a positive number"),
        ({"alarms": {"par_escalate_after_s": -5}}, "par_escalate_after_s must be a positive"),
        ({"marks": {"FIRE-STRUCTURE": {"par_every_s": 59}}}, "par_every_s must be at least 60"),
        ({"marks": {"GAS-LEAK": {"elapsed_every_s": 0}}}, "elapsed_every_s must be at least 60"),
        ({"status_phrases": {"on scene": "XX"}}, "status_phrases"),
        ({"status_phrases": {"On Scene": "OS"}}, "'On Scene' must be lower-case words"),
        ({"status_phrases": {"on scene!": "OS"}}, "must be lower-case words"),
        ({"talking_timeout_s": 0}, "talking_timeout_s must be a positive number"),
        ({"channel": []}, "unknown field `channel`"),
        ({"alarms": {"escalate_after": 30}}, "unknown field `escalate_after`"),
    ],
)
def test_a_broken_plan_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, changes: dict[str, Any], where: str
) -> None:
    path = tmp_path / "radio.json"
    path.write_text(json.dumps(plan_with(**changes)), encoding="utf-8")
    with pytest.raises(RadioPlanError) as caught:
        load_radio_plan(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and where in message, message


def test_a_plan_without_channels_is_refused(tmp_path: Path) -> None:
    text = plan_with()
    del text["channels"]
    path = tmp_path / "radio.json"
    path.write_text(json.dumps(text), encoding="utf-8")
    with pytest.raises(RadioPlanError, match="missing required field `channels`"):
        load_radio_plan(path)


@pytest.mark.parametrize("text", ["{not json", "[]", ""])
def test_a_plan_that_is_not_a_json_object_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "radio.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RadioPlanError, match=rf"^{path}: "):
        load_radio_plan(path)


def test_a_missing_plan_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(RadioPlanError, match=r"nowhere\.json"):
        load_radio_plan(tmp_path / "nowhere.json")


def test_a_broken_plan_stops_the_centre_rules_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "radio.json"
    path.write_text(json.dumps(plan_with(channels=[])), encoding="utf-8")
    with pytest.raises(CentreRulesError) as caught:
        load_centre_rules(radio_path=path)
    [only] = str(caught.value).splitlines()
    assert only.startswith(f"{path}: ") and "name at least one channel" in only


def test_every_broken_rules_file_is_named_in_one_error(tmp_path: Path) -> None:
    runcards, radio = tmp_path / "runcards.json", tmp_path / "radio.json"
    runcards.write_text("{not json", encoding="utf-8")
    radio.write_text('{"channels": [{"name": "lower"}]}', encoding="utf-8")
    with pytest.raises(CentreRulesError) as caught:
        load_centre_rules(None, runcards, radio)
    first, second = str(caught.value).splitlines()
    assert first.startswith(f"{runcards}: ") and second.startswith(f"{radio}: ")


def test_a_mark_type_in_lower_case_still_marks_its_incidents(tmp_path: Path) -> None:
    path = tmp_path / "radio.json"
    marks = {"fire-structure": {"elapsed_every_s": 600}}
    path.write_text(json.dumps(plan_with(marks=marks)), encoding="utf-8")
    assert load_radio_plan(path).marks_for("FIRE-STRUCTURE") == MarkRule(elapsed_every_s=600)


def test_a_channel_name_with_spaces_at_its_ends_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "radio.json"
    path.write_text(json.dumps({"channels": [{"name": " FIRE TAC 1"}]}))
    with pytest.raises(RadioPlanError, match="no spaces at the ends"):
        load_radio_plan(path)
