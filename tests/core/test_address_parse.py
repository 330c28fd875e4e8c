"""Street-name keys, address line parsing and fuzzy names (desktop/geo/address_parse.py)."""

from __future__ import annotations

import pytest

from desktop.geo.address_parse import (
    FuzzyNames,
    ParsedAddress,
    PartialAddress,
    display_names,
    parse,
    parse_partial,
    street_base,
    street_key,
)


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["03RD ST", "3rd St", "3RD STREET", "Third Street", "3 rd st"], "3RD ST"),
        (["24TH ST", "Twenty Fourth St", "twenty-fourth street", "24 TH ST"], "24TH ST"),
        (["GEARY BLVD", "Geary Bl", "geary boulevard"], "GEARY BLVD"),
        (["19TH AVE", "19th Av", "Nineteenth Avenue"], "19TH AVE"),
        (["MONCADA WAY", "MONCADA WY"], "MONCADA WAY"),
        (["DOLORES TER", "DOLORES TR", "Dolores Terrace"], "DOLORES TER"),
        (["SAINT MARYS AVE", "St. Mary's Ave"], "ST MARYS AVE"),
        (["SOUTH VAN NESS AVE", "S Van Ness Av"], "S VAN NESS AVE"),
        (["BUENA VISTA AVE EAST", "BUENA VISTA AV E"], "BUENA VISTA AVE E"),
        (["LAKE MERCED HILL ST SOUTH", "LAKE MERCED HILL SOU ST"], "LAKE MERCED HILL ST S"),
        (["OFARRELL ST", "O'Farrell Street"], "OFARRELL ST"),
        (["BERNAL HEIGHTS BLVD", "Bernal Hts Blvd"], "BERNAL HTS BLVD"),
    ],
)
def test_every_spelling_has_one_key(spellings: list[str], key: str) -> None:
    assert {street_key(s) for s in spellings} == {key}


def test_base_and_display() -> None:
    assert street_base("MISSION ST") == "MISSION"
    assert street_base("BUENA VISTA AVE E") == "BUENA VISTA"
    assert street_base("AVE B") == "AVE B"  # Treasure Island's AVENUE B keeps its name
    assert display_names(["03RD ST", "MISSION  ST", "01ST ST"]) == [
        "3RD ST",
        "MISSION ST",
        "1ST ST",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0 Block of BALCETA AVE", ParsedAddress("block", "BALCETA AVE", 0)),
        ("100 BLOCK OF 3RD ST", ParsedAddress("block", "3RD ST", 100)),
        ("0 Block of BLK 5TH ST", ParsedAddress("block", "5TH ST", 0)),
        ("MISSION ST/24TH ST", ParsedAddress("intersection", "MISSION ST", cross="24TH ST")),
        ("Mission & 24th", ParsedAddress("intersection", "Mission", cross="24th")),
        ("Mission and 24th St", ParsedAddress("intersection", "Mission", cross="24th St")),
        ("mission at 24th", ParsedAddress("intersection", "mission", cross="24th")),
        (
            "MERCHANT RD/LINCOLN BL, PR",
            ParsedAddress("intersection", "MERCHANT RD", cross="LINCOLN BL"),
        ),
        ("401-A JUDAH ST", ParsedAddress("address", "JUDAH ST", 401, unit="A")),
        ("3735-3739 SACRAMENTO ST", ParsedAddress("address", "SACRAMENTO ST", 3735)),
        ("267 1/2 27TH ST", ParsedAddress("address", "27TH ST", 267, unit="1/2")),
        ("1318-B GATEVIEW AV, TI", ParsedAddress("address", "GATEVIEW AV", 1318, unit="B")),
        ("100 Van Ness Ave #3", ParsedAddress("address", "Van Ness Ave", 100, unit="3")),
        (
            "1234 Mission Street Apt 5, San Francisco, CA 94110",
            ParsedAddress("address", "Mission Street", 1234, unit="5"),
        ),
        ("1 Market St San Francisco CA 94105", ParsedAddress("address", "Market St", 1)),
        ("Mission", ParsedAddress("street", "Mission")),
        ("   ", ParsedAddress("empty")),
    ],
)
def test_parse(text: str, expected: ParsedAddress) -> None:
    assert parse(text) == expected


def test_parse_partial_as_typed() -> None:
    assert parse_partial("12") == PartialAddress(12, "", None)
    assert parse_partial("1200 MA") == PartialAddress(1200, "MA", None)
    assert parse_partial("1200 mark") == PartialAddress(1200, "MARK", None)
    assert parse_partial("MISSION/2") == PartialAddress(None, "MISSION", "2")
    assert parse_partial("1200 MISSION ST & 2") == PartialAddress(None, "MISSION ST", "2")
    assert parse_partial("mission ") == PartialAddress(None, "MISSION ", None)  # a whole word
    assert parse_partial("third") == PartialAddress(None, "3RD", None)
    assert parse_partial("0 Block of BAL") == PartialAddress(0, "BAL", None)


def test_fuzzy_names_keep_numbers_directions_and_first_letter() -> None:
    names = FuzzyNames(["MISSION ST", "MISSOURI ST", "3RD ST", "23RD ST", "DELANO AVE"])
    assert names.match("MISSON ST")[0][0] == "MISSION ST"
    assert [k for k, _ in names.match("3RD STR")] == ["3RD ST"]  # never 23RD ST
    assert names.match("PHELAN AVE") == []  # not DELANO AVE: another first letter
    assert names.match("QQQQ") == []
