"""The simulator's parameters: a small ArduCopter-like set, enough for DroneKit and the flight scripts."""

from __future__ import annotations

from drone.sim.vehicle import SimConfig


def default_params(config: SimConfig) -> dict[str, float]:
    """ArduCopter parameter names and units (cm, cm/s, volts) filled from the simulator's config."""
    return {
        "SYSID_THISMAV": 1.0,
        "FRAME_CLASS": 1.0,
        "FRAME_TYPE": 1.0,
        "ARMING_CHECK": 1.0,
        "WPNAV_SPEED": config.speed_mps * 100.0,
        "WPNAV_SPEED_UP": config.climb_mps * 100.0,
        "WPNAV_SPEED_DN": config.descent_mps * 100.0,
        "WPNAV_RADIUS": 200.0,
        "LAND_SPEED": config.land_mps * 100.0,
        "RTL_ALT": config.rtl_alt_m * 100.0,
        "FENCE_ENABLE": 0.0,
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
        "SR0_POSITION": 4.0,
        "SR0_EXTRA1": 4.0,
        "SR0_EXTRA2": 4.0,
        "SR0_EXT_STAT": 2.0,
    }
