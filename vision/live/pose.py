"""Where the drone camera was when a frame was taken: `DronePose`, built from telemetry in one place.

Telemetry speaks MAVLink's gimbal convention (0 level, -90 straight down); the camera model wants
degrees below the horizon (90 straight down): `below_horizon_deg` is the one place the sign flips.
A frame gets a pose only from telemetry within `max_age_s` of its time: an older pose would place
findings where the drone was, not where it looks (a drone that landed and stopped reporting).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tenken.geo import CameraModel, distance_m, heading_change_deg, lerp_heading_deg
from tenken.settings import DRONE_CAMERA_HFOV_DEG, DRONE_GPS_ERROR_M

NADIR_DEG = 90.0
FRAME_TIME_ERROR_S = 0.2  # frame-to-telemetry clock error (encoder and link latency), for the ce
HEADING_ERROR_DEG = 3.0  # compass and gimbal yaw error, for the ce
MOTION_SPAN_S = 0.5  # speed and yaw rate are differences across at least this much telemetry


def below_horizon_deg(mavlink_gimbal_pitch_deg: float | None) -> float:
    """MAVLink gimbal pitch (0 level, -90 down; None: assume straight down) -> degrees below the horizon.

    >>> below_horizon_deg(-90.0), below_horizon_deg(-30.0), below_horizon_deg(None)
    (90.0, 30.0, 90.0)
    """
    if mavlink_gimbal_pitch_deg is None:
        return NADIR_DEG
    return min(max(-float(mavlink_gimbal_pitch_deg), 0.0), NADIR_DEG)


@dataclass(frozen=True)
class DronePose:
    """The camera's pose when a frame was taken. `gimbal_pitch_deg` is degrees below the horizon."""

    timestamp_s: float
    lat: float
    lon: float
    alt_m: float  # above the ground the camera looks at
    heading_deg: float
    gimbal_pitch_deg: float = NADIR_DEG
    hfov_deg: float = DRONE_CAMERA_HFOV_DEG
    gps_error_m: float = DRONE_GPS_ERROR_M
    speed_mps: float = 0.0
    yaw_rate_dps: float = 0.0  # how fast the heading turns: a turning drone's heading is less certain

    def camera(self, width_px: int, height_px: int) -> CameraModel:
        return CameraModel(max(self.alt_m, 0.5), self.gimbal_pitch_deg, self.hfov_deg, width_px, height_px)

    @property
    def position_error_m(self) -> float:
        """GNSS error and how far the drone moves within the frame-to-telemetry clock error."""
        return math.hypot(self.gps_error_m, self.speed_mps * FRAME_TIME_ERROR_S)

    @property
    def heading_error_deg(self) -> float:
        """Compass error and how far the heading turns within the frame-to-telemetry clock error."""
        return HEADING_ERROR_DEG + abs(self.yaw_rate_dps) * FRAME_TIME_ERROR_S


def pose_from_state(
    state: Mapping[str, Any],
    *,
    hfov_deg: float = DRONE_CAMERA_HFOV_DEG,
    gps_error_m: float = DRONE_GPS_ERROR_M,
) -> DronePose | None:
    """A `DronePose` from a telemetry state (a bus event or `VehicleState.to_dict()`), None without
    a position, altitude or heading."""
    try:
        lat, lon, alt_m = float(state["lat"]), float(state["lon"]), float(state["alt_m"])
        heading = float(state["heading_deg"])
    except (KeyError, TypeError, ValueError):
        return None
    return DronePose(
        timestamp_s=float(state.get("timestamp_s") or 0.0),
        lat=lat,
        lon=lon,
        alt_m=alt_m,
        heading_deg=heading,
        gimbal_pitch_deg=below_horizon_deg(state.get("gimbal_pitch_deg")),
        hfov_deg=hfov_deg,
        gps_error_m=gps_error_m,
        speed_mps=max(float(state.get("groundspeed_mps") or 0.0), float(state.get("track_speed_mps") or 0.0)),
        yaw_rate_dps=float(state.get("yaw_rate_dps") or 0.0),
    )


_INTERPOLATED = ("lat", "lon", "alt_m", "gimbal_pitch_deg", "groundspeed_mps", "battery_pct")


def _interpolate(a: Mapping[str, Any], b: Mapping[str, Any], t: float) -> dict[str, Any]:
    ta, tb = float(a["timestamp_s"]), float(b["timestamp_s"])
    f = 0.0 if tb <= ta else min(max((t - ta) / (tb - ta), 0.0), 1.0)
    out = dict(a if f < 0.5 else b)
    for key in _INTERPOLATED:
        va, vb = a.get(key), b.get(key)
        if va is not None and vb is not None:
            out[key] = float(va) + (float(vb) - float(va)) * f
    ha, hb = a.get("heading_deg"), b.get("heading_deg")
    if ha is not None and hb is not None:
        out["heading_deg"] = lerp_heading_deg(float(ha), float(hb), f)
    out["timestamp_s"] = t
    return out


