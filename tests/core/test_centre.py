"""The centre's rules files are read and checked together before the workstation opens."""

from __future__ import annotations

from pathlib import Path

import pytest

from desktop.centre import CentreRulesError, load_centre_rules


def test_the_shipped_rules_load() -> None:
    rules = load_centre_rules()
    assert rules.runcards.incident_types()
    assert rules.timers.incident_pending


def test_every_broken_file_is_named_in_one_error(tmp_path: Path) -> None:
    timers = tmp_path / "timers.json"
    timers.write_text('{"version": 1, "unit_status": {"DP": {"warn_after": "soon"}}}')
    runcards = tmp_path / "runcards.json"
    runcards.write_text("{not json")
    with pytest.raises(CentreRulesError) as caught:
        load_centre_rules(timers, runcards)
    first, second = str(caught.value).splitlines()
    assert first.startswith(f"{timers}: ") and second.startswith(f"{runcards}: ")


def test_a_missing_file_is_an_error_that_names_it(tmp_path: Path) -> None:
    with pytest.raises(CentreRulesError, match=r"runcards\.json"):
        load_centre_rules(None, tmp_path / "runcards.json")
