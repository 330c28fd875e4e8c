"""PIDF-LO caller locations: every published sample in tests/data/pidf parses (or is refused
with the right code), the values read from them, each shape and unit, hostile XML refused fast,
and the wording shown to the call-taker."""

from __future__ import annotations

import math
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import numpy as np
import pytest

from desktop.domain.caller_location import (
    DEFAULT_CONFIDENCE,
    CallerLocation,
    CivicAddress,
    Geodetic,
    civic_text,
    describe_caller_location,
    effective_confidence,
)
from desktop.geo import pidf_lo
from desktop.geo.pidf_lo import ERROR_CODES, MAX_BYTES, PidfError, parse_pidf
from desktop.geo.projection import EARTH_RADIUS_M, LocalProjection

ROOT = Path(__file__).resolve().parents[2]
PIDF_DIR = ROOT / "tests" / "data" / "pidf"
#: Published documents that are not well-formed: the garbled NENA body and the two empty ones.
NOT_WELL_FORMED = {
    "SIP_INVITE_location_garbled_PIDF-LO_body_presence0_NOT-WELLFORMED.xml",
    "XMLFile1.xml",
    "XMLFile2.xml",
}
COPIED = sorted(p.name for p in PIDF_DIR.glob("*.xml") if not p.name.startswith("handwritten_"))


def load(name: str) -> list[CallerLocation]:
    return parse_pidf((PIDF_DIR / name).read_bytes())


def geodetic(loc: CallerLocation) -> Geodetic:
    assert loc.kind == "geodetic" and loc.geodetic is not None
    return loc.geodetic


def civic(loc: CallerLocation) -> dict[str, str]:
    assert loc.kind == "civic" and loc.civic is not None
    return loc.civic.fields


def refused(data: bytes, **kwargs: int) -> PidfError:
    with pytest.raises(PidfError) as caught:
        parse_pidf(data, **kwargs)
    assert caught.value.code in ERROR_CODES
    return caught.value


# --- the published samples -------------------------------------------------------------------


def test_every_published_sample_is_copied_and_has_its_provenance() -> None:
    assert len(COPIED) == 33  # 9 from extracted-pidf-lo, 24 from PhrSite PidfFiles
    provenance = (PIDF_DIR / "PROVENANCE.md").read_text("utf-8")
    for name in sorted(p.name for p in PIDF_DIR.glob("*.xml")):
        assert f"`{name}`" in provenance, name


@pytest.mark.parametrize("name", COPIED)
def test_published_sample_parses_or_is_not_well_formed(name: str) -> None:
    data = (PIDF_DIR / name).read_bytes()
    if name in NOT_WELL_FORMED:
        assert refused(data).code == "not_well_formed"
    else:
        for loc in parse_pidf(data):
            assert describe_caller_location(loc)
            assert msgspec.json.decode(msgspec.json.encode(loc), type=CallerLocation) == loc


def test_samples_without_a_location_give_an_empty_list() -> None:
    assert load("DeviceDynamicOnly1.xml") == []  # only dyn:Dynamic (speed, heading)


def test_circle_with_confidence() -> None:
    [loc] = load("DeviceCircleWithConfidence.xml")
    g = geodetic(loc)
    assert (g.shape, g.lat, g.lon, g.radius_m, g.uncertainty_m) == (
        "Circle",
        41.760537,
        -88.261914,
        50.0,
        50.0,
    )
    assert g.confidence == 95.0
    assert (loc.method, loc.tuple_id) == ("802.11", "12345")
    assert describe_caller_location(loc) == "Circle ±50 m (95%) · 802.11 · 41.76054, -88.26191"


def test_circle_radius_with_white_space_and_no_confidence() -> None:
    [loc] = load("RFC5491TupleCircleLocation.xml")
    g = geodetic(loc)
    assert (g.lat, g.lon, g.radius_m, g.confidence) == (42.5463, -73.2512, 850.24, None)
    assert effective_confidence(g) == DEFAULT_CONFIDENCE
    assert (loc.method, loc.tuple_id, loc.timestamp) == ("OTDOA", "circle", "")


