"""The drive route in a local metric frame: distances along it, segments, and the stretches the camera saw."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from shapely.geometry import LineString, Point
from shapely.ops import substring

from tenken.findings import Pose
from tenken.geo import LocalProjection
from tenken.network.units import DEFAULT_UNIT_M

DEFAULT_SEGMENT_M = DEFAULT_UNIT_M  # one home: tenken.network.units
# Points closer than this are one point (a stopped car repeats its fix).
_SAME_POINT_M = 0.01

RoutePoint = Pose | tuple[float, float]
Interval = tuple[float, float]


@dataclass(frozen=True)
class RouteSegment:
    """One stretch of the route: distances along it and its (lat, lon) polyline."""

    segment_id: int
    start_m: float
    end_m: float
    line: tuple[tuple[float, float], ...]

    @property
    def length_m(self) -> float:
        return self.end_m - self.start_m


class Route:
    """The drive track as a line in a local metric frame (x east, y north), with distances along it."""

    def __init__(self, points: Sequence[RoutePoint]) -> None:
        latlon = _dedupe([_as_latlon(p) for p in points])
        if not latlon:
            raise ValueError("a route needs at least one point")
        self.projection = LocalProjection(*latlon[0])
        xy = [self.projection.to_xy(lat, lon) for lat, lon in latlon]
        self.xy = _dedupe_xy(xy)
        self.line: LineString | None = LineString(self.xy) if len(self.xy) >= 2 else None
        self.length_m = float(self.line.length) if self.line is not None else 0.0

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        return self.projection.to_xy(lat, lon)

    def points_at(self, stations_m: np.ndarray) -> np.ndarray:
        """(x, y) of the route at each distance along it (n x 2), vectorised."""
        xy = np.asarray(self.xy, dtype=float)
        along = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
        return np.column_stack(
            [np.interp(stations_m, along, xy[:, 0]), np.interp(stations_m, along, xy[:, 1])]
        )

    def station_m(self, lat: float, lon: float) -> float:
        """Distance along the route of the route point nearest to (lat, lon)."""
        if self.line is None:
            return 0.0
        return float(self.line.project(Point(self.to_xy(lat, lon))))

    def polyline(self, start_m: float, end_m: float) -> tuple[tuple[float, float], ...]:
        """The (lat, lon) points of the route between two distances along it."""
        if self.line is None:
            return ()
        part = substring(self.line, start_m, end_m)
        coords = list(part.coords) if not part.is_empty else []
        return tuple(self.projection.to_latlon(x, y) for x, y in coords)


def _as_latlon(point: RoutePoint) -> tuple[float, float]:
    if isinstance(point, Pose):
        return point.lat, point.lon
    return float(point[0]), float(point[1])


def _dedupe(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in points:
        if not out or p != out[-1]:
            out.append(p)
    return out


def _dedupe_xy(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in points:
        if not out or math.dist(p, out[-1]) >= _SAME_POINT_M:
            out.append(p)
    return out


def cut_route(points: Sequence[RoutePoint], segment_m: float = DEFAULT_SEGMENT_M) -> list[RouteSegment]:
    """Cut the route into consecutive segments of `segment_m`; the last one holds the remainder.

    Accepts poses or (lat, lon) points; repeated points (a stopped car) are dropped. A route with
    no length has no segments.

    >>> segs = cut_route([(35.0, 139.0), (35.0, 139.0033)], segment_m=100.0)
    >>> [(s.start_m, round(s.end_m)) for s in segs]
    [(0.0, 100), (100.0, 200), (200.0, 300), (300.0, 301)]
    """
    if segment_m <= 0:
        raise ValueError(f"segment_m must be positive, got {segment_m}")
    return cut_segments(Route(points), segment_m) if points else []


def cut_segments(route: Route, segment_m: float) -> list[RouteSegment]:
    """Segments of an already built route (see :func:`cut_route`)."""
    segments: list[RouteSegment] = []
    start = 0.0
    while start < route.length_m - 1e-9:
        end = min(start + segment_m, route.length_m)
        segments.append(RouteSegment(len(segments), start, end, route.polyline(start, end)))
        start = end
    return segments


# --- where the camera looked --------------------------------------------------------------------


def merge_intervals(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union of [start, end] intervals (empty ones dropped).

    >>> merge_intervals([(5, 8), (0, 2), (1, 3), (8, 9)])
    [(0, 3), (5, 9)]
    """
    out: list[Interval] = []
    for start, end in sorted((a, b) for a, b in intervals if b > a):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def covered_length_m(intervals: Sequence[Interval], start_m: float, end_m: float) -> float:
    """How much of [start_m, end_m] the (merged) intervals cover."""
    return sum(max(0.0, min(b, end_m) - max(a, start_m)) for a, b in merge_intervals(intervals))


def seen_intervals_from_frames(
    route_points: Sequence[RoutePoint],
    frame_points: Sequence[RoutePoint],
    near_m: float,
    far_m: float,
) -> list[Interval]:
    """Stretches of the route the sampled frames saw: each frame covers [near_m, far_m] ahead of it.

    `near_m`/`far_m` are the ground distances ahead of the camera at the bottom of the image and at
    the farthest range trusted for grading (cracks are not resolved tens of metres away).
    """
    if far_m <= near_m:
        raise ValueError(f"far_m ({far_m}) must be greater than near_m ({near_m})")
    if not route_points:
        return []
    route = Route(route_points)
    spans = []
    for point in frame_points:
        station = route.station_m(*_as_latlon(point))
        spans.append((max(0.0, station + near_m), min(route.length_m, station + far_m)))
    return merge_intervals(spans)
