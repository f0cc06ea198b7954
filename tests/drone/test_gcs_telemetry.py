"""What ground stations read from the simulator: typed parameters, status bits, capabilities, stream rates."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.mavlink_server import SimServer
from drone.sim.params import PARAM_TYPES
from drone.sim.vehicle import SimConfig, SimVehicle

from .conftest import wait_until
from .ground_station import command_long, connect_gcs, recv

# Stream rates are counted in simulated time (between heartbeats, 1 Hz simulated as on ArduPilot), at a
# low speed-up and low default rates so a busy machine's late loop ticks do not change the counts.
SLOW_SPEEDUP = 2.0


@pytest.fixture
def slow_sim() -> Iterator[SimServer]:
    server = SimServer(
        SimVehicle(SimConfig(gps_lock_after_s=1.0)), port=0, speedup=SLOW_SPEEDUP, stream_hz=4.0
    )
    yield server.start()
    server.stop()


@pytest.fixture
def slow_gcs(slow_sim):
    conn = connect_gcs(slow_sim)
    yield conn
    conn.close()


def count_per_heartbeats(gcs, kind: str, heartbeats: int) -> int:
    """How many `kind` messages arrive during `heartbeats` simulated seconds, from the next heartbeat on."""
    recv(gcs, "HEARTBEAT")
    seen = beats = 0
    while beats < heartbeats:
        msg = gcs.recv_match(type=[kind, "HEARTBEAT"], blocking=True, timeout=5)
        assert msg is not None, f"the simulator went silent while counting {kind}"
        if msg.get_type() == "HEARTBEAT":
            beats += 1
        else:
            seen += 1
    return seen


def test_every_parameter_arrives_once_with_ardupilots_type(gcs, sim):
    gcs.mav.param_request_list_send(1, 1)
    values = {}
    while len(values) < len(sim.params):
        msg = recv(gcs, "PARAM_VALUE")
        assert msg.param_count == len(sim.params)
        values[msg.param_index] = msg
    assert sorted(values) == list(range(len(sim.params)))
    types = {m.param_id: m.param_type for m in values.values()}
    assert types == PARAM_TYPES
    assert (
        types["FRAME_CLASS"] == mav.MAV_PARAM_TYPE_INT8 and types["WPNAV_SPEED"] == mav.MAV_PARAM_TYPE_REAL32
    )


def test_an_integer_parameter_is_stored_as_an_integer(gcs, sim):
    gcs.mav.param_set_send(1, 1, b"FS_GCS_ENABLE", 1.7, mav.MAV_PARAM_TYPE_INT8)
    reply = recv(gcs, "PARAM_VALUE", param_id="FS_GCS_ENABLE")
    assert (reply.param_value, reply.param_type) == (1.0, mav.MAV_PARAM_TYPE_INT8)
    gcs.mav.param_set_send(1, 1, b"FRAME_TYPE", 300.0, mav.MAV_PARAM_TYPE_INT8)
    assert recv(gcs, "PARAM_VALUE", param_id="FRAME_TYPE").param_value == 127.0  # clamped to int8


def test_sys_status_has_a_healthy_absent_geofence_and_passing_prearm_checks(gcs, sim):
    assert wait_until(lambda: sim.vehicle.ekf_ok, 10.0)
    recv(gcs, "HEARTBEAT")
    status = recv(gcs, "SYS_STATUS")
    fence, prearm = mav.MAV_SYS_STATUS_GEOFENCE, mav.MAV_SYS_STATUS_PREARM_CHECK
    assert not status.onboard_control_sensors_present & fence  # no fence on this vehicle...
    assert status.onboard_control_sensors_health & fence  # ...so never a breach
    assert status.onboard_control_sensors_present & prearm and status.onboard_control_sensors_health & prearm
    gps = mav.MAV_SYS_STATUS_SENSOR_GPS
    assert status.onboard_control_sensors_health & gps
    assert not status.onboard_control_sensors_enabled & mav.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS  # disarmed


def test_autopilot_version_claims_what_is_implemented_and_nothing_else(gcs):
    assert command_long(gcs, mav.MAV_CMD_REQUEST_MESSAGE, mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION) == 0
    caps = recv(gcs, "AUTOPILOT_VERSION").capabilities
    for claimed in ("MISSION_INT", "MISSION_FLOAT", "COMMAND_INT", "PARAM_ENCODE_C_CAST", "MAVLINK2",
                    "SET_POSITION_TARGET_GLOBAL_INT"):  # fmt: skip
        assert caps & getattr(mav, f"MAV_PROTOCOL_CAPABILITY_{claimed}"), claimed
    for absent in ("FTP", "MISSION_FENCE", "MISSION_RALLY", "PARAM_ENCODE_BYTEWISE", "SET_ATTITUDE_TARGET",
                   "SET_POSITION_TARGET_LOCAL_NED", "TERRAIN", "FLIGHT_TERMINATION"):  # fmt: skip
        assert not caps & getattr(mav, f"MAV_PROTOCOL_CAPABILITY_{absent}"), absent


def test_request_data_stream_stops_and_sets_a_streams_rate(slow_gcs):
    position = mav.MAV_DATA_STREAM_POSITION
    slow_gcs.mav.request_data_stream_send(1, 1, position, 0, 0)
    recv(slow_gcs, "HEARTBEAT")  # let what was already on its way arrive
    assert count_per_heartbeats(slow_gcs, "GLOBAL_POSITION_INT", 3) == 0
    assert count_per_heartbeats(slow_gcs, "ATTITUDE", 1) > 0, "other streams go on"

    slow_gcs.mav.request_data_stream_send(1, 1, position, 2, 1)
    recv(slow_gcs, "GLOBAL_POSITION_INT")
    assert 8 <= count_per_heartbeats(slow_gcs, "GLOBAL_POSITION_INT", 5) <= 12  # 2 Hz for 5 s


def test_set_message_interval_sets_and_stops_one_message(slow_gcs):
    attitude = mav.MAVLINK_MSG_ID_ATTITUDE
    assert command_long(slow_gcs, mav.MAV_CMD_SET_MESSAGE_INTERVAL, attitude, 500_000) == 0  # 2 Hz
    recv(slow_gcs, "ATTITUDE")
    assert 8 <= count_per_heartbeats(slow_gcs, "ATTITUDE", 5) <= 12
    assert command_long(slow_gcs, mav.MAV_CMD_GET_MESSAGE_INTERVAL, attitude) == 0
    assert recv(slow_gcs, "MESSAGE_INTERVAL", message_id=attitude).interval_us == 500_000

    assert command_long(slow_gcs, mav.MAV_CMD_SET_MESSAGE_INTERVAL, attitude, -1) == 0
    recv(slow_gcs, "HEARTBEAT")
    assert count_per_heartbeats(slow_gcs, "ATTITUDE", 3) == 0
    unknown = command_long(slow_gcs, mav.MAV_CMD_SET_MESSAGE_INTERVAL, 9999, 100_000)
    assert unknown == mav.MAV_RESULT_DENIED
