"""Flight scripts against the simulator over a real DroneKit TCP connection."""

from __future__ import annotations

import re
import threading

import pytest

from drone.flight import FlightOptions, FlightOutcome, MissionFlight
from drone.link import VehicleLink
from drone.missions import CameraFov, MissionLimits, survey_grid
from tenken.cli import main
from tenken.errors import VehicleError

from .conftest import HOME, square_ring, start_sim, wait_until, write_area

CAMERA = CameraFov(73.7, 53.1)


def _fly_cli(port: int, area, *extra: str) -> int:
    return main(["fly", "survey", "--area", str(area), "--altitude-m", "20", "--speed-mps", "10",
                 "--connect", f"tcp:127.0.0.1:{port}", "--connect-timeout-s", "20", *extra])  # fmt: skip


def test_survey_flies_to_completion_and_lands_at_home(sim, tmp_path, capsys):
    area = write_area(tmp_path / "area.geojson", square_ring(HOME, 30.0))

    rc = _fly_cli(sim.port, area)

    out = capsys.readouterr().out
    assert rc == 0, out
    assert "COMPLETED" in out
    vehicle = sim.vehicle
    assert not vehicle.armed and vehicle.landed
    assert [mode for _, mode, _ in vehicle.mode_log] == ["GUIDED", "AUTO"]
    assert vehicle.mission_seq == len(vehicle.mission) - 1  # ended on the RTL item
    home_x, home_y = vehicle.home_xy_m
    assert abs(vehicle.x_m - home_x) < 0.5 and abs(vehicle.y_m - home_y) < 0.5


def test_link_lost_mid_mission_commands_rtl_and_exits_with_link_lost(sim, tmp_path, capsys):
    area = write_area(tmp_path / "area.geojson", square_ring(HOME, 40.0))

    def drop_when_surveying() -> None:
        if wait_until(lambda: sim.vehicle.mode == "AUTO" and sim.vehicle.mission_seq >= 7, 30.0):
            sim.drop_link(uplink=False)  # telemetry gone, the ground station's commands still get through

    dropper = threading.Thread(target=drop_when_surveying, daemon=True)
    dropper.start()
    rc = _fly_cli(sim.port, area, "--link-timeout-s", "1.5", "--relink-wait-s", "1")
    dropper.join()

    out = capsys.readouterr().out
    assert rc == FlightOutcome.LINK_LOST.exit_code == 3, out
    assert "link lost" in out and "RTL commanded" in out
    assert "RTL" in [mode for _, mode, who in sim.vehicle.mode_log if who == "gcs"]
    assert wait_until(lambda: not sim.vehicle.armed, 30.0), "the vehicle should come home and land"


def test_low_battery_mid_mission_returns_home_and_exits_with_low_battery(tmp_path, capsys):
    # Enough battery for the planned mission at take-off, but it drains 4x faster than planned.
    server = start_sim(battery_start_pct=50.0, battery_drain_scale=4.0)
    try:
        area = write_area(tmp_path / "area.geojson", square_ring(HOME, 60.0))
        rc = _fly_cli(server.port, area, "--low-battery-pct", "30")
    finally:
        server.stop()

    out = capsys.readouterr().out
    assert rc == FlightOutcome.LOW_BATTERY.exit_code == 4, out
    assert "battery low" in out
    assert "RTL" in [mode for _, mode, who in server.vehicle.mode_log if who == "gcs"]
    assert not server.vehicle.armed and server.vehicle.landed


def test_autopilot_battery_failsafe_is_followed_not_overridden(tmp_path, capsys):
    # The autopilot's failsafe fires at 35 %, well before the script's own threshold (5 %).
    server = start_sim({"BATT_FS_LOW_ACT": 2, "BATT_LOW_MAH": 0.35 * 5200}, battery_start_pct=50.0,
                       battery_drain_scale=3.0)  # fmt: skip
    try:
        area = write_area(tmp_path / "area.geojson", square_ring(HOME, 60.0))
        rc = _fly_cli(server.port, area, "--low-battery-pct", "5")
    finally:
        server.stop()

    out = capsys.readouterr().out
    assert rc == FlightOutcome.ABORTED.exit_code == 5, out
    assert "vehicle left AUTO (now RTL): pilot or autopilot took over; it returned and landed" in out
    modes = [(mode, who) for _, mode, who in server.vehicle.mode_log]
    assert ("RTL", "failsafe") in modes and ("RTL", "gcs") not in modes
    assert not server.vehicle.armed


