"""Caller locations from a PIDF-LO document (RFC 4119, 5491, 5139, 6848, 7459), read safely.

`parse_pidf` takes the bytes of one ``application/pidf+xml`` body (splitting a multipart SIP
body is done elsewhere) and returns its locations in document order as
`desktop.domain.caller_location.CallerLocation`, or raises `PidfError` with a code of
`ERROR_CODES`. A document with no location gives ``[]``.

Safety: the size is checked before parsing; defusedxml refuses any DTD, so no entity is ever
expanded and no external reference fetched (billion laughs, XXE); the tree is then read along
fixed paths, never recursively, so deep nesting costs nothing. Pure Python with stdlib math
(no numpy): the server parses per call.

Where locations are: the ``<gp:geopriv>`` of each ``<tuple>`` (in its ``<status>``), each
``<dm:device>`` and ``<dm:person>``, and one placed directly under ``<presence>`` (NENA test
material does so); each ``<gp:location-info>`` of a geopriv; each civic address and GML shape in
it, a ``<con:confidence>`` beside a shape applying to it. Other elements (``dyn:Dynamic``,
usage rules, extensions) are skipped. ``method`` and ``provided_by`` come from the geopriv,
``timestamp`` and ``tuple_id`` from its tuple, device or person. The kinds given are
"geodetic" and "civic": a location by reference (RFC 6442) comes in the SIP ``Geolocation``
header, not in the document (no published sample puts one inside a PIDF document).

Leniencies, for forms seen in published samples: a comma between coordinates; ``<method>``
and ``<timestamp>`` in the PIDF namespace; the forms of RFC 4119 (GML 3.0 namespace,
``gml:location`` wrapper, ``gml:coordinates`` in degrees-minutes-seconds, ``epsg:4326``, the
``civicLoc`` namespace). Strictness: the CRS must be WGS84 (EPSG 4326, 2D, or 4979, 3D);
every length and angle needs a known ``uom``; numbers must be finite, latitudes and longitudes
in range, lengths and the confidence (0 < c <= 100) sensible. One bad location makes the whole
document a ``bad_location`` error naming where it is.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Literal
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as safe_xml
import msgspec
from defusedxml import DefusedXmlException

from desktop.domain.caller_location import (
    CallerLocation,
    CivicAddress,
    Geodetic,
    GeodeticShape,
)

__all__ = ["ERROR_CODES", "MAX_BYTES", "PidfError", "PidfErrorCode", "parse_pidf"]

#: The default largest document accepted (a real PIDF-LO is a few kilobytes).
MAX_BYTES = 65536

PidfErrorCode = Literal["too_large", "not_well_formed", "forbidden_xml", "not_pidf", "bad_location"]
#: What each `PidfError` code means.
ERROR_CODES: dict[PidfErrorCode, str] = {
    "too_large": "larger than the limit (checked before parsing)",
    "not_well_formed": "not well-formed XML (or not XML at all)",
    "forbidden_xml": "a DTD, entity declaration or external reference: refused, never expanded",
    "not_pidf": "the root element is not a PIDF <presence>",
    "bad_location": "a location with a missing or invalid number, an unknown unit or CRS, or "
    "an unsupported shape",
}

PIDF = "{urn:ietf:params:xml:ns:pidf}"
DM = "{urn:ietf:params:xml:ns:pidf:data-model}"
GP = "{urn:ietf:params:xml:ns:pidf:geopriv10}"
GML = "{http://www.opengis.net/gml}"
GML_RFC4119 = "{urn:opengis:specification:gml:schema-xsd:feature:v3.0}"
GS = "{http://www.opengis.net/pidflo/1.0}"
CON = "{urn:ietf:params:xml:ns:geopriv:conf}"
CIVIC_ADDR = "urn:ietf:params:xml:ns:pidf:geopriv10:civicAddr"
#: Namespaces whose civic elements are keyed by their bare name (RFC 5139, RFC 6848, RFC 4119).
CIVIC_NAMESPACES = frozenset(
    {CIVIC_ADDR, CIVIC_ADDR + ":ext", "urn:ietf:params:xml:ns:pidf:geopriv10:civicLoc"}
)
CIVIC_TAGS = frozenset("{" + ns + "}civicAddress" for ns in CIVIC_NAMESPACES)
OWNERS = frozenset({PIDF + "tuple", DM + "device", DM + "person"})
SHAPES: dict[str, GeodeticShape] = {
    GML + "Point": "Point",
    GML_RFC4119 + "Point": "Point",
    GML + "Polygon": "Polygon",
    GS + "Circle": "Circle",
    GS + "Ellipse": "Ellipse",
    GS + "ArcBand": "ArcBand",
    GS + "Sphere": "Sphere",
    GS + "Ellipsoid": "Ellipsoid",
    GS + "Prism": "Prism",
}
SHAPE_NAMESPACES = (GML, GML_RFC4119, GS)
#: Metres per unit of length, by EPSG unit code (metre, international foot, US survey foot).
LENGTH_UNITS = {"9001": 1.0, "9002": 0.3048, "9003": 1200.0 / 3937.0}
#: Degrees per unit of angle, by EPSG unit code (radian, degree, degree as supplied).
ANGLE_UNITS = {"9101": 180.0 / math.pi, "9102": 1.0, "9122": 1.0}
#: Coordinates per position, by EPSG CRS code.
CRS_DIMENSIONS = {"4326": 2, "4979": 3}
#: Same value as `desktop.geo.projection.EARTH_RADIUS_M` (that module imports numpy).
EARTH_RADIUS_M = 6_371_008.8

_CRS = re.compile(
    r"(?i)(?:urn:ogc:def:crs:epsg:[\d.]*:|http://www\.opengis\.net/def/crs/epsg/0/|epsg:)(\d+)"
)
_UOM = re.compile(
    r"(?i)(?:urn:ogc:def:uom:epsg:[\d.]*:|http://www\.opengis\.net/def/uom/epsg/0/)(\d+)"
)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_SEPARATORS = re.compile(r"[\s,]+")
_DMS = re.compile(r"(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?(?::(\d+(?:\.\d+)?))?([NSEW])", re.I)


class PidfError(Exception):
    """A document refused: ``code`` is one of `ERROR_CODES`, ``message`` says what and where."""

    def __init__(self, code: PidfErrorCode, message: str) -> None:
        super().__init__(message)
        self.code: PidfErrorCode = code
        self.message = message


class _Invalid(ValueError):
    """A bad number, unit or shape; `parse_pidf` makes it a ``bad_location`` with its place."""


def parse_pidf(data: bytes, *, max_bytes: int = MAX_BYTES) -> list[CallerLocation]:
    """The caller locations of the PIDF-LO document ``data``, in document order (see the
    module docstring). Raises `PidfError`."""
    if len(data) > max_bytes:
        raise PidfError("too_large", f"the document is larger than {max_bytes} bytes")
    try:
        root = safe_xml.fromstring(
            data, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
    except DefusedXmlException as exc:
        raise PidfError(
            "forbidden_xml",
            f"{type(exc).__name__}: no DTD, entity or external reference is allowed "
            "(refused, nothing expanded or fetched)",
        ) from None
    except ParseError as exc:
        raise PidfError("not_well_formed", f"not well-formed XML: {exc}") from None
    if root.tag != PIDF + "presence":
        raise PidfError("not_pidf", f"the root element is {_qname(root.tag)}, not PIDF presence")
    locations: list[CallerLocation] = []
    for child in root:
        if child.tag in OWNERS:
            for geopriv in _geoprivs(child):
                locations.extend(_locations(geopriv, child))
        elif child.tag == GP + "geopriv":
            locations.extend(_locations(child, root))
    return locations


def _split(tag: str) -> tuple[str, str]:
    """(namespace, local name) of an ElementTree tag (``{namespace}name``)."""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _qname(tag: str) -> str:
    """``<name>`` and its namespace, for messages."""
    namespace, name = _split(tag)
    return f"<{name}> (namespace {namespace})" if namespace else f"<{name}>"


def _text(element: Element | None) -> str:
    """The text of ``element`` with runs of white space made one space; "" for None."""
    return " ".join((element.text or "").split()) if element is not None else ""


def _first(parent: Element, *tags: str) -> Element | None:
    return next((child for child in parent if child.tag in tags), None)


def _geoprivs(owner: Element) -> Iterator[Element]:
    """The geopriv elements of a tuple (in its status) or a device or person (children)."""
    for child in owner:
        if child.tag == GP + "geopriv":
            yield child
        elif child.tag == PIDF + "status":
            yield from (g for g in child if g.tag == GP + "geopriv")


def _locations(geopriv: Element, owner: Element) -> Iterator[CallerLocation]:
    owner_id = owner.get("id", "")
    where = _split(owner.tag)[1] + (f" {owner_id!r}" if owner_id else "")
    method = _text(_first(geopriv, GP + "method", PIDF + "method"))
    provided = geopriv.find(GP + "provided-by")
    provided_by = " ".join("".join(provided.itertext()).split()) if provided is not None else ""
    timestamp = _text(_first(owner, PIDF + "timestamp", DM + "timestamp"))

    def located(
        geodetic: Geodetic | None = None, civic: CivicAddress | None = None
    ) -> CallerLocation:
        return CallerLocation(
            kind="geodetic" if geodetic is not None else "civic",
            geodetic=geodetic,
            civic=civic,
            method=method,
            provided_by=provided_by,
            timestamp=timestamp,
            tuple_id=owner_id,
        )

    for info in geopriv.iterfind(GP + "location-info"):
        try:
            confidence = _confidence(info.find(CON + "confidence"))
            for element in info:
                if element.tag in CIVIC_TAGS:
                    yield located(civic=_civic(element))
                elif element.tag in (GML + "location", GML_RFC4119 + "location"):
                    for shape in element:  # the RFC 4119 wrapper
                        yield located(geodetic=_geodetic(shape, confidence))
                elif element.tag.startswith(SHAPE_NAMESPACES):
                    yield located(geodetic=_geodetic(element, confidence))
        except _Invalid as exc:
            raise PidfError("bad_location", f"{where}: {exc}") from None


def _civic(element: Element) -> CivicAddress:
    fields: dict[str, str] = {}
    for child in element:
        namespace, name = _split(child.tag)
        key = name if namespace in CIVIC_NAMESPACES else child.tag
        value = _text(child)
        if value:
            fields[key] = f"{fields[key]}; {value}" if key in fields else value
    return CivicAddress(fields=fields)


# --- numbers, units, positions ---------------------------------------------------------------


def _numbers(text: str | None, what: str) -> list[float]:
    """The finite numbers of ``text``, separated by white space or commas."""
    values = []
    for token in _SEPARATORS.split((text or "").strip()):
        if not token:
            continue  # nothing, or a separator at the start
        if not _NUMBER.fullmatch(token):
            raise _Invalid(f"{what}: {token!r} is not a number")
        value = float(token)
        if not math.isfinite(value):
            raise _Invalid(f"{what}: {token!r} is not finite")
        values.append(value)
    return values


def _dimensions(shape: Element, inherited: int | None = None) -> int:
    """Coordinates per position of ``shape``'s CRS (its ``srsName``, else ``inherited``)."""
    name = shape.get("srsName")
    if name is None:
        if inherited is None:
            raise _Invalid(f"{_split(shape.tag)[1]} has no srsName")
        return inherited
    match = _CRS.fullmatch(name.strip())
    dimensions = CRS_DIMENSIONS.get(match.group(1)) if match else None
    if dimensions is None:
        raise _Invalid(f"unsupported CRS {name!r} (WGS84, EPSG 4326 or 4979, only)")
    return dimensions


