"""The stale-job check on the distributed path: run by every worker, one at a time across them.

A worker starts the check when it is ready (so a job left behind while no worker ran is taken
up at once) and repeats it; a short Redis lock lets one worker of the fleet do each round. The
job's work counts as on its way while a message naming the job is queued or held unacknowledged
in the broker (kombu's Redis layout: a list per queue, the `unacked` hash).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import redis
from celery.signals import worker_ready, worker_shutdown

from tenken.settings import Settings, get_settings
from tenken.store.db import Store
from worker.app import queue_names
from worker.executor import CeleryExecutor
from worker.job_watch import PeriodicCheck, WatchAction, check_stalled_jobs

log = logging.getLogger(__name__)


def watch_interval_s(settings: Settings) -> float:
    """Often enough to notice a stall soon after `stale_job_s`, rarely enough to cost nothing."""
    return max(1.0, min(60.0, settings.stale_job_s / 4))


def jobs_in_broker(client: redis.Redis, settings: Settings, job_ids: list[str]) -> set[str]:
    """The jobs a queued or unacknowledged message names (a task's arguments start with its job id)."""
    prefix = f"{settings.queue_prefix}:"
    messages: list[bytes | str] = []
    queues = queue_names(settings)
    for queue in (queues.inference, queues.ingest):
        for key in client.scan_iter(match=f"{prefix}{queue}*"):  # priority queues share the name
            if client.type(key) == b"list":
                messages.extend(client.lrange(key, 0, -1))
    messages.extend(client.hvals(f"{prefix}unacked"))
    raw = [m if isinstance(m, bytes) else m.encode() for m in messages]
    return {job_id for job_id in job_ids if any(job_id.encode() in m for m in raw)}


class CeleryJobWatch:
    """The check for one worker machine; `round` is one pass (tests call it directly)."""

    def __init__(self, settings: Settings, store: Store | None = None) -> None:
        if not settings.broker_url:
            raise ValueError("the Celery job watch needs a broker")
        self.settings = settings
        self.store = store or Store(settings.effective_database_url)
        self.redis = redis.Redis.from_url(settings.broker_url)
        self.executor = CeleryExecutor(settings, self.store)
        self.interval_s = watch_interval_s(settings)
        self._periodic: PeriodicCheck | None = None
        # Pool processes forked later must not touch this process's database connections.
        os.register_at_fork(after_in_child=lambda: self.store.engine.dispose(close=False))

    def round(self, *, locked: bool = True) -> list[WatchAction]:
        lock_key = f"{self.settings.queue_prefix}:job-watch"
        if locked and not self.redis.set(lock_key, b"1", nx=True, px=int(self.interval_s * 900)):
            return []  # another worker did this round
        return check_stalled_jobs(
            self.store,
            self.settings,
            quiet_s=self.settings.stale_job_s,
            in_flight=lambda ids: jobs_in_broker(self.redis, self.settings, ids),
            resume=self.executor.resume,
        )

    def start(self) -> CeleryJobWatch:
        self._periodic = PeriodicCheck("tenken-job-watch", self.interval_s, self.round).start()
        return self

    def close(self) -> None:
        if self._periodic is not None:
            self._periodic.stop()
        self.executor.shutdown()
        self.redis.close()
        self.store.dispose()


_running: list[CeleryJobWatch] = []


@worker_ready.connect
def _start_watch(**_: Any) -> None:
    settings = get_settings()
    if settings.broker_url:
        _running.append(CeleryJobWatch(settings).start())


@worker_shutdown.connect
def _stop_watch(**_: Any) -> None:
    while _running:
        _running.pop().close()
