"""Choosing the live event bus: Redis Streams when a broker is configured, in-process otherwise."""

from __future__ import annotations

from tenken.events import EventBus, InProcessBus
from tenken.settings import Settings


def make_bus(settings: Settings) -> EventBus:
    """The bus every process of a deployment shares (Redis), or one private to this process."""
    if not settings.broker_url:
        return InProcessBus()
    from tenken.events_redis import RedisStreamBus

    return RedisStreamBus(settings.broker_url, key=f"{settings.queue_prefix}:events")
