"""A bare pymavlink ground station for the tests: connect, wait for a message, send a command."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from pymavlink import mavutil
from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.mavlink_server import SimServer
from drone.sim.vehicle import COPTER_MODES

# Mission Planner's identity: system 255, component 190 (replies must come back addressed to it).
GCS_SYSID, GCS_COMPID = 255, 190


def connect_gcs(sim: SimServer, sysid: int = GCS_SYSID, compid: int = GCS_COMPID) -> Any:
    conn = mavutil.mavlink_connection(
        f"tcp:127.0.0.1:{sim.port}", source_system=sysid, source_component=compid, dialect="ardupilotmega"
    )
    conn.wait_heartbeat(timeout=10)
    return conn


def recv(conn: Any, kind: str, timeout_s: float = 5.0, **match: object) -> Any:
    """The next `kind` message whose fields equal `match`; fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        msg = conn.recv_match(type=kind, blocking=True, timeout=0.5)
        if msg is not None and all(getattr(msg, k) == v for k, v in match.items()):
            return msg
    raise AssertionError(f"no {kind} {match} within {timeout_s} s")


def command_long(gcs: Any, command: int, *params: float) -> int:
    p = [*params, *[0.0] * (7 - len(params))]
    gcs.mav.command_long_send(1, 1, command, 0, *p)
    return ack(gcs, command)


def command_int(
    gcs: Any,
    command: int,
    *params: float,
    lat: float = 0.0,
    lon: float = 0.0,
    alt: float = 0.0,
    frame: int = mav.MAV_FRAME_GLOBAL_RELATIVE_ALT,
) -> int:
    p = [*params, *[0.0] * (4 - len(params))]
    gcs.mav.command_int_send(1, 1, frame, command, 0, 0, *p, round(lat * 1e7), round(lon * 1e7), alt)
    return ack(gcs, command)


def ack(gcs: Any, command: int) -> int:
    """The result of the COMMAND_ACK for `command`, which must be addressed to this ground station."""
    reply = recv(gcs, "COMMAND_ACK", command=command)
    assert (reply.target_system, reply.target_component) == (GCS_SYSID, GCS_COMPID)
    return int(reply.result)


def fly_guided(gcs: Any, sim: SimServer, alt_m: float = 10.0) -> None:
    """GUIDED, arm and COMMAND_INT take-off to `alt_m`, each acknowledged; returns at that altitude."""
    assert _poll(lambda: sim.vehicle.ekf_ok, 10.0)
    assert (
        command_long(
            gcs, mav.MAV_CMD_DO_SET_MODE, mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED, COPTER_MODES["GUIDED"]
        )
        == mav.MAV_RESULT_ACCEPTED
    )
    assert command_long(gcs, mav.MAV_CMD_COMPONENT_ARM_DISARM, 1) == mav.MAV_RESULT_ACCEPTED
    assert command_int(gcs, mav.MAV_CMD_NAV_TAKEOFF, alt=alt_m) == mav.MAV_RESULT_ACCEPTED
    assert _poll(lambda: abs(sim.vehicle.alt_m - alt_m) < 0.1, 20.0)


def _poll(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not condition():
        time.sleep(0.05)
    return condition()
