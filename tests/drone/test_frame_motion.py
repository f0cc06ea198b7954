"""A frame's speed and yaw rate (which widen its ce) are derived once, the same on the drone capture
path (`StateHistory`) and the bus path (`PoseHistory`) for the same telemetry."""

from __future__ import annotations

import pytest

from drone.capture import motion_at
from drone.state import StateHistory, VehicleState
from tenken.geo import offset_latlon
from vision.live.pose import PoseHistory

from .conftest import HOME

SPEED_MPS = 5.0
YAW_RATE_DPS = 15.0
JITTER_M = 0.2  # GNSS noise along the track, alternating sign from fix to fix


def _telemetry(t_end: float, rate_hz: float = 10.0) -> list[VehicleState]:
    """A drone flying north at SPEED_MPS while turning its camera at YAW_RATE_DPS, with jittery fixes."""
    states = []
    for k in range(int(t_end * rate_hz) + 1):
        t = k / rate_hz
        north_m = SPEED_MPS * t + (JITTER_M if k % 2 else -JITTER_M)
        lat, lon = offset_latlon(*HOME, 0.0, north_m)
        states.append(VehicleState(t, lat, lon, 30.0, (YAW_RATE_DPS * t) % 360.0, 0.0, 0.0, -90.0,
                                   16.0, 90.0, "AUTO", True, None))  # fmt: skip
    return states


def _both_histories(states: list[VehicleState]) -> tuple[StateHistory, PoseHistory]:
    capture_history, bus_history = StateHistory(), PoseHistory(max_age_s=2.0)
    for state in states:
        capture_history.add(state)
        bus_history.add(state.to_dict())
    return capture_history, bus_history


def _bus_motion(history: PoseHistory, t: float) -> tuple[float, float]:
    state = history.state_at(t)
    assert state is not None
    return state["track_speed_mps"], state["yaw_rate_dps"]


@pytest.mark.parametrize("t", [1.0, 1.05, 1.37, 2.5])
def test_the_capture_and_the_bus_derive_the_same_motion_from_the_same_telemetry(t):
    capture_history, bus_history = _both_histories(_telemetry(4.0))
    assert _bus_motion(bus_history, t) == pytest.approx(motion_at(capture_history, t))


@pytest.mark.parametrize("t", [1.0, 1.05, 1.37, 2.5])
def test_gnss_jitter_between_close_fixes_does_not_swing_the_speed(t):
    capture_history, bus_history = _both_histories(_telemetry(4.0))
    for speed, yaw in (motion_at(capture_history, t), _bus_motion(bus_history, t)):
        assert speed == pytest.approx(SPEED_MPS, abs=1.0)
        assert yaw == pytest.approx(YAW_RATE_DPS, abs=0.5)


def test_a_frame_newer_than_the_last_telemetry_keeps_the_drones_speed():
    capture_history, bus_history = _both_histories(_telemetry(2.0, rate_hz=2.0))  # fixes every 0.5 s
    for speed, yaw in (motion_at(capture_history, 2.1), _bus_motion(bus_history, 2.1)):
        assert speed == pytest.approx(SPEED_MPS, abs=1.0)
        assert yaw == pytest.approx(YAW_RATE_DPS, abs=0.5)


def test_a_frame_long_after_the_last_telemetry_has_no_motion_to_derive():
    capture_history, bus_history = _both_histories(_telemetry(2.0))
    assert motion_at(capture_history, 3.5) == (0.0, 0.0)
    assert _bus_motion(bus_history, 3.5) == (0.0, 0.0)


def test_a_turn_between_sparse_fixes_keeps_its_full_rate():
    headings = [0.0, 0.0, 0.0, 30.0, 30.0]  # fixes every 0.5 s; the drone turns 30° between 1.0 and 1.5 s
    states = [
        VehicleState(k * 0.5, HOME[0], HOME[1], 30.0, h, 0.0, 0.0, -90.0, 16.0, 90.0, "AUTO", True, None)
        for k, h in enumerate(headings)
    ]
    capture_history, bus_history = _both_histories(states)
    for t in (1.1, 1.25, 1.4):
        assert motion_at(capture_history, t)[1] == pytest.approx(60.0)
        assert _bus_motion(bus_history, t)[1] == pytest.approx(60.0)
