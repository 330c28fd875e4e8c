"""Metric positions over one city: an equirectangular projection and distances. Numpy only, so
what needs positions (dispatch areas, the map) loads without the road graph's scipy."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["EARTH_RADIUS_M", "LocalProjection", "equirectangular_m"]

F64 = npt.NDArray[np.float64]

EARTH_RADIUS_M = 6_371_008.8


def equirectangular_m(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> F64:
    """Distance in metres between points, equirectangular at their mean latitude (scalars or
    arrays; accurate to well under 0.1 % over a city)."""
    la1, lo1 = np.radians(np.asarray(lat1, np.float64)), np.radians(np.asarray(lon1, np.float64))
    la2, lo2 = np.radians(np.asarray(lat2, np.float64)), np.radians(np.asarray(lon2, np.float64))
    dx = (lo2 - lo1) * np.cos((la1 + la2) / 2.0)
    return np.asarray(EARTH_RADIUS_M * np.hypot(dx, la2 - la1), dtype=np.float64)


@dataclass(frozen=True)
class LocalProjection:
    """Equirectangular metric projection around (``lat0``, ``lon0``): x east, y north, metres.
    Good for one city; distances are off by ~0.2 % 10 km north or south of ``lat0``."""

    lat0: float
    lon0: float

    @property
    def _kx(self) -> float:
        return EARTH_RADIUS_M * math.radians(1.0) * math.cos(math.radians(self.lat0))

    def to_xy(self, lat: Any, lon: Any) -> tuple[F64, F64]:
        """Project degrees to metres (arrays or scalars, returned as arrays)."""
        x = (np.asarray(lon, np.float64) - self.lon0) * self._kx
        y = (np.asarray(lat, np.float64) - self.lat0) * (EARTH_RADIUS_M * math.radians(1.0))
        return x, y

    def to_latlon(self, x: Any, y: Any) -> tuple[F64, F64]:
        """Inverse of :meth:`to_xy`."""
        lat = self.lat0 + np.asarray(y, np.float64) / (EARTH_RADIUS_M * math.radians(1.0))
        return lat, self.lon0 + np.asarray(x, np.float64) / self._kx
