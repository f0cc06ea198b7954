"""Live events (findings, incidents, job progress, telemetry): publish/subscribe with resumable ids.

Two implementations behind one interface: `InProcessBus` for the embedded path, and a Redis
Streams bus for the distributed path (`worker/`), chosen by `make_bus(settings)`. Event ids are
monotonic strings a client can hand back (SSE `Last-Event-ID`) to resume where it left off.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

# Channels every part of Tenken agrees on.
FINDINGS = "findings"  # new defects / detections with a position
INCIDENTS = "incidents"  # incident opened / updated / closed
JOBS = "jobs"  # job state and progress
TELEMETRY = "telemetry"  # drone position, attitude, battery, camera footprint
CHANNELS = (FINDINGS, INCIDENTS, JOBS, TELEMETRY)


@dataclass(frozen=True)
class Event:
    event_id: str
    channel: str
    data: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(self.data, separators=(",", ":"), default=str)


class EventBus(Protocol):
    def publish(self, channel: str, data: dict[str, Any]) -> str:
        """Publish and return the new event's id."""
        ...

    def read(
        self, channels: Sequence[str], after_id: str | None = None, timeout_s: float = 1.0, limit: int = 100
    ) -> list[Event]:
        """Events on `channels` after `after_id` (None: only new ones), waiting up to `timeout_s`."""
        ...

    def last_id(self) -> str:
        """The id of the newest event (a starting point for `read`)."""
        ...


class InProcessBus:
    """A bounded in-memory log of events, shared by the threads of one process."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._events: deque[Event] = deque(maxlen=maxlen)
        self._counter = itertools.count(1)
        self._cond = threading.Condition()

    @staticmethod
    def _seq(event_id: str | None) -> int:
        if not event_id:
            return 0
        try:
            return int(event_id.split("-")[0])
        except ValueError:
            return 0

    def publish(self, channel: str, data: dict[str, Any]) -> str:
        with self._cond:
            event = Event(f"{next(self._counter)}-0", channel, data)
            self._events.append(event)
            self._cond.notify_all()
        return event.event_id

    def last_id(self) -> str:
        with self._cond:
            return self._events[-1].event_id if self._events else "0-0"

    def read(
        self, channels: Sequence[str], after_id: str | None = None, timeout_s: float = 1.0, limit: int = 100
    ) -> list[Event]:
        wanted = set(channels)
        deadline = time.monotonic() + timeout_s
        with self._cond:
            after = self._seq(after_id) if after_id is not None else self._seq(self.last_id())
            while True:
                found = [e for e in self._events if self._seq(e.event_id) > after and e.channel in wanted]
                if found:
                    return found[:limit]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)

    def follow(self, channels: Sequence[str], after_id: str | None = None) -> Iterator[Event]:
        """Every event from `after_id` on, forever (for tests and simple consumers)."""
        last = after_id if after_id is not None else self.last_id()
        while True:
            for event in self.read(channels, last):
                last = event.event_id
                yield event
