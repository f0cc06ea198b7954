"""Fixtures for the drone tests: a running MAVLink simulator that DroneKit connects to over TCP."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from drone.sim.mavlink_server import SimServer
from drone.sim.vehicle import SimConfig, SimVehicle
from tenken.geo import offset_latlon
from tenken.settings import get_settings

from .ground_station import connect_gcs

HOME = (35.6074, 140.1065)
# Simulated seconds per wall second: a whole survey, landing included, takes a few wall seconds.
SPEEDUP = 30.0


def start_sim(
    params: dict[str, float] | None = None, speedup: float = SPEEDUP, **config: object
) -> SimServer:
    cfg = SimConfig(home_lat=HOME[0], home_lon=HOME[1], gps_lock_after_s=1.0, **config)  # type: ignore[arg-type]
    server = SimServer(SimVehicle(cfg), port=0, speedup=speedup, stream_hz=20.0)
    server.params.update(params or {})
    return server.start()


@pytest.fixture
def sim() -> Iterator[SimServer]:
    server = start_sim()
    yield server
    server.stop()


@pytest.fixture
def gcs(sim: SimServer) -> Iterator[Any]:
    conn = connect_gcs(sim)
    yield conn
    conn.close()


@pytest.fixture(autouse=True)
def _fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def square_ring(center: tuple[float, float], half_m: float) -> list[tuple[float, float]]:
    """(lat, lon) corners of a square of side 2*half_m around `center`."""
    return [offset_latlon(*center, e, n) for e, n in ((-half_m, -half_m), (half_m, -half_m),
                                                      (half_m, half_m), (-half_m, half_m))]  # fmt: skip


def write_area(path: Path, ring: list[tuple[float, float]]) -> Path:
    coords = [[lon, lat] for lat, lon in ring]
    path.write_text(json.dumps({"type": "Polygon", "coordinates": [[*coords, coords[0]]]}))
    return path


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
