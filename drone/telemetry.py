"""The telemetry bridge: samples vehicle state, keeps a pose history, and publishes state messages
(position, attitude, gimbal, battery, mode, armed and the camera's ground footprint) at a fixed rate."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from drone.state import StateHistory, VehicleState
from tenken.geo import CameraModel, footprint
from tenken.settings import DRONE_CAMERA_HFOV_DEG
from vision.live.pose import below_horizon_deg

log = logging.getLogger(__name__)

Publisher = Callable[[dict[str, Any]], None]
MIN_FOOTPRINT_ALT_M = 1.0  # on the ground the footprint is meaningless


@dataclass(frozen=True)
class CameraSpec:
    """The drone camera's optics; the pitch comes from the gimbal and the height from the altitude."""

    hfov_deg: float = DRONE_CAMERA_HFOV_DEG
    width_px: int = 1280
    height_px: int = 720


def camera_footprint(
    state: VehicleState, camera: CameraSpec, max_range_m: float = 500.0
) -> list[tuple[float, float]] | None:
    """The camera's ground footprint as a (lat, lon) ring over flat ground, or None when unknown."""
    if not state.has_position or state.heading_deg is None or state.gimbal_pitch_deg is None:
        return None
    assert state.lat is not None and state.lon is not None and state.alt_m is not None
    if state.alt_m < MIN_FOOTPRINT_ALT_M:
        return None
    model = CameraModel(
        height_m=state.alt_m,
        pitch_deg=below_horizon_deg(state.gimbal_pitch_deg),
        hfov_deg=camera.hfov_deg,
        width_px=camera.width_px,
        height_px=camera.height_px,
    )
    ring = footprint(state.lat, state.lon, state.heading_deg, model, max_range_m=max_range_m)
    return ring if len(ring) >= 3 else None


def state_message(state: VehicleState, camera: CameraSpec, *, vehicle_id: str) -> dict[str, Any]:
    """A JSON-ready live event for one snapshot; the footprint is a GeoJSON Polygon ([lon, lat])."""
    ring = camera_footprint(state, camera)
    polygon = None
    if ring is not None:
        coords = [[lon, lat] for lat, lon in ring]
        polygon = {"type": "Polygon", "coordinates": [[*coords, coords[0]]]}
    return {"type": "vehicle_state", "vehicle_id": vehicle_id, **state.to_dict(), "footprint": polygon}


class TelemetryBridge:
    """Sample `source` at `sample_hz` into `history` (for tagging camera frames) and publish a state
    message every 1/`publish_hz` s. A failing publisher is logged and counted, never fatal."""

    def __init__(
        self,
        source: Callable[[], VehicleState],
        publish: Publisher,
        *,
        vehicle_id: str = "drone-1",
        camera: CameraSpec | None = None,
        sample_hz: float = 20.0,
        publish_hz: float = 2.0,
        history: StateHistory | None = None,
    ) -> None:
        if sample_hz <= 0 or publish_hz <= 0:
            raise ValueError("telemetry rates must be above 0 Hz")
        self.source = source
        self.publish = publish
        self.vehicle_id = vehicle_id
        self.camera = camera or CameraSpec()
        self.sample_period_s = 1.0 / sample_hz
        self.publish_period_s = 1.0 / publish_hz
        self.history = history if history is not None else StateHistory()
        self.published = 0
        self.publish_errors = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> TelemetryBridge:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tenken-telemetry", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def __enter__(self) -> TelemetryBridge:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _send(self, state: VehicleState) -> None:
        try:
            self.publish(state_message(state, self.camera, vehicle_id=self.vehicle_id))
            self.published += 1
        except Exception:  # a broken subscriber must not stop the telemetry of a flying drone
            self.publish_errors += 1
            log.exception("publishing vehicle state failed")

    def _run(self) -> None:
        next_publish = time.monotonic()
        while not self._stop.is_set():
            state = self.source()
            self.history.add(state)
            if time.monotonic() >= next_publish:
                next_publish += self.publish_period_s
                self._send(state)
            self._stop.wait(self.sample_period_s)
        self._send(self.source())  # the final state (landed, disarmed) so the map does not show a stale one
