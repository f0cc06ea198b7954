"""Server-sent events: one reader of the live bus per process fans events out to every stream client.

A client that reconnects with `Last-Event-ID` first catches up from the bus (what it missed), then
follows the shared feed. One reader per process instead of one per client keeps a wall of map
screens from tying up the worker threads the rest of the API runs on, and Redis from one XREAD
per viewer. A client too slow to keep up is dropped; its browser reconnects and catches up.
The hub also ends the streams whose token was revoked, checking them all in one query.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import partial

import anyio

from tenken.events import CHANNELS, Event, EventBus
from tenken.store.auth import valid_token_ids
from tenken.store.db import Store

log = logging.getLogger(__name__)

RETRY_MS = 1000  # how soon EventSource reconnects after a drop
KEEPALIVE_S = 15.0  # a comment line this often keeps proxies and idle links from closing the stream
POLL_S = 1.0  # how long one read of the bus waits; bounds how late a disconnect or stop is noticed
CLIENT_BACKLOG = 1000  # batches queued for one client before it counts as too slow
AUTH_CHECK_S = 2.0  # how often the hub checks that the tokens of open streams are still valid


def stored_valid_token_ids(store: Store, token_ids: Collection[int]) -> set[int]:
    """Which of `token_ids` are still valid in `store`: what open event and video streams ask."""
    with store.session() as session:
        return valid_token_ids(session, token_ids)


# Given the token ids of open streams, those still valid (one store query for every stream).
TokenCheck = Callable[[Collection[int]], Collection[int]]


def format_event(event: Event) -> str:
    """One SSE message. Data is one line of JSON, so no `data:` continuation lines are needed.

    >>> format_event(Event("7-0", "jobs", {"id": "a"}))
    'id: 7-0\\nevent: jobs\\ndata: {"id":"a"}\\n\\n'
    """
    return f"id: {event.event_id}\nevent: {event.channel}\ndata: {event.to_json()}\n\n"


def id_order(event_id: str) -> tuple[int, int]:
    """Event ids of both buses ("12-0", Redis "1764460000123-3") in publication order.

    >>> id_order("9-0") < id_order("10-0")
    True
    """
    head, _, tail = event_id.partition("-")
    try:
        return int(head), int(tail or 0)
    except ValueError:
        return 0, 0


@dataclass(eq=False)
class Subscriber:
    channels: frozenset[str]
    loop: asyncio.AbstractEventLoop
    token_id: int | None = None  # the token the stream was opened with (None: not checked)
    queue: asyncio.Queue[list[Event] | None] = field(default_factory=asyncio.Queue)
    dropped: bool = False
    revoked: bool = False

    def end_revoked(self) -> None:
        """Called from the hub's thread: the stream's token is no longer valid."""
        if not self.revoked:
            self.revoked = self.dropped = True
            self.loop.call_soon_threadsafe(self.queue.put_nowait, None)

    def offer(self, events: Sequence[Event]) -> None:
        """Called from the hub's thread."""
        wanted = [e for e in events if e.channel in self.channels]
        if wanted and not self.dropped:
            self.loop.call_soon_threadsafe(self._put, wanted)

    def _put(self, events: list[Event]) -> None:
        if self.queue.qsize() >= CLIENT_BACKLOG:
            self.dropped = True
            self.queue.put_nowait(None)
        else:
            self.queue.put_nowait(events)