def test_device_civic_then_person_circle() -> None:
    device, person = load("DeviceAndPerson.xml")
    assert civic(device) == {
        "country": "US",
        "A1": "CA",
        "A3": "Simi Valley",
        "RD": "Stonebrook",
        "STS": "Street",
        "HNO": "311",
        "PC": "93065",
    }
    assert (device.tuple_id, device.timestamp, device.method) == (
        "target123-1",
        "2015-07-09T20:57:29Z",
        "802.11",
    )
    g = geodetic(person)
    assert (g.shape, g.lat, g.lon, g.radius_m, person.tuple_id) == (
        "Circle",
        34.247493,
        -118.791885,
        50.0,
        "12345",
    )


def test_civic_address_with_a_prefix_directional() -> None:
    [loc] = load("DeviceCivicLocation.xml")
    fields = civic(loc)
    assert (fields["HNO"], fields["PRD"], fields["RD"], fields["A2"]) == (
        "2106",
        "E",
        "NEW YORK",
        "KANE",
    )
    assert describe_caller_location(loc) == "Civic: 2106 E NEW YORK ST, AURORA, IL · 802.11"


def test_nena_civic_tuple_and_geopriv_directly_under_presence() -> None:
    [in_tuple] = load("SIP_INVITE_location_PIDF-LO_presence0.xml")
    [direct] = load("SIP_INVITE_from_OSP_with_EmergencyCallData_PIDF-LO_reference_presence0.xml")
    for loc in (in_tuple, direct):
        fields = civic(loc)
        assert (fields["HNO"], fields["RD"], fields["STS"], fields["A3"]) == (
            "10",
            "TEST",
            "Ave",
            "Laurel",
        )
        assert loc.timestamp == "2026-09-23T12:00:00.03"
    assert (in_tuple.tuple_id, direct.tuple_id) == ("0", "")


def test_nena_device_point_with_dm_timestamp() -> None:
    [loc] = load("SIP_INVITE_from_BCF_with_SDP_PIDF-LO_NG-AACS_presence0.xml")
    g = geodetic(loc)
    assert (g.shape, g.lat, g.lon, g.uncertainty_m) == (
        "Point",
        40.71668300756087,
        -73.99069756654683,
        None,
    )
    assert (loc.tuple_id, loc.timestamp) == ("SENDER", "2050-05-15T12:30:00Z")
    assert effective_confidence(g) is None


def test_comma_between_coordinates_is_accepted() -> None:
    [loc] = load("Default_location_presence0.xml")  # <gml:pos>-63.18..., -56.64...</gml:pos>
    assert (geodetic(loc).lat, geodetic(loc).lon) == (-63.184694571164925, -56.641464837236164)


def test_method_and_timestamp_in_the_pidf_namespace() -> None:
    [loc] = load("DeviceCircleDynamic1.xml")  # starts with a UTF-8 byte order mark
    assert (loc.method, loc.timestamp, geodetic(loc).radius_m) == (
        "gps",
        "2009-06-22T20:57:29Z",
        100.0,
    )


def test_rfc4119_point_in_degrees_minutes_seconds() -> None:
    [loc] = load("RFC5491TuplePointLocation.xml")  # 37:46:30N 122:25:10W, GML 3.0 namespace
    g = geodetic(loc)
    assert g.shape == "Point"
    assert g.lat == pytest.approx(37 + 46 / 60 + 30 / 3600)
    assert g.lon == pytest.approx(-(122 + 25 / 60 + 10 / 3600))