def _position(values: list[float], dimensions: int, what: str) -> tuple[float, float, float | None]:
    """(lat, lon, alt or None) from ``values`` in EPSG 4326/4979 axis order."""
    if len(values) != dimensions:
        raise _Invalid(f"{what}: {len(values)} numbers for a {dimensions}D position")
    lat, lon = values[0], values[1]
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
        raise _Invalid(f"{what}: latitude {lat:g} or longitude {lon:g} out of range")
    return lat, lon, values[2] if dimensions == 3 else None


def _pos(shape: Element, dimensions: int) -> tuple[float, float, float | None]:
    pos = shape.find(GML + "pos")
    if pos is None:
        raise _Invalid(f"{_split(shape.tag)[1]} has no gml:pos")
    return _position(_numbers(pos.text, "gml:pos"), dimensions, "gml:pos")


def _measure(shape: Element, name: str, units: dict[str, float]) -> float:
    """The value of ``shape``'s ``gs:<name>`` in metres or degrees (``units``)."""
    element = shape.find(GS + name)
    if element is None:
        raise _Invalid(f"{_split(shape.tag)[1]} has no gs:{name}")
    uom = element.get("uom", "")
    match = _UOM.fullmatch(uom.strip())
    factor = units.get(match.group(1)) if match else None
    if factor is None:
        kind = "length" if units is LENGTH_UNITS else "angle"
        raise _Invalid(f"gs:{name}: unknown {kind} unit {uom!r}" if uom else f"gs:{name}: no uom")
    values = _numbers(element.text, f"gs:{name}")
    if len(values) != 1:
        raise _Invalid(f"gs:{name}: {len(values)} numbers instead of one")
    if units is LENGTH_UNITS and values[0] < 0:
        raise _Invalid(f"gs:{name}: negative length {values[0]:g}")
    return values[0] * factor


