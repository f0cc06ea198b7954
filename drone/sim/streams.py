"""Telemetry the simulator sends: ArduPilot's streams (SR0_*), per-message intervals and the encoders."""

from __future__ import annotations

import math
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.vehicle import SimVehicle
from drone.sim.vehicle_types import COPTER_MODES

EKF_GOOD = (
    mav.EKF_ATTITUDE
    | mav.EKF_VELOCITY_HORIZ
    | mav.EKF_VELOCITY_VERT
    | mav.EKF_POS_HORIZ_REL
    | mav.EKF_POS_HORIZ_ABS
    | mav.EKF_POS_VERT_ABS
    | mav.EKF_PRED_POS_HORIZ_REL
    | mav.EKF_PRED_POS_HORIZ_ABS
)
EKF_WAITING = mav.EKF_ATTITUDE | mav.EKF_CONST_POS_MODE

# ArduCopter's streams (the SRn_* parameter suffixes) and the messages of each that the simulator has.
STREAMS: dict[str, tuple[int, ...]] = {
    "RAW_SENS": (),
    "EXT_STAT": (
        mav.MAVLINK_MSG_ID_SYS_STATUS,
        mav.MAVLINK_MSG_ID_MISSION_CURRENT,
        mav.MAVLINK_MSG_ID_GPS_RAW_INT,
        mav.MAVLINK_MSG_ID_NAV_CONTROLLER_OUTPUT,
    ),
    "RC_CHAN": (),
    "RAW_CTRL": (),
    "POSITION": (mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT,),
    "EXTRA1": (mav.MAVLINK_MSG_ID_ATTITUDE,),
    "EXTRA2": (mav.MAVLINK_MSG_ID_VFR_HUD,),
    "EXTRA3": (
        mav.MAVLINK_MSG_ID_SYSTEM_TIME,
        mav.MAVLINK_MSG_ID_BATTERY_STATUS,
        mav.MAVLINK_MSG_ID_MOUNT_STATUS,
        mav.MAVLINK_MSG_ID_GIMBAL_MANAGER_STATUS,
        mav.MAVLINK_MSG_ID_GIMBAL_DEVICE_ATTITUDE_STATUS,
        mav.MAVLINK_MSG_ID_EKF_STATUS_REPORT,
    ),
}
# REQUEST_DATA_STREAM's stream ids -> the streams above (MAV_DATA_STREAM_ALL sets all of them).
DATA_STREAMS: dict[int, str] = {
    mav.MAV_DATA_STREAM_RAW_SENSORS: "RAW_SENS",
    mav.MAV_DATA_STREAM_EXTENDED_STATUS: "EXT_STAT",
    mav.MAV_DATA_STREAM_RC_CHANNELS: "RC_CHAN",
    mav.MAV_DATA_STREAM_RAW_CONTROLLER: "RAW_CTRL",
    mav.MAV_DATA_STREAM_POSITION: "POSITION",
    mav.MAV_DATA_STREAM_EXTRA1: "EXTRA1",
    mav.MAV_DATA_STREAM_EXTRA2: "EXTRA2",
    mav.MAV_DATA_STREAM_EXTRA3: "EXTRA3",
}
# What AUTOPILOT_VERSION claims: exactly what the simulator implements. No MAVLink FTP, fence, rally,
# attitude or local-frame targets, so ground stations do not try them.
CAPABILITIES = (
    mav.MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT
    | mav.MAV_PROTOCOL_CAPABILITY_MISSION_INT
    | mav.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
    | mav.MAV_PROTOCOL_CAPABILITY_PARAM_ENCODE_C_CAST
    | mav.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
    | mav.MAV_PROTOCOL_CAPABILITY_MAVLINK2
)
# The gimbal manager (in the autopilot, like ArduPilot's AP_Mount) of gimbal device 1: pitch and yaw by angle.
GIMBAL_DEVICE_ID = 1
GIMBAL_CAPABILITIES = (
    mav.GIMBAL_MANAGER_CAP_FLAGS_HAS_PITCH_AXIS
    | mav.GIMBAL_MANAGER_CAP_FLAGS_HAS_YAW_AXIS
    | mav.GIMBAL_MANAGER_CAP_FLAGS_HAS_YAW_FOLLOW
    | mav.GIMBAL_MANAGER_CAP_FLAGS_HAS_YAW_LOCK
    | mav.GIMBAL_MANAGER_CAP_FLAGS_HAS_NEUTRAL
    | mav.GIMBAL_MANAGER_CAP_FLAGS_HAS_RETRACT
)
SIM_VERSION = (4 << 24) | (5 << 16) | (7 << 8) | 255  # reported as ArduCopter 4.5.7 (official)
_STREAM_OF = {msg_id: stream for stream, ids in STREAMS.items() for msg_id in ids}
HEARTBEAT_INTERVAL_S = 1.0
# Fastest any one message goes out in wall-clock time: at high speed-ups simulated-time rates are capped
# here so a ground station on a shared machine is not flooded.
MAX_WALL_HZ = 50.0
# Modes in which ArduCopter sets MAV_MODE_FLAG_GUIDED_ENABLED.
_GUIDED_FLAG_MODES = frozenset({"AUTO", "RTL", "LOITER", "GUIDED", "POSHOLD", "BRAKE"})


