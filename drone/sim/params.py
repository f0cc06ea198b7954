"""The simulator's parameters: a small ArduCopter-like table with ArduPilot's names, units and types."""

from __future__ import annotations

import math

from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.vehicle_types import SimConfig

INT8, INT16, INT32, REAL32 = (
    mav.MAV_PARAM_TYPE_INT8,
    mav.MAV_PARAM_TYPE_INT16,
    mav.MAV_PARAM_TYPE_INT32,
    mav.MAV_PARAM_TYPE_REAL32,
)
_INT_RANGES = {INT8: (-(2**7), 2**7 - 1), INT16: (-(2**15), 2**15 - 1), INT32: (-(2**31), 2**31 - 1)}

# ArduPilot's storage type of each parameter (AP_Int8, AP_Int16, AP_Int32, AP_Float), as it reports them.
PARAM_TYPES: dict[str, int] = {
    "SYSID_THISMAV": INT16,
    "SYSID_MYGCS": INT16,
    "FRAME_CLASS": INT8,
    "FRAME_TYPE": INT8,
    "ARMING_CHECK": INT32,
    "WPNAV_SPEED": REAL32,
    "WPNAV_SPEED_UP": REAL32,
    "WPNAV_SPEED_DN": REAL32,
    "WPNAV_RADIUS": REAL32,
    "LAND_SPEED": INT16,
    "RTL_ALT": INT32,
    "FS_GCS_ENABLE": INT8,
    "FS_GCS_TIMEOUT": REAL32,
    "BATT_MONITOR": INT8,
    "BATT_CAPACITY": INT32,
    "BATT_LOW_VOLT": REAL32,
    "BATT_CRT_VOLT": REAL32,
    "BATT_LOW_MAH": REAL32,
    "BATT_FS_LOW_ACT": INT8,
    "BATT_FS_CRT_ACT": INT8,
    "MNT1_TYPE": INT8,
    "MNT1_PITCH_MIN": INT16,
    "MNT1_PITCH_MAX": INT16,
    "MNT1_YAW_MIN": INT16,
    "MNT1_YAW_MAX": INT16,
    "SR0_RAW_SENS": INT16,
    "SR0_EXT_STAT": INT16,
    "SR0_RC_CHAN": INT16,
    "SR0_RAW_CTRL": INT16,
    "SR0_POSITION": INT16,
    "SR0_EXTRA1": INT16,
    "SR0_EXTRA2": INT16,
    "SR0_EXTRA3": INT16,
}


def default_params(config: SimConfig, stream_hz: float = 4.0) -> dict[str, float]:
    """ArduCopter parameter values (cm, cm/s, volts, Hz) filled from the simulator's config.

    `stream_hz` is the rate of every telemetry stream (the SR0_* parameters) until a ground station asks
    for another with REQUEST_DATA_STREAM, SET_MESSAGE_INTERVAL or PARAM_SET."""
    values = {
        "SYSID_THISMAV": 1.0,
        "SYSID_MYGCS": 255.0,
        "FRAME_CLASS": 1.0,
        "FRAME_TYPE": 1.0,
        "ARMING_CHECK": 1.0,
        "WPNAV_SPEED": config.speed_mps * 100.0,
        "WPNAV_SPEED_UP": config.climb_mps * 100.0,
        "WPNAV_SPEED_DN": config.descent_mps * 100.0,
        "WPNAV_RADIUS": 200.0,
        "LAND_SPEED": config.land_mps * 100.0,
        "RTL_ALT": config.rtl_alt_m * 100.0,
        "FS_GCS_ENABLE": 0.0,  # 1: RTL when no ground-station heartbeat for FS_GCS_TIMEOUT s
        "FS_GCS_TIMEOUT": 5.0,
        "BATT_MONITOR": 4.0,
        "BATT_CAPACITY": config.battery_capacity_mah,
        "BATT_LOW_VOLT": 3.6 * config.battery_cells,
        "BATT_CRT_VOLT": 3.5 * config.battery_cells,
        "BATT_LOW_MAH": 0.0,  # the low-battery failsafe fires below this many mAh left (0: off)
        "BATT_FS_LOW_ACT": 0.0,  # 1: LAND, 2: RTL
        "BATT_FS_CRT_ACT": 0.0,
        "MNT1_TYPE": 1.0,
        "MNT1_PITCH_MIN": -90.0,
        "MNT1_PITCH_MAX": 30.0,
        "MNT1_YAW_MIN": -180.0,
        "MNT1_YAW_MAX": 180.0,
    }
    for stream in ("RAW_SENS", "EXT_STAT", "RC_CHAN", "RAW_CTRL", "POSITION", "EXTRA1", "EXTRA2", "EXTRA3"):
        values[f"SR0_{stream}"] = float(round(stream_hz))
    assert set(values) == set(PARAM_TYPES), "every parameter needs its ArduPilot type"
    return {name: coerce(name, value) for name, value in values.items()}


def coerce(name: str, value: float) -> float:
    """The value as ArduPilot stores it: integer parameters truncated (with its 0.01 rounding) and clamped."""
    kind = PARAM_TYPES[name]
    if kind == REAL32 or not math.isfinite(value):
        return float(value)
    low, high = _INT_RANGES[kind]
    return float(max(low, min(high, int(value + math.copysign(0.01, value)))))
