"""A simulated survey flight over the synthetic world: rendered frames with the poses they were taken at."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

from drone.sim.camera import render_view
from drone.sim.vehicle import SimPose
from drone.sim.world import PlantedPatch, SyntheticWorld
from tenken.geo import offset_latlon
from vision.live import DronePose

LAT0, LON0 = 35.6812, 139.7671  # Tokyo station
HFOV_DEG = 73.7
# fire patches (red, easy to find in the mosaic), east/north metres from the origin
MARKERS_EN_M = ((-60.0, 50.0), (45.0, 60.0), (0.0, -10.0), (70.0, -55.0), (-50.0, -60.0))


def marker_world(radius_m: float = 3.0) -> SyntheticWorld:
    patches = [PlantedPatch("fire", *offset_latlon(LAT0, LON0, e, n), radius_m) for e, n in MARKERS_EN_M]
    return SyntheticWorld(LAT0, LON0, patches, size_m=400.0, m_per_px=0.2)


def survey_flight(
    world: SyntheticWorld,
    *,
    alt_m: float = 60.0,
    gimbal_below_horizon_deg: float = 90.0,
    spacing_m: float = 45.0,
    step_m: float = 20.0,
    half_size_m: float = 100.0,
    width_px: int = 640,
    height_px: int = 360,
) -> Iterator[tuple[np.ndarray, DronePose]]:
    """A lawnmower over the square `half_size_m` around the origin, legs north/south, a frame a step."""
    t = 0.0
    legs = np.arange(-half_size_m, half_size_m + 1e-6, spacing_m)
    for i, east in enumerate(legs):
        norths = np.arange(-half_size_m, half_size_m + 1e-6, step_m)
        heading = 0.0 if i % 2 == 0 else 180.0
        if i % 2:
            norths = norths[::-1]
        for north in norths:
            lat, lon = offset_latlon(LAT0, LON0, float(east), float(north))
            pose = SimPose(t, lat, lon, alt_m, heading, -gimbal_below_horizon_deg)
            image = render_view(world, pose, width_px=width_px, height_px=height_px, hfov_deg=HFOV_DEG)
            yield image, DronePose(t, lat, lon, alt_m, heading, gimbal_below_horizon_deg, HFOV_DEG)
            t += 1.0


def red_blob_centroids(bgr: np.ndarray, min_area_px: int = 4) -> list[tuple[float, float]]:
    """(col, row) centroids of flame-red blobs (the fire patches' core), pixel centres at +0.5."""
    b, g, r = (bgr[..., i].astype(np.int16) for i in range(3))
    mask = ((r > 200) & (g < 200) & (b < 120)).astype(np.uint8)
    _, _, stats, cents = cv2.connectedComponentsWithStats(mask)
    return [
        (float(c[0]) + 0.5, float(c[1]) + 0.5)
        for i, c in enumerate(cents)
        if i and stats[i, 4] >= min_area_px
    ]
