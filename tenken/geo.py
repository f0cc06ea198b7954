"""Geodesy on the WGS84 ellipsoid and flat-ground camera geometry (pixel -> ground point)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from pyproj import Geod, Transformer

WGS84 = Geod(ellps="WGS84")
# WGS84 longitude/latitude as a PROJ string: the same CRS as EPSG:4326 with axis order lon, lat,
# but building a transformer from it skips PROJ's database lookups (~6 ms instead of ~50-300 ms).
LONLAT = "+proj=longlat +datum=WGS84 +no_defs"


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance in metres."""
    _, _, dist = WGS84.inv(lon1, lat1, lon2, lat2)
    return float(dist)


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north in [0, 360)."""
    az, _, _ = WGS84.inv(lon1, lat1, lon2, lat2)
    return float(az) % 360.0


def heading_change_deg(a_deg: float, b_deg: float) -> float:
    """The turn from heading a to heading b the shorter way round, in (-180, 180].

    >>> heading_change_deg(350.0, 10.0)
    20.0
    """
    return (b_deg - a_deg + 180.0) % 360.0 - 180.0


def lerp_heading_deg(a_deg: float, b_deg: float, fraction: float) -> float:
    """Interpolate along the shorter arc, so 350° → 10° passes through 0°, not 180°; in [0, 360)."""
    heading = (a_deg + fraction * heading_change_deg(a_deg, b_deg)) % 360.0
    return 0.0 if heading >= 360.0 else heading  # -1e-300 % 360 rounds to 360.0


def offset_latlon(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point `east_m`, `north_m` away from (lat, lon), as (lat, lon)."""
    dist = math.hypot(east_m, north_m)
    if dist == 0.0:
        return lat, lon
    az = math.degrees(math.atan2(east_m, north_m))
    lon2, lat2, _ = WGS84.fwd(lon, lat, az, dist)
    return float(lat2), float(lon2)


class LocalProjection:
    """A metric plane (x east, y north, metres) around an origin, for work on a few kilometres."""

    def __init__(self, lat0: float, lon0: float) -> None:
        self.lat0, self.lon0 = lat0, lon0
        proj = f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m"
        self._fwd = Transformer.from_crs(LONLAT, proj, always_xy=True)
        self._inv = Transformer.from_crs(proj, LONLAT, always_xy=True)

    def to_xy(self, lat: float, lon: float) -> tuple[float, float]:
        x, y = self._fwd.transform(lon, lat)
        return float(x), float(y)

    def to_latlon(self, x: float, y: float) -> tuple[float, float]:
        lon, lat = self._inv.transform(x, y)
        return float(lat), float(lon)


@dataclass(frozen=True)
class CameraModel:
    """A pinhole camera above flat ground.

    `pitch_deg` is the tilt of the optical axis below the horizon (0 = level, 90 = straight down);
    for a car it is the mount's tilt, for a drone the gimbal's. Square pixels, principal point at the
    image centre.

    >>> cam = CameraModel(height_m=1.5, pitch_deg=90.0, hfov_deg=90.0, width_px=100, height_px=100)
    >>> cam.ground_offset(50, 50)
    (0.0, 0.0)
    """

    height_m: float
    pitch_deg: float
    hfov_deg: float
    width_px: int
    height_px: int

    @property
    def focal_px(self) -> float:
        return (self.width_px / 2.0) / math.tan(math.radians(self.hfov_deg) / 2.0)

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2.0 * math.atan((self.height_px / 2.0) / self.focal_px))

    def horizon_row(self) -> float:
        """Image row of the horizon (may lie outside the image)."""
        pitch = math.radians(self.pitch_deg)
        if pitch >= math.pi / 2:
            return -math.inf
        return self.height_px / 2.0 - self.focal_px * math.tan(pitch)

    def ground_offset(self, u: float, v: float) -> tuple[float, float] | None:
        """(forward_m, right_m) of the ground point seen at pixel (u, v), or None above the horizon."""
        pitch = math.radians(self.pitch_deg)
        x = (u - self.width_px / 2.0) / self.focal_px
        y = (v - self.height_px / 2.0) / self.focal_px
        down = math.sin(pitch) + y * math.cos(pitch)
        if down <= 1e-6:
            return None
        t = self.height_m / down
        forward = t * (math.cos(pitch) - y * math.sin(pitch))
        right = t * x
        return round(forward, 9) + 0.0, round(right, 9) + 0.0

    def range_error_m(self, u: float, v: float, row_error_px: float, pitch_error_deg: float) -> float | None:
        """How far the ground point moves for `row_error_px` of row error and `pitch_error_deg` of tilt."""
        here = self.ground_offset(u, v)
        below = self.ground_offset(u, v + row_error_px)
        if here is None or below is None:
            return None
        d_row = math.dist(here, below)
        tilted = CameraModel(
            self.height_m, self.pitch_deg + pitch_error_deg, self.hfov_deg, self.width_px, self.height_px
        ).ground_offset(u, v)
        d_pitch = math.dist(here, tilted) if tilted is not None else math.inf
        return math.hypot(d_row, d_pitch)


