"""Geography for dispatch: the road graph, travel times over it and unit recommendation.

Qt-free. ``roads`` loads the derived road graph (``resources/geo``), snaps points to it and runs
one reversed-graph Dijkstra per target; ``recommend`` ranks available units by road ETA to fill
a response plan.
"""

from desktop.geo.recommend import (
    Pick,
    Recommendation,
    ResponsePlan,
    Shortfall,
    home_positions,
    recommend,
)
from desktop.geo.roads import LocalProjection, RoadGraph, RoadPoints, TravelField

__all__ = [
    "LocalProjection",
    "Pick",
    "Recommendation",
    "ResponsePlan",
    "RoadGraph",
    "RoadPoints",
    "Shortfall",
    "TravelField",
    "home_positions",
    "recommend",
]
