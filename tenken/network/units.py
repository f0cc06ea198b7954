"""Routes of the network and their fixed units: the pieces of road every survey grades alike.

A route's distances are its own: `start_m` (a kilometre post, 0 by default) at its first point,
growing along its line. Unit k covers [start_m + k·unit_m, start_m + (k+1)·unit_m); the last unit
holds the remainder. Units are fixed when the network is imported, so two surveys of the road,
whatever their start point or direction, grade the same pieces.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

from shapely.geometry import LineString, Point
from shapely.ops import substring

from tenken.geo import LocalProjection

# The one home of the grading length: network units and, without a network, per-drive segments.
DEFAULT_UNIT_M = 100.0


@dataclass(frozen=True)
class NetworkRoute:
    """One centreline of the network: (lat, lon) points from its start, and where its distances start."""

    route_id: str
    name: str
    points: tuple[tuple[float, float], ...]
    start_m: float = 0.0
    unit_m: float = DEFAULT_UNIT_M

    @cached_property
    def projection(self) -> LocalProjection:
        return LocalProjection(*self.points[0])

    @cached_property
    def line_xy(self) -> LineString:
        """The centreline in the route's own metric frame (x east, y north)."""
        return LineString([self.projection.to_xy(lat, lon) for lat, lon in self.points])

    @property
    def length_m(self) -> float:
        return float(self.line_xy.length)

    @property
    def n_units(self) -> int:
        return max(1, math.ceil(self.length_m / self.unit_m - 1e-9))

    def unit_of(self, distance_m: float) -> int:
        """The unit holding a route distance (`start_m`-based); the route's end belongs to the last unit."""
        k = math.floor((distance_m - self.start_m) / self.unit_m)
        return min(max(k, 0), self.n_units - 1)

    def unit_bounds_m(self, unit_index: int) -> tuple[float, float]:
        """(from_m, to_m) of a unit in route distance."""
        lo = unit_index * self.unit_m
        hi = min(lo + self.unit_m, self.length_m)
        return self.start_m + lo, self.start_m + hi

    def unit_line(self, unit_index: int) -> tuple[tuple[float, float], ...]:
        """The (lat, lon) points of a unit's stretch of centreline."""
        lo, hi = (b - self.start_m for b in self.unit_bounds_m(unit_index))
        part = substring(self.line_xy, lo, hi)
        return tuple(self.projection.to_latlon(x, y) for x, y in part.coords)

    def locate(self, lat: float, lon: float) -> tuple[float, float]:
        """(route distance, signed offset) of a point: offset > 0 right of the centreline's direction."""
        x, y = self.projection.to_xy(lat, lon)
        along = float(self.line_xy.project(Point(x, y)))
        on = self.line_xy.interpolate(along)
        ahead = self.line_xy.interpolate(min(along + 0.5, self.length_m))
        behind = self.line_xy.interpolate(max(along - 0.5, 0.0))
        dx, dy = ahead.x - behind.x, ahead.y - behind.y
        side = dx * (y - on.y) - dy * (x - on.x)  # > 0: left of the direction
        offset = math.hypot(x - on.x, y - on.y)
        return self.start_m + along, -offset if side > 0 else offset


@dataclass(frozen=True)
class UnitGrade:
    """One survey's grade of one network unit (the 舗装点検要領 values of :class:`SegmentGrade`)."""

    route_id: str
    unit_index: int
    from_m: float
    to_m: float
    line: tuple[tuple[float, float], ...]
    surveyed_fraction: float
    crack_ratio_pct: float | None
    category: str | None
    mci: float | None
    mci_advice: str | None
    defect_counts: dict[str, int]
    severity_counts: dict[str, int]
    # The route distances the survey saw in this unit (with the camera's look-ahead).
    seen_from_m: float = 0.0
    seen_to_m: float = 0.0

    def saw(self, distance_m: float) -> bool:
        return self.surveyed_fraction > 0 and self.seen_from_m <= distance_m <= self.seen_to_m


@dataclass(frozen=True)
class DefectLocation:
    """Where a defect lies on the network."""

    route_id: str
    distance_m: float
    offset_m: float  # > 0 right of the centreline's direction
    unit_index: int
