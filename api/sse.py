"""Server-sent events: framing of bus events, and the stream a client follows with Last-Event-ID resume."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from functools import partial

import anyio

from tenken.events import Event, EventBus

RETRY_MS = 1000  # how soon EventSource reconnects after a drop
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies and idle links from closing the stream
POLL_S = 1.0  # how long one read of the bus waits, which bounds how late a disconnect is noticed


def format_event(event: Event) -> str:
    """One SSE message. Data is one line of JSON, so no `data:` continuation lines are needed.

    >>> format_event(Event("7-0", "jobs", {"id": "a"}))
    'id: 7-0\\nevent: jobs\\ndata: {"id":"a"}\\n\\n'
    """
    return f"id: {event.event_id}\nevent: {event.channel}\ndata: {event.to_json()}\n\n"


async def event_stream(
    bus: EventBus,
    channels: Sequence[str],
    after_id: str | None,
    is_disconnected: Callable[[], Awaitable[bool]],
    *,
    poll_s: float = POLL_S,
    keepalive_s: float = KEEPALIVE_S,
) -> AsyncIterator[str]:
    """Events on `channels` after `after_id` (None: from now on), until the client goes away."""
    # Fix the starting point before the first read, so nothing published meanwhile is missed.
    last = after_id if after_id is not None else bus.last_id()
    yield f"retry: {RETRY_MS}\n: connected\n\n"
    quiet_s = 0.0
    while not await is_disconnected():
        events = await anyio.to_thread.run_sync(
            partial(bus.read, channels, last, poll_s), abandon_on_cancel=True
        )
        if events:
            quiet_s = 0.0
            last = events[-1].event_id
            yield "".join(format_event(e) for e in events)
        else:
            quiet_s += poll_s
            if quiet_s >= keepalive_s:
                quiet_s = 0.0
                yield ": keep-alive\n\n"