def test_total_link_loss_leaves_the_return_to_the_autopilot_gcs_failsafe(tmp_path, capsys):
    server = start_sim({"FS_GCS_ENABLE": 1, "FS_GCS_TIMEOUT": 2.0})
    area = write_area(tmp_path / "area.geojson", square_ring(HOME, 40.0))

    def drop_when_surveying() -> None:
        if wait_until(lambda: server.vehicle.mode == "AUTO" and server.vehicle.mission_seq >= 7, 30.0):
            server.drop_link()

    dropper = threading.Thread(target=drop_when_surveying, daemon=True)
    dropper.start()
    try:
        rc = _fly_cli(server.port, area, "--link-timeout-s", "1.5", "--relink-wait-s", "1")
        dropper.join()
        assert wait_until(lambda: not server.vehicle.armed, 30.0), "the failsafe should bring it home"
    finally:
        server.stop()

    out = capsys.readouterr().out
    assert rc == 3, out
    assert "RTL commanded but not confirmed" in out
    modes = [(mode, who) for _, mode, who in server.vehicle.mode_log]
    assert ("RTL", "failsafe") in modes and ("RTL", "gcs") not in modes


def test_self_intersecting_area_is_one_error_line_and_never_arms(sim, tmp_path, capsys):
    a, b, c, d = square_ring(HOME, 30.0)
    area = write_area(tmp_path / "bowtie.geojson", [a, c, b, d])

    rc = _fly_cli(sim.port, area)

    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert err == ["error: survey polygon crosses itself; draw its outline without crossing edges"]
    assert sim.vehicle.arm_log == []


def test_altitude_above_ceiling_is_rejected_before_connecting(sim, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TENKEN_DRONE_CEILING_M", "100")
    area = write_area(tmp_path / "area.geojson", square_ring(HOME, 30.0))

    rc = main(
        [
            "fly",
            "survey",
            "--area",
            str(area),
            "--altitude-m",
            "120",
            "--connect",
            f"tcp:127.0.0.1:{sim.port}",
        ]
    )

    assert rc == 2
    assert "above the 100 m ceiling" in capsys.readouterr().err
    assert sim.received == []  # no ground station ever talked to the vehicle


def test_mission_longer_than_the_battery_left_is_rejected_and_never_arms(tmp_path, capsys):
    server = start_sim(battery_start_pct=35.0)
    try:
        area = write_area(tmp_path / "area.geojson", square_ring(HOME, 50.0))
        rc = _fly_cli(server.port, area)
    finally:
        server.stop()

    err = capsys.readouterr().err
    assert rc == 2
    assert re.search(r"but the battery \(3\d %, keeping 25 % in reserve\) allows \d+\.\d min", err), err
    assert server.vehicle.arm_log == []


def _flight(sim, options: FlightOptions, progress) -> tuple[MissionFlight, VehicleLink]:
    link = VehicleLink.connect(f"tcp:127.0.0.1:{sim.port}", timeout_s=20)
    mission = survey_grid(square_ring(HOME, 40.0), altitude_m=20, camera=CAMERA, speed_mps=10)
    return MissionFlight(link, mission, MissionLimits(), options, progress=progress), link


def _interrupt_in_mission(progress) -> None:
    if progress.phase == "mission" and progress.item >= 6:
        raise KeyboardInterrupt


def test_ctrl_c_commands_rtl_and_reports_interrupted(sim):
    flight, link = _flight(sim, FlightOptions(), _interrupt_in_mission)
    try:
        report = flight.run()
    finally:
        link.close()

    assert report.outcome is FlightOutcome.INTERRUPTED
    assert report.outcome.exit_code == 130
    assert sim.vehicle.mode == "RTL"
    assert "RTL commanded and confirmed" in report.message


def test_vehicle_refusing_rtl_is_landed_instead():
    server = start_sim(refused_modes=frozenset({"RTL"}))
    try:
        flight, link = _flight(server, FlightOptions(mode_timeout_s=1.5), _interrupt_in_mission)
        try:
            report = flight.run()
        finally:
            link.close()
    finally:
        server.stop()

    assert report.outcome is FlightOutcome.INTERRUPTED
    assert "LAND commanded" in report.message
    assert server.vehicle.mode == "LAND"


def test_connecting_to_nothing_fails_with_a_vehicle_error():
    with pytest.raises(VehicleError, match=r"cannot connect to tcp:127\.0\.0\.1:9"):
        VehicleLink.connect("tcp:127.0.0.1:9", timeout_s=2)
