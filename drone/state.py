"""Vehicle state snapshots, and a short history of them that answers "where was the drone at time t"."""

from __future__ import annotations

import bisect
import threading
from collections import deque
from dataclasses import asdict, dataclass, replace
from typing import Any

from tenken.geo import lerp_heading_deg


@dataclass(frozen=True)
class VehicleState:
    """One snapshot of the vehicle. `timestamp_s` is UNIX time on this machine when it was taken.

    Position and attitude are None until the autopilot has sent them (no GPS fix yet).
    `gimbal_pitch_deg` follows the MAVLink mount convention: 0 level, -90 straight down.
    """

    timestamp_s: float
    lat: float | None
    lon: float | None
    alt_m: float | None  # above home
    heading_deg: float | None
    pitch_deg: float | None
    roll_deg: float | None
    gimbal_pitch_deg: float | None
    battery_voltage_v: float | None
    battery_pct: float | None
    mode: str
    armed: bool
    groundspeed_mps: float | None

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None and self.alt_m is not None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _lerp(a: float | None, b: float | None, f: float) -> float | None:
    if a is None or b is None:
        return a if f < 0.5 else b
    return a + (b - a) * f


def _lerp_angle_deg(a: float | None, b: float | None, f: float) -> float | None:
    """Along the shorter arc, so 350° → 10° passes through 0°."""
    if a is None or b is None:
        return a if f < 0.5 else b
    return lerp_heading_deg(a, b, f)


def interpolate_state(a: VehicleState, b: VehicleState, timestamp_s: float) -> VehicleState:
    """The state at `timestamp_s` between snapshots `a` and `b`: continuous values interpolated linearly,
    mode and armed taken from the nearer snapshot."""
    span = b.timestamp_s - a.timestamp_s
    f = 0.0 if span <= 0 else min(max((timestamp_s - a.timestamp_s) / span, 0.0), 1.0)
    near = a if f < 0.5 else b
    return replace(
        near,
        timestamp_s=timestamp_s,
        lat=_lerp(a.lat, b.lat, f),
        lon=_lerp(a.lon, b.lon, f),
        alt_m=_lerp(a.alt_m, b.alt_m, f),
        heading_deg=_lerp_angle_deg(a.heading_deg, b.heading_deg, f),
        pitch_deg=_lerp(a.pitch_deg, b.pitch_deg, f),
        roll_deg=_lerp(a.roll_deg, b.roll_deg, f),
        gimbal_pitch_deg=_lerp(a.gimbal_pitch_deg, b.gimbal_pitch_deg, f),
        battery_voltage_v=_lerp(a.battery_voltage_v, b.battery_voltage_v, f),
        battery_pct=_lerp(a.battery_pct, b.battery_pct, f),
        groundspeed_mps=_lerp(a.groundspeed_mps, b.groundspeed_mps, f),
    )


class StateHistory:
    """The last few minutes of snapshots, thread-safe; `at(t)` interpolates between the two around t.

    >>> h = StateHistory()
    >>> for t, lat in ((0.0, 35.0), (1.0, 35.001)):
    ...     h.add(VehicleState(t, lat, 140.0, 30.0, 90.0, 0.0, 0.0, -90.0, 16.0, 90.0, "AUTO", True, 5.0))
    >>> round(h.at(0.5).lat, 4)
    35.0005
    """

    def __init__(self, max_states: int = 6000, max_gap_s: float = 2.0) -> None:
        self._states: deque[VehicleState] = deque(maxlen=max_states)
        self._times: deque[float] = deque(maxlen=max_states)
        self._lock = threading.Lock()
        self.max_gap_s = max_gap_s

    def add(self, state: VehicleState) -> None:
        with self._lock:
            if self._times and state.timestamp_s <= self._times[-1]:
                return  # out of order or duplicate: the history only moves forward
            self._states.append(state)
            self._times.append(state.timestamp_s)

    def __len__(self) -> int:
        return len(self._states)

    def times_s(self) -> list[float]:
        """The snapshot times held, oldest first."""
        with self._lock:
            return list(self._times)

    def latest(self) -> VehicleState | None:
        with self._lock:
            return self._states[-1] if self._states else None

    def at(self, timestamp_s: float) -> VehicleState | None:
        """The interpolated state at `timestamp_s`, or None when no snapshot lies within `max_gap_s`."""
        with self._lock:
            if not self._states:
                return None
            times = list(self._times)
            i = bisect.bisect_left(times, timestamp_s)
            if i == 0:
                first = self._states[0]
                return (
                    replace(first, timestamp_s=timestamp_s)
                    if first.timestamp_s - timestamp_s <= self.max_gap_s
                    else None
                )
            if i == len(times):
                last = self._states[-1]
                return (
                    replace(last, timestamp_s=timestamp_s)
                    if timestamp_s - last.timestamp_s <= self.max_gap_s
                    else None
                )
            a, b = self._states[i - 1], self._states[i]
        if b.timestamp_s - a.timestamp_s > 2 * self.max_gap_s:
            return None  # a telemetry gap: better no pose than an invented one
        return interpolate_state(a, b, timestamp_s)
