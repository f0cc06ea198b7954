"""Mission planning: survey grids, corridors and orbits as waypoints, and checks before anything flies.

Everything here is pure: values in, values out. Coordinates are (lat, lon) in Python; GeoJSON input is
[lon, lat] and is converted in `polygon_from_geojson` / `line_from_geojson` only.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely import affinity
from shapely.geometry import LineString, Polygon
from shapely.validation import explain_validity

from tenken.errors import MissionError
from tenken.geo import LocalProjection, distance_m
from tenken.settings import DRONE_CAMERA_HFOV_DEG

LatLon = tuple[float, float]


@dataclass(frozen=True)
class Waypoint:
    lat: float
    lon: float
    alt_m: float  # above home


@dataclass(frozen=True)
class CameraFov:
    """Field of view of the drone camera; `hfov_deg` spans the image width (across track when nadir)."""

    hfov_deg: float = DRONE_CAMERA_HFOV_DEG
    vfov_deg: float = 53.1

    def __post_init__(self) -> None:
        for name, value in (("hfov_deg", self.hfov_deg), ("vfov_deg", self.vfov_deg)):
            if not 1.0 <= value <= 170.0:
                raise MissionError(f"camera {name} must be between 1 and 170 degrees, got {value:g}")


@dataclass(frozen=True)
class MissionLimits:
    """What a mission may ask of the aircraft; defaults come from settings (`TENKEN_DRONE_*`)."""

    ceiling_m: float = 150.0
    max_waypoints: int = 500
    endurance_s: float = 1200.0  # hover-and-cruise flight time on a full battery
    reserve_pct: float = 25.0
    climb_mps: float = 2.5
    descent_mps: float = 1.5


@dataclass(frozen=True)
class Mission:
    """Waypoints flown in order at one speed, with the camera pitch and an optional point of interest."""

    kind: str
    waypoints: tuple[Waypoint, ...]
    altitude_m: float
    speed_mps: float
    gimbal_pitch_deg: float = -90.0
    roi: LatLon | None = None
    line_spacing_m: float | None = None
    photo_spacing_m: float | None = None

    @property
    def path_length_m(self) -> float:
        return path_length_m([(w.lat, w.lon) for w in self.waypoints])


def path_length_m(points: Sequence[LatLon]) -> float:
    return sum(distance_m(a[0], a[1], b[0], b[1]) for a, b in itertools.pairwise(points))


# ---- GeoJSON input ---------------------------------------------------------------------------------------


def _geometry(obj: dict[str, Any] | str) -> dict[str, Any]:
    if isinstance(obj, str):
        try:
            obj = json.loads(obj)
        except json.JSONDecodeError as exc:
            raise MissionError(f"not valid GeoJSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(obj, dict):
        raise MissionError("GeoJSON must be an object (Feature, FeatureCollection or geometry)")
    kind = obj.get("type")
    if kind == "FeatureCollection":
        features = obj.get("features") or []
        if not features:
            raise MissionError("GeoJSON FeatureCollection has no features")
        if len(features) > 1:
            raise MissionError(f"GeoJSON has {len(features)} features; give exactly one area or line")
        return _geometry(features[0])
    if kind == "Feature":
        geometry = obj.get("geometry")
        if not isinstance(geometry, dict):
            raise MissionError("GeoJSON Feature has no geometry")
        return geometry
    return obj


def _lonlat_to_latlon(coords: Sequence[Sequence[float]]) -> list[LatLon]:
    points: list[LatLon] = []
    for c in coords:
        if len(c) < 2:
            raise MissionError("GeoJSON position needs [lon, lat]")
        lon, lat = float(c[0]), float(c[1])
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):
            raise MissionError(f"GeoJSON position [{lon:g}, {lat:g}] is not [lon, lat] in degrees")
        points.append((lat, lon))
    return points


def polygon_from_geojson(obj: dict[str, Any] | str) -> list[LatLon]:
    """The outer ring of a GeoJSON Polygon as (lat, lon) points (closing point dropped)."""
    geometry = _geometry(obj)
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "MultiPolygon" and isinstance(coords, list) and len(coords) == 1:
        kind, coords = "Polygon", coords[0]
    if kind != "Polygon":
        raise MissionError(f"survey area must be a GeoJSON Polygon, got {kind}")
    if not coords or not coords[0]:
        raise MissionError("survey polygon is empty")
    ring = _lonlat_to_latlon(coords[0])
    if len(ring) > 1 and ring[0] == ring[-1]:
        ring = ring[:-1]
    return ring


def line_from_geojson(obj: dict[str, Any] | str) -> list[LatLon]:
    geometry = _geometry(obj)
    if geometry.get("type") != "LineString":
        raise MissionError(f"corridor must be a GeoJSON LineString, got {geometry.get('type')}")
    return _lonlat_to_latlon(geometry.get("coordinates") or [])


# ---- geometry --------------------------------------------------------------------------------------------


def footprint_size_m(altitude_m: float, camera: CameraFov) -> tuple[float, float]:
    """(across_m, along_m) of a nadir camera's ground footprint at `altitude_m` over flat ground."""
    across = 2.0 * altitude_m * math.tan(math.radians(camera.hfov_deg) / 2.0)
    along = 2.0 * altitude_m * math.tan(math.radians(camera.vfov_deg) / 2.0)
    return across, along


