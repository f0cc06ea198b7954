"""Grading along the route (舗装点検要領): segments, crack ratio on a 0.5 m mesh, category, MCI1.

How a defect marks the mesh (舗装調査・試験法便覧 S029, adapted to what a dashcam can see):

- The mesh is 0.5 m x 0.5 m cells over one lane centred on the drive track (``lane_width_m``,
  default 3.5 m), in rows along the route in a local metric frame. Each row is a rectangle
  oriented along the route's direction at the row's centre, so on a bend neighbouring rows overlap
  or leave a sliver; at 0.5 m that is far below the georeferencing error.
- A crack (D00, D10) is a line, not the box around it: its line is the long centre line of the
  minimum rotated rectangle of its ground outline. Counting every cell of the box would grade one
  diagonal crack like alligator cracking. A cell crossed by one crack counts 0.15 m2, by two or
  more distinct cracks 0.25 m2.
- Alligator cracking (D20) and potholes (D40) cover every cell their outline touches (0.25 m2).
- Patches (Repair) count by how much of the cell they cover: under 25 % -> 0, 25-75 % ->
  0.125 m2, over 75 % -> 0.25 m2 (overlapping patches are merged first).
- A cell counts once, at the highest of its values: a crack inside a patch is not counted twice
  (max, not sum), which keeps C <= 100 %.
- A defect without a ground outline (box above the horizon) marks the cell holding its point.
- Edge cells of a lane that is not a multiple of 0.5 m wide, and the last row of the route, are
  narrower than a full cell; their values scale with their area.

C = (cracked + patched area) / surveyed area x 100, where surveyed area = seen length x lane
width, and "seen" comes from the sampled frames' ground coverage (:func:`seen_intervals_from_frames`).
Only cells in seen rows count. A segment nobody saw has C, category and MCI None.
Rutting depth and IRI need a profiler we do not have; nothing here estimates them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import substring, unary_union

from tenken.findings import AREA_DAMAGE_CLASSES, CRACK_CLASSES, PATCH_CLASSES, Defect, Pose, SegmentGrade
from tenken.geo import LocalProjection

CELL_M = 0.5
CELL_AREA_M2 = CELL_M * CELL_M
ONE_CRACK_M2 = 0.15
PATCH_HALF_M2 = 0.125
DEFAULT_SEGMENT_M = 100.0
DEFAULT_LANE_WIDTH_M = 3.5
# Points closer than this are one point (a stopped car repeats its fix).
_SAME_POINT_M = 0.01
# Overlaps below this (m or m2) are rounding from the lat/lon round trip, not contact.
_SLIVER = 1e-6

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
    return _cut(Route(points), segment_m) if points else []


def _cut(route: Route, segment_m: float) -> list[RouteSegment]:
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


# --- grades from a crack ratio ------------------------------------------------------------------


def category_of(crack_ratio_pct: float) -> str:
    """舗装点検要領 category: I (sound) C < 20 %, II (keep surface function) 20-40 %, III (repair) >= 40 %."""
    if crack_ratio_pct < 20.0:
        return "I"
    if crack_ratio_pct < 40.0:
        return "II"
    return "III"


def mci1(crack_ratio_pct: float) -> float:
    """MCI from cracking alone: MCI1 = 10 - 2.23 * C^0.3 (C in %)."""
    return 10.0 - 2.23 * max(0.0, crack_ratio_pct) ** 0.3


def mci_advice(mci: float) -> str:
    """What an MCI means for maintenance: <= 3 repair needed, <= 4 repair desirable, else good."""
    if mci <= 3.0:
        return "repair needed"
    if mci <= 4.0:
        return "repair desirable"
    return "good"


# --- severity of one defect ---------------------------------------------------------------------

# (medium from, high from) in metres of the defect's longest ground dimension.
SEVERITY_SIZE_M: dict[str, tuple[float, float]] = {
    "D40": (0.2, 0.45),  # pothole diameter, as the ASTM D6433 bands 200 / 450 mm
    "D20": (0.5, 2.0),  # alligator cracking: a patch of it over 2 m across needs a repair crew
    "D00": (1.0, 5.0),  # cracks by length
    "D10": (1.0, 5.0),
}
LOW_CONFIDENCE = 0.4


def severity_of(class_name: str, size_m: float, confidence: float) -> str:
    """ "low", "medium" or "high" from the class and the longest ground dimension of the defect.

    Potholes are medium from 0.2 m and high from 0.45 m across; alligator cracking medium from
    0.5 m, high from 2 m; longitudinal and transverse cracks medium from 1 m, high from 5 m long.
    Patches (Repair) and unknown classes are low: a patch is a past repair to watch. A finding
    below confidence 0.4 is at most medium: doubtful evidence never raises the alarm on its own.

    >>> severity_of("D40", 0.6, 0.9), severity_of("D40", 0.6, 0.3), severity_of("D00", 0.5, 0.9)
    ('high', 'medium', 'low')
    """
    bands = SEVERITY_SIZE_M.get(class_name)
    if bands is None:
        return "low"
    medium_from, high_from = bands
    if size_m >= high_from:
        level = "high"
    elif size_m >= medium_from:
        level = "medium"
    else:
        level = "low"
    if level == "high" and confidence < LOW_CONFIDENCE:
        return "medium"
    return level


def ground_size_m(ring: Sequence[tuple[float, float]]) -> float:
    """Longest side of the minimum rotated rectangle around a (lat, lon) ring; 0 for no ring."""
    if len(ring) < 2:
        return 0.0
    projection = LocalProjection(*ring[0])
    geom = shapely.MultiPoint([projection.to_xy(lat, lon) for lat, lon in ring])
    return _long_axis(geom).length


# --- the mesh -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Mesh:
    cells: np.ndarray  # shapely polygons, one per seen cell
    area_scale: np.ndarray  # cell area / full cell area
    station_m: np.ndarray  # row centre station of each cell


def _build_mesh(route: Route, seen: Sequence[Interval], lane_width_m: float) -> _Mesh:
    """Cells of the lane in every seen row, as rectangles oriented along the route."""
    assert route.line is not None
    n_rows = math.ceil(route.length_m / CELL_M - 1e-9)
    row_start = np.arange(n_rows) * CELL_M
    row_end = np.minimum(row_start + CELL_M, route.length_m)
    centre = (row_start + row_end) / 2.0
    in_seen = np.zeros(n_rows, dtype=bool)
    for a, b in merge_intervals(seen):
        in_seen |= (centre >= a) & (centre < b)
    row_start, row_end, centre = row_start[in_seen], row_end[in_seen], centre[in_seen]

    col_edges = np.append(
        np.arange(-lane_width_m / 2.0, lane_width_m / 2.0 - 1e-9, CELL_M), lane_width_m / 2.0
    )
    col_lo, col_hi = col_edges[:-1], col_edges[1:]

    pts = route.points_at(centre)
    ahead = route.points_at(np.minimum(centre + 0.1, route.length_m))
    behind = route.points_at(np.maximum(centre - 0.1, 0.0))
    tangent = ahead - behind
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])  # left of travel

    # Corners for each (row, column): along offsets relative to the row centre, across offsets.
    half_along_lo = (row_start - centre)[:, None, None]
    half_along_hi = (row_end - centre)[:, None, None]
    across_lo = col_lo[None, :, None]
    across_hi = col_hi[None, :, None]
    p = pts[:, None, :]
    t = tangent[:, None, :]
    n = normal[:, None, :]
    corners = np.stack(
        [
            p + t * half_along_lo + n * across_lo,
            p + t * half_along_hi + n * across_lo,
            p + t * half_along_hi + n * across_hi,
            p + t * half_along_lo + n * across_hi,
        ],
        axis=2,
    )  # rows x cols x 4 x 2
    cells = shapely.polygons(corners.reshape(-1, 4, 2))
    scale = ((row_end - row_start)[:, None] * (col_hi - col_lo)[None, :]) / CELL_AREA_M2
    station = np.repeat(centre, len(col_lo))
    return _Mesh(cells, scale.reshape(-1), station)


def _long_axis(geom: BaseGeometry) -> BaseGeometry:
    """The long centre line of a geometry's minimum rotated rectangle (a point stays a point)."""
    rect = geom.minimum_rotated_rectangle
    if not isinstance(rect, Polygon):
        return rect  # a point or a line already
    c = list(rect.exterior.coords)[:4]
    side_a, side_b = math.dist(c[0], c[1]), math.dist(c[1], c[2])
    if side_a >= side_b:  # long sides are c0-c1 and c2-c3: join the midpoints of the short ones
        return LineString([_mid(c[1], c[2]), _mid(c[3], c[0])])
    return LineString([_mid(c[0], c[1]), _mid(c[2], c[3])])