def _confidence(element: Element | None) -> float | None:
    if element is None:
        return None
    values = _numbers(element.text, "con:confidence")
    if len(values) != 1 or not 0.0 < values[0] <= 100.0:
        raise _Invalid(f"con:confidence: {_text(element)!r} is not a percentage in (0, 100]")
    return values[0]


# --- shapes ----------------------------------------------------------------------------------


def _geodetic(element: Element, confidence: float | None) -> Geodetic:
    shape = SHAPES.get(element.tag)
    if shape is None:
        raise _Invalid(f"unsupported shape {_qname(element.tag)}")
    if element.tag == GML_RFC4119 + "Point":
        return _rfc4119_point(element, confidence)
    if shape == "Polygon":
        return _polygon(element, _dimensions(element), confidence)
    if shape == "Prism":
        polygon = element.find(f"{GS}base/{GML}Polygon")
        if polygon is None:
            raise _Invalid("Prism has no gs:base/gml:Polygon")
        inherited = _dimensions(element) if element.get("srsName") is not None else None
        base = _polygon(polygon, _dimensions(polygon, inherited), confidence)
        height = _measure(element, "height", LENGTH_UNITS)
        return msgspec.structs.replace(base, shape="Prism", height_m=height)
    lat, lon, alt = _pos(element, _dimensions(element))
    point = Geodetic(shape=shape, lat=lat, lon=lon, alt_m=alt, confidence=confidence)
    if shape in ("Circle", "Sphere"):
        radius = _measure(element, "radius", LENGTH_UNITS)
        return msgspec.structs.replace(point, uncertainty_m=radius, radius_m=radius)
    if shape in ("Ellipse", "Ellipsoid"):
        major = _measure(element, "semiMajorAxis", LENGTH_UNITS)
        minor = _measure(element, "semiMinorAxis", LENGTH_UNITS)
        ellipse = msgspec.structs.replace(
            point,
            uncertainty_m=max(major, minor),
            semi_major_m=major,
            semi_minor_m=minor,
            orientation_deg=_measure(element, "orientation", ANGLE_UNITS),
        )
        if shape == "Ellipse":
            return ellipse
        vertical = _measure(element, "verticalAxis", LENGTH_UNITS)
        return msgspec.structs.replace(ellipse, vertical_axis_m=vertical)
    if shape == "ArcBand":
        inner = _measure(element, "innerRadius", LENGTH_UNITS)
        outer = _measure(element, "outerRadius", LENGTH_UNITS)
        return msgspec.structs.replace(
            point,
            uncertainty_m=max(inner, outer),
            inner_radius_m=inner,
            outer_radius_m=outer,
            start_angle_deg=_measure(element, "startAngle", ANGLE_UNITS),
            opening_angle_deg=_measure(element, "openingAngle", ANGLE_UNITS),
        )
    return point