def _check_overlap(name: str, value: float) -> None:
    if not 0.0 <= value < 0.95:
        raise MissionError(f"{name} must be in [0, 0.95), got {value:g}")


def _check_flight(altitude_m: float, speed_mps: float) -> None:
    if not altitude_m > 0:
        raise MissionError(f"altitude must be above 0 m, got {altitude_m:g}")
    if not 0 < speed_mps <= 30:
        raise MissionError(f"speed must be in (0, 30] m/s, got {speed_mps:g}")


def _polygon_xy(ring: Sequence[LatLon], proj: LocalProjection) -> Polygon:
    polygon = Polygon([proj.to_xy(lat, lon) for lat, lon in ring])
    if not polygon.is_valid:
        reason = explain_validity(polygon)
        if "Self-intersection" in reason or "Ring Self-intersection" in reason:
            raise MissionError("survey polygon crosses itself; draw its outline without crossing edges")
        raise MissionError(f"survey polygon is invalid: {reason}")
    if polygon.area < 1.0:
        raise MissionError("survey polygon has no area")
    return polygon


def _long_axis_deg(polygon: Polygon) -> float:
    """Direction (degrees from the x axis) of the longest side of the minimum rotated rectangle."""
    rect = polygon.minimum_rotated_rectangle
    xs, ys = rect.exterior.coords.xy
    best_len, best_angle = -1.0, 0.0
    for i in range(4):
        dx, dy = xs[i + 1] - xs[i], ys[i + 1] - ys[i]
        length = math.hypot(dx, dy)
        if length > best_len + 1e-9:
            best_len, best_angle = length, math.degrees(math.atan2(dy, dx))
    return best_angle


