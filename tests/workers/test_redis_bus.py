"""The Redis Streams event bus: ordered ids a client can resume from, channel filtering, a capped log."""

from __future__ import annotations

import threading
import uuid

import pytest
import redis

from tenken.events import FINDINGS, JOBS, TELEMETRY, InProcessBus
from tenken.events_redis import RedisStreamBus
from tenken.settings import load_settings
from worker.bus import make_bus


@pytest.fixture
def bus(redis_db_url):
    key = f"t{uuid.uuid4().hex[:10]}:events"
    b = RedisStreamBus(redis_db_url, key=key, maxlen=50)
    yield b
    redis.Redis.from_url(redis_db_url).delete(key)
    b.close()


def test_events_come_back_in_order_on_the_channels_asked_for(bus):
    start = bus.last_id()
    bus.publish(JOBS, {"n": 1})
    bus.publish(TELEMETRY, {"n": 2})
    bus.publish(JOBS, {"n": 3})
    events = bus.read([JOBS], start, timeout_s=0.5)
    assert [e.data["n"] for e in events] == [1, 3]
    assert all(e.channel == JOBS for e in events)


def test_a_client_resumes_after_the_last_event_id_it_saw(bus):
    start = bus.last_id()
    ids = [bus.publish(FINDINGS, {"n": n}) for n in range(5)]
    first = bus.read([FINDINGS], start, timeout_s=0.5, limit=2)
    assert [e.event_id for e in first] == ids[:2]
    rest = bus.read([FINDINGS], first[-1].event_id, timeout_s=0.5)
    assert [e.data["n"] for e in rest] == [2, 3, 4]


def test_a_blocked_reader_wakes_on_publish(bus):
    start = bus.last_id()
    timer = threading.Timer(0.2, lambda: bus.publish(JOBS, {"late": True}))
    timer.start()
    events = bus.read([JOBS], start, timeout_s=10.0)
    timer.join()
    assert [e.data for e in events] == [{"late": True}]


def test_reading_with_no_id_waits_for_new_events_only(bus):
    bus.publish(JOBS, {"old": True})
    assert bus.read([JOBS], None, timeout_s=0.2) == []


def test_the_stream_is_capped(bus, redis_db_url):
    for n in range(500):
        bus.publish(TELEMETRY, {"n": n})
    assert redis.Redis.from_url(redis_db_url).xlen(bus.key) < 200


def test_a_broker_url_selects_the_redis_bus(redis_db_url, tmp_path):
    assert isinstance(make_bus(load_settings(data_dir=tmp_path)), InProcessBus)
    chosen = make_bus(load_settings(data_dir=tmp_path, broker_url=redis_db_url, queue_prefix="abc"))
    assert isinstance(chosen, RedisStreamBus) and chosen.key == "abc:events"