class LiveHub:
    """Reads every channel of the bus in one thread and hands each batch to the subscribers."""

    def __init__(
        self,
        bus: EventBus,
        *,
        poll_s: float = POLL_S,
        token_check: TokenCheck | None = None,
        auth_check_s: float = AUTH_CHECK_S,
    ) -> None:
        self.bus = bus
        self.poll_s = poll_s
        self.token_check = token_check
        self.auth_check_s = auth_check_s
        self._next_auth_check = 0.0
        self.position = bus.last_id()
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="live-hub", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        """Stop dispatching at once; the thread ends when its current read of the bus returns."""
        self._stop.set()

    def subscribe(
        self, channels: Sequence[str], loop: asyncio.AbstractEventLoop, token_id: int | None = None
    ) -> tuple[Subscriber, str]:
        """A new subscriber and the id of the newest event it will *not* receive from the feed."""
        subscriber = Subscriber(frozenset(channels), loop, token_id)
        with self._lock:
            self._subscribers.add(subscriber)
            return subscriber, self.position

    def unsubscribe(self, subscriber: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)

    def _end_revoked_streams(self) -> None:
        """End every stream whose token was revoked since it opened (one query for all of them)."""
        now = time.monotonic()
        if self.token_check is None or now < self._next_auth_check:
            return
        self._next_auth_check = now + self.auth_check_s
        with self._lock:
            checked = [s for s in self._subscribers if s.token_id is not None and not s.revoked]
        if not checked:
            return
        try:
            valid = set(self.token_check({s.token_id for s in checked if s.token_id is not None}))
        except Exception as exc:  # a store outage: keep the streams, check again later
            log.warning("live hub cannot check stream tokens: %s", exc)
            return
        for subscriber in checked:
            if subscriber.token_id not in valid:
                subscriber.end_revoked()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._end_revoked_streams()
            try:
                events = self.bus.read(CHANNELS, self.position, self.poll_s, limit=500)
            except Exception as exc:  # a Redis outage: keep trying, clients keep their streams
                log.warning("live hub cannot read the bus: %s", exc)
                self._stop.wait(self.poll_s)
                continue
            if not events or self._stop.is_set():
                continue
            with self._lock:
                self.position = events[-1].event_id
                subscribers = list(self._subscribers)
            for subscriber in subscribers:
                subscriber.offer(events)


async def _catch_up(bus: EventBus, channels: Sequence[str], after_id: str, until_id: str) -> list[Event]:
    """Events on `channels` after `after_id` up to and including `until_id`, read from the bus."""
    out: list[Event] = []
    last = after_id
    while id_order(last) < id_order(until_id):
        batch = await anyio.to_thread.run_sync(partial(bus.read, channels, last, 0.0, limit=500))
        batch = [e for e in batch if id_order(e.event_id) <= id_order(until_id)]
        if not batch:
            break
        out.extend(batch)
        last = batch[-1].event_id
    return out


async def event_stream(
    hub: LiveHub,
    channels: Sequence[str],
    after_id: str | None,
    is_disconnected: Callable[[], Awaitable[bool]],
    *,
    keepalive_s: float = KEEPALIVE_S,
    token_id: int | None = None,
) -> AsyncIterator[str]:
    """Events on `channels` after `after_id` (None: from now on), until the client goes away or
    the token `token_id` is revoked."""
    subscriber, position = hub.subscribe(channels, asyncio.get_running_loop(), token_id)
    try:
        yield f"retry: {RETRY_MS}\n: connected\n\n"
        sent = position
        if after_id is not None and id_order(after_id) < id_order(position):
            missed = await _catch_up(hub.bus, channels, after_id, position)
            if missed:
                yield "".join(format_event(e) for e in missed)
        elif after_id is not None:
            sent = after_id
        quiet_s = 0.0
        while not await is_disconnected():
            try:
                batch = await asyncio.wait_for(subscriber.queue.get(), timeout=POLL_S)
            except TimeoutError:
                quiet_s += POLL_S
                if quiet_s >= keepalive_s:
                    quiet_s = 0.0
                    yield ": keep-alive\n\n"
                continue
            if batch is None and subscriber.revoked:
                yield ": token revoked\n\n"
                return  # the browser's reconnect is refused with 401, which stops EventSource
            if batch is None:
                return  # too slow: end the stream; the browser reconnects and catches up
            fresh = [e for e in batch if id_order(e.event_id) > id_order(sent)]
            if fresh:
                quiet_s = 0.0
                sent = fresh[-1].event_id
                yield "".join(format_event(e) for e in fresh)
    finally:
        hub.unsubscribe(subscriber)
