"""Mission execution of the simulated copter: the stored mission, its items run in AUTO, DO commands."""

from __future__ import annotations

from collections import deque

from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.vehicle_types import MissionItem, Nav, SimConfig, SimEvent
from tenken.geo import LocalProjection


class MissionExecution:
    """The mission half of `SimVehicle` (which mixes it in): what AP_Mission and ArduCopter's AUTO mode do.
    The attributes below are the vehicle state it reads and moves."""

    config: SimConfig
    proj: LocalProjection
    mission: list[MissionItem]
    mission_seq: int
    mission_started: bool
    mission_complete: bool
    nav: Nav
    mode: str
    armed: bool
    landed: bool
    x_m: float
    y_m: float
    alt_m: float
    home_xy_m: tuple[float, float]
    speed_mps: float
    gimbal_pitch_deg: float
    gimbal_yaw_deg: float
    roi_xy_m: tuple[float, float] | None
    events: deque[SimEvent]

    @property
    def mission_state(self) -> int:
        """MISSION_CURRENT's mission_state (MAVLink MISSION_STATE)."""
        if len(self.mission) <= 1:
            return mav.MISSION_STATE_NO_MISSION
        if self.mission_complete:
            return mav.MISSION_STATE_COMPLETE
        if not self.mission_started:
            return mav.MISSION_STATE_NOT_STARTED
        return mav.MISSION_STATE_ACTIVE if self.mode == "AUTO" else mav.MISSION_STATE_PAUSED

    def relative_alt_m(self, frame: int, alt_m: float) -> float:
        """An altitude in a MAVLink frame as metres above home (flat ground: terrain frames = relative)."""
        if frame in (mav.MAV_FRAME_GLOBAL, mav.MAV_FRAME_GLOBAL_INT):
            return alt_m - self.config.home_amsl_m
        return alt_m

    def mission_item(self, seq: int) -> MissionItem:
        """Item `seq` as a ground station downloads it; item 0 is always the current home."""
        if seq == 0:
            lat, lon = self.proj.to_latlon(*self.home_xy_m)
            return MissionItem(
                0,
                mav.MAV_FRAME_GLOBAL,
                mav.MAV_CMD_NAV_WAYPOINT,
                lat=lat,
                lon=lon,
                alt_m=self.config.home_amsl_m,
            )
        return self.mission[seq]

    @property
    def mission_count(self) -> int:
        return max(len(self.mission), 1)

    def _say(self, text: str, severity: int = mav.MAV_SEVERITY_INFO) -> None:
        self.events.append(SimEvent("statustext", text=text, severity=severity))

    def set_roi(self, lat: float | None, lon: float | None) -> None:
        """Point the nose at a location in AUTO (None: stop)."""
        self.roi_xy_m = None if lat is None or lon is None else self.proj.to_xy(lat, lon)

    def set_mission(self, items: list[MissionItem]) -> None:
        """Store an uploaded mission (item 0 is the home slot and is replaced by the real home)."""
        self.mission = list(items)
        self.mission_seq = 1 if len(items) > 1 else 0
        self.mission_started = self.mission_complete = False
        if self.mode == "AUTO" and self.armed:
            self._start_mission_item()
        self.events.append(SimEvent("mission_current", self.mission_seq))

    def replace_mission(self, items: list[MissionItem]) -> None:
        """A partial upload: some items replaced or one appended; the mission carries on where it was."""
        self.mission = list(items)
        self.mission_seq = min(self.mission_seq, max(len(items) - 1, 0))

    def clear_mission(self) -> bool:
        """Delete the mission; refused (False) while it is being flown, as AP_Mission refuses."""
        if self.mode == "AUTO" and self.armed and self.mission_started and not self.mission_complete:
            return False
        self.mission = []
        self.mission_seq = 0
        self.mission_started = self.mission_complete = False
        return True

    def set_mission_current(self, seq: int) -> bool:
        if not 0 <= seq < max(len(self.mission), 1):
            return False
        self.mission_seq = seq
        self.mission_complete = False
        if self.mode == "AUTO" and self.armed:
            self._start_mission_item()
        self.events.append(SimEvent("mission_current", seq))
        return True

    def set_gimbal(self, pitch_deg: float, yaw_deg: float | None = None) -> None:
        """Point the gimbal: pitch (0 level, -90 down) and, when given, yaw relative to the airframe."""
        self.gimbal_pitch_deg = max(-90.0, min(30.0, pitch_deg))
        if yaw_deg is not None:
            self.gimbal_yaw_deg = ((yaw_deg + 180.0) % 360.0) - 180.0

    def _start_rtl(self) -> None:
        rtl_alt = max(self.alt_m, self.config.rtl_alt_m)
        self.nav = Nav("rtl_climb", (self.x_m, self.y_m, rtl_alt))

    def _start_mission_item(self) -> None:
        """Begin the item at `mission_seq`, running DO commands immediately until a NAV command."""
        if 0 < self.mission_seq < len(self.mission):
            self.mission_started = True
        while 0 < self.mission_seq < len(self.mission):
            item = self.mission[self.mission_seq]
            if item.command == mav.MAV_CMD_NAV_TAKEOFF:
                self.landed = False
                alt_m = self.relative_alt_m(item.frame, item.alt_m)
                self.nav = Nav("takeoff", (self.x_m, self.y_m, max(alt_m, self.alt_m)))
                return
            if item.command in (mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_CMD_NAV_SPLINE_WAYPOINT):
                x, y = self.proj.to_xy(item.lat, item.lon)
                if item.lat == 0.0 and item.lon == 0.0:
                    x, y = self.x_m, self.y_m
                self.nav = Nav("goto", (x, y, self.relative_alt_m(item.frame, item.alt_m)))
                return
            if item.command == mav.MAV_CMD_NAV_RETURN_TO_LAUNCH:
                self._start_rtl()
                return
            if item.command == mav.MAV_CMD_NAV_LAND:
                self.nav = Nav("land")
                return
            self._run_do_command(item)
            self._advance_mission(reached=False)
        self.nav = Nav("hold", (self.x_m, self.y_m, self.alt_m))

    def _run_do_command(self, item: MissionItem) -> None:
        if item.command == mav.MAV_CMD_DO_CHANGE_SPEED and item.param2 > 0:
            self.speed_mps = item.param2
        elif item.command == mav.MAV_CMD_DO_SET_ROI:
            self.roi_xy_m = self.proj.to_xy(item.lat, item.lon) if (item.lat or item.lon) else None
        elif item.command == mav.MAV_CMD_DO_MOUNT_CONTROL:
            self.set_gimbal(item.param1, item.param3)
        elif item.command == mav.MAV_CMD_DO_GIMBAL_MANAGER_PITCHYAW:
            self.set_gimbal(item.param1, item.param2)
        else:
            self._say(f"Mission: {item.command} ignored by simulator", mav.MAV_SEVERITY_NOTICE)

    def _advance_mission(self, reached: bool = True) -> None:
        if reached:
            self.events.append(SimEvent("mission_item_reached", self.mission_seq))
        self.mission_seq += 1
        if self.mission_seq >= len(self.mission):
            self.mission_seq = len(self.mission) - 1
            self.mission_complete = True
            self.nav = Nav("hold", (self.x_m, self.y_m, self.alt_m))
            self.events.append(SimEvent("mission_current", self.mission_seq))
            return
        self.events.append(SimEvent("mission_current", self.mission_seq))
