"""Who runs a job: an in-process thread pool (embedded default) or Celery workers, behind one interface.

Both create the job row, then run the same steps (`worker.job_steps`): prepare, one call per
chunk, aggregate. The caller (API, `tenken submit`) only sees a job id, and follows the job in
the store or on the JOBS channel of the bus.

>>> executor = make_executor(settings)            # doctest: +SKIP
>>> job_id = executor.submit_video_job(Path("drive.mp4"), Path("drive.gpx"), SurveyOptions())
>>> executor.cancel(job_id)
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from tenken.errors import ConfigError
from tenken.events import EventBus
from tenken.settings import Settings
from tenken.store import jobs as jobstore
from tenken.store.db import Store
from vision.models.runtime import RuntimeOptions
from vision.road.survey_options import SurveyOptions
from worker import job_steps
from worker.job_watch import (
    HEARTBEAT_EXPIRY_S,
    HEARTBEAT_S,
    PeriodicCheck,
    WatchAction,
    check_stalled_jobs,
    fresh_heartbeats,
)

log = logging.getLogger(__name__)


class Executor(Protocol):
    """Runs video jobs; every method returns at once."""

    store: Store

    def submit_video_job(
        self,
        video: Path,
        track: Path,
        options: SurveyOptions = SurveyOptions(),
        *,
        detector: str | None = None,
    ) -> str:
        """Queue a road survey of `video` with its GPS `track`; returns the job id.

        The threshold is `options.conf`, else the detector's own. `detector` defaults to
        `settings.road_detector` (the shipped `road` model).
        """
        ...

    def cancel(self, job_id: str) -> bool:
        """Cancel an unfinished job (chunks not yet run are skipped); False if it had finished."""
        ...

    def resume(self, job_id: str) -> str:
        """Send a failed or unfinished job's remaining steps again; says what was sent.

        For jobs whose work was lost (a broker restarted without persistence, an embedded
        process that stopped mid-job) or that failed (their failed chunks are tried again).
        Harmless when the work is still on its way: every step is idempotent. A completed or
        canceled job is left alone.
        """
        ...

    def shutdown(self) -> None:
        """Stop taking jobs and release what the executor holds."""
        ...


def _create_job(store: Store, video: Path, track: Path, options: SurveyOptions, detector: str) -> str:
    for path, what in ((video, "video"), (track, "track")):
        if not path.is_file():
            raise ConfigError(f"{what} file not found: {path}")
    with store.session() as s:
        job = jobstore.create_video_job(
            s,
            str(video.resolve()),
            str(track.resolve()),
            detector=detector,
            conf=options.conf,
            options=options.model_dump(mode="json"),
        )
        return job.id


def _cancel(store: Store, bus: EventBus | None, job_id: str) -> bool:
    with store.session() as s:
        jobstore.get_job(s, job_id)  # unknown ids raise JobError
        canceled = jobstore.cancel_job(s, job_id)
    if canceled:
        job_steps.publish_job(store, bus, job_id)
    return canceled


def _remaining(store: Store, job_id: str) -> tuple[str, list[int]]:
    """What a job still needs: prepare, chunks (with their indices), aggregate, or "" (finished).

    A failed job is reopened first: its failed chunks are tried again.
    """
    with store.session() as s:
        jobstore.reopen_job(s, job_id)
        job = jobstore.get_job(s, job_id)
        if job.state == jobstore.QUEUED:
            return "prepare", []
        if job.state != jobstore.RUNNING:
            return "", []
        pending = jobstore.pending_chunks(s, job_id)
    return ("chunks", pending) if pending else ("aggregate", [])


def _describe(step: str, chunks: list[int]) -> str:
    if step == "chunks":
        return f"{len(chunks)} chunks"
    return {"prepare": "preparation", "aggregate": "aggregation"}.get(step, "nothing (the job has finished)")


class EmbeddedExecutor:
    """Jobs run in this process on a small thread pool; chunks of one job run one after another.

    The jobs it holds carry its heartbeat, so another process can tell they are being worked on.
    With `recover` (the server's executor) it also takes up unfinished jobs nobody holds: those
    of a process that was killed or stopped mid-job, at start and whenever one appears.
    """

    def __init__(
        self, settings: Settings, store: Store, bus: EventBus | None = None, *, recover: bool = False
    ) -> None:
        self.settings = settings
        self.store = store
        self.bus = bus
        self.recover = recover
        self._pool = ThreadPoolExecutor(settings.embedded_workers, thread_name_prefix="tenken-job")
        self._futures: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._watch = PeriodicCheck("tenken-job-watch", HEARTBEAT_S, self.watch_round).start()

    def watch_round(self) -> list[WatchAction]:
        """Mark the jobs held here as alive; with `recover`, resume the jobs nobody holds."""
        with self.store.session() as s:
            jobstore.touch_heartbeat(s, self._held())
        if not self.recover:
            return []
        return check_stalled_jobs(
            self.store,
            self.settings,
            quiet_s=HEARTBEAT_EXPIRY_S,
            in_flight=lambda ids: self._held() | fresh_heartbeats(self.store, ids),
            resume=self.resume,
            bus=self.bus,
        )

    def _held(self) -> set[str]:
        with self._lock:
            return set(self._futures)

    def submit_video_job(
        self,
        video: Path,
        track: Path,
        options: SurveyOptions = SurveyOptions(),
        *,
        detector: str | None = None,
    ) -> str:
        job_id = _create_job(self.store, video, track, options, detector or self.settings.road_detector)
        job_steps.publish_job(self.store, self.bus, job_id)
        with self._lock:
            self._futures[job_id] = self._pool.submit(self._run, job_id)
        return job_id

    def _run(self, job_id: str) -> None:
        try:
            chunks = job_steps.prepare_job(self.store, job_id, self.settings.chunk_frames, self.bus)
            for index in chunks:
                if self._closing.is_set():
                    return  # left unfinished: the next server (or a resume) takes it up
                self._run_chunk(job_id, index)
            if not self._closing.is_set():
                self._aggregate(job_id)
        except Exception as exc:  # a bug, not bad input: record it on the job rather than lose it
            log.exception("job %s failed", job_id, extra={"job_id": job_id})
            with self.store.session() as s:
                jobstore.fail_job(s, job_id, f"internal error: {type(exc).__name__}: {exc}")
            job_steps.publish_job(self.store, self.bus, job_id)
        finally:
            with self._lock:
                self._futures.pop(job_id, None)

    def _run_chunk(self, job_id: str, index: int) -> None:
        for _ in range(self.settings.chunk_max_attempts + 1):
            try:
                job_steps.run_chunk(
                    self.store,
                    job_id,
                    index,
                    max_attempts=self.settings.chunk_max_attempts,
                    bus=self.bus,
                    runtime=RuntimeOptions.from_settings(self.settings),
                )
                return
            except Exception as exc:
                log.warning("job %s chunk %d: %s; retrying", job_id, index, exc, extra={"job_id": job_id})

    def _aggregate(self, job_id: str) -> None:
        attempts = self.settings.aggregate_max_attempts
        for attempt in range(1, attempts + 1):
            try:
                job_steps.aggregate_job(self.store, job_id, self.settings, self.bus)
                return
            except Exception as exc:
                if attempt == attempts:
                    job_steps.fail_aggregation(self.store, job_id, exc, attempts, self.bus)
                    return
                log.warning("job %s aggregation: %s; retrying", job_id, exc, extra={"job_id": job_id})
                time.sleep(job_steps.retry_delay_s(attempt))

    def wait(self, job_id: str, timeout_s: float | None = None) -> None:
        """Block until a job submitted here has finished running (tests, the CLI)."""
        with self._lock:
            future = self._futures.get(job_id)
        if future is not None:
            future.result(timeout_s)

    def cancel(self, job_id: str) -> bool:
        return _cancel(self.store, self.bus, job_id)

    def resume(self, job_id: str) -> str:
        step, chunks = _remaining(self.store, job_id)
        if step:
            with self._lock:
                if job_id not in self._futures:
                    self._futures[job_id] = self._pool.submit(self._run, job_id)
        return _describe(step, chunks)

    def shutdown(self) -> None:
        """Stop after the chunks running now; unfinished jobs stay in the store for a resume."""
        self._closing.set()
        self._watch.stop()
        self._pool.shutdown(wait=False, cancel_futures=True)


class CeleryExecutor:
    """Jobs go to Celery workers through the broker; the store must be shared with them."""

    def __init__(self, settings: Settings, store: Store, bus: EventBus | None = None) -> None:
        from worker.app import make_celery

        self.settings = settings
        self.store = store
        self.bus = bus
        self.app = make_celery(settings)

    def submit_video_job(
        self,
        video: Path,
        track: Path,
        options: SurveyOptions = SurveyOptions(),
        *,
        detector: str | None = None,
    ) -> str:
        from worker.app import queue_names

        if self.store.url.startswith("sqlite:///:memory:"):
            raise ConfigError("Celery workers cannot share an in-memory database; set TENKEN_DATABASE_URL")
        job_id = _create_job(self.store, video, track, options, detector or self.settings.road_detector)
        job_steps.publish_job(self.store, self.bus, job_id)
        self.app.send_task("tenken.prepare_job", args=[job_id], queue=queue_names(self.settings).ingest)
        return job_id

    def cancel(self, job_id: str) -> bool:
        return _cancel(self.store, self.bus, job_id)

    def resume(self, job_id: str) -> str:
        from worker.app import queue_names

        queues = queue_names(self.settings)
        step, chunks = _remaining(self.store, job_id)
        if step == "prepare":
            self.app.send_task("tenken.prepare_job", args=[job_id], queue=queues.ingest)
        for index in chunks:
            self.app.send_task("tenken.run_chunk", args=[job_id, index], queue=queues.inference)
        if step == "aggregate":
            self.app.send_task("tenken.aggregate_job", args=[job_id], queue=queues.ingest)
        return _describe(step, chunks)

    def shutdown(self) -> None:
        self.app.close()


def make_executor(
    settings: Settings, store: Store | None = None, bus: EventBus | None = None, *, recover: bool = False
) -> EmbeddedExecutor | CeleryExecutor:
    """Celery when a broker URL is set, else the in-process pool (taking up orphaned jobs with
    `recover`; on the distributed path the workers do that)."""
    store = store or Store(settings.effective_database_url)
    if settings.broker_url:
        return CeleryExecutor(settings, store, bus)
    return EmbeddedExecutor(settings, store, bus, recover=recover)