def _polygon(element: Element, dimensions: int, confidence: float | None) -> Geodetic:
    """A Polygon from its exterior ring (``gml:pos`` elements or one ``gml:posList``)."""
    ring = element.find(f"{GML}exterior/{GML}LinearRing")
    if ring is None:
        raise _Invalid("Polygon has no gml:exterior/gml:LinearRing")
    pos_list = ring.find(GML + "posList")
    if pos_list is not None:
        values = _numbers(pos_list.text, "gml:posList")
        if len(values) % dimensions:
            raise _Invalid(f"gml:posList: {len(values)} numbers for {dimensions}D positions")
        vertices = [
            _position(values[i : i + dimensions], dimensions, "gml:posList")
            for i in range(0, len(values), dimensions)
        ]
    else:
        vertices = [
            _position(_numbers(pos.text, "gml:pos"), dimensions, "gml:pos")
            for pos in ring.iterfind(GML + "pos")
        ]
    points = [(lat, lon) for lat, lon, _ in vertices]
    if len(points) > 1 and points[0] == points[-1]:
        points.pop()  # the closing repeat of the first vertex
    if len(set(points)) < 3:
        raise _Invalid(f"Polygon has {len(set(points))} distinct vertices, fewer than 3")
    lat, lon, reach = _centroid(points)
    return Geodetic(
        shape="Polygon",
        lat=lat,
        lon=lon,
        alt_m=vertices[0][2],
        uncertainty_m=reach,
        confidence=confidence,
        points=points,
    )


