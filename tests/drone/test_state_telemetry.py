"""Vehicle state history (pose at a time) and the telemetry bridge's messages."""

from __future__ import annotations

import math
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drone.state import StateHistory, VehicleState, interpolate_state
from drone.telemetry import CameraSpec, TelemetryBridge, camera_footprint, state_message
from tenken.geo import LocalProjection

from .conftest import HOME, wait_until


def _state(
    t: float,
    lat: float = HOME[0],
    lon: float = HOME[1],
    *,
    alt_m: float = 40.0,
    heading_deg: float = 0.0,
    gimbal_pitch_deg: float = -90.0,
    mode: str = "AUTO",
) -> VehicleState:
    return VehicleState(
        t, lat, lon, alt_m, heading_deg, -5.0, 0.0, gimbal_pitch_deg, 16.0, 80.0, mode, True, 8.0
    )


def test_state_between_two_snapshots_is_interpolated():
    a, b = _state(10.0, 35.0, 140.0, alt_m=20.0), _state(12.0, 35.002, 140.004, alt_m=30.0, mode="RTL")
    mid = interpolate_state(a, b, 11.5)
    assert (mid.lat, mid.lon, mid.alt_m) == pytest.approx((35.0015, 140.003, 27.5))
    assert mid.timestamp_s == 11.5 and mid.mode == "RTL"  # discrete values from the nearer snapshot


@given(a=st.floats(0, 360, exclude_max=True), b=st.floats(0, 360, exclude_max=True), f=st.floats(0, 1))
def test_heading_is_interpolated_along_the_shorter_arc(a, b, f):
    mid = interpolate_state(_state(0.0, heading_deg=a), _state(1.0, heading_deg=b), f)
    shorter = abs((b - a + 180.0) % 360.0 - 180.0)
    from_a = abs((mid.heading_deg - a + 180.0) % 360.0 - 180.0)
    assert 0.0 <= mid.heading_deg < 360.0
    assert from_a == pytest.approx(f * shorter, abs=1e-6)


def test_history_gives_no_pose_far_from_any_snapshot():
    history = StateHistory(max_gap_s=1.0)
    history.add(_state(100.0))
    history.add(_state(101.0))
    assert history.at(100.5) is not None
    assert history.at(101.9) is not None  # held briefly past the last snapshot
    assert history.at(103.0) is None
    assert history.at(98.0) is None


def test_history_does_not_invent_poses_across_a_telemetry_gap():
    history = StateHistory(max_gap_s=1.0)
    history.add(_state(100.0))
    history.add(_state(110.0))
    assert history.at(105.0) is None


def test_history_ignores_out_of_order_snapshots():
    history = StateHistory()
    history.add(_state(2.0, 35.0))
    history.add(_state(1.0, 36.0))
    assert len(history) == 1 and history.latest().lat == 35.0


def test_nadir_footprint_is_a_rectangle_of_the_field_of_view_under_the_drone():
    ring = camera_footprint(_state(0.0, alt_m=40.0), CameraSpec(hfov_deg=90.0, width_px=1000, height_px=1000))
    assert ring is not None and len(ring) == 4
    proj = LocalProjection(*HOME)
    xs, ys = zip(*(proj.to_xy(*p) for p in ring), strict=True)
    assert (min(xs), max(xs), min(ys), max(ys)) == pytest.approx((-40, 40, -40, 40), abs=0.01)


def test_oblique_footprint_lies_ahead_in_the_heading_direction():
    ring = camera_footprint(_state(0.0, alt_m=40.0, heading_deg=90.0, gimbal_pitch_deg=-45.0), CameraSpec())
    assert ring is not None
    proj = LocalProjection(*HOME)
    east = [proj.to_xy(*p)[0] for p in ring]
    assert min(east) > 0 and max(east) > 40


@pytest.mark.parametrize(
    "state",
    [_state(0.0, alt_m=0.2), _state(0.0, gimbal_pitch_deg=None),  # type: ignore[arg-type]
     VehicleState(0.0, None, None, None, None, None, None, None, None, None, "STABILIZE", False, None)],
)  # fmt: skip
def test_no_footprint_without_position_gimbal_or_height(state):
    assert camera_footprint(state, CameraSpec()) is None


def test_state_message_carries_the_state_and_a_closed_geojson_footprint():
    msg = state_message(_state(5.0), CameraSpec(), vehicle_id="drone-7")
    assert msg["type"] == "vehicle_state" and msg["vehicle_id"] == "drone-7"
    assert msg["lat"] == HOME[0] and msg["mode"] == "AUTO" and msg["battery_pct"] == 80.0
    ring = msg["footprint"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 5
    assert all(math.isclose(lon, HOME[1], abs_tol=0.001) for lon, _ in ring)  # [lon, lat] order


def test_bridge_publishes_states_and_fills_the_history():
    published: list[dict] = []
    clock = iter(range(1_000_000))
    bridge = TelemetryBridge(
        lambda: _state(float(next(clock))), published.append, sample_hz=200, publish_hz=50
    )
    with bridge:
        assert wait_until(lambda: len(published) >= 3, 10.0)
    assert all(m["type"] == "vehicle_state" for m in published)
    assert len(bridge.history) >= len(published)


def test_bridge_survives_a_failing_publisher():
    calls = threading.Event()

    def broken(message: dict) -> None:
        calls.set()
        raise ConnectionError("subscriber went away")

    clock = iter(range(1_000_000))
    bridge = TelemetryBridge(lambda: _state(float(next(clock))), broken, sample_hz=200, publish_hz=50)
    with bridge:
        assert wait_until(lambda: bridge.publish_errors >= 2, 10.0)
    assert bridge._thread is not None and not bridge._thread.is_alive()
