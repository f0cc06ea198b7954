"""Commands as ground stations send them (pymavlink as the ground station): each answered to its sender."""

from __future__ import annotations

import math

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav
from pymavlink.quaternion import Quaternion

from drone.sim.vehicle import COPTER_MODES

from .conftest import HOME, wait_until
from .ground_station import ack, command_int, command_long, fly_guided, recv

CUSTOM = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED


def near(sim, lat: float, lon: float, alt_m: float) -> bool:
    v = sim.vehicle
    x, y = v.proj.to_xy(lat, lon)
    return math.hypot(v.x_m - x, v.y_m - y) < 0.5 and abs(v.alt_m - alt_m) < 0.1


def test_command_int_takeoff_and_reposition_are_flown_and_acknowledged_to_the_sender(gcs, sim):
    fly_guided(gcs, sim, 12.0)
    target = (HOME[0] + 0.0004, HOME[1] - 0.0003, 18.0)
    result = command_int(gcs, mav.MAV_CMD_DO_REPOSITION, -1, mav.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE,
                         lat=target[0], lon=target[1], alt=target[2])  # fmt: skip
    assert result == mav.MAV_RESULT_ACCEPTED
    assert wait_until(lambda: near(sim, *target), 30.0)


def test_reposition_leaves_another_mode_only_with_the_change_mode_flag(gcs, sim):
    fly_guided(gcs, sim)
    assert command_long(gcs, mav.MAV_CMD_NAV_LOITER_UNLIM) == mav.MAV_RESULT_ACCEPTED
    target = dict(lat=HOME[0] + 0.0002, lon=HOME[1], alt=10.0)
    assert command_int(gcs, mav.MAV_CMD_DO_REPOSITION, -1, 0, **target) == mav.MAV_RESULT_DENIED
    assert sim.vehicle.mode == "LOITER"
    flag = mav.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE
    assert command_int(gcs, mav.MAV_CMD_DO_REPOSITION, -1, flag, **target) == mav.MAV_RESULT_ACCEPTED
    assert sim.vehicle.mode == "GUIDED"
    assert wait_until(lambda: near(sim, target["lat"], target["lon"], 10.0), 30.0)


def test_unknown_commands_are_unsupported_never_silent(gcs):
    assert command_long(gcs, mav.MAV_CMD_USER_1) == mav.MAV_RESULT_UNSUPPORTED
    assert command_int(gcs, mav.MAV_CMD_DO_PARACHUTE, 2) == mav.MAV_RESULT_UNSUPPORTED


def test_refused_commands_fail_as_arducopter_refuses_them(gcs, sim):
    assert wait_until(lambda: sim.vehicle.ekf_ok, 10.0)
    assert (
        command_long(gcs, mav.MAV_CMD_NAV_TAKEOFF, 0, 0, 0, 0, 0, 0, 10) == mav.MAV_RESULT_FAILED
    )  # disarmed
    assert command_long(gcs, mav.MAV_CMD_DO_SET_MODE, CUSTOM, 99) == mav.MAV_RESULT_FAILED  # no mode 99
    assert command_long(gcs, mav.MAV_CMD_DO_SET_MODE, 0, 4) == mav.MAV_RESULT_DENIED  # not a custom mode
    assert command_long(gcs, mav.MAV_CMD_MISSION_START) == mav.MAV_RESULT_FAILED  # disarmed
    assert (
        command_int(gcs, mav.MAV_CMD_NAV_TAKEOFF, alt=10, frame=mav.MAV_FRAME_GLOBAL) == mav.MAV_RESULT_DENIED
    )


def test_set_mode_message_is_answered_like_ardupilot(gcs, sim):
    assert wait_until(lambda: sim.vehicle.ekf_ok, 10.0)
    gcs.mav.set_mode_send(1, CUSTOM, COPTER_MODES["LOITER"])
    assert ack(gcs, mav.MAVLINK_MSG_ID_SET_MODE) == mav.MAV_RESULT_ACCEPTED
    assert recv(gcs, "HEARTBEAT", custom_mode=COPTER_MODES["LOITER"])