class TelemetryStreams:
    """Which message goes out when, in simulated seconds as in ArduPilot SITL, and how each is encoded.

    A message's interval comes from SET_MESSAGE_INTERVAL when one was set, else from its stream's SR0_*
    rate (REQUEST_DATA_STREAM changes those, as on ArduPilot). 0 Hz / interval -1 stops it."""

    def __init__(self, link: Any, vehicle: SimVehicle, params: dict[str, float], speedup: float) -> None:
        self._mav = link
        self.vehicle = vehicle
        self.params = params
        self.speedup = speedup
        self.intervals_s: dict[int, float] = {mav.MAVLINK_MSG_ID_HEARTBEAT: HEARTBEAT_INTERVAL_S}
        self._last_sent_s: dict[int, float] = {}
        self._senders = {
            mav.MAVLINK_MSG_ID_HEARTBEAT: self.send_heartbeat,
            mav.MAVLINK_MSG_ID_SYS_STATUS: self.send_sys_status,
            mav.MAVLINK_MSG_ID_MISSION_CURRENT: self.send_mission_current,
            mav.MAVLINK_MSG_ID_GPS_RAW_INT: self.send_gps_raw,
            mav.MAVLINK_MSG_ID_NAV_CONTROLLER_OUTPUT: self.send_nav_controller_output,
            mav.MAVLINK_MSG_ID_GLOBAL_POSITION_INT: self.send_global_position,
            mav.MAVLINK_MSG_ID_ATTITUDE: self.send_attitude,
            mav.MAVLINK_MSG_ID_VFR_HUD: self.send_vfr_hud,
            mav.MAVLINK_MSG_ID_SYSTEM_TIME: self.send_system_time,
            mav.MAVLINK_MSG_ID_BATTERY_STATUS: self.send_battery,
            mav.MAVLINK_MSG_ID_MOUNT_STATUS: self.send_mount_status,
            mav.MAVLINK_MSG_ID_GIMBAL_MANAGER_INFORMATION: self.send_gimbal_manager_information,
            mav.MAVLINK_MSG_ID_GIMBAL_MANAGER_STATUS: self.send_gimbal_manager_status,
            mav.MAVLINK_MSG_ID_GIMBAL_DEVICE_ATTITUDE_STATUS: self.send_gimbal_attitude,
            mav.MAVLINK_MSG_ID_EKF_STATUS_REPORT: self.send_ekf_status,
            mav.MAVLINK_MSG_ID_HOME_POSITION: self.send_home,
            mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION: self.send_autopilot_version,
        }

    # ---- rates ------------------------------------------------------------------------------------------

    def knows(self, msg_id: int) -> bool:
        return msg_id in self._senders

    def interval_s(self, msg_id: int) -> float:
        """Current interval of a message in simulated seconds; 0 when it is not being sent."""
        if msg_id in self.intervals_s:
            return self.intervals_s[msg_id]
        stream = _STREAM_OF.get(msg_id)
        rate_hz = self.params.get(f"SR0_{stream}", 0.0) if stream else 0.0
        return 1.0 / rate_hz if rate_hz > 0 else 0.0

    def set_message_interval(self, msg_id: int, interval_us: float) -> bool:
        """MAV_CMD_SET_MESSAGE_INTERVAL: -1 stops, 0 restores the default, otherwise microseconds."""
        if msg_id not in self._senders:
            return False
        if interval_us == 0:
            self.intervals_s.pop(msg_id, None)
            if msg_id == mav.MAVLINK_MSG_ID_HEARTBEAT:
                self.intervals_s[msg_id] = HEARTBEAT_INTERVAL_S
        elif interval_us < 0:
            self.intervals_s[msg_id] = 0.0
        else:
            self.intervals_s[msg_id] = min(max(interval_us, 1000.0), 60e6) / 1e6
        return True

    def request_data_stream(self, stream_id: int, rate_hz: int, start: bool) -> None:
        """REQUEST_DATA_STREAM: sets the stream's SR0_* rate (0 when stopping) and drops the per-message
        intervals of its messages, as ArduPilot does."""
        streams = list(STREAMS) if stream_id == mav.MAV_DATA_STREAM_ALL else [DATA_STREAMS.get(stream_id)]
        for stream in streams:
            if stream is None:
                continue
            self.params[f"SR0_{stream}"] = float(max(0, rate_hz) if start else 0)
            for msg_id in STREAMS[stream]:
                self.intervals_s.pop(msg_id, None)

    def send_due(self, now_s: float) -> None:
        """Send every message whose interval has passed by simulated time `now_s`."""
        floor_s = self.speedup / MAX_WALL_HZ
        for msg_id, send in self._senders.items():
            interval = self.interval_s(msg_id)
            if interval <= 0:
                continue
            interval = max(interval, floor_s)
            last = self._last_sent_s.get(msg_id)
            if last is None or now_s - last >= interval or now_s < last:
                # keep the schedule through one late tick (a busy machine), never burst after a stall
                self._last_sent_s[msg_id] = now_s if last is None else max(last + interval, now_s - interval)
                send()

    def send_now(self, msg_id: int) -> bool:
        """MAV_CMD_REQUEST_MESSAGE: send one message at once; False when the simulator has no such message."""
        send = self._senders.get(msg_id)
        if send is None:
            return False
        send()
        return True

    # ---- encoders ---------------------------------------------------------------------------------------

    def _boot_ms(self) -> int:
        return int(self.vehicle.time_s * 1000) & 0xFFFFFFFF

    def send_heartbeat(self) -> None:
        v = self.vehicle
        base = (
            mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
            | mav.MAV_MODE_FLAG_STABILIZE_ENABLED
            | mav.MAV_MODE_FLAG_MANUAL_INPUT_ENABLED
        )
        if v.mode in _GUIDED_FLAG_MODES:
            base |= mav.MAV_MODE_FLAG_GUIDED_ENABLED
        if v.armed:
            base |= mav.MAV_MODE_FLAG_SAFETY_ARMED
        if v.failsafe:
            status = mav.MAV_STATE_CRITICAL
        else:
            status = mav.MAV_STATE_STANDBY if v.landed else mav.MAV_STATE_ACTIVE
        self._mav.heartbeat_send(
            mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, base, COPTER_MODES[v.mode], status, 3
        )

    def sensor_bits(self) -> tuple[int, int, int]:
        """SYS_STATUS (present, enabled, health) as ArduCopter fills them. The geofence is not present
        (no fence support) but healthy, so ground stations see no breach."""
        v = self.vehicle
        present = (
            mav.MAV_SYS_STATUS_SENSOR_3D_GYRO
            | mav.MAV_SYS_STATUS_SENSOR_3D_ACCEL
            | mav.MAV_SYS_STATUS_SENSOR_3D_MAG
            | mav.MAV_SYS_STATUS_SENSOR_ABSOLUTE_PRESSURE
            | mav.MAV_SYS_STATUS_SENSOR_GPS
            | mav.MAV_SYS_STATUS_SENSOR_ANGULAR_RATE_CONTROL
            | mav.MAV_SYS_STATUS_SENSOR_ATTITUDE_STABILIZATION
            | mav.MAV_SYS_STATUS_SENSOR_YAW_POSITION
            | mav.MAV_SYS_STATUS_SENSOR_Z_ALTITUDE_CONTROL
            | mav.MAV_SYS_STATUS_SENSOR_XY_POSITION_CONTROL
            | mav.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
            | mav.MAV_SYS_STATUS_AHRS
            | mav.MAV_SYS_STATUS_SENSOR_BATTERY
        )
        if self.params.get("ARMING_CHECK", 0) != 0:
            present |= mav.MAV_SYS_STATUS_PREARM_CHECK
        enabled = present
        if not v.armed:
            enabled &= ~mav.MAV_SYS_STATUS_SENSOR_MOTOR_OUTPUTS
        health = present | mav.MAV_SYS_STATUS_GEOFENCE
        if v.gps_fix < 3:
            health &= ~mav.MAV_SYS_STATUS_SENSOR_GPS
        if not v.ekf_ok:
            health &= ~mav.MAV_SYS_STATUS_AHRS
        if v.prearm_failure() is not None:
            health &= ~mav.MAV_SYS_STATUS_PREARM_CHECK
        if v.battery_voltage_v < self.params.get("BATT_CRT_VOLT", 0.0):
            health &= ~mav.MAV_SYS_STATUS_SENSOR_BATTERY
        return present, enabled, health

    def send_sys_status(self) -> None:
        v = self.vehicle
        present, enabled, health = self.sensor_bits()
        pct = int(v.battery_pct) if v.config.battery_reports_pct else -1
        self._mav.sys_status_send(
            present, enabled, health, 250, int(v.battery_voltage_v * 1000), int(v.current_a * 100),
            pct, 0, 0, 0, 0, 0, 0,
        )  # fmt: skip

    def send_mission_current(self) -> None:
        v = self.vehicle
        total = v.mission_count - 1 if v.mission_count > 1 else 0xFFFF
        mode = 1 if v.mode == "AUTO" else 2
        self._mav.mission_current_send(v.mission_seq, total, v.mission_state, mode)

    def send_gps_raw(self) -> None:
        v = self.vehicle
        locked = v.gps_fix >= 3
        lat, lon = v.latlon if locked else (0.0, 0.0)
        lat_e7, lon_e7 = round(lat * 1e7), round(lon * 1e7)
        amsl_mm = int((v.config.home_amsl_m + v.alt_m) * 1000)
        cog = int(math.degrees(math.atan2(v.vx_mps, v.vy_mps)) % 360 * 100) if v.groundspeed_mps > 0.1 else 0
        self._mav.gps_raw_int_send(
            int(v.time_s * 1e6), v.gps_fix, lat_e7, lon_e7, amsl_mm, 80 if locked else 9999,
            120 if locked else 9999, int(v.groundspeed_mps * 100), cog, 12 if locked else 3,
        )  # fmt: skip

    def send_nav_controller_output(self) -> None:
        v = self.vehicle
        bearing_deg, distance_m, alt_error_m = v.target_offsets()
        self._mav.nav_controller_output_send(
            0.0, v.pitch_deg, int(v.heading_deg), int(bearing_deg), min(int(distance_m), 0xFFFF),
            alt_error_m, 0.0, 0.0,
        )  # fmt: skip

    def send_global_position(self) -> None:
        v = self.vehicle
        lat, lon = v.latlon if v.gps_fix >= 3 else (0.0, 0.0)
        self._mav.global_position_int_send(
            self._boot_ms(), round(lat * 1e7), round(lon * 1e7), int((v.config.home_amsl_m + v.alt_m) * 1000),
            int(v.alt_m * 1000), int(v.vy_mps * 100), int(v.vx_mps * 100), int(-v.vz_mps * 100),
            int(v.heading_deg * 100) % 36000,
        )  # fmt: skip

    def send_attitude(self) -> None:
        v = self.vehicle
        yaw = math.radians(((v.heading_deg + 180.0) % 360.0) - 180.0)
        self._mav.attitude_send(self._boot_ms(), 0.0, math.radians(v.pitch_deg), yaw, 0.0, 0.0, 0.0)

    def send_vfr_hud(self) -> None:
        v = self.vehicle
        throttle = (50 if not v.landed else 0) if v.armed else 0
        self._mav.vfr_hud_send(
            v.groundspeed_mps, v.groundspeed_mps, int(v.heading_deg) % 360, throttle,
            v.config.home_amsl_m + v.alt_m, v.vz_mps,
        )  # fmt: skip

    def send_system_time(self) -> None:
        self._mav.system_time_send(0, self._boot_ms())  # no GPS time: unix time 0, as before a fix

    def send_battery(self) -> None:
        v = self.vehicle
        cells = [int(v.battery_voltage_v / v.config.battery_cells * 1000)] * v.config.battery_cells
        pct = int(v.battery_pct) if v.config.battery_reports_pct else -1
        self._mav.battery_status_send(
            0, mav.MAV_BATTERY_FUNCTION_ALL, mav.MAV_BATTERY_TYPE_LIPO, 32767,
            cells + [65535] * (10 - len(cells)), int(v.current_a * 100), int(v.battery_used_mah), -1, pct,
        )  # fmt: skip

    def send_mount_status(self) -> None:
        v = self.vehicle
        yaw_cdeg = int(v.camera_heading_deg * 100)
        self._mav.mount_status_send(0, 0, int(v.gimbal_pitch_deg * 100), 0, yaw_cdeg, 2)

    def send_gimbal_attitude(self) -> None:
        v = self.vehicle
        pitch, yaw = math.radians(v.gimbal_pitch_deg), math.radians(v.gimbal_yaw_deg)
        q = [
            math.cos(pitch / 2) * math.cos(yaw / 2),
            -math.sin(pitch / 2) * math.sin(yaw / 2),
            math.sin(pitch / 2) * math.cos(yaw / 2),
            math.cos(pitch / 2) * math.sin(yaw / 2),
        ]
        flags = mav.GIMBAL_DEVICE_FLAGS_YAW_IN_VEHICLE_FRAME
        self._mav.gimbal_device_attitude_status_send(
            0, 0, self._boot_ms(), flags, q, 0.0, 0.0, 0.0, 0, 0.0, 0.0, GIMBAL_DEVICE_ID
        )

    def send_gimbal_manager_information(self) -> None:
        r = math.radians
        self._mav.gimbal_manager_information_send(
            self._boot_ms(), GIMBAL_CAPABILITIES, GIMBAL_DEVICE_ID, 0.0, 0.0, r(-90), r(30), r(-180), r(180)
        )

    def send_gimbal_manager_status(self) -> None:
        self._mav.gimbal_manager_status_send(self._boot_ms(), 0, GIMBAL_DEVICE_ID, 0, 0, 0, 0)

    def send_ekf_status(self) -> None:
        flags = EKF_GOOD if self.vehicle.ekf_ok else EKF_WAITING
        self._mav.ekf_status_report_send(flags, 0.1, 0.1, 0.1, 0.1, 0.0)

    def send_home(self) -> None:
        v = self.vehicle
        if not v.home_set:
            return
        lat, lon = v.home_latlon
        self._mav.home_position_send(
            round(lat * 1e7), round(lon * 1e7), int(v.config.home_amsl_m * 1000), 0.0, 0.0, 0.0,
            [1.0, 0.0, 0.0, 0.0], 0.0, 0.0, 0.0,
        )  # fmt: skip

    def send_autopilot_version(self) -> None:
        self._mav.autopilot_version_send(
            CAPABILITIES, SIM_VERSION, 0, 0, 0, bytes(8), bytes(8), bytes(8), 0, 0, 0
        )