def survey_grid(
    ring: Sequence[LatLon],
    *,
    altitude_m: float,
    camera: CameraFov,
    side_overlap: float = 0.7,
    front_overlap: float = 0.8,
    speed_mps: float = 8.0,
    lines_deg: float | None = None,
) -> Mission:
    """A lawnmower pattern covering the polygon with `side_overlap` between neighbouring passes.

    Passes run along the polygon's long axis (fewest turns) unless `lines_deg` (clockwise from north)
    is given. Each pass enters and leaves the polygon at its edge; a concave polygon may give several
    pieces on one pass, flown in order along the pass.
    """
    _check_flight(altitude_m, speed_mps)
    _check_overlap("side overlap", side_overlap)
    _check_overlap("front overlap", front_overlap)
    if len(ring) < 3:
        raise MissionError(f"survey polygon needs at least 3 corners, got {len(ring)}")
    lat0 = sum(p[0] for p in ring) / len(ring)
    lon0 = sum(p[1] for p in ring) / len(ring)
    proj = LocalProjection(lat0, lon0)
    polygon = _polygon_xy(ring, proj)
    across_m, along_m = footprint_size_m(altitude_m, camera)
    spacing_m = across_m * (1.0 - side_overlap)
    angle = _long_axis_deg(polygon) if lines_deg is None else 90.0 - lines_deg
    flat = affinity.rotate(polygon, -angle, origin=(0.0, 0.0))
    minx, miny, maxx, maxy = flat.bounds
    height = maxy - miny
    n_lines = max(1, math.ceil(max(height - spacing_m, 0.0) / spacing_m) + 1)
    first_y = miny + (height - (n_lines - 1) * spacing_m) / 2.0
    points_xy: list[tuple[float, float]] = []
    for k in range(n_lines):
        y = first_y + k * spacing_m
        cut = flat.intersection(LineString([(minx - 1.0, y), (maxx + 1.0, y)]))
        pieces = sorted(
            (
                list(g.coords)
                for g in getattr(cut, "geoms", [cut])
                if isinstance(g, LineString) and not g.is_empty
            ),
            key=lambda c: min(c[0][0], c[-1][0]),
        )
        segments = [sorted(c, key=lambda p: p[0]) for c in pieces]
        if k % 2 == 1:
            segments = [list(reversed(s)) for s in reversed(segments)]
        for seg in segments:
            points_xy.extend([seg[0], seg[-1]])
    if not points_xy:
        raise MissionError("survey polygon is too small for one pass at this altitude")
    back = affinity.rotate(LineString(points_xy) if len(points_xy) > 1 else shapely.Point(points_xy[0]),
                           angle, origin=(0.0, 0.0))  # fmt: skip
    waypoints = tuple(Waypoint(*proj.to_latlon(x, y), altitude_m) for x, y in back.coords)
    return Mission(
        "survey", waypoints, altitude_m, speed_mps, -90.0,
        line_spacing_m=spacing_m, photo_spacing_m=along_m * (1.0 - front_overlap),
    )  # fmt: skip


def corridor(
    line: Sequence[LatLon],
    *,
    altitude_m: float,
    camera: CameraFov,
    width_m: float = 0.0,
    side_overlap: float = 0.6,
    speed_mps: float = 8.0,
) -> Mission:
    """Passes along a polyline (a road), enough of them side by side to see `width_m` of ground."""
    _check_flight(altitude_m, speed_mps)
    _check_overlap("side overlap", side_overlap)
    if len(line) < 2:
        raise MissionError(f"corridor line needs at least 2 points, got {len(line)}")
    if width_m < 0:
        raise MissionError(f"corridor width must be 0 m or more, got {width_m:g}")
    proj = LocalProjection(*line[0])
    path = LineString([proj.to_xy(lat, lon) for lat, lon in line])
    if path.length < 1.0:
        raise MissionError("corridor line has no length")
    across_m, _ = footprint_size_m(altitude_m, camera)
    spacing_m = across_m * (1.0 - side_overlap)
    n_pass = 1 if width_m <= across_m else math.ceil((width_m - across_m) / spacing_m) + 1
    points_xy: list[tuple[float, float]] = []
    for k in range(n_pass):
        offset = (k - (n_pass - 1) / 2.0) * spacing_m
        shifted = path if offset == 0 else path.offset_curve(offset, join_style="mitre", mitre_limit=3.0)
        coords = list(shifted.coords)
        points_xy.extend(coords if k % 2 == 0 else list(reversed(coords)))
    waypoints = tuple(Waypoint(*proj.to_latlon(x, y), altitude_m) for x, y in points_xy)
    return Mission(
        "corridor", waypoints, altitude_m, speed_mps, -90.0, line_spacing_m=spacing_m if n_pass > 1 else None
    )


