"""A planned Mission as ArduCopter mission items (DroneKit CommandInt), and back to waypoints."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dronekit import Command, CommandInt
from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.missions import Mission, Waypoint

FRAME = mav.MAV_FRAME_GLOBAL_RELATIVE_ALT  # altitudes above home, as ArduPilot expects from GCSs
NAV_COMMANDS = frozenset({mav.MAV_CMD_NAV_WAYPOINT, mav.MAV_CMD_NAV_TAKEOFF, mav.MAV_CMD_NAV_RETURN_TO_LAUNCH,
                          mav.MAV_CMD_NAV_LAND})  # fmt: skip


def _item(command: int, p1: float = 0, p2: float = 0, p3: float = 0, p4: float = 0,
          lat: float = 0.0, lon: float = 0.0, alt_m: float = 0.0) -> CommandInt:  # fmt: skip
    float_cmd = Command(0, 0, 0, FRAME, command, 0, 1, p1, p2, p3, p4, lat, lon, alt_m)
    return CommandInt.from_command(float_cmd)


def mission_commands(mission: Mission) -> list[CommandInt]:
    """Take off, set speed and camera, (look at the point of interest), the waypoints, return to launch.

    The list excludes the home slot (item 0), which DroneKit keeps when uploading.
    """
    items = [
        _item(mav.MAV_CMD_NAV_TAKEOFF, alt_m=mission.altitude_m),
        _item(mav.MAV_CMD_DO_CHANGE_SPEED, 1, mission.speed_mps, -1),
        _item(
            mav.MAV_CMD_DO_MOUNT_CONTROL,
            mission.gimbal_pitch_deg,
            0,
            0,
            0,
            0,
            0,
            mav.MAV_MOUNT_MODE_MAVLINK_TARGETING,
        ),
    ]
    if mission.roi is not None:
        items.append(_item(mav.MAV_CMD_DO_SET_ROI, lat=mission.roi[0], lon=mission.roi[1]))
    items.extend(
        _item(mav.MAV_CMD_NAV_WAYPOINT, lat=w.lat, lon=w.lon, alt_m=w.alt_m) for w in mission.waypoints
    )
    items.append(_item(mav.MAV_CMD_NAV_RETURN_TO_LAUNCH))
    return items


def _latlon(item: Any) -> tuple[float, float]:
    if item.get_type() == "MISSION_ITEM_INT":
        return item.x / 1e7, item.y / 1e7
    return float(item.x), float(item.y)


def waypoints_of(items: Sequence[Any]) -> list[Waypoint]:
    """The NAV_WAYPOINT positions of downloaded (or planned) items, in order."""
    return [Waypoint(*_latlon(i), float(i.z)) for i in items if i.command == mav.MAV_CMD_NAV_WAYPOINT]


def same_items(planned: Sequence[Any], downloaded: Sequence[Any], tolerance_deg: float = 3e-5) -> bool:
    """True when the vehicle holds the planned commands (same order, commands and positions).

    The tolerance allows for float32 MISSION_ITEM downloads (about 1.5 m of longitude at 140°).
    """
    if len(planned) != len(downloaded):
        return False
    for a, b in zip(planned, downloaded, strict=True):
        if a.command != b.command:
            return False
        (alat, alon), (blat, blon) = _latlon(a), _latlon(b)
        if abs(alat - blat) > tolerance_deg or abs(alon - blon) > tolerance_deg or abs(a.z - b.z) > 0.05:
            return False
    return True
