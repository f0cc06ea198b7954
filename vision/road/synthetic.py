"""Synthetic drives: a road surface texture seen from a moving camera along a curving route.

Used to build the bundled sample drive and the geometry tests: whatever is painted on the
texture at a known station and offset has a known latitude and longitude, so georeferencing,
tracking and merging can be checked against the truth.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from tenken.geo import CameraModel, offset_latlon
from vision.road.timed_video import write_timed_video

Image = npt.NDArray[np.uint8]
VERGE_BGR = (92, 96, 98)


@dataclass(frozen=True)
class CurvedRoute:
    """A route that starts at (lat, lon) with a heading and turns at a constant rate."""

    start_lat: float
    start_lon: float
    start_heading_deg: float
    turn_deg_per_m: float = 0.0

    def pose(self, station_m: float, step_m: float = 1.0) -> tuple[float, float, float]:
        """(lat, lon, heading_deg) after `station_m` metres along the route."""
        lat, lon, heading = self.start_lat, self.start_lon, self.start_heading_deg
        travelled = 0.0
        while travelled < station_m:
            step = min(step_m, station_m - travelled)
            h = math.radians(heading)
            lat, lon = offset_latlon(lat, lon, step * math.sin(h), step * math.cos(h))
            heading += self.turn_deg_per_m * step
            travelled += step
        return lat, lon, heading % 360.0

    def point_beside(self, station_m: float, right_m: float) -> tuple[float, float]:
        """(lat, lon) of a point `right_m` to the right of the route at `station_m`."""
        lat, lon, heading = self.pose(station_m)
        h = math.radians(heading)
        return offset_latlon(lat, lon, right_m * math.cos(h), -right_m * math.sin(h))


@dataclass(frozen=True)
class RoadStrip:
    """A top-down texture of the road: column 0 is `half_width_m` left of the centre line,
    the bottom row is station 0 and rows go up as the station grows."""

    texture: Image
    res_m: float
    half_width_m: float

    @property
    def length_m(self) -> float:
        return self.texture.shape[0] * self.res_m

    def pixel(self, station_m: float, right_m: float) -> tuple[float, float]:
        """(column, row) of a ground point in the texture."""
        return (right_m + self.half_width_m) / self.res_m, (self.length_m - station_m) / self.res_m

    @classmethod
    def blank(
        cls, length_m: float, half_width_m: float, res_m: float, bgr: tuple[int, int, int]
    ) -> RoadStrip:
        h, w = round(length_m / res_m), round(2 * half_width_m / res_m)
        return cls(np.full((h, w, 3), bgr, np.uint8), res_m, half_width_m)


def ground_to_image(camera: CameraModel) -> npt.NDArray[np.float64]:
    """Homography from ground (right_m, forward_m) to image pixels for a camera that sees no sky."""
    w, h = camera.width_px, camera.height_px
    top = max(0.0, camera.horizon_row() + 0.05 * h)
    img = np.array([[0, h], [w, h], [w, top], [0, top]], np.float32)
    ground = []
    for u, v in img:
        off = camera.ground_offset(float(u), float(v))
        if off is None:
            raise ValueError("the camera must look below the horizon")
        ground.append((off[1], off[0]))
    return cv2.getPerspectiveTransform(np.array(ground, np.float32), img).astype(np.float64)


def render_frame(strip: RoadStrip, camera: CameraModel, station_m: float) -> Image:
    """What the camera sees standing at `station_m` on the centre line, looking along the road."""
    tex_to_ground = np.array(
        [[strip.res_m, 0, -strip.half_width_m], [0, -strip.res_m, strip.length_m - station_m], [0, 0, 1]]
    )
    frame = cv2.warpPerspective(
        strip.texture,
        ground_to_image(camera) @ tex_to_ground,
        (camera.width_px, camera.height_px),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=VERGE_BGR,
    )
    horizon = camera.horizon_row()
    if horizon > 0:  # sky above the horizon
        frame[: min(camera.height_px, int(horizon) + 1)] = (235, 206, 170)
    return frame


def write_drive(
    strip: RoadStrip,
    camera: CameraModel,
    route: CurvedRoute,
    video_path: Path,
    gpx_path: Path,
    *,
    start_station_m: float,
    distance_m: float,
    speed_mps: float,
    fps: float,
    start_time: datetime,
    frame_times_s: Sequence[float] | None = None,
) -> int:
    """Render a drive at constant speed to `video_path` and its 1 Hz GPX to `gpx_path`.

    Route station 0 is where the camera stands in the first frame, at `start_station_m` on the strip.
    With `frame_times_s` the frames are taken at those times (whole ticks of 1/`fps`) and the video
    carries them as its timestamps, as a phone's variable-frame-rate recording does; otherwise one
    frame every 1/`fps` s. Returns the number of frames written.
    """
    if frame_times_s is None:
        n_frames = int(distance_m / speed_mps * fps)
        writer = cv2.VideoWriter(
            str(video_path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (camera.width_px, camera.height_px)
        )
        try:
            for i in range(n_frames):
                writer.write(render_frame(strip, camera, start_station_m + i * speed_mps / fps))
        finally:
            writer.release()
        duration_s = n_frames / fps
    else:
        frames = [render_frame(strip, camera, start_station_m + t * speed_mps) for t in frame_times_s]
        n_frames = write_timed_video(video_path, frames, frame_times_s, fps)
        duration_s = frame_times_s[-1] + 1.0 / fps
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<gpx version="1.1" creator="tenken" xmlns="http://www.topografix.com/GPX/1/1">',
        "<trk><name>synthetic drive</name><trkseg>",
    ]
    for t in range(int(duration_s) + 2):
        lat, lon, _ = route.pose(t * speed_mps)
        stamp = datetime.fromtimestamp(start_time.timestamp() + t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f'<trkpt lat="{lat:.8f}" lon="{lon:.8f}"><ele>10.0</ele><time>{stamp}</time></trkpt>')
    lines.append("</trkseg></trk></gpx>")
    gpx_path.write_text("\n".join(lines) + "\n")
    return n_frames
