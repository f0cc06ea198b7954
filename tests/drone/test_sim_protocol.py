"""The simulator speaks MAVLink like ArduCopter: checked with a bare pymavlink ground station."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.link import VehicleLink
from drone.sim.vehicle import COPTER_MODES, SimConfig, SimVehicle

from .conftest import HOME, start_sim, wait_until
from .ground_station import recv


def test_heartbeat_reports_an_arducopter_quadrotor_in_stabilize(gcs):
    hb = recv(gcs, "HEARTBEAT")
    assert (hb.type, hb.autopilot) == (mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA)
    assert hb.custom_mode == COPTER_MODES["STABILIZE"]
    assert not hb.base_mode & mav.MAV_MODE_FLAG_SAFETY_ARMED


def test_parameters_are_listed_read_and_set(gcs, sim):
    gcs.mav.param_request_read_send(1, 1, b"RTL_ALT", -1)
    assert recv(gcs, "PARAM_VALUE", param_id="RTL_ALT").param_value == pytest.approx(1500.0)
    gcs.mav.param_set_send(1, 1, b"WPNAV_SPEED", 600.0, mav.MAV_PARAM_TYPE_REAL32)
    assert recv(gcs, "PARAM_VALUE", param_id="WPNAV_SPEED").param_value == pytest.approx(600.0)
    assert sim.vehicle.speed_mps == pytest.approx(6.0)


def test_mission_upload_and_download_with_int_items(gcs, sim):
    assert wait_until(lambda: sim.vehicle.home_set, 10.0)
    lat, lon = HOME[0] + 0.0004, HOME[1] + 0.0003
    items = [
        (mav.MAV_CMD_NAV_WAYPOINT, 0.0, 0.0, 0.0),
        (mav.MAV_CMD_NAV_TAKEOFF, 0.0, 0.0, 20.0),
        (mav.MAV_CMD_NAV_WAYPOINT, lat, lon, 25.0),
        (mav.MAV_CMD_NAV_RETURN_TO_LAUNCH, 0.0, 0.0, 0.0),
    ]
    gcs.mav.mission_count_send(1, 1, len(items))
    for _ in items:
        request = recv(gcs, "MISSION_REQUEST")
        cmd, x, y, z = items[request.seq]
        gcs.mav.mission_item_int_send(1, 1, request.seq, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT, cmd, 0, 1,
                                      0, 0, 0, 0, int(x * 1e7), int(y * 1e7), z)  # fmt: skip
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_ACCEPTED

    gcs.mav.mission_request_list_send(1, 1)
    assert recv(gcs, "MISSION_COUNT").count == 4
    gcs.mav.mission_request_int_send(1, 1, 2)
    item = recv(gcs, "MISSION_ITEM_INT", seq=2)
    assert (item.command, item.x, item.y, item.z) == (
        mav.MAV_CMD_NAV_WAYPOINT,
        int(lat * 1e7),
        int(lon * 1e7),
        25.0,
    )
    gcs.mav.mission_request_int_send(1, 1, 0)
    home = recv(gcs, "MISSION_ITEM_INT", seq=0)
    assert (home.x, home.y) == (round(HOME[0] * 1e7), round(HOME[1] * 1e7))


def test_mission_item_outside_the_globe_is_rejected(gcs):
    gcs.mav.mission_count_send(1, 1, 2)
    recv(gcs, "MISSION_REQUEST", seq=0)
    gcs.mav.mission_item_int_send(1, 1, 0, 6, mav.MAV_CMD_NAV_WAYPOINT, 0, 1, 0, 0, 0, 0, 0, 0, 0)
    recv(gcs, "MISSION_REQUEST", seq=1)
    gcs.mav.mission_item_int_send(1, 1, 1, 6, mav.MAV_CMD_NAV_WAYPOINT, 0, 1, 0, 0, 0, 0, int(95e7), 0, 20)
    assert recv(gcs, "MISSION_ACK").type == mav.MAV_MISSION_INVALID_PARAM5_X


def test_arming_is_refused_until_the_gps_has_a_fix():
    vehicle = SimVehicle(SimConfig(gps_lock_after_s=5.0))
    vehicle.set_mode("STABILIZE")
    assert vehicle.arm() == "PreArm: GPS 1: Bad fix"
    vehicle.step(6.0)
    assert vehicle.arm() is None and vehicle.armed


def test_arming_is_refused_in_auto_and_takeoff_needs_guided():
    vehicle = SimVehicle(SimConfig(gps_lock_after_s=0.0))
    vehicle.step(0.1)
    vehicle.set_mode("AUTO")
    assert vehicle.arm() == "Arm: Mode not armable (AUTO)"
    vehicle.set_mode("LOITER")
    assert vehicle.arm() is None
    assert vehicle.takeoff(10.0) == "Takeoff: not in GUIDED"


def test_guided_takeoff_climbs_and_land_disarms_on_touchdown():
    vehicle = SimVehicle(SimConfig(gps_lock_after_s=0.0, climb_mps=2.0))
    vehicle.step(0.1)
    vehicle.set_mode("GUIDED")
    vehicle.arm()
    vehicle.takeoff(10.0)
    vehicle.step(3.0)
    assert vehicle.alt_m == pytest.approx(6.0)
    vehicle.step(10.0)
    assert vehicle.alt_m == pytest.approx(10.0)
    vehicle.set_mode("LAND")
    vehicle.step(60.0)
    assert vehicle.landed and not vehicle.armed and vehicle.alt_m == 0.0


def test_battery_drains_faster_in_flight_than_on_the_ground():
    vehicle = SimVehicle(SimConfig(gps_lock_after_s=0.0))
    vehicle.step(60.0)
    on_ground = 100.0 - vehicle.battery_pct
    vehicle.set_mode("GUIDED")
    vehicle.arm()
    vehicle.takeoff(10.0)
    start = vehicle.battery_pct
    vehicle.step(60.0)
    assert start - vehicle.battery_pct > 20 * on_ground
    assert vehicle.battery_voltage_v < 16.8


def test_voltage_only_battery_monitor_still_allows_arming():
    server = start_sim(battery_reports_pct=False)
    link = VehicleLink.connect(f"tcp:127.0.0.1:{server.port}", timeout_s=20)
    try:
        link.wait_armable(timeout_s=20, min_battery_pct=25)
        state = link.snapshot()
    finally:
        link.close()
        server.stop()
    assert state.battery_pct is None
    assert state.battery_voltage_v == pytest.approx(16.8, abs=0.1)


def test_tenken_sim_serves_dronekit_until_ctrl_c():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tenken.cli", "sim", "--port", "0", "--camera-port", "0", "--speedup", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("simulator: tcp:127.0.0.1:"), first
        url = first.split()[1]
        link = VehicleLink.connect(url, timeout_s=20)
        try:
            link.wait_armable(timeout_s=20)
            assert link.home == pytest.approx((35.6074, 140.1065))
        finally:
            link.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
