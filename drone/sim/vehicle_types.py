"""Values the simulated vehicle takes and gives: its settings, mode numbers, mission items, poses, events."""

from __future__ import annotations

from dataclasses import dataclass

from pymavlink.dialects.v20 import ardupilotmega as mav

# ArduCopter custom_mode numbers (the ones the simulator flies; others are accepted and hold position).
COPTER_MODES: dict[str, int] = {
    "STABILIZE": 0,
    "ALT_HOLD": 2,
    "AUTO": 3,
    "GUIDED": 4,
    "LOITER": 5,
    "RTL": 6,
    "LAND": 9,
    "POSHOLD": 16,
    "BRAKE": 17,
}
MODE_NAMES: dict[int, str] = {number: name for name, number in COPTER_MODES.items()}
ARMABLE_MODES = frozenset({"STABILIZE", "ALT_HOLD", "GUIDED", "LOITER", "POSHOLD"})


@dataclass(frozen=True)
class SimConfig:
    """Physical and ArduPilot-like settings of the simulated vehicle."""

    home_lat: float = 35.6074
    home_lon: float = 140.1065
    home_amsl_m: float = 20.0
    speed_mps: float = 10.0  # WPNAV_SPEED
    climb_mps: float = 2.5  # WPNAV_SPEED_UP
    descent_mps: float = 1.5  # WPNAV_SPEED_DN
    land_mps: float = 0.5  # LAND_SPEED
    land_slow_below_m: float = 10.0
    rtl_alt_m: float = 15.0  # RTL_ALT
    gps_lock_after_s: float = 2.0  # simulated GPS/EKF warm-up: not armable before it
    battery_capacity_mah: float = 5200.0
    battery_cells: int = 4
    battery_start_pct: float = 100.0
    battery_drain_scale: float = 1.0  # >1 empties the battery faster (tests of the low-battery failsafe)
    hover_current_a: float = 18.0
    battery_reports_pct: bool = True  # False: a voltage-only monitor (SYS_STATUS battery_remaining = -1)
    gimbal_pitch_deg: float = -90.0
    # Fault injection: modes the autopilot refuses (e.g. "RTL", as when it has no home or position).
    refused_modes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class MissionItem:
    """One stored mission item, MAVLink MISSION_ITEM_INT semantics (lat/lon in degrees here)."""

    seq: int
    frame: int
    command: int
    param1: float = 0.0
    param2: float = 0.0
    param3: float = 0.0
    param4: float = 0.0
    lat: float = 0.0
    lon: float = 0.0
    alt_m: float = 0.0
    autocontinue: int = 1


@dataclass(frozen=True)
class SimPose:
    """What the simulated camera needs: where the vehicle is and where it looks."""

    timestamp_s: float
    lat: float
    lon: float
    alt_m: float
    heading_deg: float
    gimbal_pitch_deg: float


@dataclass
class SimEvent:
    """Something the vehicle wants to tell the ground station (the server encodes it)."""

    kind: str  # "statustext", "mission_item_reached", "mission_current", "home"
    value: int = 0
    text: str = ""
    severity: int = mav.MAV_SEVERITY_INFO


@dataclass
class Nav:
    """Progress of the current navigation job (takeoff, waypoint, RTL or land)."""

    phase: str = "idle"  # idle, takeoff, goto, rtl_climb, rtl_return, land, hold
    target: tuple[float, float, float] | None = None  # x_m, y_m, alt_m