def rotate_to_east_north(forward_m: float, right_m: float, heading_deg: float) -> tuple[float, float]:
    """(east_m, north_m) of a camera-relative offset for a camera facing `heading_deg`."""
    h = math.radians(heading_deg)
    east = forward_m * math.sin(h) + right_m * math.cos(h)
    north = forward_m * math.cos(h) - right_m * math.sin(h)
    return east, north


@dataclass(frozen=True)
class GroundPoint:
    lat: float
    lon: float
    error_m: float


def georeference_pixel(
    lat: float,
    lon: float,
    heading_deg: float,
    camera: CameraModel,
    u: float,
    v: float,
    *,
    gps_error_m: float = 3.0,
    row_error_px: float = 2.0,
    pitch_error_deg: float = 1.0,
) -> GroundPoint | None:
    """The ground point seen at pixel (u, v) by a camera at (lat, lon) facing `heading_deg`.

    The error estimate combines GPS error with how far the point moves for a few pixels of box
    error and a degree of camera tilt (the road is never perfectly flat). None above the horizon.
    """
    offset = camera.ground_offset(u, v)
    if offset is None:
        return None
    geom_error = camera.range_error_m(u, v, row_error_px, pitch_error_deg)
    if geom_error is None or not math.isfinite(geom_error):
        return None
    east, north = rotate_to_east_north(offset[0], offset[1], heading_deg)
    plat, plon = offset_latlon(lat, lon, east, north)
    return GroundPoint(plat, plon, math.hypot(gps_error_m, geom_error))


def footprint(
    lat: float,
    lon: float,
    heading_deg: float,
    camera: CameraModel,
    max_range_m: float = 1000.0,
    region: tuple[float, float, float, float] | None = None,
) -> list[tuple[float, float]]:
    """The camera's ground footprint as a (lat, lon) ring, clipped `max_range_m` ahead near the horizon;
    with `region` (x0, y0, x1, y1 in pixels), the footprint of that part of the image only."""
    x0, y0, x1, y1 = region or (0.0, 0.0, float(camera.width_px), float(camera.height_px))
    top = max(y0, camera.horizon_row() + 0.02 * camera.height_px)
    if top >= y1:
        return []  # all of it above the horizon
    corners = [(x0, y1), (x1, y1), (x1, top), (x0, top)]
    ring: list[tuple[float, float]] = []
    for u, v in corners:
        off = camera.ground_offset(u, v)
        if off is None:
            continue
        fwd, right = off
        scale = min(1.0, max_range_m / max(math.hypot(fwd, right), 1e-9))
        east, north = rotate_to_east_north(fwd * scale, right * scale, heading_deg)
        ring.append(offset_latlon(lat, lon, east, north))
    return ring
