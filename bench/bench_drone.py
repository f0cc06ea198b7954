"""Drone-side figures, measured side by side in one run: planning, camera rendering, simulated flights.

.venv/bin/python bench/bench_drone.py [--quick]
"""

from __future__ import annotations

import argparse
import logging
import time

from drone.flight import FlightOptions, MissionFlight
from drone.link import VehicleLink
from drone.missions import CameraFov, MissionLimits, survey_grid
from drone.sim.camera import render_view
from drone.sim.mavlink_server import SimServer
from drone.sim.vehicle import SimConfig, SimPose, SimVehicle
from drone.sim.world import SyntheticWorld
from tenken.geo import offset_latlon

HOME = (35.6074, 140.1065)


def square(half_m: float) -> list[tuple[float, float]]:
    return [offset_latlon(*HOME, e, n) for e, n in ((-half_m, -half_m), (half_m, -half_m), (half_m, half_m),
                                                    (-half_m, half_m))]  # fmt: skip


def bench_planning() -> None:
    for half_m, altitude_m in ((250.0, 40.0), (500.0, 40.0), (500.0, 100.0)):
        t0 = time.perf_counter()
        mission = survey_grid(square(half_m), altitude_m=altitude_m, camera=CameraFov(), side_overlap=0.7)
        ms = (time.perf_counter() - t0) * 1000
        side_m = 2 * half_m
        print(f"plan survey {side_m:.0f} m square at {altitude_m:.0f} m: {len(mission.waypoints)} waypoints, "
              f"{mission.path_length_m / 1000:.1f} km, {ms:.1f} ms")  # fmt: skip


def bench_render(frames: int) -> None:
    t0 = time.perf_counter()
    world = SyntheticWorld(*HOME)
    print(f"build synthetic world 500 m x 500 m at 0.25 m/px: {time.perf_counter() - t0:.2f} s")
    for width, height in ((640, 360), (1280, 720)):
        for pitch in (-90.0, -30.0):
            t0 = time.perf_counter()
            for i in range(frames):
                pose = SimPose(0.0, *offset_latlon(*HOME, i * 0.5, 0.0), 40.0, 45.0, pitch)
                render_view(world, pose, width_px=width, height_px=height)
            fps = frames / (time.perf_counter() - t0)
            print(f"render {width}x{height} gimbal {pitch:+.0f}°: {fps:.0f} frames/s")


def bench_flights(speedups: tuple[float, ...]) -> None:
    mission = survey_grid(square(60.0), altitude_m=30, camera=CameraFov(), speed_mps=10.0)
    rows = []
    for speedup in speedups:
        config = SimConfig(home_lat=HOME[0], home_lon=HOME[1], gps_lock_after_s=1.0)
        with SimServer(SimVehicle(config), port=0, speedup=speedup, stream_hz=20.0) as sim:
            t0 = time.perf_counter()
            link = VehicleLink.connect(f"tcp:127.0.0.1:{sim.port}", timeout_s=30)
            connected_s = time.perf_counter() - t0
            try:
                report = MissionFlight(link, mission, MissionLimits(), FlightOptions()).run()
            finally:
                link.close()
            wall_s = time.perf_counter() - t0
            rows.append((speedup, report.outcome.name, sim.vehicle.time_s, wall_s, connected_s))
    print(
        f"survey of {len(mission.waypoints)} waypoints, {mission.path_length_m:.0f} m, flown with DroneKit:"
    )
    for speedup, outcome, sim_s, wall_s, connected_s in rows:
        print(f"  speed-up {speedup:4.0f}x: {outcome}, {sim_s:5.0f} s simulated in {wall_s:5.1f} s "
              f"(achieved {sim_s / wall_s:4.1f}x; connect {connected_s:.1f} s)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer frames and flights")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    bench_planning()
    bench_render(20 if args.quick else 100)
    bench_flights((30.0,) if args.quick else (5.0, 15.0, 30.0, 60.0))


if __name__ == "__main__":
    main()
