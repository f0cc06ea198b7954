"""Commands from ground stations (COMMAND_LONG, COMMAND_INT and the older messages) and their results."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.streams import TelemetryStreams
from drone.sim.vehicle import SimVehicle
from drone.sim.vehicle_types import MODE_NAMES, SimEvent

ACCEPTED, DENIED, FAILED, UNSUPPORTED = (
    mav.MAV_RESULT_ACCEPTED,
    mav.MAV_RESULT_DENIED,
    mav.MAV_RESULT_FAILED,
    mav.MAV_RESULT_UNSUPPORTED,
)
FORCE_DISARM_MAGIC = 21196
_RELATIVE_FRAMES = frozenset({mav.MAV_FRAME_GLOBAL_RELATIVE_ALT, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT_INT})
_POSITION_IGNORED = (
    mav.POSITION_TARGET_TYPEMASK_X_IGNORE
    | mav.POSITION_TARGET_TYPEMASK_Y_IGNORE
    | mav.POSITION_TARGET_TYPEMASK_Z_IGNORE
)


@dataclass(frozen=True)
class Command:
    """A COMMAND_LONG or COMMAND_INT in one form: for COMMAND_LONG lat/lon are param5/param6 and the
    frame is GLOBAL_RELATIVE_ALT (ArduPilot's conversion); for COMMAND_INT they are x/y scaled by 1e-7."""

    command: int
    param1: float
    param2: float
    param3: float
    param4: float
    lat: float
    lon: float
    alt: float
    frame: int
    raw_x: float  # param5 / x as sent (not scaled): message ids, flags

    @classmethod
    def from_long(cls, msg: Any) -> Command:
        return cls(msg.command, msg.param1, msg.param2, msg.param3, msg.param4, msg.param5, msg.param6,
                   msg.param7, mav.MAV_FRAME_GLOBAL_RELATIVE_ALT, msg.param5)  # fmt: skip

    @classmethod
    def from_int(cls, msg: Any) -> Command:
        return cls(msg.command, msg.param1, msg.param2, msg.param3, msg.param4, msg.x / 1e7, msg.y / 1e7,
                   msg.z, msg.frame, float(msg.x))  # fmt: skip


class CommandHandler:
    """Runs commands against the vehicle and answers each with a COMMAND_ACK to its sender. Results are
    ArduCopter's: FAILED when the vehicle refuses (not armed, mode refused), DENIED for bad parameters,
    UNSUPPORTED for commands the simulator does not implement."""

    def __init__(self, link: Any, vehicle: SimVehicle, streams: TelemetryStreams) -> None:
        self._mav = link
        self.vehicle = vehicle
        self.streams = streams
        self._after_ack: list[Callable[[], object]] = []  # replies that follow the ack, as on ArduPilot
        self._warned_velocity = False
        self._handlers: dict[int, Callable[[Command], int]] = {
            mav.MAV_CMD_COMPONENT_ARM_DISARM: self._arm_disarm,
            mav.MAV_CMD_NAV_TAKEOFF: self._takeoff,
            mav.MAV_CMD_DO_REPOSITION: self._reposition,
            mav.MAV_CMD_NAV_RETURN_TO_LAUNCH: lambda c: self._mode("RTL"),
            mav.MAV_CMD_NAV_LAND: lambda c: self._mode("LAND"),
            mav.MAV_CMD_NAV_LOITER_UNLIM: lambda c: self._mode("LOITER"),
            mav.MAV_CMD_DO_SET_MODE: self._set_mode,
            mav.MAV_CMD_MISSION_START: self._mission_start,
            mav.MAV_CMD_DO_SET_MISSION_CURRENT: self._set_mission_current,
            mav.MAV_CMD_DO_CHANGE_SPEED: self._change_speed,
            mav.MAV_CMD_DO_SET_HOME: self._set_home,
            mav.MAV_CMD_DO_SET_ROI_LOCATION: self._set_roi,
            mav.MAV_CMD_DO_SET_ROI: self._set_roi,
            mav.MAV_CMD_DO_SET_ROI_NONE: self._clear_roi,
            mav.MAV_CMD_DO_MOUNT_CONTROL: self._mount_control,
            mav.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW: self._gimbal_pitchyaw,
            mav.MAV_CMD_SET_MESSAGE_INTERVAL: self._set_message_interval,
            mav.MAV_CMD_GET_MESSAGE_INTERVAL: self._get_message_interval,
            mav.MAV_CMD_REQUEST_MESSAGE: self._request_message,
            mav.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES: self._request_version,
            mav.MAV_CMD_GET_HOME_POSITION: self._get_home,
        }

    @property
    def supported(self) -> frozenset[int]:
        return frozenset(self._handlers)

    # ---- entry points -------------------------------------------------------------------------------

    def on_command_long(self, msg: Any) -> None:
        self._run(msg, Command.from_long(msg))

    def on_command_int(self, msg: Any) -> None:
        self._run(msg, Command.from_int(msg))

    def _run(self, msg: Any, command: Command) -> None:
        handler = self._handlers.get(command.command)
        result = handler(command) if handler is not None else UNSUPPORTED
        self._mav.command_ack_send(command.command, result, 0, 0, msg.get_srcSystem(), msg.get_srcComponent())
        replies, self._after_ack = self._after_ack, []
        for reply in replies:
            reply()

    def on_set_mode(self, msg: Any) -> None:
        """SET_MODE; ArduPilot answers it with a COMMAND_ACK whose command is the message id (11)."""
        result = self._custom_mode(msg.base_mode, msg.custom_mode)
        self._mav.command_ack_send(
            mav.MAVLINK_MSG_ID_SET_MODE, result, 0, 0, msg.get_srcSystem(), msg.get_srcComponent()
        )

    def on_mount_control(self, msg: Any) -> None:
        """The deprecated MOUNT_CONTROL message (DroneKit's gimbal.rotate): angles in centidegrees."""
        self.vehicle.set_gimbal(msg.input_a / 100.0, msg.input_c / 100.0)

    def on_set_position_target_global_int(self, msg: Any) -> None:
        """A GUIDED position target (QGroundControl, MAVROS); velocity-only targets are not simulated."""
        if msg.type_mask & _POSITION_IGNORED == _POSITION_IGNORED:
            if not self._warned_velocity:  # such targets come at 10-50 Hz: say it once
                self._warned_velocity = True
                self._say("Guided: velocity targets not simulated")
            return
        v = self.vehicle
        alt_m = v.relative_alt_m(msg.coordinate_frame, msg.alt)
        failure = v.goto(msg.lat_int / 1e7, msg.lon_int / 1e7, alt_m)
        if failure:
            self._say(failure)

    def _say(self, text: str) -> None:
        self.vehicle.events.append(SimEvent("statustext", text=text, severity=mav.MAV_SEVERITY_WARNING))

    # ---- flight ---------------------------------------------------------------------------------------

    def _arm_disarm(self, c: Command) -> int:
        v = self.vehicle
        force = int(c.param2) == FORCE_DISARM_MAGIC
        failure = v.arm() if c.param1 >= 0.5 else v.disarm(force=force)
        if failure:
            self._mav.statustext_send(mav.MAV_SEVERITY_CRITICAL, failure.encode()[:50])
        return FAILED if failure else ACCEPTED

    def _takeoff(self, c: Command) -> int:
        if c.frame not in _RELATIVE_FRAMES:
            return DENIED  # ArduCopter takes off only to an altitude above home
        failure = self.vehicle.takeoff(c.alt)
        if failure:
            self._say(failure)
        return FAILED if failure else ACCEPTED

    def _reposition(self, c: Command) -> int:
        """DO_REPOSITION (QGroundControl's "go to location"): GUIDED goto, switching to GUIDED when
        MAV_DO_REPOSITION_FLAGS_CHANGE_MODE is set, as ArduCopter does."""
        v = self.vehicle
        change_mode = int(c.param2) & mav.MAV_DO_REPOSITION_FLAGS_CHANGE_MODE
        if v.mode != "GUIDED" and not change_mode:
            return DENIED
        if not (-90.0 <= c.lat <= 90.0 and -180.0 <= c.lon <= 180.0) or (c.lat == 0.0 and c.lon == 0.0):
            return DENIED
        if v.mode != "GUIDED" and not v.set_mode("GUIDED"):
            return FAILED
        alt_m = v.relative_alt_m(c.frame, c.alt) if not math.isnan(c.alt) else v.alt_m
        return FAILED if v.goto(c.lat, c.lon, alt_m) else ACCEPTED

    def _mode(self, name: str) -> int:
        return ACCEPTED if self.vehicle.set_mode(name) else FAILED

    def _set_mode(self, c: Command) -> int:
        return self._custom_mode(int(c.param1), int(c.param2))

    def _custom_mode(self, base_mode: int, custom_mode: int) -> int:
        if not base_mode & mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED:
            return DENIED  # ArduPilot only takes its own (custom) mode numbers
        name = MODE_NAMES.get(custom_mode)
        return ACCEPTED if name is not None and self.vehicle.set_mode(name) else FAILED

    def _mission_start(self, c: Command) -> int:
        v = self.vehicle
        return ACCEPTED if v.armed and v.set_mode("AUTO") else FAILED

    def _set_mission_current(self, c: Command) -> int:
        return ACCEPTED if self.vehicle.set_mission_current(int(c.param1)) else DENIED

    def _change_speed(self, c: Command) -> int:
        if c.param2 <= 0:
            return FAILED
        if c.param1 < 1.9:  # 0/1: ground speed; 2 and 3 (climb, descent) are not simulated separately
            self.vehicle.speed_mps = c.param2
        return ACCEPTED

    def _set_home(self, c: Command) -> int:
        use_current = c.param1 == 1.0 or (c.lat == 0.0 and c.lon == 0.0)
        if not use_current and not (-90.0 <= c.lat <= 90.0 and -180.0 <= c.lon <= 180.0):
            return DENIED
        failure = self.vehicle.set_home(None, None) if use_current else self.vehicle.set_home(c.lat, c.lon)
        return FAILED if failure else ACCEPTED

    def _set_roi(self, c: Command) -> int:
        if not (-90.0 <= c.lat <= 90.0 and -180.0 <= c.lon <= 180.0):
            return FAILED
        self.vehicle.set_roi(c.lat, c.lon)
        return ACCEPTED

    def _clear_roi(self, c: Command) -> int:
        self.vehicle.set_roi(None, None)
        return ACCEPTED

    # ---- gimbal ---------------------------------------------------------------------------------------

    def _mount_control(self, c: Command) -> int:
        """DO_MOUNT_CONTROL: param1 pitch, param3 yaw (degrees, body frame), param7 the mount mode."""
        mode = int(c.alt)
        if mode in (mav.MAV_MOUNT_MODE_RETRACT, mav.MAV_MOUNT_MODE_NEUTRAL):
            self.vehicle.set_gimbal(0.0, 0.0)
            return ACCEPTED
        if mode == mav.MAV_MOUNT_MODE_RC_TARGETING:
            return ACCEPTED
        if mode == mav.MAV_MOUNT_MODE_MAVLINK_TARGETING:
            if abs(c.param1) > 90 or abs(c.param2) > 180 or abs(c.param3) > 360:
                self._say("invalid angle targets")  # ArduPilot's guard against centidegrees
                return FAILED
            self.vehicle.set_gimbal(c.param1, c.param3)
            return ACCEPTED
        return FAILED

    def _gimbal_pitchyaw(self, c: Command) -> int:
        """DO_GIMBAL_MANAGER_PITCHYAW: param1 pitch, param2 yaw (degrees); flags in param5 / x.
        Angle control only: rate control (NaN angles) is refused."""
        flags = int(c.raw_x)
        if flags & (mav.GIMBAL_MANAGER_FLAGS_RETRACT | mav.GIMBAL_MANAGER_FLAGS_NEUTRAL):
            self.vehicle.set_gimbal(0.0, 0.0)
            return ACCEPTED
        if math.isnan(c.param1) or math.isnan(c.param2):
            return DENIED
        v = self.vehicle
        yaw = c.param2 - v.heading_deg if flags & mav.GIMBAL_MANAGER_FLAGS_YAW_LOCK else c.param2
        v.set_gimbal(c.param1, yaw)
        return ACCEPTED

    # ---- messages and intervals -----------------------------------------------------------------------

    def _set_message_interval(self, c: Command) -> int:
        msg_id = int(c.param1)
        if not self.streams.knows(msg_id):
            self._say(f"No ap_message for mavlink id ({msg_id})")
            return DENIED
        self.streams.set_message_interval(msg_id, c.param2)
        return ACCEPTED

    def _get_message_interval(self, c: Command) -> int:
        msg_id = int(c.param1)
        interval_s = self.streams.interval_s(msg_id) if self.streams.knows(msg_id) else 0.0
        interval_us = int(interval_s * 1e6) if interval_s > 0 else -1
        self._after_ack.append(lambda: self._mav.message_interval_send(msg_id, interval_us))
        return ACCEPTED

    def _request_message(self, c: Command) -> int:
        msg_id = int(c.param1)
        if msg_id == mav.MAVLINK_MSG_ID_HOME_POSITION and not self.vehicle.home_set:
            return FAILED
        if not self.streams.knows(msg_id):
            return UNSUPPORTED
        self._after_ack.append(lambda: self.streams.send_now(msg_id))
        return ACCEPTED

    def _request_version(self, c: Command) -> int:
        self._after_ack.append(self.streams.send_autopilot_version)
        return ACCEPTED

    def _get_home(self, c: Command) -> int:
        if not self.vehicle.home_set:
            return FAILED
        self._after_ack.append(self.streams.send_home)
        return ACCEPTED