def orbit(
    center: LatLon,
    *,
    radius_m: float,
    altitude_m: float,
    points: int = 16,
    turns: float = 1.0,
    clockwise: bool = True,
    speed_mps: float = 5.0,
) -> Mission:
    """Circle `center` at `radius_m`, camera pitched down to look at it (a fire seen from all sides)."""
    _check_flight(altitude_m, speed_mps)
    if radius_m <= 0:
        raise MissionError(f"orbit radius must be above 0 m, got {radius_m:g}")
    if points < 3:
        raise MissionError(f"orbit needs at least 3 points per turn, got {points}")
    if turns <= 0:
        raise MissionError(f"orbit turns must be above 0, got {turns:g}")
    proj = LocalProjection(*center)
    total = max(2, round(points * turns)) + 1
    sign = 1.0 if clockwise else -1.0
    waypoints = []
    for i in range(total):
        bearing = sign * 2.0 * math.pi * i / points
        waypoints.append(Waypoint(*proj.to_latlon(radius_m * math.sin(bearing), radius_m * math.cos(bearing)),
                                  altitude_m))  # fmt: skip
    pitch = -math.degrees(math.atan2(altitude_m, radius_m))
    return Mission("orbit", tuple(waypoints), altitude_m, speed_mps, pitch, roi=center)


# ---- checks ----------------------------------------------------------------------------------------------


def estimate_duration_s(mission: Mission, limits: MissionLimits, home: LatLon | None = None) -> float:
    """Take-off, the path (from and back to `home` when known), and the descent and landing."""
    legs = mission.path_length_m
    if home is not None and mission.waypoints:
        first, last = mission.waypoints[0], mission.waypoints[-1]
        legs += distance_m(home[0], home[1], first.lat, first.lon)
        legs += distance_m(last.lat, last.lon, home[0], home[1])
    climb_s = mission.altitude_m / limits.climb_mps
    # Landing: ArduCopter descends fast to 10 m, then slowly (LAND_SPEED, ~0.5 m/s).
    descent_s = max(mission.altitude_m - 10.0, 0.0) / limits.descent_mps + min(mission.altitude_m, 10.0) / 0.5
    return climb_s + legs / mission.speed_mps + descent_s


def validate_mission(
    mission: Mission, limits: MissionLimits, *, home: LatLon | None = None, battery_pct: float = 100.0
) -> float:
    """Raise MissionError naming the first problem; return the estimated flight time in seconds."""
    if not mission.waypoints:
        raise MissionError("mission has no waypoints")
    highest = max(w.alt_m for w in mission.waypoints)
    if highest > limits.ceiling_m:
        raise MissionError(
            f"altitude {highest:g} m is above the {limits.ceiling_m:g} m ceiling "
            "(setting TENKEN_DRONE_CEILING_M)"
        )
    if min(w.alt_m for w in mission.waypoints) <= 0:
        raise MissionError("every waypoint must be above ground (altitude > 0 m)")
    if len(mission.waypoints) > limits.max_waypoints:
        raise MissionError(
            f"mission has {len(mission.waypoints)} waypoints, more than the {limits.max_waypoints} allowed; "
            "fly higher, lower the overlap or split the area"
        )
    duration_s = estimate_duration_s(mission, limits, home)
    usable_s = limits.endurance_s * max(battery_pct - limits.reserve_pct, 0.0) / 100.0
    if duration_s > usable_s:
        raise MissionError(
            f"mission needs about {duration_s / 60:.1f} min at {mission.speed_mps:g} m/s but the battery "
            f"({battery_pct:.0f} %, keeping {limits.reserve_pct:g} % in reserve) "
            f"allows {usable_s / 60:.1f} min"
        )
    return duration_s
