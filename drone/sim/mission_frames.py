"""A mission flown kinematically (no MAVLink, no clock): the simulated camera's frames along its path.

Tests and benches of the live pipeline need many frames of a survey or an orbit in a few seconds and
the exact pose of each; the full simulator (`drone.sim.mavlink_server`) is for the flight scripts.
Each `MissionFrame` holds the true pose the image was rendered from and the telemetry a ground
station would have had: sampled at `telemetry_hz` and `latency_s` late, so poses at frame time are
interpolated and a little off, as in the air.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from drone.missions import Mission
from drone.sim.camera import render_view
from drone.sim.vehicle import SimPose
from drone.sim.world import SyntheticWorld
from tenken.geo import LocalProjection
from tenken.settings import DRONE_CAMERA_HFOV_DEG


@dataclass(frozen=True)
class MissionFrame:
    timestamp_s: float
    image: np.ndarray
    true_pose: SimPose


def mission_poses(mission: Mission, dt_s: float) -> Iterator[SimPose]:
    """The vehicle's pose every `dt_s` along the mission's waypoints at its speed and altitude; the
    heading follows the track, or faces the point of interest (orbit)."""
    first = mission.waypoints[0]
    proj = LocalProjection(first.lat, first.lon)
    points = [proj.to_xy(w.lat, w.lon) for w in mission.waypoints]
    roi = proj.to_xy(*mission.roi) if mission.roi is not None else None
    t = 0.0
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        length = math.hypot(x1 - x0, y1 - y0)
        steps = max(1, round(length / mission.speed_mps / dt_s))
        for k in range(steps):
            f = k / steps
            x, y = x0 + (x1 - x0) * f, y0 + (y1 - y0) * f
            if roi is not None:
                heading = math.degrees(math.atan2(roi[0] - x, roi[1] - y)) % 360.0
            else:
                heading = math.degrees(math.atan2(x1 - x0, y1 - y0)) % 360.0
            lat, lon = proj.to_latlon(x, y)
            yield SimPose(t, lat, lon, mission.altitude_m, heading, mission.gimbal_pitch_deg)
            t += dt_s


def telemetry_state(pose: SimPose, speed_mps: float, vehicle_id: str = "drone-1") -> dict[str, Any]:
    """What the telemetry bridge would publish for a pose (the keys of `VehicleState`)."""
    return {
        "vehicle_id": vehicle_id,
        "timestamp_s": pose.timestamp_s,
        "lat": pose.lat,
        "lon": pose.lon,
        "alt_m": pose.alt_m,
        "heading_deg": pose.heading_deg,
        "gimbal_pitch_deg": pose.gimbal_pitch_deg,
        "groundspeed_mps": speed_mps,
        "battery_pct": 80.0,
        "mode": "AUTO",
        "armed": True,
    }


def fly_mission(
    world: SyntheticWorld,
    mission: Mission,
    *,
    every_s: float = 0.2,
    width_px: int = 640,
    height_px: int = 360,
    hfov_deg: float = DRONE_CAMERA_HFOV_DEG,
) -> Iterator[MissionFrame]:
    """The camera's frames every `every_s` seconds of the mission."""
    for pose in mission_poses(mission, every_s):
        image = render_view(world, pose, width_px=width_px, height_px=height_px, hfov_deg=hfov_deg)
        yield MissionFrame(pose.timestamp_s, image, pose)


def telemetry_track(
    mission: Mission, *, telemetry_hz: float = 2.0, latency_s: float = 0.0
) -> list[dict[str, Any]]:
    """The telemetry states a ground station receives during the mission: every 1/`telemetry_hz` s,
    each describing where the drone was `latency_s` before its timestamp says."""
    states = []
    for pose in mission_poses(mission, 1.0 / telemetry_hz):
        state = telemetry_state(pose, mission.speed_mps)
        state["timestamp_s"] = pose.timestamp_s + latency_s
        states.append(state)
    return states
