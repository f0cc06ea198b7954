"""The crack ratio's 0.5 m mesh: which cells each defect marks and what each cell counts.

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
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.ops import unary_union

from tenken.findings import AREA_DAMAGE_CLASSES, CRACK_CLASSES, PATCH_CLASSES, Defect
from tenken.geo import LocalProjection
from vision.road.route import Interval, Route, merge_intervals

CELL_M = 0.5
CELL_AREA_M2 = CELL_M * CELL_M
ONE_CRACK_M2 = 0.15
PATCH_HALF_M2 = 0.125
# Overlaps below this (m or m2) are rounding from the lat/lon round trip, not contact.
_SLIVER = 1e-6


def ground_size_m(ring: Sequence[tuple[float, float]]) -> float:
    """Longest side of the minimum rotated rectangle around a (lat, lon) ring; 0 for no ring."""
    if len(ring) < 2:
        return 0.0
    projection = LocalProjection(*ring[0])
    geom = shapely.MultiPoint([projection.to_xy(lat, lon) for lat, lon in ring])
    return _long_axis(geom).length


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
