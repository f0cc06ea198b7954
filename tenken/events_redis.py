"""The live event bus on a Redis Stream: every process of a deployment publishes and reads one log.

One stream holds every channel, so one stream id orders all events and a client resumes
everything with a single `Last-Event-ID`. The stream is capped (XADD MAXLEN ~), so a client
that was away for very long resumes from the oldest event still kept.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import redis

from tenken.events import Event

DEFAULT_MAXLEN = 100_000


class RedisStreamBus:
    """`EventBus` on the Redis stream `key` (XADD with MAXLEN, XREAD BLOCK)."""

    def __init__(self, url: str, key: str = "tenken:events", maxlen: int = DEFAULT_MAXLEN) -> None:
        self.url = url
        self.key = key
        self.maxlen = maxlen
        self._redis = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)

    def publish(self, channel: str, data: dict[str, Any]) -> str:
        payload = json.dumps(data, separators=(",", ":"), default=str)
        event_id = self._redis.xadd(
            self.key, {"channel": channel, "data": payload}, maxlen=self.maxlen, approximate=True
        )
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    def last_id(self) -> str:
        newest = self._redis.xrevrange(self.key, count=1)
        if not newest:
            return "0-0"
        event_id = newest[0][0]
        return event_id.decode() if isinstance(event_id, bytes) else str(event_id)

    def read(
        self, channels: Sequence[str], after_id: str | None = None, timeout_s: float = 1.0, limit: int = 100
    ) -> list[Event]:
        wanted = set(channels)
        cursor = after_id if after_id else self.last_id()
        deadline = time.monotonic() + timeout_s
        while True:
            block_ms = max(1, int((deadline - time.monotonic()) * 1000))
            reply: Any = self._redis.xread({self.key: cursor}, count=limit, block=block_ms)
            found: list[Event] = []
            for _stream, entries in reply or []:
                for raw_id, fields in entries:
                    cursor = raw_id.decode() if isinstance(raw_id, bytes) else str(raw_id)
                    channel = fields[b"channel"].decode()
                    if channel in wanted:
                        found.append(Event(cursor, channel, json.loads(fields[b"data"])))
            if found or time.monotonic() >= deadline:
                return found

    def close(self) -> None:
        self._redis.close()
