"""The roster file and import plan (server/roster.py): pure, no server."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from desktop.domain.types import Unit
from desktop.domain.units import UnitAdd, UnitUpdate
from desktop.geo.stations import Station, Stations
from server.roster import (
    RosterEntry,
    RosterError,
    format_table,
    parse_capabilities,
    plan_import,
    read_roster,
    write_roster,
)

STATIONS = Stations({s: Station(s, 37.77, -122.42) for s in ("01", "16")})


def test_capabilities_are_separated_by_semicolons_or_spaces() -> None:
    assert parse_capabilities("ALS;HAZMAT") == ("ALS", "HAZMAT")
    assert parse_capabilities(" ALS ;  HAZMAT ") == ("ALS", "HAZMAT")
    assert parse_capabilities("") == ()


def test_comments_blank_rows_a_bom_and_any_column_order_are_read(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text(
        "\ufeffradio_id,id,type,station,capabilities\n# a comment\n\nR1,E1,ENGINE,16,ALS\n",
        encoding="utf-8",
    )
    assert read_roster(path, STATIONS) == [RosterEntry("E1", "ENGINE", "16", ("ALS",), "R1", 4)]


def test_a_row_of_the_wrong_width_is_named(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("id,type,station,capabilities,radio_id\nE1,ENGINE\n", encoding="utf-8")
    with pytest.raises(RosterError) as caught:
        read_roster(path, STATIONS)
    assert str(caught.value) == f"{path}:2: 2 cells, the header has 5"


def test_the_plan_adds_updates_only_what_changed_and_leaves_the_rest() -> None:
    current = {
        "E1": Unit(id="E1", type="ENGINE", station="01", radio_id="R1"),
        "E2": Unit(id="E2", type="ENGINE", station="01"),
        "X9": Unit(id="X9", type="ENGINE"),
    }
    entries = [
        RosterEntry("E1", "ENGINE", "01", (), "R1"),
        RosterEntry("E2", "ENGINE", "16", ("ALS",)),
        RosterEntry("E3", "MEDIC", "16"),
    ]
    plan = plan_import(entries, current)
    assert plan.commands == [
        UnitAdd(unit_id="E3", type="MEDIC", station="16"),
        UnitUpdate(unit_id="E2", station="16", capabilities=["ALS"]),
    ]
    assert (plan.added, plan.updated, plan.unchanged, plan.absent) == (
        ["E3"],
        ["E2"],
        ["E1"],
        ["X9"],
    )
    assert plan.summary() == (
        "1 added, 1 updated, 1 unchanged; 1 on the server not in the file, left as they are"
    )


def test_radios_swapped_between_units_of_the_file_are_released_first() -> None:
    current = {
        "E1": Unit(id="E1", type="ENGINE", radio_id="R1"),
        "E2": Unit(id="E2", type="ENGINE", radio_id="R2"),
    }
    entries = [
        RosterEntry("E1", "ENGINE", radio_id="R2"),
        RosterEntry("E2", "ENGINE", radio_id="R1"),
    ]
    plan = plan_import(entries, current)
    assert plan.commands == [
        UnitUpdate(unit_id="E1", radio_id=""),
        UnitUpdate(unit_id="E2", radio_id=""),
        UnitUpdate(unit_id="E1", radio_id="R2"),
        UnitUpdate(unit_id="E2", radio_id="R1"),
    ]
    with pytest.raises(RosterError, match="bound to E2 on the server"):
        plan_import([RosterEntry("E1", "ENGINE", radio_id="R2", line=2)], current, "r.csv")


def test_export_is_read_back_the_same(tmp_path: Path) -> None:
    units = [
        Unit(id="E10", type="ENGINE", station="16", capabilities=["ALS", "HAZMAT"], radio_id="R9"),
        Unit(id="E2", type="ENGINE", station="01"),
    ]
    out = io.StringIO()
    assert write_roster(units, out) == 2
    assert out.getvalue().splitlines()[1].startswith("E2,")  # natural order: E2 before E10
    path = tmp_path / "r.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    plan = plan_import(read_roster(path, STATIONS), {u.id: u for u in units})
    assert plan.commands == [] and plan.unchanged == ["E2", "E10"]
    assert format_table(units).splitlines()[1].split() == ["E2", "ENGINE", "01", "AQ", "-"]
