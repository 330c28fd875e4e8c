"""The geocoder over the shipped index, resources/geo/addresses.npz (desktop/geo/geocoder.py).

The known places are from public knowledge (approximate), so they are checked within 100 m;
City Hall fills its block, and house 1 is at the block's south end: 150 m.
"""

from __future__ import annotations

import pytest

from desktop.geo.geocoder import Geocoder, GeocodeResult
from desktop.geo.projection import equirectangular_m


@pytest.fixture(scope="module")
def geo() -> Geocoder:
    return Geocoder.load_default()


def metres(a: tuple[float | None, float | None], b: tuple[float | None, float | None]) -> float:
    assert None not in a and None not in b
    return float(equirectangular_m(a[0], a[1], b[0], b[1]))


def at(result: GeocodeResult) -> tuple[float | None, float | None]:
    assert result.status == "verified", result
    return result.lat, result.lon


def test_the_default_index_is_loaded_once(geo: Geocoder) -> None:
    assert Geocoder.load_default() is geo
    assert len(geo.names) > 2000


@pytest.mark.parametrize(
    ("text", "place", "within"),
    [
        ("1 Dr Carlton B Goodlett Pl", (37.7793, -122.4193), 150.0),
        ("MARKET ST/CASTRO ST", (37.7626, -122.4350), 100.0),
        ("MISSION ST/24TH ST", (37.7524, -122.4184), 100.0),
        ("1 Market St", (37.7940, -122.3950), 100.0),
    ],
)
def test_known_places(geo: Geocoder, text: str, place: tuple[float, float], within: float) -> None:
    assert metres(at(geo.geocode(text)), place) <= within


@pytest.mark.parametrize(
    "spellings",
    [
        ["1500 GEARY BLVD", "1500 GEARY BL", "1500 Geary Boulevard"],
        ["2000 19TH AVE", "2000 19TH AV", "2000 Nineteenth Avenue"],
        ["1200 MARKET ST", "1200 Market Street", "1200 market st, San Francisco, CA 94102"],
        ["100 3RD ST", "100 03RD ST", "100 THIRD STREET"],
        ["100 MONCADA WAY", "100 MONCADA WY"],
    ],
)
def test_spellings_of_one_address_agree(geo: Geocoder, spellings: list[str]) -> None:
    results = [geo.geocode(s) for s in spellings]
    assert {r.status for r in results} == {"verified"}
    assert len({(r.lat, r.lon, r.matched) for r in results}) == 1


def test_a_misspelt_street_is_still_found(geo: Geocoder) -> None:
    result = geo.geocode("1200 MARKTE ST")
    assert result.matched == "1200 MARKET ST"
    assert at(result) == at(geo.geocode("1200 MARKET ST"))


def test_block_form(geo: Geocoder) -> None:
    result = geo.geocode("0 Block of BALCETA AVE")
    assert result.matched == "0 BLOCK OF BALCETA AVE"
    assert metres(at(result), at(geo.geocode("1 BALCETA AVE"))) < 150.0


def test_an_intersection_either_way_round_and_joined_any_way(geo: Geocoder) -> None:
    point = at(geo.geocode("MISSION ST/24TH ST"))
    for text in ("24TH ST/MISSION ST", "Mission & 24th", "mission and 24th st", "Mission at 24th"):
        assert metres(at(geo.geocode(text)), point) < 1.0, text


def test_odd_and_even_houses_are_on_opposite_sides(geo: Geocoder) -> None:
    odd, even = at(geo.geocode("2551 MISSION ST")), at(geo.geocode("2550 MISSION ST"))
    assert 5.0 < metres(odd, even) < 20.0
    for point, parity in ((odd, 1), (even, 0)):  # each lies on the side of its own parity
        nearest = geo.reverse(point[0] or 0.0, point[1] or 0.0)
        assert nearest is not None and nearest.number is not None
        assert nearest.number % 2 == parity


def test_a_house_mid_block_lands_mid_block(geo: Geocoder) -> None:
    first, middle, last = (at(geo.geocode(f"{n} MISSION ST")) for n in (1501, 1549, 1599))
    block = metres(first, last)
    assert block > 50.0
    assert abs(metres(first, middle) - metres(middle, last)) < 0.2 * block


def test_a_number_outside_every_range(geo: Geocoder) -> None:
    result = geo.geocode("9999 MISSION ST")
    assert result.status == "candidates" and result.lat is None and result.lon is None
    assert result.reason.startswith("no house 9999 on MISSION ST (1\u2013")
    assert result.candidates and result.candidates[0].street == "MISSION ST"


def test_unknown_streets_and_empty_input(geo: Geocoder) -> None:
    assert geo.geocode("1 FOO BAR ST").status == "not_found"
    assert geo.geocode("CALL BOX: PALACE OF LEGION OF HONOR").status == "not_found"
    empty = geo.geocode("   ")
    assert empty.status == "not_found" and empty.reason


def test_streets_that_do_not_meet(geo: Geocoder) -> None:
    result = geo.geocode("MISSION ST/CALIFORNIA ST")
    assert result.status == "not_found"
    assert result.reason == "MISSION ST and CALIFORNIA ST do not meet"


def test_an_ambiguous_name_gives_candidates(geo: Geocoder) -> None:
    result = geo.geocode("PARK")
    assert result.status == "candidates" and "several streets match 'PARK'" in result.reason
    assert {"PARK ST", "PARK BLVD"} <= {c.label for c in result.candidates}


def test_the_unit_is_kept_not_matched(geo: Geocoder) -> None:
    result = geo.geocode("1234 Mission Street Apt 5")
    assert (result.matched, result.unit) == ("1234 MISSION ST", "5")
    assert at(result) == at(geo.geocode("1234 MISSION ST"))


def test_reverse_names_the_address_at_a_point(geo: Geocoder) -> None:
    lat, lon = at(geo.geocode("1234 MISSION ST"))
    assert lat is not None and lon is not None
    nearest = geo.reverse(lat + 0.00002, lon)  # about 2 m north
    assert nearest is not None and nearest.label == "1234 MISSION ST"
    assert nearest.kind == "address" and nearest.distance_m is not None
    assert nearest.distance_m < 5.0


def test_reverse_at_a_corner_and_far_away(geo: Geocoder) -> None:
    corner = geo.reverse(37.75224, -122.41845)
    assert corner is not None and corner.kind == "intersection"
    assert {corner.street, corner.cross_street} == {"MISSION ST", "24TH ST"}
    assert geo.reverse(37.70, -122.30) is None  # in the bay
    assert geo.reverse(float("nan"), -122.4) is None


def test_suggest_as_the_call_taker_types(geo: Geocoder) -> None:
    assert "1200 MARKET ST" in [c.label for c in geo.suggest("1200 MA")]
    assert [c.label for c in geo.suggest("1200 MARK")] == ["1200 MARKET ST"]
    crossings = geo.suggest("MISSION/2")
    assert "MISSION ST/24TH ST" in [c.label for c in crossings]
    assert {c.kind for c in crossings} == {"intersection"}
    assert geo.suggest("MISS")[0].label == "MISSION ST"
    assert geo.suggest("third")[0].label == "3RD ST"
    numbers = geo.suggest("12")
    assert 0 < len(numbers) <= 8 and numbers[0].label.startswith("12")
    assert geo.suggest("") == [] and geo.suggest("12", limit=0) == []
