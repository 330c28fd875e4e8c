"""A caller's uncertainty shape as outlines on the map (numpy only).

`caller_outlines` turns an RFC 5491 shape (`desktop.domain.caller_location.Geodetic`) into
closed outlines in the map's metres (x east, y north), at its true size:

- Circle, Sphere: a circle of ``radius_m``;
- Ellipse, Ellipsoid: ``semi_major_m`` along ``orientation_deg`` (clockwise from north, as RFC
  5491 measures it) and ``semi_minor_m`` across it;
- ArcBand: the band between ``inner_radius_m`` and ``outer_radius_m`` from ``start_angle_deg``
  (clockwise from north) through ``opening_angle_deg``;
- Polygon, Prism: the polygon (a Prism's base);
- any other shape with an ``uncertainty_m``: a circle of that radius; a Point: no outline.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from desktop.domain.caller_location import Geodetic
from desktop.geo.projection import LocalProjection

__all__ = ["CIRCLE_SIDES", "caller_outlines"]

F64 = npt.NDArray[np.float64]

#: Sides of the polygon that draws a circle or an ellipse.
CIRCLE_SIDES = 72


def _ellipse(cx: float, cy: float, a: float, b: float, orientation_deg: float) -> F64:
    t = np.linspace(0.0, 2 * math.pi, CIRCLE_SIDES + 1)
    theta = math.radians(orientation_deg)
    major = np.array([math.sin(theta), math.cos(theta)])  # clockwise from north, y north
    minor = np.array([math.cos(theta), -math.sin(theta)])
    points = np.outer(a * np.cos(t), major) + np.outer(b * np.sin(t), minor)
    return np.asarray(points + np.array([cx, cy]), np.float64)


def _arc_band(cx: float, cy: float, g: Geodetic) -> F64:
    inner, outer = g.inner_radius_m or 0.0, g.outer_radius_m or 0.0
    start, opening = g.start_angle_deg or 0.0, g.opening_angle_deg or 360.0
    steps = max(2, math.ceil(CIRCLE_SIDES * opening / 360.0))
    bearing = np.radians(start + np.linspace(0.0, opening, steps + 1))
    east, north = np.sin(bearing), np.cos(bearing)
    outer_arc = np.column_stack([cx + outer * east, cy + outer * north])
    inner_arc = np.column_stack([cx + inner * east, cy + inner * north])[::-1]
    ring = np.vstack([outer_arc, inner_arc, outer_arc[:1]])
    return np.asarray(ring, np.float64)


def caller_outlines(g: Geodetic, projection: LocalProjection) -> list[F64]:
    """The closed outlines (each an ``(n, 2)`` array of x, y metres, first point repeated at
    the end) of shape ``g``; empty for a Point or a shape without extent."""
    cx_a, cy_a = projection.to_xy(g.lat, g.lon)
    cx, cy = float(cx_a), float(cy_a)
    shape = g.shape
    if shape in ("Polygon", "Prism") and len(g.points) >= 3:
        lat = np.array([p[0] for p in g.points])
        lon = np.array([p[1] for p in g.points])
        x, y = projection.to_xy(lat, lon)
        ring = np.column_stack([x, y])
        return [np.vstack([ring, ring[:1]])]
    if shape in ("Ellipse", "Ellipsoid") and g.semi_major_m and g.semi_minor_m is not None:
        return [_ellipse(cx, cy, g.semi_major_m, g.semi_minor_m, g.orientation_deg or 0.0)]
    if shape == "ArcBand" and g.outer_radius_m:
        return [_arc_band(cx, cy, g)]
    radius = g.radius_m if shape in ("Circle", "Sphere") and g.radius_m else g.uncertainty_m
    if shape != "Point" and radius:
        return [_ellipse(cx, cy, radius, radius, 0.0)]
    return []
