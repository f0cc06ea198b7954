"""The stale-job check: unfinished jobs whose work was lost are sent again, hopeless ones failed.

A job's work is *on its way* when someone will still do it: an embedded executor holds the job
(this one, or another live process whose heartbeat on the job is fresh), or a Celery message
for the job waits in the broker or is held by a worker (the broker itself re-delivers a message
of a vanished worker after the visibility timeout). A job whose work is not on its way and which
has not moved for a while is *stalled*: its remaining steps are sent again (`Executor.resume`,
idempotent), and after `stale_job_max_redispatches` re-dispatches without progress it is failed
with the reason. Progress (a chunk finished) forgets the re-dispatches.

How long "a while" is: on the embedded path liveness is known exactly (heartbeats), so a job of
a dead process is taken over as soon as its heartbeat expires; on the distributed path a message
may be in transit or a queue may have been emptied by a Redis restart, so the check waits
`stale_job_s` without progress.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tenken.events import EventBus
from tenken.settings import Settings
from tenken.store import jobs as jobstore
from tenken.store.db import Store
from worker.job_steps import publish_job

log = logging.getLogger(__name__)

HEARTBEAT_S = 5.0  # an embedded executor marks the jobs it holds this often
HEARTBEAT_EXPIRY_S = 3 * HEARTBEAT_S  # no mark for this long: the holding process is gone


@dataclass(frozen=True)
class WatchAction:
    job_id: str
    action: str  # "resumed" or "failed"
    detail: str


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time the store writes is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def check_stalled_jobs(
    store: Store,
    settings: Settings,
    *,
    quiet_s: float,
    in_flight: Callable[[list[str]], set[str]],
    resume: Callable[[str], str],
    bus: EventBus | None = None,
) -> list[WatchAction]:
    """Send again the work of unfinished jobs not in flight and quiet for `quiet_s`; fail those
    sent again too often without progress. Returns what was done."""
    now = datetime.now(UTC)
    with store.session() as s:
        jobs = [(j.id, j.progress_at, j.redispatches) for j in jobstore.unfinished_jobs(s)]
    if not jobs:
        return []
    flying = in_flight([job_id for job_id, _, _ in jobs])
    actions = []
    for job_id, progress_at, redispatches in jobs:
        if job_id in flying:
            continue
        if progress_at is not None and _aware(progress_at) > now - timedelta(seconds=quiet_s):
            continue
        if redispatches >= settings.stale_job_max_redispatches:
            reason = (
                f"stalled: no progress after its remaining work was sent again {redispatches} times; "
                "resume it when the cause is fixed"
            )
            with store.session() as s:
                failed = jobstore.fail_job(s, job_id, reason)
            if failed:
                log.warning("job %s failed: %s", job_id, reason, extra={"job_id": job_id})
                publish_job(store, bus, job_id)
                actions.append(WatchAction(job_id, "failed", reason))
            continue
        with store.session() as s:
            count = jobstore.note_redispatch(s, job_id)
        if count == 0:  # finished meanwhile
            continue
        sent = resume(job_id)
        log.warning("job %s stalled; sent again (%d): %s", job_id, count, sent, extra={"job_id": job_id})
        actions.append(WatchAction(job_id, "resumed", sent))
    return actions


def fresh_heartbeats(store: Store, job_ids: Iterable[str]) -> set[str]:
    """Jobs whose embedded holder marked them within `HEARTBEAT_EXPIRY_S`."""
    since = datetime.now(UTC) - timedelta(seconds=HEARTBEAT_EXPIRY_S)
    wanted = set(job_ids)
    with store.session() as s:
        return {
            j.id
            for j in jobstore.unfinished_jobs(s)
            if j.id in wanted and j.heartbeat_at is not None and _aware(j.heartbeat_at) > since
        }


class PeriodicCheck:
    """Runs `step` now and then every `interval_s` on a daemon thread, until `stop`."""

    def __init__(self, name: str, interval_s: float, step: Callable[[], object]) -> None:
        self.interval_s = interval_s
        self._step = step
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> PeriodicCheck:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while True:
            try:
                self._step()
            except Exception:  # a store or broker outage: log it and try again next round
                log.exception("%s failed; trying again in %.0f s", self._thread.name, self.interval_s)
            if self._stop.wait(self.interval_s):
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout=10)