def test_set_home_moves_where_rtl_returns_and_land_lands(gcs, sim):
    fly_guided(gcs, sim)
    new_home = (HOME[0] + 0.0003, HOME[1] + 0.0003)
    result = command_int(gcs, mav.MAV_CMD_DO_SET_HOME, 0, lat=new_home[0], lon=new_home[1], alt=20.0,
                         frame=mav.MAV_FRAME_GLOBAL)  # fmt: skip
    assert result == mav.MAV_RESULT_ACCEPTED
    home = recv(gcs, "HOME_POSITION")
    assert (home.latitude, home.longitude) == (round(new_home[0] * 1e7), round(new_home[1] * 1e7))
    assert command_long(gcs, mav.MAV_CMD_NAV_RETURN_TO_LAUNCH) == mav.MAV_RESULT_ACCEPTED
    assert wait_until(lambda: not sim.vehicle.armed, 60.0)
    assert near(sim, *new_home, 0.0)

    fly_guided(gcs, sim)
    assert command_int(gcs, mav.MAV_CMD_NAV_LAND) == mav.MAV_RESULT_ACCEPTED
    assert wait_until(lambda: not sim.vehicle.armed and sim.vehicle.landed, 60.0)


def test_gimbal_points_by_mount_control_and_the_gimbal_manager(gcs, sim):
    targeting = mav.MAV_MOUNT_MODE_MAVLINK_TARGETING
    assert (
        command_long(gcs, mav.MAV_CMD_DO_MOUNT_CONTROL, -45, 0, 30, 0, 0, 0, targeting)
        == mav.MAV_RESULT_ACCEPTED
    )
    assert (sim.vehicle.gimbal_pitch_deg, sim.vehicle.gimbal_yaw_deg) == (-45.0, 30.0)
    assert recv(gcs, "MOUNT_STATUS", pointing_a=-4500)
    # centidegrees by mistake: refused with ArduPilot's warning, the gimbal stays
    assert (
        command_long(gcs, mav.MAV_CMD_DO_MOUNT_CONTROL, -4500, 0, 0, 0, 0, 0, targeting)
        == mav.MAV_RESULT_FAILED
    )
    assert sim.vehicle.gimbal_pitch_deg == -45.0

    assert command_int(gcs, mav.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW, -60, -20) == mav.MAV_RESULT_ACCEPTED
    assert (sim.vehicle.gimbal_pitch_deg, sim.vehicle.gimbal_yaw_deg) == (-60.0, -20.0)
    assert sim.vehicle.pose().heading_deg == pytest.approx((sim.vehicle.heading_deg - 20.0) % 360.0)
    _, pitch, yaw = Quaternion(recv(gcs, "GIMBAL_DEVICE_ATTITUDE_STATUS").q).euler
    assert (math.degrees(pitch), math.degrees(yaw)) == pytest.approx((-60.0, -20.0))


def test_the_gimbal_manager_describes_its_axes_on_request(gcs):
    gimbal_info = mav.MAVLINK_MSG_ID_GIMBAL_MANAGER_INFORMATION
    assert command_long(gcs, mav.MAV_CMD_REQUEST_MESSAGE, gimbal_info) == mav.MAV_RESULT_ACCEPTED
    info = recv(gcs, "GIMBAL_MANAGER_INFORMATION")
    assert info.cap_flags & mav.GIMBAL_MANAGER_CAP_FLAGS_HAS_PITCH_AXIS
    assert info.cap_flags & mav.GIMBAL_MANAGER_CAP_FLAGS_HAS_YAW_AXIS
    assert (math.degrees(info.pitch_min), math.degrees(info.pitch_max)) == pytest.approx((-90.0, 30.0))
    assert recv(gcs, "GIMBAL_MANAGER_STATUS").gimbal_device_id == info.gimbal_device_id == 1


def test_set_position_target_global_int_flies_a_guided_goto(gcs, sim):
    fly_guided(gcs, sim)
    lat, lon = HOME[0] - 0.0003, HOME[1] + 0.0002
    ignore_velocity_accel_yaw = 0b110111111000
    gcs.mav.set_position_target_global_int_send(0, 1, 1, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
                                                ignore_velocity_accel_yaw, round(lat * 1e7), round(lon * 1e7),
                                                14.0, 0, 0, 0, 0, 0, 0, 0, 0)  # fmt: skip
    assert wait_until(lambda: near(sim, lat, lon, 14.0), 30.0)
