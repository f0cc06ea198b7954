"""MAVProxy (the pinned release, driven through its console) flies the simulator as it flies ArduPilot."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from drone.sim.mavlink_server import SimServer

from .conftest import HOME, wait_until
from .mavproxy_console import MavproxyConsole

# A QGC WPL 110 mission as Mission Planner / MAVProxy save it: home, take-off, two waypoints, RTL.
WAYPOINTS = [
    (0, 1, 0, 16, 0, 0, 0, 0, HOME[0], HOME[1], 20.0, 1),
    (1, 0, 3, 22, 0, 0, 0, 0, 0.0, 0.0, 15.0, 1),
    (2, 0, 3, 16, 0, 0, 0, 0, HOME[0] + 0.0003, HOME[1], 20.0, 1),
    (3, 0, 3, 16, 0, 0, 0, 0, HOME[0] + 0.0003, HOME[1] + 0.0004, 20.0, 1),
    (4, 0, 3, 20, 0, 0, 0, 0, 0.0, 0.0, 0.0, 1),
]


def _write_wpl(path: Path, rows: list[tuple[float, ...]]) -> Path:
    lines = ["QGC WPL 110"] + [
        "\t".join(f"{v:.7f}" if isinstance(v, float) else str(v) for v in row) for row in rows
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _read_wpl(path: Path) -> list[tuple[float, ...]]:
    rows = [line.split() for line in path.read_text().splitlines()[1:] if line.strip()]
    return [tuple(float(v) for v in row) for row in rows]


@pytest.fixture
def mavproxy(sim: SimServer, tmp_path: Path) -> Iterator[MavproxyConsole]:
    console = MavproxyConsole(f"tcp:127.0.0.1:{sim.port}", tmp_path)
    try:
        console.expect(r"online system 1")
        console.expect(r"Mode STABILIZE")
        assert wait_until(lambda: sim.vehicle.ekf_ok, 20.0)
        yield console
    finally:
        console.close()


def _arm_and_take_off(mavproxy: MavproxyConsole, sim: SimServer, alt_m: float) -> None:
    mavproxy.send("mode guided")
    mavproxy.expect(r"Got COMMAND_ACK: DO_SET_MODE: ACCEPTED")
    mavproxy.send("arm throttle")
    mavproxy.expect(r"Got COMMAND_ACK: COMPONENT_ARM_DISARM: ACCEPTED")
    mavproxy.send(f"takeoff {alt_m:g}")
    mavproxy.expect(r"Got COMMAND_ACK: NAV_TAKEOFF: ACCEPTED")
    assert wait_until(lambda: abs(sim.vehicle.alt_m - alt_m) < 0.1, 30.0)


def test_mavproxy_loads_reads_back_and_flies_a_qgc_wpl_mission(mavproxy, sim, tmp_path):
    mission = _write_wpl(tmp_path / "mission.txt", WAYPOINTS)
    mavproxy.send(f"wp load {mission.name}")
    mavproxy.expect(r"Sent all 5 waypoints")
    mavproxy.expect(r"Got MISSION_ACK: TYPE_MISSION: ACCEPTED")

    mavproxy.send("wp save readback.txt")
    mavproxy.expect(r"Saved 5 waypoints to readback.txt")
    readback = _read_wpl(tmp_path / "readback.txt")
    for sent, got in zip(WAYPOINTS, readback, strict=True):
        assert got[2:4] == pytest.approx(sent[2:4])  # frame, command
        assert got[8:11] == pytest.approx(sent[8:11], abs=1e-6)  # lat, lon, alt

    mavproxy.send("wp changealt 3 30")  # a partial upload (MISSION_WRITE_PARTIAL_LIST) of one item
    mavproxy.expect(r"Got MISSION_ACK: TYPE_MISSION: ACCEPTED")
    assert sim.vehicle.mission[3].alt_m == 30.0 and len(sim.vehicle.mission) == 5

    _arm_and_take_off(mavproxy, sim, 10.0)
    mavproxy.send("mode auto")
    mavproxy.expect(r"Got COMMAND_ACK: DO_SET_MODE: ACCEPTED")
    mavproxy.expect(r"waypoint 4", timeout_s=60)  # MISSION_CURRENT reached the RTL item
    assert wait_until(lambda: not sim.vehicle.armed, 60.0), mavproxy.output
    mavproxy.expect(r"DISARMED")
    v = sim.vehicle
    assert v.landed and math.hypot(v.x_m - v.home_xy_m[0], v.y_m - v.home_xy_m[1]) < 0.5
    assert "fence breach" not in mavproxy.output


def test_mavproxy_guided_goto_is_acknowledged_and_flown_both_ways(mavproxy, sim):
    _arm_and_take_off(mavproxy, sim, 10.0)
    v = sim.vehicle

    def arrived(lat: float, lon: float, alt_m: float) -> bool:
        x, y = v.proj.to_xy(lat, lon)
        return math.hypot(v.x_m - x, v.y_m - y) < 0.5 and abs(v.alt_m - alt_m) < 0.1

    target = (HOME[0] + 0.0003, HOME[1] + 0.0002, 20.0)
    mavproxy.send("guided {} {} {}".format(*target))  # MAVProxy's default: COMMAND_INT DO_REPOSITION
    mavproxy.expect(r"Got COMMAND_ACK: DO_REPOSITION: ACCEPTED")
    assert wait_until(lambda: arrived(*target), 30.0)

    mavproxy.send("set guided_use_reposition 0")  # the older way: MISSION_ITEM_INT with current=2
    target = (HOME[0] - 0.0002, HOME[1] + 0.0001, 15.0)
    mavproxy.send("guided {} {} {}".format(*target))
    mavproxy.expect(r"Got MISSION_ACK: TYPE_MISSION: ACCEPTED")
    assert wait_until(lambda: arrived(*target), 30.0)
    assert len(v.mission) == 0, "a guided target is not a mission item"


def test_mavproxy_fetches_every_parameter_and_sees_no_fence_breach(mavproxy, sim):
    count = int(mavproxy.expect(r"Received (\d+) parameters", timeout_s=60).group(1))
    assert count == len(sim.params)
    mavproxy.send("param show FRAME_CLASS")
    mavproxy.expect(r"FRAME_CLASS\s+1(\.0)?\b")
    mavproxy.send("fence list")
    mavproxy.expect(r"Got MISSION_ACK: TYPE_FENCE: UNSUPPORTED")
    mavproxy.send("rally list")
    mavproxy.expect(r"Got MISSION_ACK: TYPE_RALLY: UNSUPPORTED")
    assert not re.search(r"fence breach|Fence breach", mavproxy.output), mavproxy.output
