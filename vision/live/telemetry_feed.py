"""Drone telemetry from the event bus into a `PoseHistory`, so live frames get the pose at their time."""

from __future__ import annotations

import logging
import threading

from tenken.events import TELEMETRY, EventBus
from vision.live.pose import PoseHistory

log = logging.getLogger(__name__)


class TelemetryFollower:
    """A thread that adds every TELEMETRY state of `vehicle_id` (all vehicles when None) to `history`."""

    def __init__(self, bus: EventBus, history: PoseHistory, vehicle_id: str | None = None) -> None:
        self.bus = bus
        self.history = history
        self.vehicle_id = vehicle_id
        self._stop = threading.Event()
        self._after = bus.last_id()
        self._thread = threading.Thread(target=self._follow, name="telemetry-follower", daemon=True)

    def start(self) -> TelemetryFollower:
        """Start following (again calls are no-ops)."""
        if not self._thread.is_alive() and not self._stop.is_set():
            self._thread.start()
        return self

    def _follow(self) -> None:
        last = self._after
        while not self._stop.is_set():
            try:
                for event in self.bus.read([TELEMETRY], last, timeout_s=0.5):
                    last = event.event_id
                    vehicle = event.data.get("vehicle_id")
                    if self.vehicle_id is None or vehicle is None or vehicle == self.vehicle_id:
                        self.history.add(event.data)
            except Exception as exc:  # a bus outage: frames keep flowing, without poses once stale
                log.warning("telemetry: %s", exc)
                self._stop.wait(1.0)

    def close(self) -> None:
        self._stop.set()
