"""Where a caller is, as the network said it (PIDF-LO, RFC 4119/5491/5139/6848/7459), and the
one wording of it shown to the call-taker.

These Structs travel inside protocol events, so they hold only msgspec and stdlib values;
`desktop.geo.pidf_lo` builds them from a PIDF-LO document. Every optional field has a default,
so data written before a field existed still decodes.

Units are fixed whatever the document used: lengths in metres, angles in degrees, positions in
WGS84 degrees.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "DEFAULT_CONFIDENCE",
    "CallerLocation",
    "CivicAddress",
    "Geodetic",
    "GeodeticShape",
    "LocationKind",
    "civic_text",
    "describe_caller_location",
    "effective_confidence",
]

#: The RFC 5491 geodetic shapes.
GeodeticShape = Literal[
    "Point", "Circle", "Ellipse", "ArcBand", "Polygon", "Sphere", "Ellipsoid", "Prism"
]
#: How a location is given: a shape, a civic address, or a URI to fetch it from.
LocationKind = Literal["geodetic", "civic", "reference"]

#: The confidence (percent) of a shape whose document states none (RFC 7459).
DEFAULT_CONFIDENCE = 95.0


class Geodetic(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A geodetic shape (RFC 5491), in metres and degrees.

    ``lat``/``lon`` are the point, the centre (Circle, Sphere, Ellipse, Ellipsoid, ArcBand) or,
    for a Polygon or Prism, the area centroid of its vertices. ``uncertainty_m`` is one radius
    that covers the shape around (``lat``, ``lon``): the radius (Circle, Sphere), the
    semi-major axis (Ellipse, Ellipsoid), the outer radius (ArcBand), the largest distance from
    the centroid to a vertex (Polygon, Prism); None for a Point. ``confidence`` (percent) is
    what the document states (``<con:confidence>``), None when it states none: see
    `effective_confidence`. ``alt_m`` is the altitude of a 3D position (EPSG 4979: the point,
    the centre, a Prism's base). ``points`` are the (lat, lon) vertices of a Polygon or a
    Prism's base, without the closing repeat of the first.
    """

    shape: GeodeticShape
    lat: float
    lon: float
    alt_m: float | None = None
    uncertainty_m: float | None = None
    confidence: float | None = None
    radius_m: float | None = None
    semi_major_m: float | None = None
    semi_minor_m: float | None = None
    orientation_deg: float | None = None
    inner_radius_m: float | None = None
    outer_radius_m: float | None = None
    start_angle_deg: float | None = None
    opening_angle_deg: float | None = None
    vertical_axis_m: float | None = None
    height_m: float | None = None
    points: list[tuple[float, float]] = msgspec.field(default_factory=list)


class CivicAddress(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A civic address: each element present, by name as written (RFC 5139: ``country``,
    ``A1``..``A6``, ``PRD``, ``RD``, ``STS``, ``HNO``, ``LOC``, ``FLR``, ``UNIT``, ``PC``, ...;
    RFC 6848 extensions of ``civicAddr:ext``: ``MP``, ``PN``, ``STP``, ``HNP``, ...). An
    element of any other extension namespace is keyed ``{namespace}name``. Values are the
    element's text with runs of white space made one space; an element given twice keeps both,
    joined by ``"; "``."""

    fields: dict[str, str] = msgspec.field(default_factory=dict)


class CallerLocation(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One location of a caller: ``geodetic`` for kind "geodetic", ``civic`` for "civic",
    ``reference`` (a location URI to dereference, RFC 6442) for "reference".

    ``method`` is the PIDF-LO ``<gp:method>`` (GPS, Cell, Manual, Wiremap, 802.11, ...) or "";
    ``provided_by`` the text of ``<gp:provided-by>``; ``timestamp`` the timestamp of the
    tuple, device or person the location belongs to, as written; ``tuple_id`` its ``id``.
    """

    kind: LocationKind
    geodetic: Geodetic | None = None
    civic: CivicAddress | None = None
    reference: str | None = None
    method: str = ""
    provided_by: str = ""
    timestamp: str = ""
    tuple_id: str = ""


def effective_confidence(g: Geodetic) -> float | None:
    """The confidence (percent) to reason with: the stated one, else `DEFAULT_CONFIDENCE` for
    a shape with an extent; None for a Point (a point has no region to be confident about)."""
    if g.confidence is not None:
        return g.confidence
    return None if g.shape == "Point" else DEFAULT_CONFIDENCE


def _join(*words: str | None) -> str:
    return " ".join(w for w in words if w)


def civic_text(civic: CivicAddress) -> str:
    """One line, US style: the street ``HNP HNO HNS PRM PRD STP RD STS POD POM`` (``HNP`` and
    ``STP`` are RFC 6848's), then ``UNIT``, ``FLR``, ``LOC``, ``A3`` (city), ``A1`` (state),
    comma-separated (``"1600 PENNSYLVANIA AVE NW, WASHINGTON, DC"``), with the words as the
    document wrote them. Without ``RD``, ``A6`` is taken as the street name (RFC 4119 used it
    so). "" when none of these is present."""
    f = civic.fields
    road = f.get("RD") or f.get("A6")
    street = _join(
        f.get("HNP"),
        f.get("HNO"),
        f.get("HNS"),
        f.get("PRM"),
        f.get("PRD"),
        f.get("STP"),
        road,
        f.get("STS"),
        f.get("POD"),
        f.get("POM"),
    )
    parts = [
        street,
        _join("UNIT", f["UNIT"]) if f.get("UNIT") else "",
        _join("FLR", f["FLR"]) if f.get("FLR") else "",
        f.get("LOC", ""),
        f.get("A3", ""),
        f.get("A1", ""),
    ]
    return ", ".join(p for p in parts if p)


def _metres(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 else f"{value:.1f}"


def describe_caller_location(loc: CallerLocation) -> str:
    """What the call-taker reads about ``loc``, parts joined by ``" · "``:

    - geodetic: shape, ``±`` its uncertainty radius and the stated confidence, the method, the
      position to 5 decimals and the altitude if any
      (``"Circle ±50 m (90%) · GPS · 37.77490, -122.41940"``);
    - civic: ``"Civic: "`` and `civic_text` (``"Civic: 1200 MARKET ST, SAN FRANCISCO, CA ·
      Manual"``);
    - reference: ``"By reference: "`` and the URI.
    """
    method = loc.method
    if loc.kind == "geodetic" and loc.geodetic is not None:
        g = loc.geodetic
        head: str = g.shape
        if g.uncertainty_m is not None:
            head += f" ±{_metres(g.uncertainty_m)} m"
        if g.confidence is not None:
            head += f" ({g.confidence:g}%)"
        where = f"{g.lat:.5f}, {g.lon:.5f}"
        if g.alt_m is not None:
            where += f", alt {g.alt_m:.1f} m"
        return " · ".join(p for p in (head, method, where) if p)
    if loc.kind == "civic" and loc.civic is not None:
        text = civic_text(loc.civic) or "no street, city or state given"
        return " · ".join(p for p in (f"Civic: {text}", method) if p)
    if loc.kind == "reference" and loc.reference:
        return " · ".join(p for p in (f"By reference: {loc.reference}", method) if p)
    return f"{loc.kind} location without data"