def _mid(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, float]:
    return (a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0


def _defect_shape(route: Route, defect: Defect) -> BaseGeometry:
    """The defect's ground outline in the route frame, or its point when it has none."""
    if len(defect.ground_ring) >= 3:
        poly = Polygon([route.to_xy(lat, lon) for lat, lon in defect.ground_ring])
        return poly if poly.is_valid else poly.buffer(0)
    return Point(route.to_xy(defect.lat, defect.lon))


def _cells_touched(tree: shapely.STRtree, cells: np.ndarray, geom: BaseGeometry) -> np.ndarray:
    """Indices of cells the geometry reaches into: a shared edge, or a sliver of rounding, does not count."""
    hits = np.asarray(tree.query(geom, predicate="intersects"), dtype=int)
    if isinstance(geom, Point) or len(hits) == 0:
        return hits[:1]
    shared = shapely.intersection(cells[hits], geom)
    size = shapely.area(shared) if geom.area > 0 else shapely.length(shared)
    return hits[size > _SLIVER]


def crack_cell_m2(n_cracks: int) -> float:
    """Area a full cell counts for the number of distinct cracks crossing it."""
    if n_cracks >= 2:
        return CELL_AREA_M2
    return ONE_CRACK_M2 if n_cracks == 1 else 0.0


def patch_cell_m2(covered_fraction: float) -> float:
    """Area a full cell counts for the share of it a patch covers: < 25 % none, 25-75 % half, > 75 % all."""
    if covered_fraction > 0.75:
        return CELL_AREA_M2
    return PATCH_HALF_M2 if covered_fraction >= 0.25 else 0.0


def cell_damage_m2(
    route: Route, defects: Sequence[Defect], seen: Sequence[Interval], lane_width_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Damaged area counted in each seen cell, and each cell's station along the route."""
    if route.line is None:
        return np.zeros(0), np.zeros(0)
    mesh = _build_mesh(route, seen, lane_width_m)
    n_cells = len(mesh.cells)
    if n_cells == 0:
        return np.zeros(0), mesh.station_m
    tree = shapely.STRtree(mesh.cells)
    crack_hits = np.zeros(n_cells, dtype=int)
    area_damage = np.zeros(n_cells, dtype=bool)
    patches: list[BaseGeometry] = []
    for defect in defects:
        shape = _defect_shape(route, defect)
        if defect.class_name in CRACK_CLASSES:
            line = _long_axis(shape) if not isinstance(shape, Point) else shape
            crack_hits[_cells_touched(tree, mesh.cells, line)] += 1
        elif defect.class_name in AREA_DAMAGE_CLASSES:
            area_damage[_cells_touched(tree, mesh.cells, shape)] = True
        elif defect.class_name in PATCH_CLASSES:
            patches.append(shape)
    value = np.array([crack_cell_m2(int(n)) for n in crack_hits], dtype=float)
    value = np.maximum(value, np.where(area_damage, CELL_AREA_M2, 0.0))
    patch_area = [g for g in patches if not isinstance(g, Point)]
    if patch_area:
        merged = unary_union(patch_area)
        hits = tree.query(merged, predicate="intersects")
        fraction = shapely.area(shapely.intersection(mesh.cells[hits], merged)) / shapely.area(
            mesh.cells[hits]
        )
        patch_value = np.array([patch_cell_m2(float(f)) for f in fraction], dtype=float)
        value[hits] = np.maximum(value[hits], patch_value)
    for point_patch in (g for g in patches if isinstance(g, Point)):
        value[_cells_touched(tree, mesh.cells, point_patch)] = CELL_AREA_M2
    return value * mesh.area_scale, mesh.station_m


def grade_segments(
    route_points: Sequence[RoutePoint],
    defects: Sequence[Defect],
    seen_intervals: Sequence[Interval],
    *,
    segment_m: float = DEFAULT_SEGMENT_M,
    lane_width_m: float = DEFAULT_LANE_WIDTH_M,
) -> list[SegmentGrade]:
    """Grade each segment of the route: crack ratio, category, MCI1, defect counts, share seen.

    `seen_intervals` are (start_m, end_m) distances along the route that the sampled frames saw
    (see :func:`seen_intervals_from_frames`).
    """
    if lane_width_m <= 0:
        raise ValueError(f"lane_width_m must be positive, got {lane_width_m}")
    if not route_points:
        return []
    route = Route(route_points)
    segments = _cut(route, segment_m)
    if not segments:
        return []
    seen = merge_intervals(seen_intervals)
    damage_m2, cell_station = cell_damage_m2(route, defects, seen, lane_width_m)
    stations = [route.station_m(d.lat, d.lon) for d in defects]
    grades = []
    last = len(segments) - 1
    for seg in segments:
        in_seg = _in_segment(np.asarray(stations), seg, seg.segment_id == last)
        counts = Counter(d.class_name for d, inside in zip(defects, in_seg, strict=True) if inside)
        seen_m = covered_length_m(seen, seg.start_m, seg.end_m)
        grade = SegmentGrade(
            segment_id=seg.segment_id,
            start_m=seg.start_m,
            end_m=seg.end_m,
            line=seg.line,
            surveyed_fraction=min(1.0, seen_m / seg.length_m),
            crack_ratio_pct=None,
            category=None,
            mci=None,
            defect_counts=dict(sorted(counts.items())),
        )
        if seen_m > 1e-9:
            cells = _in_segment(cell_station, seg, seg.segment_id == last)
            ratio = min(100.0, 100.0 * float(damage_m2[cells].sum()) / (seen_m * lane_width_m))
            mci = mci1(ratio)
            grade = replace(
                grade, crack_ratio_pct=ratio, category=category_of(ratio), mci=mci, mci_advice=mci_advice(mci)
            )
        grades.append(grade)
    return grades


def _in_segment(stations: np.ndarray, seg: RouteSegment, is_last: bool) -> np.ndarray:
    if len(stations) == 0:
        return np.zeros(0, dtype=bool)
    upper = stations <= seg.end_m if is_last else stations < seg.end_m
    return (stations >= seg.start_m) & upper
