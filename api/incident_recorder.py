"""Keeps the store's incident table in step with the live pipeline, which publishes incident changes
on the bus (`vision.live`: `{"event": "opened", "incident_id": ..., ...}`) rather than calling the API.

A background thread follows INCIDENTS and records each pipeline change (a sighting or a close)
under the pipeline's incident id, so `/api/incidents` and a page opened later see them. Events the
API itself published (they carry a store `id`) are skipped: they are stored already.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from tenken.errors import DataError
from tenken.events import INCIDENTS, EventBus
from tenken.store.db import Store
from tenken.store.incidents import IncidentReport, close_incident, record_sighting

log = logging.getLogger(__name__)


def is_pipeline_change(data: dict[str, Any]) -> bool:
    """A change from `vision.live` (not one the API published after storing it)."""
    return "incident_id" in data and "id" not in data


def report_of(data: dict[str, Any]) -> IncidentReport | None:
    """The sighting in a pipeline change; None while the incident has no position on the ground."""
    if data.get("lat") is None or data.get("lon") is None:
        return None
    frame = data.get("best_frame_id")
    return IncidentReport(
        key=str(data["incident_id"]),
        kind=str(data["kind"]),
        lat=float(data["lat"]),
        lon=float(data["lon"]),
        error_m=float(data["error_m"]) if data.get("error_m") is not None else 0.0,
        timestamp_s=float(data["last_seen_s"]),
        confidence=float(data["confidence"]),
        source=str(data.get("source") or "live"),
        frame_ref=None if frame is None else f"{data.get('source', 'live')}/frame-{frame}",
    )


def record_change(store: Store, data: dict[str, Any]) -> None:
    """Store one pipeline change: opened/updated add a sighting, closed closes the incident."""
    with store.session() as session:
        if data.get("event") == "closed" or data.get("state") == "closed":
            report = report_of(data)
            if report is not None:
                record_sighting(session, report)
            close_incident(session, str(data["incident_id"]), float(data["last_seen_s"]))
            return
        report = report_of(data)
        if report is not None:
            record_sighting(session, report)


class IncidentRecorder:
    """Follows the bus from the moment it is started and records pipeline incident changes."""

    def __init__(self, store: Store, bus: EventBus) -> None:
        self.store = store
        self.bus = bus
        self.recorded = 0
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
                events = self.bus.read([INCIDENTS], last, timeout_s=0.5)
            except Exception as exc:  # a Redis outage: the bus reconnects; keep following
                log.warning("incident recorder cannot read the bus: %s", exc)
                self._stop.wait(1.0)
                continue
            for event in events:
                last = event.event_id
                if self._stop.is_set():
                    return
                if not is_pipeline_change(event.data):
                    continue
                try:
                    record_change(self.store, event.data)
                    self.recorded += 1
                except (DataError, KeyError, TypeError, ValueError) as exc:
                    log.warning("incident change %s not recorded: %s", event.event_id, exc)
