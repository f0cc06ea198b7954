"""A simulated multicopter: ArduCopter-like modes, pre-arm checks, guided flight, kinematics and battery;
no I/O. Missions are run by its `MissionExecution` half (mission_execution.py)."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass, field

from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.mission_execution import MissionExecution
from drone.sim.vehicle_types import (
    ARMABLE_MODES,
    COPTER_MODES,
    MissionItem,
    Nav,
    SimConfig,
    SimEvent,
    SimPose,
)
from tenken.geo import LocalProjection

# Largest physics step; bigger wall steps (high speed-up) are split so waypoints are never overshot.
MAX_STEP_S = 0.1


@dataclass
class SimVehicle(MissionExecution):
    """State and behaviour of the simulated copter. Thread-safe through `lock`; time is simulated seconds."""

    config: SimConfig = field(default_factory=SimConfig)

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.proj = LocalProjection(self.config.home_lat, self.config.home_lon)
        self.time_s = 0.0
        self.x_m = 0.0
        self.y_m = 0.0
        self.alt_m = 0.0
        self.vx_mps = 0.0
        self.vy_mps = 0.0
        self.vz_mps = 0.0  # up positive
        self.heading_deg = 0.0
        self.armed = False
        self.landed = True
        self.mode = "STABILIZE"
        self.gps_fix = 1
        self.home_set = False
        self.home_xy_m = (0.0, 0.0)
        self.speed_mps = self.config.speed_mps
        self.gimbal_pitch_deg = self.config.gimbal_pitch_deg
        self.gimbal_yaw_deg = 0.0  # relative to the airframe's heading
        self.failsafe = False  # an autopilot failsafe is active (set by the server): MAV_STATE_CRITICAL
        self.roi_xy_m: tuple[float, float] | None = None
        self.mission: list[MissionItem] = []
        self.mission_seq = 0
        self.mission_started = False
        self.mission_complete = False
        self.nav = Nav()
        self.battery_used_mah = self.config.battery_capacity_mah * (
            1.0 - self.config.battery_start_pct / 100.0
        )
        self.current_a = 0.0
        self.events: deque[SimEvent] = deque()
        self.mode_log: list[tuple[float, str, str]] = []  # (time_s, mode, who: gcs/mission/vehicle)
        self.arm_log: list[tuple[float, bool]] = []

    # ---- read-outs -------------------------------------------------------------------------------

    @property
    def latlon(self) -> tuple[float, float]:
        return self.proj.to_latlon(self.x_m, self.y_m)

    @property
    def home_latlon(self) -> tuple[float, float]:
        return self.proj.to_latlon(*self.home_xy_m)

    @property
    def groundspeed_mps(self) -> float:
        return math.hypot(self.vx_mps, self.vy_mps)

    @property
    def battery_pct(self) -> float:
        return max(0.0, 100.0 * (1.0 - self.battery_used_mah / self.config.battery_capacity_mah))

    @property
    def battery_voltage_v(self) -> float:
        cell_v = 3.5 + 0.7 * self.battery_pct / 100.0 - 0.004 * self.current_a
        return self.config.battery_cells * cell_v

    @property
    def ekf_ok(self) -> bool:
        return self.gps_fix >= 3

    @property
    def pitch_deg(self) -> float:
        return -min(2.0 * self.groundspeed_mps, 25.0)

    @property
    def camera_heading_deg(self) -> float:
        """Where the camera looks, clockwise from north: the airframe's heading plus the gimbal's yaw."""
        return (self.heading_deg + self.gimbal_yaw_deg) % 360.0

    def target_offsets(self) -> tuple[float, float, float]:
        """(bearing_deg, distance_m, altitude error m) to the current navigation target (zeros: none)."""
        if self.nav.target is None:
            return 0.0, 0.0, 0.0
        tx, ty, tz = self.nav.target
        dx, dy = tx - self.x_m, ty - self.y_m
        return math.degrees(math.atan2(dx, dy)) % 360.0, math.hypot(dx, dy), tz - self.alt_m

    def pose(self) -> SimPose:
        with self.lock:
            lat, lon = self.latlon
            return SimPose(self.time_s, lat, lon, self.alt_m, self.camera_heading_deg, self.gimbal_pitch_deg)

    # ---- commands ----------------------------------------------------------------------------------

    def set_mode(self, name: str, source: str = "gcs") -> bool:
        """Change flight mode; False (with a STATUSTEXT) when ArduCopter would refuse it."""
        if name not in COPTER_MODES:
            self._say(f"Mode change to {name} failed: unknown mode", mav.MAV_SEVERITY_WARNING)
            return False
        if name in ("AUTO", "GUIDED", "RTL", "LOITER", "POSHOLD") and not self.ekf_ok:
            self._say(f"Mode change to {name} failed: requires position", mav.MAV_SEVERITY_WARNING)
            return False
        if name in self.config.refused_modes:
            self._say(f"Mode change to {name} failed", mav.MAV_SEVERITY_WARNING)
            return False
        if name == "RTL" and not self.home_set:
            self._say("Mode change to RTL failed: no home", mav.MAV_SEVERITY_WARNING)
            return False
        self.mode = name
        self.mode_log.append((self.time_s, name, source))
        if name == "AUTO":
            if self.mission_seq < 1:
                self.mission_seq = 1
            self._start_mission_item()
        elif name == "RTL":
            self._start_rtl()
        elif name == "LAND":
            self.nav = Nav("land")
        else:
            self.nav = Nav("hold", (self.x_m, self.y_m, self.alt_m))
        return True

    def arm(self) -> str | None:
        """Arm; returns the pre-arm failure text, or None when armed."""
        if self.armed:
            return None
        failure = self.prearm_failure()
        if failure is not None:
            return failure
        self.armed = True
        self.arm_log.append((self.time_s, True))
        self.home_xy_m = (self.x_m, self.y_m)
        self.home_set = True
        self.events.append(SimEvent("home"))
        self.nav = Nav("idle")
        return None

    def prearm_failure(self) -> str | None:
        """Why arming would be refused now, as ArduCopter words it; None when it would arm."""
        if self.gps_fix < 3:
            return "PreArm: GPS 1: Bad fix"
        if not self.ekf_ok:
            return "PreArm: EKF3 waiting for GPS config data"
        if self.mode not in ARMABLE_MODES:
            return f"Arm: Mode not armable ({self.mode})"
        if self.battery_pct < 10.0:
            return "PreArm: Battery 1 below minimum arming capacity"
        return None

    def disarm(self, force: bool = False) -> str | None:
        if not self.armed:
            return None
        if not self.landed and not force:
            return "Disarm: vehicle is flying"
        self._disarm()
        return None

    def _disarm(self) -> None:
        self.armed = False
        self.arm_log.append((self.time_s, False))
        self.vx_mps = self.vy_mps = self.vz_mps = 0.0
        self.nav = Nav("idle")

    def takeoff(self, alt_m: float) -> str | None:
        if self.mode != "GUIDED":
            return "Takeoff: not in GUIDED"
        if not self.armed:
            return "Takeoff: not armed"
        if alt_m <= 0:
            return "Takeoff: bad altitude"
        if not self.landed:
            return "Takeoff: already flying"
        self.nav = Nav("takeoff", (self.x_m, self.y_m, alt_m))
        self.landed = False
        return None

    def goto(self, lat: float, lon: float, alt_m: float) -> str | None:
        """Fly to a point (altitude above home) in GUIDED. Accepted on the ground too, like ArduCopter,
        where it does nothing until the vehicle has taken off."""
        if self.mode != "GUIDED":
            return "Goto: not in GUIDED"
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or (lat == 0.0 and lon == 0.0):
            return "Goto: bad location"
        if self.armed and not self.landed:
            x, y = self.proj.to_xy(lat, lon)
            self.nav = Nav("goto", (x, y, alt_m))
        return None

    def change_alt(self, alt_m: float) -> str | None:
        """A new target altitude above home for the current GUIDED target (MISSION_ITEM current=3)."""
        if self.mode != "GUIDED" or self.nav.target is None or self.landed:
            return "Change altitude: no GUIDED target"
        x, y, _ = self.nav.target
        self.nav = Nav("goto", (x, y, alt_m))
        return None

    def set_home(self, lat: float | None = None, lon: float | None = None) -> str | None:
        """Move home to a point, or to the current position when no point is given."""
        if not self.ekf_ok:
            return "Set home: no position"
        self.home_xy_m = (self.x_m, self.y_m) if lat is None or lon is None else self.proj.to_xy(lat, lon)
        self.home_set = True
        self.events.append(SimEvent("home"))
        return None

    # ---- physics ------------------------------------------------------------------------------------

    def step(self, dt_s: float) -> None:
        """Advance simulated time by `dt_s`, in sub-steps small enough not to overshoot a waypoint."""
        with self.lock:
            while dt_s > 1e-9:
                sub = min(dt_s, MAX_STEP_S)
                self._step(sub)
                dt_s -= sub

    def _step(self, dt: float) -> None:
        self.time_s += dt
        if self.gps_fix < 3 and self.time_s >= self.config.gps_lock_after_s:
            self.gps_fix = 3
            if not self.home_set:
                self.home_set = True
                self.events.append(SimEvent("home"))
                self._say("EKF3 IMU0 is using GPS")
        if self.armed:
            self._fly(dt)
        else:
            self.vx_mps = self.vy_mps = self.vz_mps = 0.0
        self._drain(dt)

    def _drain(self, dt: float) -> None:
        if not self.armed:
            self.current_a = 0.4
        elif self.landed:
            self.current_a = 2.0
        else:
            self.current_a = self.config.hover_current_a * (1.0 + 0.02 * self.groundspeed_mps)
        self.battery_used_mah += self.current_a * dt / 3.6 * self.config.battery_drain_scale

    def _fly(self, dt: float) -> None:
        nav = self.nav
        if nav.phase == "land":
            self._move_towards((self.x_m, self.y_m, 0.0), dt, land=True)
            if self.alt_m <= 0.0:
                self._touch_down()
            return
        if nav.target is None or nav.phase in ("idle",):
            self.vx_mps = self.vy_mps = self.vz_mps = 0.0
            return
        reached = self._move_towards(nav.target, dt)
        if not reached:
            return
        if nav.phase == "rtl_climb":
            hx, hy = self.home_xy_m
            self.nav = Nav("rtl_return", (hx, hy, nav.target[2]))
        elif nav.phase == "rtl_return":
            self.nav = Nav("land")
        elif nav.phase in ("takeoff", "goto") and self.mode == "AUTO":
            self._advance_mission()
            self._start_mission_item()
        elif nav.phase in ("takeoff", "goto"):
            self.nav = Nav("hold", nav.target)

    def _touch_down(self) -> None:
        self.alt_m = 0.0
        self.landed = True
        if self.mode == "AUTO" and 0 < self.mission_seq < len(self.mission):
            self.events.append(SimEvent("mission_item_reached", self.mission_seq))
            self.mission_complete = self.mission_seq == len(self.mission) - 1
        self._say("Land complete, disarming")
        self._disarm()

    def _move_towards(self, target: tuple[float, float, float], dt: float, land: bool = False) -> bool:
        tx, ty, tz = target
        dx, dy, dz = tx - self.x_m, ty - self.y_m, tz - self.alt_m
        dist_h = math.hypot(dx, dy)
        step_h = min(dist_h, self.speed_mps * dt)
        if land:
            rate = (
                self.config.land_mps
                if self.alt_m <= self.config.land_slow_below_m
                else self.config.descent_mps
            )
        else:
            rate = self.config.climb_mps if dz > 0 else self.config.descent_mps
        step_v = math.copysign(min(abs(dz), rate * dt), dz)
        if dist_h > 1e-9:
            ux, uy = dx / dist_h, dy / dist_h
            self.x_m += ux * step_h
            self.y_m += uy * step_h
            self.vx_mps, self.vy_mps = ux * step_h / dt, uy * step_h / dt
            if step_h / dt > 0.5:
                self.heading_deg = math.degrees(math.atan2(ux, uy)) % 360.0
        else:
            self.vx_mps = self.vy_mps = 0.0
        if self.roi_xy_m is not None and self.mode == "AUTO":
            rx, ry = self.roi_xy_m[0] - self.x_m, self.roi_xy_m[1] - self.y_m
            if math.hypot(rx, ry) > 1.0:
                self.heading_deg = math.degrees(math.atan2(rx, ry)) % 360.0
        self.alt_m = max(0.0, self.alt_m + step_v)
        self.vz_mps = step_v / dt
        remaining_h = dist_h - step_h
        return remaining_h <= 1e-6 and abs(tz - self.alt_m) <= 1e-6
