"""Hand-off to the live pipeline: a pose-tagged camera frame as `vision.live.LiveFrame`.

The telemetry side speaks MAVLink's gimbal convention (0 level, -90 straight down); the camera model
in `vision.live.DronePose` wants degrees below the horizon (90 straight down). This is the one place
the sign flips.
"""

from __future__ import annotations

from drone.capture import PosedFrame
from drone.state import VehicleState
from vision.live import DronePose, LiveFrame

NADIR_DEG = 90.0


def drone_pose(state: VehicleState, *, hfov_deg: float, gps_error_m: float = 3.0) -> DronePose | None:
    """The camera pose for a vehicle state, or None without a position or heading."""
    if state.lat is None or state.lon is None or state.alt_m is None or state.heading_deg is None:
        return None
    below_horizon = NADIR_DEG if state.gimbal_pitch_deg is None else -state.gimbal_pitch_deg
    return DronePose(
        timestamp_s=state.timestamp_s,
        lat=state.lat,
        lon=state.lon,
        alt_m=state.alt_m,
        heading_deg=state.heading_deg,
        gimbal_pitch_deg=min(max(below_horizon, 0.0), NADIR_DEG),
        hfov_deg=hfov_deg,
        gps_error_m=gps_error_m,
    )


def live_frame(frame: PosedFrame, *, source: str, hfov_deg: float) -> LiveFrame:
    """The live pipeline's frame for a captured one (pose None when telemetry did not cover it)."""
    pose = drone_pose(frame.pose, hfov_deg=hfov_deg) if frame.pose is not None else None
    return LiveFrame(source, frame.frame_index, frame.timestamp_s, frame.image, pose)
