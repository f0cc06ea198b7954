"""Hand-off to the live pipeline: a pose-tagged camera frame as `vision.live.LiveFrame`.

The camera pose is built by `vision.live.pose.pose_from_state`, the one place the gimbal sign
(MAVLink: 0 level, -90 straight down) becomes degrees below the horizon.
"""

from __future__ import annotations

from drone.capture import PosedFrame
from drone.state import VehicleState
from tenken.settings import DRONE_CAMERA_HFOV_DEG, DRONE_GPS_ERROR_M
from vision.live.pose import DronePose, pose_from_state
from vision.live.sightings import LiveFrame


def drone_pose(
    state: VehicleState,
    *,
    hfov_deg: float = DRONE_CAMERA_HFOV_DEG,
    gps_error_m: float = DRONE_GPS_ERROR_M,
    speed_mps: float = 0.0,
    yaw_rate_dps: float = 0.0,
) -> DronePose | None:
    """The camera pose for a vehicle state, or None without a position or heading."""
    motion = {"track_speed_mps": speed_mps, "yaw_rate_dps": yaw_rate_dps}
    return pose_from_state(state.to_dict() | motion, hfov_deg=hfov_deg, gps_error_m=gps_error_m)


def live_frame(
    frame: PosedFrame,
    *,
    source: str,
    hfov_deg: float = DRONE_CAMERA_HFOV_DEG,
    gps_error_m: float = DRONE_GPS_ERROR_M,
) -> LiveFrame:
    """The live pipeline's frame for a captured one (pose None when telemetry did not cover it)."""
    pose = None
    if frame.pose is not None:
        pose = drone_pose(
            frame.pose,
            hfov_deg=hfov_deg,
            gps_error_m=gps_error_m,
            speed_mps=frame.speed_mps,
            yaw_rate_dps=frame.yaw_rate_dps,
        )
    return LiveFrame(source, frame.frame_index, frame.timestamp_s, frame.image, pose)
