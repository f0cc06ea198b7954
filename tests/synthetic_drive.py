"""A synthetic drive with coloured marks painted at known places, and a detector that finds them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from vision.models.detections import Detections
from vision.road.survey_options import CAMERA_PROFILES
from vision.road.synthetic import CurvedRoute, RoadStrip, write_drive

NAMES = ("D00", "D10", "D20", "D40")
# Pure colours the detector looks for (BGR); the road is grey, so nothing else matches.
CLASS_COLOURS = {"D40": (0, 0, 255), "D00": (255, 0, 0)}
ROUTE = CurvedRoute(35.61, 140.11, 45.0, turn_deg_per_m=0.2)
START = datetime(2026, 10, 1, 0, 0, 0, tzinfo=UTC)


@dataclass(frozen=True)
class PlantedDefect:
    class_name: str
    station_m: float  # along the route from where the drive starts
    right_m: float
    length_m: float  # along the road
    width_m: float

    def latlon(self) -> tuple[float, float]:
        return ROUTE.point_beside(self.station_m, self.right_m)


PLANTED = (
    PlantedDefect("D40", 14.0, 0.5, 0.5, 0.5),
    PlantedDefect("D40", 24.0, -0.8, 0.4, 0.6),
    PlantedDefect("D00", 33.0, 0.3, 1.6, 0.12),
    PlantedDefect("D40", 38.0, 0.9, 0.5, 0.5),
    PlantedDefect("D00", 47.0, -0.5, 1.2, 0.12),
)
START_STATION_M = 2.0


def phone_frame_times_s(distance_m: float = 56.0, fps: float = 10.0, from_s: float = 3.0) -> list[float]:
    """When a phone struggling for light takes its frames: every tick of `fps` up to `from_s`, then one
    tick in three (a variable frame rate, each frame stamped with its own time)."""
    n = int(distance_m / 5.0 * fps)
    first = round(from_s * fps)
    return [i / fps for i in range(n) if i < first or (i - first) % 3 == 0]


def build_drive(
    folder: Path,
    distance_m: float = 56.0,
    every_frame_m: float = 0.5,
    frame_times_s: Sequence[float] | None = None,
) -> tuple[Path, Path]:
    """Render the drive (320x240, windscreen camera, 5 m/s) and its GPX into `folder`.

    With `frame_times_s` (whole ticks of the nominal frame rate) the video has a variable frame rate.
    """
    strip = RoadStrip.blank(START_STATION_M + distance_m + 30.0, 1.75, 0.02, (110, 110, 110))
    for d in PLANTED:
        c0, r_far = strip.pixel(START_STATION_M + d.station_m + d.length_m / 2, d.right_m - d.width_m / 2)
        c1, r_near = strip.pixel(START_STATION_M + d.station_m - d.length_m / 2, d.right_m + d.width_m / 2)
        cv2.rectangle(
            strip.texture,
            (round(c0), round(r_far)),
            (round(c1), round(r_near)),
            CLASS_COLOURS[d.class_name],
            -1,
        )
    camera = CAMERA_PROFILES["windscreen"].model(320, 240)
    video, gpx = folder / "drive.mp4", folder / "drive.gpx"
    write_drive(
        strip,
        camera,
        ROUTE,
        video,
        gpx,
        start_station_m=START_STATION_M,
        distance_m=distance_m,
        speed_mps=5.0,
        fps=5.0 / every_frame_m,
        start_time=START,
        frame_times_s=frame_times_s,
    )
    return video, gpx


class ColourDetector:
    """A stand-in for the road model: finds the painted marks by colour (the test is about geometry)."""

    names = NAMES
    imgsz = 320
    backend = "fake"

    def __init__(self) -> None:
        self.frames_seen = 0

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        out = []
        for frame in frames:
            self.frames_seen += 1
            boxes, classes = [], []
            for name, bgr in CLASS_COLOURS.items():
                target = np.array(bgr, np.int16)
                mask = (np.abs(frame.astype(np.int16) - target).max(axis=2) < 60).astype(np.uint8)
                n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
                for i in range(1, n):
                    x, y, w, h, area = stats[i]
                    if area >= 6:
                        boxes.append((float(x), float(y), float(x + w), float(y + h)))
                        classes.append(NAMES.index(name))
            out.append(Detections.from_lists(boxes, [0.9] * len(boxes), classes, NAMES))
        return out
