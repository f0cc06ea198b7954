"""Keeps the store in step with the live bus: incident changes from the live pipeline and the drones'
tracks, so `/api/incidents`, `/api/telemetry` and a page opened (or reloaded) later see them.

The live pipeline publishes incident changes on the bus (`vision.live`: `{"event": "opened",
"incident_id": ..., ...}`) rather than calling the API. A background thread follows INCIDENTS and
records each change under the pipeline's incident id (the store's `key`), then announces the stored
incident (`incident_event`: `id`, `key`, ...) on INCIDENTS: on a state change, when it moves, else
at most every `incident_update_interval_s`. The map and TAK show those, under one name for good.
Events the API itself published (they carry a store `id`) are skipped: they are stored already.
TELEMETRY states are kept as the drones' tracks, a point a second.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from api.incident_throttle import UpdateThrottle
from tenken.errors import DataError
from tenken.events import INCIDENTS, TELEMETRY, EventBus
from tenken.store.db import Store
from tenken.store.drone_tracks import record_track_point
from tenken.store.incidents import IncidentReport, close_incident, incident_event, record_sighting

log = logging.getLogger(__name__)


def is_pipeline_change(data: dict[str, Any]) -> bool:
    """A change from `vision.live` (not one the API published after storing it)."""
    return "incident_id" in data and "id" not in data


def report_of(data: dict[str, Any]) -> IncidentReport | None:
    """The sighting in a pipeline change; None while the incident has no position on the ground."""
    if data.get("lat") is None or data.get("lon") is None or data.get("error_m") is None:
        return None
    frame = data.get("best_frame_id")
    return IncidentReport(
        key=str(data["incident_id"]),
        kind=str(data["kind"]),
        lat=float(data["lat"]),
        lon=float(data["lon"]),
        error_m=float(data["error_m"]),
        timestamp_s=float(data["last_seen_s"]),
        confidence=float(data["confidence"]),
        source=str(data.get("source") or "live"),
        frame_ref=None if frame is None else f"{data.get('source', 'live')}/frame-{frame}",
    )


def record_change(store: Store, data: dict[str, Any]) -> dict[str, Any] | None:
    """Store one pipeline change: opened/updated add a sighting, closed closes the incident. Returns
    the stored incident as an INCIDENTS event (None when nothing was stored)."""
    with store.session() as session:
        report = report_of(data)
        row = None
        change = "updated"
        if report is not None:
            row, change = record_sighting(session, report)
        if data.get("event") == "closed" or data.get("state") == "closed":
            closed = close_incident(session, str(data["incident_id"]), float(data["last_seen_s"]))
            row, change = (closed, "closed") if closed is not None else (row, change)
        return None if row is None else incident_event(row, change)


class IncidentRecorder:
    """Follows the bus from the moment it is created and records pipeline incident changes and the
    drones' tracks."""

    def __init__(self, store: Store, bus: EventBus, *, update_interval_s: float = 5.0) -> None:
        self.store = store
        self.bus = bus
        self.recorded = 0
        self.track_points = 0
        self._throttle = UpdateThrottle(update_interval_s)
        self._last_point: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._after_id = bus.last_id()
        self._thread = threading.Thread(target=self._run, name="incident-recorder", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop recording at once; the thread ends when its current read of the bus returns."""
        self._stop.set()

    def _run(self) -> None:
        last = self._after_id
        while not self._stop.is_set():
            try:
                events = self.bus.read([INCIDENTS, TELEMETRY], last, timeout_s=0.5)
            except Exception as exc:  # a Redis outage: the bus reconnects; keep following
                log.warning("incident recorder cannot read the bus: %s", exc)
                self._stop.wait(1.0)
                continue
            for event in events:
                last = event.event_id
                if self._stop.is_set():
                    return
                try:
                    if event.channel == TELEMETRY:
                        self._record_point(event.data)
                    elif is_pipeline_change(event.data):
                        self._record_incident(event.data)
                except (DataError, KeyError, TypeError, ValueError) as exc:
                    log.warning("%s event %s not recorded: %s", event.channel, event.event_id, exc)

    def _record_incident(self, data: dict[str, Any]) -> None:
        stored = record_change(self.store, data)
        self.recorded += 1
        if stored is not None and self._throttle.due(str(stored["key"]), stored, time.time()):
            self.bus.publish(INCIDENTS, stored)

    def _record_point(self, state: dict[str, Any]) -> None:
        vehicle = str(state.get("vehicle_id") or "drone")
        with self.store.session() as session:
            if record_track_point(session, state, self._last_point.get(vehicle)):
                self._last_point[vehicle] = state
                self.track_points += 1
