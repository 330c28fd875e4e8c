"""How the map looks in each theme: background, roads by class and zoom, markers, labels.

Colours of domain values have one home each: unit statuses are `ui.presentation`'s
(`UNIT_STATUS_COLOUR`), the urgent priorities the board's (`ui.models.board.PRIORITY_BRUSH`,
P1 and P2); the board leaves P3-P5 uncoloured, so the map gives them calm tones of its own
(`PRIORITY_COLOUR`). Roads are dim and opaque (pre-blended with the background: an opaque pen
is drawn as line segments, much faster than a stroked path), so markers stand out at 3 a.m.

Zoom is in metres per pixel: `zoom_level` gives 0 (the whole city), 1 (a district) or 2 (a few
blocks); road pens are chosen per level, and some classes are hidden at wide zoom.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QColor

from desktop.domain.types import UnitStatus
from desktop.geo.road_render import CLASSES
from ui.map.markers import SpotStyle
from ui.models.board import PRIORITY_BRUSH
from ui.presentation import UNIT_STATUS_COLOUR

__all__ = [
    "LABEL_ZOOM_M_PER_PX",
    "PRIORITY_COLOUR",
    "UNIT_LABEL_ZOOM_M_PER_PX",
    "ZOOM_LEVELS",
    "MapStyle",
    "RoadPen",
    "alarm_styles",
    "call_styles",
    "incident_styles",
    "map_style",
    "ring_styles",
    "station_styles",
    "unit_styles",
    "zoom_level",
]

#: Street names show below this many metres per pixel (about 2.5 km across a 1000 px map).
LABEL_ZOOM_M_PER_PX = 2.5
#: Unit ids and station numbers show below this many metres per pixel.
UNIT_LABEL_ZOOM_M_PER_PX = 6.0
#: Zoom levels: above the first bound the whole city, above the second a district, else blocks
#: (the levels of detail of `desktop.geo.road_render`: under a pixel off at these zooms).
_LEVEL_BOUNDS = (8.0, 2.0)
ZOOM_LEVELS = len(_LEVEL_BOUNDS) + 1

#: Incident priority colours: P1 and P2 as the board shows them, then calmer tones.
PRIORITY_COLOUR: dict[int, QColor] = {
    **{p: QColor(b.color()) for p, b in PRIORITY_BRUSH.items()},
    3: QColor("#79c0ff"),
    4: QColor("#a5b4c3"),
    5: QColor("#7d8590"),
}


def zoom_level(metres_per_px: float) -> int:
    """0 (whole city), 1 (district) or 2 (blocks) for a zoom of ``metres_per_px``."""
    wide, close = _LEVEL_BOUNDS
    return 0 if metres_per_px > wide else 1 if metres_per_px > close else 2


@dataclass(frozen=True, slots=True)
class RoadPen:
    """A road class's pen at one zoom level; width 0: not drawn at that level."""

    colour: str
    width: float
    dotted: bool = False


def _pens(colour: str, widths: tuple[float, float, float], dotted: bool = False) -> list[RoadPen]:
    return [RoadPen(colour, w, dotted) for w in widths]


@dataclass(frozen=True)
class MapStyle:
    """Everything the map draws in one theme."""

    name: str
    background: str
    roads: dict[str, list[RoadPen]]  # class -> pen per zoom level (0, 1, 2)
    street_label: str
    marker_outline: str  # around filled markers: the background, so they read on roads
    pending_outline: str  # around a pending incident
    stale_fill: str  # a unit whose AVL fix is old
    station_fill: str
    station_outline: str
    label: str  # unit ids, station numbers
    label_halo: str
    caller: str  # a caller's location and its uncertainty (outline only, dashed)
    selection: str  # the ring around the selected incident and unit
    route: str
    emergency: str  # a unit in radio emergency: its ring (sounding), label and translucent fill
    emergency_fill: str  # #AARRGGBB: the unit marker shows through it
    emergency_acknowledged: str  # the ring once acknowledged: dimmer, dashed, hollow
    unit_colours: dict[UnitStatus, QColor] = field(default_factory=lambda: UNIT_STATUS_COLOUR)
    priority_colours: dict[int, QColor] = field(default_factory=lambda: PRIORITY_COLOUR)

    def road_pen(self, road_class: str, level: int) -> RoadPen:
        return self.roads[road_class][level]

    def priority(self, priority: int) -> QColor:
        return self.priority_colours.get(priority, self.priority_colours[5])


_DARK = MapStyle(
    name="dark",
    background="#0d1117",
    roads={
        "path": _pens("#1d2630", (0, 0, 1), dotted=True),
        "service": _pens("#1a1f26", (0, 1, 1.5)),
        "local": [RoadPen("#1e242c", 1), RoadPen("#262d36", 1), RoadPen("#2c343e", 2)],
        "secondary": [RoadPen("#323a45", 1), RoadPen("#3a4350", 1.5), RoadPen("#424c59", 3)],
        "primary": [RoadPen("#46505d", 1.5), RoadPen("#4f5a68", 2), RoadPen("#566271", 3)],
        "ramp": _pens("#4a4030", (1, 1, 2)),
        "freeway": [RoadPen("#6b5a36", 2), RoadPen("#75623a", 3), RoadPen("#7d6a40", 4)],
    },
    street_label="#8b949e",
    marker_outline="#0d1117",
    pending_outline="#f0f6fc",
    stale_fill="#3d444d",
    station_fill="#21262d",
    station_outline="#8b949e",
    label="#c9d1d9",
    label_halo="#0d1117",
    caller="#a5d6ff",
    selection="#f0f6fc",
    route="#58a6ff",
    emergency="#ff5a4f",
    emergency_fill="#59f85149",
    emergency_acknowledged="#b5524b",
)

