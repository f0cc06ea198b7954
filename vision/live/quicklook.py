"""Quick-look map of a flight: each posed frame projected onto flat ground and painted into a north-up mosaic.

Not a photogrammetric orthophoto: no terrain model, no bundle adjustment, no seam blending. Each frame
is placed by its own pose (GPS, altitude above ground, gimbal pitch, heading, field of view), so the
map is as good as the telemetry, but it is there seconds after the flight instead of hours.

The mosaic grid is the UTM zone of the first frame (metres, north-up), so the GeoTIFF has an exact
affine geotransform; the PNG for a Leaflet `ImageOverlay` is the same mosaic warped to Web Mercator,
which is what Leaflet stretches overlays in.

>>> look = QuickLook(m_per_px=0.5)
>>> look.frames_painted
0
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from pyproj import CRS, Transformer

from tenken.errors import DataError
from tenken.geo import CameraModel, offset_latlon, rotate_to_east_north
from vision.live import DronePose
from vision.live.recording import RecordingReader

Image = npt.NDArray[np.uint8]
LABEL = "quick-look, not an orthophoto"
MAX_SIDE_PX = 12_000  # a bigger mosaic means a bad pose (or a cross-country flight); refuse to grow


@dataclass(frozen=True)
class GroundQuad:
    """The part of a frame that is painted: image rows `top_row`..bottom, and their ground corners."""

    top_row: float
    # (lat, lon) of the top-left, top-right, bottom-right and bottom-left corners
    corners_latlon: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class OverlayBounds:
    """Where a Leaflet ImageOverlay goes: `[[south, west], [north, east]]`."""

    south: float
    west: float
    north: float
    east: float

    def leaflet(self) -> list[list[float]]:
        return [[self.south, self.west], [self.north, self.east]]


def usable_top_row(camera: CameraModel, *, min_depression_deg: float, max_range_m: float) -> float | None:
    """The highest image row that is still safely below the horizon and within `max_range_m`.

    Near the horizon a fraction of a degree of pitch error moves the ground point by tens of metres,
    so rows whose ray is less than `min_depression_deg` below the horizon, or that land farther than
    `max_range_m` from the drone at an image corner, are not painted. None: nothing is usable.
    """
    h = camera.height_px
    pitch = math.radians(camera.pitch_deg)
    # centre column: the ray at row v is pitch + atan((v - cy) / f) below the horizon
    top = h / 2.0 + camera.focal_px * math.tan(math.radians(min_depression_deg) - pitch)
    top = max(0.0, top)
    if top >= h - 1:
        return None

    def within(v: float) -> bool:
        off = camera.ground_offset(0.0, v)  # a corner column is the farthest point of its row
        return off is not None and math.hypot(*off) <= max_range_m

    if within(top):
        return top
    lo, hi = top, float(h - 1)
    if not within(hi):
        return None
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if within(mid) else (mid, hi)
    return hi


def ground_quad(
    pose: DronePose,
    width_px: int,
    height_px: int,
    *,
    min_depression_deg: float = 20.0,
    max_range_m: float | None = None,
) -> GroundQuad | None:
    """The ground corners of the usable part of a frame seen from `pose`, or None if none of it is usable."""
    camera = pose.camera(width_px, height_px)
    reach = max_range_m if max_range_m is not None else 6.0 * camera.height_m
    top = usable_top_row(camera, min_depression_deg=min_depression_deg, max_range_m=reach)
    if top is None:
        return None
    corners = []
    for u, v in (
        (0.0, top),
        (float(width_px), top),
        (float(width_px), float(height_px)),
        (0.0, float(height_px)),
    ):
        off = camera.ground_offset(u, v)
        if off is None:
            return None
        east, north = rotate_to_east_north(off[0], off[1], pose.heading_deg)
        corners.append(offset_latlon(pose.lat, pose.lon, east, north))
    return GroundQuad(top, tuple(corners))


def nadir_score(camera: CameraModel, width_px: int, height_px: int) -> npt.NDArray[np.float32]:
    """Per pixel, the cosine of the ray's angle from straight down (1 = nadir): steeper views win."""
    pitch = math.radians(camera.pitch_deg)
    xs = (np.arange(width_px, dtype=np.float32) + 0.5 - width_px / 2.0) / camera.focal_px
    ys = (np.arange(height_px, dtype=np.float32) + 0.5 - height_px / 2.0) / camera.focal_px
    x, y = np.meshgrid(xs, ys)
    down = math.sin(pitch) + y * math.cos(pitch)
    score = down / np.sqrt(1.0 + x * x + y * y)
    return np.clip(score, 0.0, 1.0).astype(np.float32)