def test_ellipse_ellipsoid_arcband_sphere_samples() -> None:
    ellipse = geodetic(load("RFC5491TupleEllipseLocation.xml")[0])
    assert (ellipse.semi_major_m, ellipse.semi_minor_m, ellipse.orientation_deg) == (
        1275.0,
        670.0,
        43.2,
    )
    assert ellipse.uncertainty_m == 1275.0
    ellipsoid = geodetic(load("RFC5491TupleEllipsoidLocation.xml")[0])
    assert (ellipsoid.alt_m, ellipsoid.semi_major_m, ellipsoid.vertical_axis_m) == (
        26.3,
        7.7156,
        28.7,
    )
    arc = geodetic(load("RFC5491TupleArcBandLocation.xml")[0])
    assert (arc.lat, arc.lon, arc.inner_radius_m, arc.outer_radius_m) == (
        -43.5723,
        153.2176,
        3594.0,
        4148.0,
    )
    assert (arc.start_angle_deg, arc.opening_angle_deg, arc.uncertainty_m) == (20.0, 20.0, 4148.0)
    sphere = geodetic(load("RFC5491TupleSphereLocation.xml")[0])
    assert (sphere.alt_m, sphere.radius_m) == (26.3, 850.24)


def reference_centroid(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """Centroid and reach computed independently, with numpy and `LocalProjection`."""
    proj = LocalProjection(*points[0])
    x, y = proj.to_xy([p[0] for p in points], [p[1] for p in points])
    x1, y1 = np.roll(x, -1), np.roll(y, -1)
    cross = x * y1 - x1 * y
    area = cross.sum() / 2
    cx, cy = ((x + x1) * cross).sum() / (6 * area), ((y + y1) * cross).sum() / (6 * area)
    lat, lon = proj.to_latlon(cx, cy)
    return float(lat), float(lon), float(np.hypot(x - cx, y - cy).max())


@pytest.mark.parametrize(
    "name", ["RFC5491TuplePolygonLocation.xml", "RFC5491TuplePolygonCompactLocation.xml"]
)
def test_polygon_as_pos_elements_or_pos_list(name: str) -> None:
    g = geodetic(load(name)[0])
    hexagon = [
        (43.311, -73.422),
        (43.111, -73.322),
        (43.111, -73.222),
        (43.311, -73.122),
        (43.411, -73.222),
        (43.411, -73.322),
    ]
    assert (g.shape, g.points) == ("Polygon", hexagon)  # the closing repeat dropped
    lat, lon, reach = reference_centroid(hexagon)
    assert (g.lat, g.lon) == (pytest.approx(lat, abs=1e-9), pytest.approx(lon, abs=1e-9))
    assert g.uncertainty_m == pytest.approx(reach, rel=1e-9)


def test_prism_sample() -> None:
    g = geodetic(load("RFC5491TuplePrismLocation.xml")[0])
    assert (g.shape, g.height_m, g.alt_m, len(g.points)) == ("Prism", 2.4, 36.6, 4)
    assert (g.lat, g.lon) == (pytest.approx(42.606844), pytest.approx(-73.298157))
    half_diagonal = math.hypot(
        0.05 * EARTH_RADIUS_M * math.radians(1),
        0.05 * EARTH_RADIUS_M * math.radians(1) * math.cos(math.radians(42.556844)),
    )
    assert g.uncertainty_m == pytest.approx(half_diagonal, rel=1e-6)


def test_rfc6848_extensions_are_kept() -> None:
    [fig8] = load("RFC6848Figure8Example.xml")
    assert civic(fig8) == {
        "country": "US",
        "A1": "CA",
        "A2": "Sacramento",
        "RD": "Colorado",
        "HNO": "223",
        "STP": "Boulevard",
        "HNP": "A",
    }
    assert civic_text(CivicAddress(fields=civic(fig8))) == "A 223 Boulevard Colorado, CA"
    [airport] = load("RFC6848Section3.4Example.xml")
    fields = civic(airport)
    assert fields["{http://example.com/airport/5.0}gate"] == "36B"
    assert fields["{http://postsoftheworld.example.com/ns}pylon"] == "AQ-374-4(c)"


def test_rfc4119_street_in_a6() -> None:
    [loc] = load("RFC5491TupleCivicLocation.xml")
    assert civic(loc)["A6"] == "Broadway"
    assert civic_text(loc.civic or CivicAddress()) == ("123 Broadway, Suite 75, New York, New York")


# --- hand-written documents ------------------------------------------------------------------


def test_several_tuples_devices_geoprivs_and_location_infos_in_document_order() -> None:
    ellipse, address, circle, point, sphere = load("handwritten_several_tuples.xml")
    assert [x.tuple_id for x in (ellipse, address, circle, point, sphere)] == [
        "t1",
        "t2",
        "t2",
        "d1",
        "d1",
    ]
    e = geodetic(ellipse)
    assert (e.orientation_deg, e.confidence, e.uncertainty_m) == (
        pytest.approx(45.0),
        68.0,
        30.0,
    )
    assert ellipse.timestamp == "2026-01-15T08:30:00Z"
    assert describe_caller_location(ellipse) == "Ellipse ±30 m (68%) · GPS · 37.77490, -122.41940"
    assert civic(address)["UNIT"] == "301"
    assert describe_caller_location(address) == (
        "Civic: 1200 MARKET ST, UNIT 301, FLR 3, SAN FRANCISCO, CA · Manual"
    )
    assert (address.provided_by, circle.provided_by) == ("Example Telecom LIS",) * 2
    assert geodetic(circle).radius_m == pytest.approx(164.042 * 0.3048)  # international feet
    assert (geodetic(point).alt_m, point.method, point.timestamp) == (
        12.5,
        "Cell",
        "2026-01-15T08:30:05Z",
    )
    assert geodetic(sphere).radius_m == pytest.approx(100 * 1200 / 3937)  # US survey feet
    assert sphere.method == "hybrid"


def test_every_shape_with_radians_feet_and_crs_forms() -> None:
    arc, ellipsoid, polygon, prism, sphere = load("handwritten_shapes.xml")
    a = geodetic(arc)
    assert (a.start_angle_deg, a.opening_angle_deg) == (pytest.approx(20.0), pytest.approx(30.0))
    assert (a.inner_radius_m, a.outer_radius_m, a.uncertainty_m) == (500.0, 800.0, 800.0)
    assert describe_caller_location(arc) == "ArcBand ±800 m · Cell · 37.77930, -122.41930"
    e = geodetic(ellipsoid)
    assert (e.alt_m, e.orientation_deg, e.confidence) == (15.0, 120.0, 90.0)
    assert e.vertical_axis_m == pytest.approx(3.048)
    p = geodetic(polygon)  # a right triangle: its centroid is the mean of its vertices
    assert (p.lat, p.lon) == (pytest.approx(37 + 0.01 / 3), pytest.approx(-122 + 0.01 / 3))
    assert p.uncertainty_m == pytest.approx(reference_centroid(p.points)[2], rel=1e-9)
    assert p.confidence is None and effective_confidence(p) == 95.0
    r = geodetic(prism)
    assert (r.alt_m, r.height_m, len(r.points)) == (20.0, pytest.approx(3.048), 4)
    assert (r.lat, r.lon) == (pytest.approx(37.0005), pytest.approx(-121.9995))
    s = geodetic(sphere)
    assert (s.alt_m, s.radius_m) == (-3.5, 25.0)
    assert describe_caller_location(sphere).endswith("37.77930, -122.41930, alt -3.5 m")


def test_an_unknown_unit_refuses_the_document_and_says_where() -> None:
    error = refused((PIDF_DIR / "handwritten_bad_unit.xml").read_bytes())
    assert error.code == "bad_location"
    assert "'km'" in error.message and "EPSG::9036" in error.message


# --- hostile and foreign input ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["handwritten_billion_laughs.xml", "handwritten_xxe.xml"])
def test_entity_attacks_are_refused_fast(name: str) -> None:
    data = (PIDF_DIR / name).read_bytes()
    started = time.perf_counter()
    error = refused(data)
    assert time.perf_counter() - started < 0.5
    assert error.code == "forbidden_xml"


@pytest.mark.parametrize(
    "data",
    [
        b'<!DOCTYPE presence SYSTEM "http://example.com/x.dtd"><presence/>',
        b'<!DOCTYPE p [<!ENTITY % e SYSTEM "http://example.com/e">%e;]><presence/>',
        b'<!DOCTYPE presence [<!ENTITY a "x">]><presence xmlns="urn:ietf:params:xml:ns:pidf"/>',
    ],
)
def test_any_dtd_is_refused(data: bytes) -> None:
    assert refused(data).code == "forbidden_xml"


def test_size_is_checked_before_parsing() -> None:
    empty = b'<presence xmlns="urn:ietf:params:xml:ns:pidf"/>'
    assert parse_pidf(empty.ljust(MAX_BYTES)) == []
    assert refused(b"<" * (MAX_BYTES + 1)).code == "too_large"  # never parsed
    assert refused(empty, max_bytes=len(empty) - 1).code == "too_large"


def test_deep_nesting_is_harmless() -> None:
    depth = 8000
    inner = b"<x>" * depth + b"</x>" * depth
    data = b'<presence xmlns="urn:ietf:params:xml:ns:pidf"><tuple id="a"><status>'
    data += inner + b"</status></tuple></presence>"
    assert parse_pidf(data) == []


@pytest.mark.parametrize(
    "data",
    [
        b"not xml at all",
        b"",
        b"<presence xmlns='urn:ietf:params:xml:ns:pidf'>&undefined;</presence>",
        b"<presence xmlns='urn:ietf:params:xml:ns:pidf'><gp:geopriv/></presence>",  # unbound
    ],
)
def test_not_well_formed(data: bytes) -> None:
    assert refused(data).code == "not_well_formed"


@pytest.mark.parametrize(
    "data",
    [
        b'<locationResponse xmlns="urn:ietf:params:xml:ns:geopriv:held"/>',
        b"<presence/>",  # no namespace
    ],
)
def test_not_pidf(data: bytes) -> None:
    assert refused(data).code == "not_pidf"


# --- bad locations ---------------------------------------------------------------------------


def document(location_info: str) -> bytes:
    return (
        '<presence xmlns="urn:ietf:params:xml:ns:pidf"'
        ' xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10"'
        ' xmlns:gml="http://www.opengis.net/gml" xmlns:gs="http://www.opengis.net/pidflo/1.0"'
        ' xmlns:con="urn:ietf:params:xml:ns:geopriv:conf">'
        '<tuple id="t"><status><gp:geopriv><gp:location-info>'
        f"{location_info}"
        "</gp:location-info></gp:geopriv></status></tuple></presence>"
    ).encode()


WGS84 = 'srsName="urn:ogc:def:crs:EPSG::4326"'
METRES = 'uom="urn:ogc:def:uom:EPSG::9001"'


def circle(pos: str = "37.77 -122.41", radius: str = "50", uom: str = METRES) -> str:
    radius_element = f"<gs:radius {uom}>{radius}</gs:radius>"
    return f"<gs:Circle {WGS84}><gml:pos>{pos}</gml:pos>{radius_element}</gs:Circle>"


def test_a_good_circle_document() -> None:
    [loc] = parse_pidf(document(circle()))
    assert (geodetic(loc).lat, geodetic(loc).radius_m) == (37.77, 50.0)


@pytest.mark.parametrize(
    ("location_info", "says"),
    [
        (circle(uom='uom="urn:ogc:def:uom:EPSG::9036"'), "unknown length unit"),
        (circle(uom=""), "no uom"),
        (circle(uom='uom="urn:ogc:def:uom:EPSG::9102"'), "unknown length unit"),  # degrees
        (circle(radius="NaN"), "not a number"),
        (circle(radius="1e999x"), "not a number"),
        (circle(radius="1e999"), "not finite"),
        (circle(radius=""), "0 numbers"),
        (circle(radius="-5"), "negative"),
        (circle(pos="95 -122.41"), "out of range"),
        (circle(pos="37.77 -190"), "out of range"),
        (circle(pos="37.77 -122.41 10"), "3 numbers for a 2D"),
        (circle(pos="37,5 -122"), "3 numbers for a 2D"),  # a decimal comma
        (f"<gs:Circle {WGS84}><gml:pos>37 -122</gml:pos></gs:Circle>", "no gs:radius"),
        (f"<gml:Point {WGS84}/>", "no gml:pos"),
        ("<gml:Point><gml:pos>37 -122</gml:pos></gml:Point>", "no srsName"),
        (
            '<gml:Point srsName="urn:ogc:def:crs:EPSG::3857"><gml:pos>1 2</gml:pos></gml:Point>',
            "unsupported CRS",
        ),
        (f"<gml:LineString {WGS84}/>", "unsupported shape"),
        (
            f"<gml:Polygon {WGS84}><gml:exterior><gml:LinearRing>"
            "<gml:posList>37 -122 37.1 -122 37 -122</gml:posList>"
            "</gml:LinearRing></gml:exterior></gml:Polygon>",
            "fewer than 3",
        ),
        (
            f"<gml:Polygon {WGS84}><gml:exterior><gml:LinearRing>"
            "<gml:posList>37 -122 37.1 -122 37.1</gml:posList>"
            "</gml:LinearRing></gml:exterior></gml:Polygon>",
            "5 numbers for 2D",
        ),
        (f"<gml:Polygon {WGS84}/>", "no gml:exterior"),
        ('<gs:Prism srsName="urn:ogc:def:crs:EPSG::4979"/>', "no gs:base"),
        (circle() + '<con:confidence pdf="normal">0</con:confidence>', "percentage"),
        (circle() + "<con:confidence>150</con:confidence>", "percentage"),
    ],
)
def test_bad_location(location_info: str, says: str) -> None:
    error = refused(document(location_info))
    assert error.code == "bad_location"
    assert error.message.startswith("tuple 't': ")
    assert says in error.message


def test_a_polygon_across_the_antimeridian() -> None:
    ring = "<gml:posList>-16.0 179.99 -16.0 -179.99 -16.01 -179.99 -16.01 179.99</gml:posList>"
    polygon = f"<gml:Polygon {WGS84}><gml:exterior><gml:LinearRing>{ring}"
    [loc] = parse_pidf(document(polygon + "</gml:LinearRing></gml:exterior></gml:Polygon>"))
    g = geodetic(loc)
    assert g.lat == pytest.approx(-16.005)
    assert abs(g.lon) == pytest.approx(180.0)
    degree = EARTH_RADIUS_M * math.radians(1)  # half the diagonal of 0.02 x 0.01 degrees:
    assert g.uncertainty_m == pytest.approx(
        math.hypot(0.01 * degree * math.cos(math.radians(16)), 0.005 * degree), rel=1e-6
    )


RFC4119 = 'xmlns:g3="urn:opengis:specification:gml:schema-xsd:feature:v3.0"'


@pytest.mark.parametrize(
    ("point", "lat", "lon"),
    [
        ("<g3:coordinates>37:46:30N 122:25:10W</g3:coordinates>", 37.775, -122.41944444),
        ("<g3:coordinates>122:25W 37:46:30.5S</g3:coordinates>", -37.77513889, -122.41666667),
        ("<g3:coordinates>37.775,-122.4194</g3:coordinates>", 37.775, -122.4194),
        ("<g3:pos>37.775 -122.4194</g3:pos>", 37.775, -122.4194),
    ],
)
def test_rfc4119_points(point: str, lat: float, lon: float) -> None:
    shape = f'<g3:location {RFC4119}><g3:Point srsName="epsg:4326">{point}</g3:Point></g3:location>'
    [loc] = parse_pidf(document(shape))
    assert (geodetic(loc).lat, geodetic(loc).lon) == (pytest.approx(lat), pytest.approx(lon))


@pytest.mark.parametrize(
    ("point", "says"),
    [
        ("<g3:coordinates>37:46:30N 12:25:10S</g3:coordinates>", "one axis twice"),
        ("<g3:coordinates>37:46:30N 122:25:10W x</g3:coordinates>", "not a number"),
        ("", "no gml:coordinates or gml:pos"),
    ],
)
def test_bad_rfc4119_points(point: str, says: str) -> None:
    shape = f'<g3:Point {RFC4119} srsName="EPSG:4326">{point}</g3:Point>'
    error = refused(document(shape))
    assert error.code == "bad_location" and says in error.message


def test_unknown_elements_in_location_info_are_skipped() -> None:
    extension = '<x:speed xmlns:x="urn:example:ext">12</x:speed>'
    [loc] = parse_pidf(document(extension + circle()))
    assert geodetic(loc).shape == "Circle"


# --- the Structs and their wording -----------------------------------------------------------


def test_structs_omit_defaults_and_old_data_decodes() -> None:
    loc = CallerLocation(kind="geodetic", geodetic=Geodetic(shape="Point", lat=1.0, lon=2.0))
    assert msgspec.json.encode(loc) == (
        b'{"kind":"geodetic","geodetic":{"shape":"Point","lat":1.0,"lon":2.0}}'
    )
    old = b'{"kind":"civic","civic":{"fields":{"RD":"MARKET"}}}'
    decoded = msgspec.json.decode(old, type=CallerLocation)
    assert decoded.civic == CivicAddress(fields={"RD": "MARKET"}) and decoded.method == ""
    polygon = Geodetic(shape="Polygon", lat=0.0, lon=0.0, points=[(1.0, 2.0), (3.0, 4.0)])
    assert msgspec.json.decode(msgspec.json.encode(polygon), type=Geodetic) == polygon


def test_effective_confidence() -> None:
    assert effective_confidence(Geodetic(shape="Circle", lat=0, lon=0, confidence=68.0)) == 68.0
    assert effective_confidence(Geodetic(shape="Circle", lat=0, lon=0)) == DEFAULT_CONFIDENCE
    assert effective_confidence(Geodetic(shape="Point", lat=0, lon=0)) is None


def test_civic_text() -> None:
    white_house = CivicAddress(
        fields={
            "country": "US",
            "A1": "DC",
            "A3": "WASHINGTON",
            "HNO": "1600",
            "RD": "PENNSYLVANIA",
            "STS": "AVE",
            "POD": "NW",
            "PC": "20500",
        }
    )
    assert civic_text(white_house) == "1600 PENNSYLVANIA AVE NW, WASHINGTON, DC"
    assert civic_text(CivicAddress(fields={"country": "US"})) == ""
    assert describe_caller_location(CallerLocation(kind="civic", civic=CivicAddress())) == (
        "Civic: no street, city or state given"
    )


def test_describe_the_three_kinds() -> None:
    circle = Geodetic(
        shape="Circle", lat=37.7749, lon=-122.4194, uncertainty_m=50.0, confidence=90.0
    )
    assert describe_caller_location(
        CallerLocation(kind="geodetic", geodetic=circle, method="GPS")
    ) == ("Circle ±50 m (90%) · GPS · 37.77490, -122.41940")
    small = Geodetic(shape="Sphere", lat=1.0, lon=2.0, uncertainty_m=7.7156)
    assert describe_caller_location(CallerLocation(kind="geodetic", geodetic=small)) == (
        "Sphere ±7.7 m · 1.00000, 2.00000"
    )
    by_reference = CallerLocation(kind="reference", reference="https://lis.example/loc/1")
    assert describe_caller_location(by_reference) == "By reference: https://lis.example/loc/1"
    assert describe_caller_location(CallerLocation(kind="geodetic")) == (
        "geodetic location without data"
    )


# --- module contracts ------------------------------------------------------------------------


def test_the_earth_radius_is_the_projection_s() -> None:
    assert pidf_lo.EARTH_RADIUS_M == EARTH_RADIUS_M


def test_the_parser_loads_without_numpy() -> None:
    code = "import sys, desktop.geo.pidf_lo; print(sorted({'numpy', 'scipy'} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_error_codes() -> None:
    assert set(ERROR_CODES) == {
        "too_large",
        "not_well_formed",
        "forbidden_xml",
        "not_pidf",
        "bad_location",
    }