def _centroid(points: list[tuple[float, float]]) -> tuple[float, float, float]:
    """The area centroid (lat, lon) of a polygon and its largest distance (m) to a vertex, in
    an equirectangular projection at the first vertex (the vertex mean if the area is nil)."""
    lat0, lon0 = points[0]
    ky = EARTH_RADIUS_M * math.pi / 180.0
    kx = ky * math.cos(math.radians(lat0))

    def wrap(degrees: float) -> float:
        return (degrees + 180.0) % 360.0 - 180.0

    xy = [(wrap(lon - lon0) * kx, (lat - lat0) * ky) for lat, lon in points]
    twice_area = cx = cy = 0.0
    for (x1, y1), (x2, y2) in zip(xy, xy[1:] + xy[:1], strict=True):
        cross = x1 * y2 - x2 * y1
        twice_area += cross
        cx += (x1 + x2) * cross
        cy += (y1 + y2) * cross
    if abs(twice_area) > 1e-6:
        cx, cy = cx / (3.0 * twice_area), cy / (3.0 * twice_area)
    else:
        cx, cy = sum(x for x, _ in xy) / len(xy), sum(y for _, y in xy) / len(xy)
    reach = max(math.hypot(x - cx, y - cy) for x, y in xy)
    return lat0 + cy / ky, wrap(lon0 + cx / kx), reach


def _rfc4119_point(element: Element, confidence: float | None) -> Geodetic:
    """A Point of the RFC 4119 GML 3.0 namespace: ``gml:coordinates`` as decimal degrees or
    ``D:M:S`` with a hemisphere letter (``37:46:30N 122:25:10W``), or ``gml:pos``."""
    dimensions = _dimensions(element)
    coordinates = element.find(GML_RFC4119 + "coordinates")
    if coordinates is None:
        pos = element.find(GML_RFC4119 + "pos")
        if pos is None:
            raise _Invalid("Point has no gml:coordinates or gml:pos")
        lat, lon, alt = _position(_numbers(pos.text, "gml:pos"), dimensions, "gml:pos")
        return Geodetic(shape="Point", lat=lat, lon=lon, alt_m=alt, confidence=confidence)
    text = coordinates.text or ""
    tokens = [t for t in _SEPARATORS.split(text.strip()) if t]
    dms = [m for t in tokens[:2] if (m := _DMS.fullmatch(t))]
    if len(dms) != 2:
        values = _numbers(text, "gml:coordinates")
    else:
        angles: dict[str, float] = {}
        for match in dms:
            degrees, minutes, seconds, letter = match.groups()
            value = float(degrees) + float(minutes or 0) / 60.0 + float(seconds or 0) / 3600.0
            axis = "lat" if letter.upper() in "NS" else "lon"
            angles[axis] = -value if letter.upper() in "SW" else value
        if len(angles) != 2:
            raise _Invalid(f"gml:coordinates: {_text(coordinates)!r} gives one axis twice")
        rest = _numbers(" ".join(tokens[2:]), "gml:coordinates")
        values = [angles["lat"], angles["lon"], *rest]
    lat, lon, alt = _position(values, dimensions, "gml:coordinates")
    return Geodetic(shape="Point", lat=lat, lon=lon, alt_m=alt, confidence=confidence)