def utm_crs_for(lat: float, lon: float) -> CRS:
    """The WGS84 UTM zone CRS (EPSG:326xx north, 327xx south) containing (lat, lon)."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


class QuickLook:
    """An incrementally painted mosaic. `add(image, pose)` per sampled frame; write it out at any time.

    Where frames overlap, the pixel seen most steeply (closest to nadir) wins; on a tie, the later frame.
    """

    def __init__(
        self,
        *,
        m_per_px: float = 0.5,
        min_depression_deg: float = 20.0,
        max_range_m: float | None = None,
        work_width_px: int = 640,
    ) -> None:
        if m_per_px <= 0:
            raise ValueError("m_per_px must be above 0")
        self.m_per_px = m_per_px
        self.min_depression_deg = min_depression_deg
        self.max_range_m = max_range_m
        self.work_width_px = work_width_px  # frames are shrunk to this before warping (speed, not detail)
        self.crs: CRS | None = None
        self._to_grid: Transformer | None = None
        self._x0 = self._y0 = 0.0  # grid coordinates (metres) of the canvas's top-left corner
        self._bgr: Image = np.zeros((0, 0, 3), np.uint8)
        self._score: npt.NDArray[np.float32] = np.zeros((0, 0), np.float32)
        self.frames_painted = 0
        self.frames_skipped = 0

    @property
    def shape(self) -> tuple[int, int]:
        return self._score.shape[0], self._score.shape[1]

    def _grid_xy(self, lat: float, lon: float) -> tuple[float, float]:
        assert self._to_grid is not None
        x, y = self._to_grid.transform(lon, lat)
        return float(x), float(y)

    def _ensure_canvas(self, xs: list[float], ys: list[float]) -> None:
        """Grow the canvas (keeping what is painted) so the box around xs, ys fits, with some margin."""
        pad = 64 * self.m_per_px
        x_min, x_max = min(xs) - pad, max(xs) + pad
        y_min, y_max = min(ys) - pad, max(ys) + pad
        rows, cols = self.shape
        if rows == 0:
            self._x0 = math.floor(x_min / self.m_per_px) * self.m_per_px
            self._y0 = math.ceil(y_max / self.m_per_px) * self.m_per_px
            cols_new = math.ceil((x_max - self._x0) / self.m_per_px)
            rows_new = math.ceil((self._y0 - y_min) / self.m_per_px)
            self._check_size(rows_new, cols_new)
            self._bgr = np.zeros((rows_new, cols_new, 3), np.uint8)
            self._score = np.zeros((rows_new, cols_new), np.float32)
            return
        left = max(0, math.ceil((self._x0 - x_min) / self.m_per_px))
        top = max(0, math.ceil((y_max - self._y0) / self.m_per_px))
        right = max(0, math.ceil((x_max - (self._x0 + cols * self.m_per_px)) / self.m_per_px))
        bottom = max(0, math.ceil(((self._y0 - rows * self.m_per_px) - y_min) / self.m_per_px))
        if not (left or top or right or bottom):
            return
        self._check_size(rows + top + bottom, cols + left + right)
        self._bgr = np.pad(self._bgr, ((top, bottom), (left, right), (0, 0)))
        self._score = np.pad(self._score, ((top, bottom), (left, right)))
        self._x0 -= left * self.m_per_px
        self._y0 += top * self.m_per_px

    @staticmethod
    def _check_size(rows: int, cols: int) -> None:
        if max(rows, cols) > MAX_SIDE_PX:
            raise DataError(
                f"quick-look mosaic would be {cols} x {rows} px (over {MAX_SIDE_PX}); "
                "check the frames' poses or use a coarser m_per_px"
            )

    def add(self, image: Image, pose: DronePose) -> bool:
        """Paint one frame; False when no part of it is safely below the horizon (nothing painted)."""
        if self.crs is None:
            self.crs = utm_crs_for(pose.lat, pose.lon)
            self._to_grid = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        h0, w0 = image.shape[:2]
        scale = min(1.0, self.work_width_px / w0)
        if scale < 1.0:
            image = cv2.resize(image, (round(w0 * scale), round(h0 * scale)), interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
        quad = ground_quad(
            pose, w, h, min_depression_deg=self.min_depression_deg, max_range_m=self.max_range_m
        )
        if quad is None:
            self.frames_skipped += 1
            return False
        grid = [self._grid_xy(lat, lon) for lat, lon in quad.corners_latlon]
        self._ensure_canvas([p[0] for p in grid], [p[1] for p in grid])
        canvas = [((x - self._x0) / self.m_per_px, (self._y0 - y) / self.m_per_px) for x, y in grid]
        # Paint only the bounding window of the footprint: warping the whole canvas per frame is slow.
        cx0 = max(0, math.floor(min(p[0] for p in canvas)))
        cy0 = max(0, math.floor(min(p[1] for p in canvas)))
        cx1 = min(self.shape[1], math.ceil(max(p[0] for p in canvas)) + 1)
        cy1 = min(self.shape[0], math.ceil(max(p[1] for p in canvas)) + 1)
        top = quad.top_row
        src = np.array([(0.0, top), (float(w), top), (float(w), float(h)), (0.0, float(h))], np.float32)
        dst = np.array([(x - cx0, y - cy0) for x, y in canvas], np.float32)
        warp = cv2.getPerspectiveTransform(src, dst)
        size = (cx1 - cx0, cy1 - cy0)
        score = nadir_score(pose.camera(w, h), w, h)
        score[: max(0, math.ceil(top))] = 0.0  # above the usable row: never painted
        # pixels at the frame's edge are bordered by blank: shrink by one so no black seam is painted
        score[:, 0] = score[:, -1] = score[-1, :] = 0.0
        warped = cv2.warpPerspective(
            image, warp, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT
        )
        warped_score = cv2.warpPerspective(score, warp, size, flags=cv2.INTER_NEAREST, borderValue=0.0)
        window = self._score[cy0:cy1, cx0:cx1]
        wins = (warped_score > 0.0) & (warped_score >= window)
        window[wins] = warped_score[wins]
        self._bgr[cy0:cy1, cx0:cx1][wins] = warped[wins]
        self.frames_painted += 1
        return True

    # ---- outputs -------------------------------------------------------------------------------

    def _require_painted(self) -> None:
        if self.frames_painted == 0 or self.crs is None:
            raise DataError("the quick-look has no painted frames yet (no posed frame looked at the ground)")

    @property
    def transform(self) -> tuple[float, float, float, float, float, float]:
        """GDAL geotransform: (x0, pixel width, 0, y0, 0, -pixel height), in the UTM grid."""
        return (self._x0, self.m_per_px, 0.0, self._y0, 0.0, -self.m_per_px)

    def rgba(self) -> Image:
        """The mosaic as RGBA; alpha 0 where nothing was painted."""
        alpha = np.where(self._score > 0, 255, 0).astype(np.uint8)
        return np.dstack([self._bgr[..., ::-1], alpha])

    def pixel_to_latlon(self, col: float, row: float) -> tuple[float, float]:
        """(lat, lon) of a (fractional) canvas pixel position; pixel centres are at +0.5."""
        assert self.crs is not None
        x = self._x0 + col * self.m_per_px
        y = self._y0 - row * self.m_per_px
        lon, lat = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True).transform(x, y)
        return float(lat), float(lon)

    def latlon_to_pixel(self, lat: float, lon: float) -> tuple[float, float]:
        """(col, row) canvas position of a ground point."""
        x, y = self._grid_xy(lat, lon)
        return (x - self._x0) / self.m_per_px, (self._y0 - y) / self.m_per_px

    def write_geotiff(self, path: Path | str) -> Path:
        """An RGBA GeoTIFF in the UTM zone (QGIS and GDAL open it in place), deflate-compressed."""
        import rasterio
        from rasterio.enums import ColorInterp
        from rasterio.transform import Affine

        self._require_painted()
        path = Path(path)
        rgba = self.rgba()
        rows, cols = self.shape
        profile = {
            "driver": "GTiff",
            "width": cols,
            "height": rows,
            "count": 4,
            "dtype": "uint8",
            "crs": self.crs,
            "transform": Affine(self.m_per_px, 0.0, self._x0, 0.0, -self.m_per_px, self._y0),
            "compress": "deflate",
            "tiled": True,
            "photometric": "RGB",
        }
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(np.moveaxis(rgba, -1, 0))
            dst.colorinterp = (ColorInterp.red, ColorInterp.green, ColorInterp.blue, ColorInterp.alpha)
            dst.update_tags(
                TIFFTAG_IMAGEDESCRIPTION=f"Tenken {LABEL}", TENKEN_FRAMES=str(self.frames_painted)
            )
        return path

    def web_mercator(self) -> tuple[Image, OverlayBounds]:
        """The mosaic reprojected to Web Mercator (RGBA) and its lat/lon bounds, for a Leaflet overlay."""
        from rasterio.transform import Affine
        from rasterio.warp import Resampling, calculate_default_transform, reproject

        self._require_painted()
        rows, cols = self.shape
        src_transform = Affine(self.m_per_px, 0.0, self._x0, 0.0, -self.m_per_px, self._y0)
        left, top = self._x0, self._y0
        right, bottom = left + cols * self.m_per_px, top - rows * self.m_per_px
        dst_transform, dst_cols, dst_rows = calculate_default_transform(
            self.crs, "EPSG:3857", cols, rows, left=left, bottom=bottom, right=right, top=top
        )
        assert dst_cols is not None and dst_rows is not None
        src = np.moveaxis(self.rgba(), -1, 0)
        out = np.zeros((4, dst_rows, dst_cols), np.uint8)
        reproject(src, out, src_transform=src_transform, src_crs=self.crs, dst_transform=dst_transform,
                  dst_crs="EPSG:3857", resampling=Resampling.nearest)  # fmt: skip
        to_ll = Transformer.from_crs("EPSG:3857", "EPSG:4326", always_xy=True)
        west, north = to_ll.transform(dst_transform.c, dst_transform.f)
        east, south = to_ll.transform(
            dst_transform.c + dst_cols * dst_transform.a, dst_transform.f + dst_rows * dst_transform.e
        )
        return np.moveaxis(out, 0, -1), OverlayBounds(float(south), float(west), float(north), float(east))

    def write_overlay_png(self, path: Path | str) -> OverlayBounds:
        """A transparent PNG for `L.imageOverlay(url, bounds.leaflet())`; returns the bounds."""
        self._require_painted()
        rgba, bounds = self.web_mercator()
        bgra = cv2.cvtColor(rgba, cv2.COLOR_RGBA2BGRA)
        if not cv2.imwrite(str(path), bgra):
            raise DataError(f"cannot write the quick-look PNG to {path}")
        return bounds


def quicklook_from_recording(reader: RecordingReader, *, every: int = 5, m_per_px: float = 0.5) -> QuickLook:
    """Rebuild a flight's quick-look from its recording (after a restart, or for a finished flight).

    The recorded frames carry what the live video drew on them (boxes, labels): the rebuilt map
    shows those too, where no steeper view of the same ground covers them.
    """
    look = QuickLook(m_per_px=m_per_px)
    for frame in reader.posed_frames(every):
        image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None or frame.pose is None:
            continue
        fields = {k: v for k, v in frame.pose.items() if k in DronePose.__dataclass_fields__}
        look.add(np.asarray(image, np.uint8), DronePose(**fields))
    return look
