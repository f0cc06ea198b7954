"""What every request handler shares: settings, the store, the live bus, the job executor and CoT output."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.sse import LiveHub
from tenken.events import EventBus, InProcessBus
from tenken.settings import Settings
from tenken.store.db import Store

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    store: Store
    bus: EventBus
    executor: Any | None = None  # worker.executor's EmbeddedExecutor / CeleryExecutor
    cot: Any | None = None  # api.cot.CotForwarder when a TAK server is configured
    recorder: Any | None = None  # api.incident_recorder.IncidentRecorder, started with the app
    hub: LiveHub | None = None  # the one reader of the bus that feeds every stream client
    # The newest telemetry of each drone, so a page opened mid-flight sees the drones at once.
    latest_telemetry: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def uploads_dir(self) -> Path:
        return self.settings.data_dir / "uploads"

    def close(self) -> None:
        if self.hub is not None:
            self.hub.close()
        if self.recorder is not None:
            self.recorder.close()
        if self.cot is not None:
            self.cot.close()
        if self.executor is not None and hasattr(self.executor, "shutdown"):
            self.executor.shutdown()
        self.store.dispose()


def make_bus_for(settings: Settings) -> EventBus:
    """The Redis Streams bus when a broker is configured, else one in this process."""
    try:
        from worker.bus import make_bus  # the distributed bus lives with the workers
    except ImportError:
        if settings.broker_url:
            log.warning("broker_url is set but worker.bus is unavailable: using an in-process bus")
        return InProcessBus()
    bus: EventBus = make_bus(settings)
    return bus


def make_executor_for(settings: Settings, store: Store, bus: EventBus) -> Any | None:
    """The job executor (in-process pool or Celery) chosen by settings; None when workers are missing.

    The server's embedded executor takes up jobs a killed or stopped process left unfinished.
    """
    try:
        from worker.executor import make_executor
    except ImportError as exc:
        log.warning("job executor unavailable (%s): uploads are refused", exc)
        return None
    return make_executor(settings, store, bus, recover=True)


def build_services(
    settings: Settings,
    *,
    store: Store | None = None,
    bus: EventBus | None = None,
    executor: Any | None = None,
    with_executor: bool = True,
    with_cot: bool = True,
) -> Services:
    store = store or Store(settings.effective_database_url)
    bus = bus or make_bus_for(settings)
    if executor is None and with_executor:
        executor = make_executor_for(settings, store, bus)
    cot = None
    if with_cot and settings.cot_url:
        from api.cot import CotForwarder

        cot = CotForwarder(settings)
    return Services(settings=settings, store=store, bus=bus, executor=executor, cot=cot)