def motion_between(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[float, float]:
    """(speed m/s, yaw rate °/s) from telemetry state `a` to state `b` on their own timestamps: the clock
    the frames are stamped with, so a simulator run faster than real time is measured right too.
    (0, 0) without two positions at distinct times; yaw rate 0 without two headings.

    >>> a = {"timestamp_s": 0.0, "lat": 0.0, "lon": 0.0, "heading_deg": 350.0}
    >>> speed, yaw = motion_between(a, {"timestamp_s": 2.0, "lat": 0.0, "lon": 0.0001, "heading_deg": 10.0})
    >>> round(speed, 2), yaw
    (5.57, 10.0)
    """
    ta, tb = float(a["timestamp_s"]), float(b["timestamp_s"])
    if tb <= ta or None in (a.get("lat"), a.get("lon"), b.get("lat"), b.get("lon")):
        return 0.0, 0.0
    speed = distance_m(float(a["lat"]), float(a["lon"]), float(b["lat"]), float(b["lon"])) / (tb - ta)
    ha, hb = a.get("heading_deg"), b.get("heading_deg")
    yaw = heading_change_deg(float(ha), float(hb)) / (tb - ta) if ha is not None and hb is not None else 0.0
    return speed, yaw


def motion_window_s(fix_times_s: Sequence[float], timestamp_s: float) -> tuple[float, float] | None:
    """The times between which a frame at `timestamp_s` takes the drone's motion, from the sorted times
    of the telemetry fixes held: the two fixes around it when they lie `MOTION_SPAN_S` or more apart
    (sparse telemetry: that segment's own rate, not a blend with the next), else `MOTION_SPAN_S`
    centred on it (dense telemetry: GNSS jitter between close fixes averages out); clipped to the
    fixes held, so a frame newer than the last fix is not slowed by a held position. None: no window.

    >>> motion_window_s([0.0, 0.5, 1.0], 0.6), motion_window_s([0.0, 0.1, 0.2, 0.3, 0.4], 0.15)
    ((0.5, 1.0), (0.0, 0.4))
    """
    if not fix_times_s:
        return None
    i = bisect.bisect_left(fix_times_s, timestamp_s)
    if 0 < i < len(fix_times_s) and fix_times_s[i] - fix_times_s[i - 1] >= MOTION_SPAN_S:
        return fix_times_s[i - 1], fix_times_s[i]
    t0 = max(timestamp_s - MOTION_SPAN_S / 2, fix_times_s[0])
    t1 = min(timestamp_s + MOTION_SPAN_S / 2, fix_times_s[-1])
    return (t0, t1) if t1 > t0 else None


def motion_around(
    state_at: Callable[[float], Mapping[str, Any] | None], window_s: tuple[float, float] | None
) -> tuple[float, float]:
    """(speed m/s, yaw rate °/s) across a `motion_window_s`, from the history's interpolated states.
    Every history that poses frames (the bus's `PoseHistory`, the drone capture's `StateHistory`)
    derives motion here, so one frame gets one ce on every live path."""
    if window_s is None:
        return 0.0, 0.0
    a, b = state_at(window_s[0]), state_at(window_s[1])
    if a is None or b is None:
        return 0.0, 0.0
    return motion_between(a, b)


class PoseHistory:
    """Recent telemetry states of one drone; `state_at(t)` interpolates, or is None when no state lies
    within `max_age_s` of t. Thread-safe: a bus follower adds while the frame loop reads.

    >>> h = PoseHistory(max_age_s=2.0)
    >>> h.add({"timestamp_s": 10.0, "lat": 35.0, "lon": 139.0, "alt_m": 30.0, "heading_deg": 0.0})
    >>> h.state_at(11.0)["lat"], h.state_at(13.0)
    (35.0, None)
    """

    def __init__(self, max_age_s: float, keep: int = 6000) -> None:
        self.max_age_s = max_age_s
        self._times: deque[float] = deque(maxlen=keep)
        self._states: deque[dict[str, Any]] = deque(maxlen=keep)
        self._lock = threading.Lock()

    def add(self, state: Mapping[str, Any]) -> None:
        if state.get("lat") is None or state.get("lon") is None or state.get("timestamp_s") is None:
            return
        t = float(state["timestamp_s"])
        with self._lock:
            if self._times and t <= self._times[-1]:
                return  # the history only moves forward
            self._times.append(t)
            self._states.append(dict(state))

    def __len__(self) -> int:
        return len(self._states)

    def motion_window_s(self, timestamp_s: float) -> tuple[float, float] | None:
        with self._lock:
            return motion_window_s(self._times, timestamp_s)

    def state_at(self, timestamp_s: float) -> dict[str, Any] | None:
        """The state at `timestamp_s` with the drone's motion around it (`track_speed_mps`,
        `yaw_rate_dps`), or None when no state lies within `max_age_s`."""
        state = self._position_at(timestamp_s)
        if state is not None:
            motion = motion_around(self._position_at, self.motion_window_s(timestamp_s))
            state["track_speed_mps"], state["yaw_rate_dps"] = motion
        return state

    def _position_at(self, timestamp_s: float) -> dict[str, Any] | None:
        with self._lock:
            if not self._times:
                return None
            i = bisect.bisect_left(self._times, timestamp_s)
            before = self._states[i - 1] if i > 0 else None
            after = self._states[i] if i < len(self._states) else None
        near = [s for s in (before, after) if s is not None]
        if all(abs(float(s["timestamp_s"]) - timestamp_s) > self.max_age_s for s in near):
            return None
        if before is None or after is None:
            return {**near[0], "timestamp_s": timestamp_s}
        if float(after["timestamp_s"]) - float(before["timestamp_s"]) > 2 * self.max_age_s:
            # a telemetry gap: only the side within max_age_s is trusted, as is
            side = before if timestamp_s - float(before["timestamp_s"]) <= self.max_age_s else after
            return {**side, "timestamp_s": timestamp_s}
        return _interpolate(before, after, timestamp_s)