_LIGHT = MapStyle(
    name="light",
    background="#f6f8fa",
    roads={
        "path": _pens("#c8d0d8", (0, 0, 1), dotted=True),
        "service": _pens("#e4e7eb", (0, 1, 1.5)),
        "local": [RoadPen("#dde1e6", 1), RoadPen("#d3d8de", 1), RoadPen("#cdd3da", 2)],
        "secondary": [RoadPen("#c3c9d1", 1), RoadPen("#b8bfc8", 1.5), RoadPen("#b0b8c2", 3)],
        "primary": [RoadPen("#a7b0bb", 1.5), RoadPen("#9ca6b2", 2), RoadPen("#95a0ad", 3)],
        "ramp": _pens("#dcc79a", (1, 1, 2)),
        "freeway": [RoadPen("#d4a44c", 2), RoadPen("#cf9c3f", 3), RoadPen("#c99535", 4)],
    },
    street_label="#57606a",
    marker_outline="#1f2328",
    pending_outline="#1f2328",
    stale_fill="#d0d7de",
    station_fill="#ffffff",
    station_outline="#57606a",
    label="#1f2328",
    label_halo="#f6f8fa",
    caller="#0969da",
    selection="#1f2328",
    route="#0969da",
    emergency="#cf222e",
    emergency_fill="#40cf222e",
    emergency_acknowledged="#d4838a",
)

_HIGH_CONTRAST = MapStyle(
    name="high-contrast",
    background="#000000",
    roads={
        "path": _pens("#5a5a5a", (0, 0, 1), dotted=True),
        "service": _pens("#4a4a4a", (0, 1, 1.5)),
        "local": [RoadPen("#4d4d4d", 1), RoadPen("#5c5c5c", 1), RoadPen("#6b6b6b", 2)],
        "secondary": [RoadPen("#8c8c8c", 1), RoadPen("#9a9a9a", 1.5), RoadPen("#a8a8a8", 3)],
        "primary": [RoadPen("#c8c8c8", 1.5), RoadPen("#d4d4d4", 2), RoadPen("#e0e0e0", 3)],
        "ramp": _pens("#b3a100", (1, 1, 2)),
        "freeway": [RoadPen("#ffffff", 2), RoadPen("#ffffff", 3), RoadPen("#ffffff", 4)],
    },
    street_label="#ffffff",
    marker_outline="#000000",
    pending_outline="#ffffff",
    stale_fill="#5a5a5a",
    station_fill="#000000",
    station_outline="#ffffff",
    label="#ffffff",
    label_halo="#000000",
    caller="#00ffff",
    selection="#ffff00",
    route="#00ffff",
    emergency="#ff2020",
    emergency_fill="#66ff0000",
    emergency_acknowledged="#ff9090",
)

_STYLES = {s.name: s for s in (_DARK, _LIGHT, _HIGH_CONTRAST)}
assert all(set(s.roads) == set(CLASSES) for s in _STYLES.values())


def map_style(theme: str | None) -> MapStyle:
    """The map's style for theme ``theme`` (`ui.theme` names; anything else: dark)."""
    return _STYLES.get(theme or "dark", _DARK)


# --- markers: the style lists, in the order of `ui.map.model`'s style indexes ---------------


def unit_styles(style: MapStyle) -> list[SpotStyle]:
    """Per status (`ui.map.model.UNIT_STATUSES`), live, stale and home: a filled circle in the
    status colour; a grey circle ringed in it (the fix is old); a hollow square in it (no fix:
    at the home station)."""
    out = []
    for status in UnitStatus:
        colour = style.unit_colours[status].name()
        out += [
            SpotStyle("circle", 10, colour, style.marker_outline, 1.0),
            SpotStyle("circle", 9, style.stale_fill, colour, 2.0),
            SpotStyle("square", 9, None, colour, 2.0),
        ]
    return out


def incident_styles(style: MapStyle) -> list[SpotStyle]:
    """Per priority 1-5, not pending and pending: a diamond in the priority colour; a pending
    one has a light outline."""
    out = []
    for priority in range(1, 6):
        colour = style.priority(priority).name()
        out += [
            SpotStyle("diamond", 15, colour, style.marker_outline, 1.0),
            SpotStyle("diamond", 15, colour, style.pending_outline, 2.0),
        ]
    return out


def station_styles(style: MapStyle) -> list[SpotStyle]:
    return [SpotStyle("triangle", 10, style.station_fill, style.station_outline, 1.0)]


def ring_styles(style: MapStyle) -> list[SpotStyle]:
    """The selected incident's ring, then the selected unit's."""
    return [
        SpotStyle("circle", 28, None, style.selection, 2.0),
        SpotStyle("circle", 22, None, style.selection, 2.0),
    ]


def alarm_styles(style: MapStyle) -> list[SpotStyle]:
    """A unit in radio emergency, by `ui.map.model`'s ``ALARM_SOUNDING``, ``ALARM_PULSE`` and
    ``ALARM_ACKNOWLEDGED``: a bold red ring, filled translucent so the unit's marker shows
    through, bigger than the selection rings, pulsing between two sizes until acknowledged;
    acknowledged, a thinner, hollow, dashed ring in a dimmer red."""
    return [
        SpotStyle("circle", 36, style.emergency_fill, style.emergency, 4.0),
        SpotStyle("circle", 44, style.emergency_fill, style.emergency, 3.0),
        SpotStyle("circle", 36, None, style.emergency_acknowledged, 2.5, dashed=True),
    ]


def call_styles(style: MapStyle) -> list[SpotStyle]:
    """The centre of a caller's location: on the line, then ringing (bigger)."""
    return [
        SpotStyle("cross", 11, None, style.caller, 2.0),
        SpotStyle("cross", 15, None, style.caller, 2.5),
    ]
