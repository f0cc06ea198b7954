"""Celery tasks: ids in, one pipeline step, results to the store. No pipeline logic lives here.

The store, the bus and the detectors are created lazily in each worker process (after the
prefork pool has forked), so no database connection, Redis socket or CUDA context is shared
across a fork.
"""

from __future__ import annotations

import base64
import threading
from typing import Any

from celery import Task, shared_task

from tenken.events import EventBus
from tenken.settings import Settings, get_settings
from tenken.store.db import Store
from vision.models.runtime import RuntimeOptions
from worker import job_steps
from worker.app import QueueNames, queue_names

_state: dict[str, Any] = {}
_state_lock = threading.Lock()


def _settings() -> Settings:
    return get_settings()


def _runtime() -> RuntimeOptions:
    return RuntimeOptions.from_settings(_settings())


def _store() -> Store:
    with _state_lock:
        if "store" not in _state:
            _state["store"] = Store(_settings().effective_database_url)
        store: Store = _state["store"]
        return store


def _bus() -> EventBus:
    with _state_lock:
        if "bus" not in _state:
            from worker.bus import make_bus

            _state["bus"] = make_bus(_settings())
        bus: EventBus = _state["bus"]
        return bus


def _queues() -> QueueNames:
    return queue_names(_settings())


@shared_task(name="tenken.prepare_job", bind=True, acks_late=True, reject_on_worker_lost=True)
def prepare_job(self: Task, job_id: str) -> None:
    store = _store()
    chunks = job_steps.prepare_job(store, job_id, _settings().chunk_frames, _bus())
    for index in chunks:
        self.app.send_task("tenken.run_chunk", args=[job_id, index], queue=_queues().inference)
    if not chunks and job_steps.ready_to_aggregate(store, job_id):  # nothing to detect
        self.app.send_task("tenken.aggregate_job", args=[job_id], queue=_queues().ingest)


@shared_task(
    name="tenken.run_chunk",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    retry_backoff=1,
    retry_backoff_max=10,
    max_retries=None,  # job_steps.run_chunk fails the chunk after settings.chunk_max_attempts
)
def run_chunk(self: Task, job_id: str, index: int) -> None:
    outcome = job_steps.run_chunk(
        _store(), job_id, index, max_attempts=_settings().chunk_max_attempts, bus=_bus(), runtime=_runtime()
    )
    if outcome.all_finished:
        # Every chunk that finishes last may send this; aggregation completes the job only once.
        self.app.send_task("tenken.aggregate_job", args=[job_id], queue=_queues().ingest)


@shared_task(
    name="tenken.aggregate_job", bind=True, acks_late=True, reject_on_worker_lost=True, max_retries=None
)
def aggregate_job(self: Task, job_id: str) -> bool:
    try:
        return job_steps.aggregate_job(_store(), job_id, _settings(), _bus())
    except Exception as exc:
        attempt, attempts = self.request.retries + 1, _settings().aggregate_max_attempts
        if attempt >= attempts:
            job_steps.fail_aggregation(_store(), job_id, exc, attempts, _bus())
            return False
        raise self.retry(exc=exc, countdown=job_steps.retry_delay_s(attempt)) from exc


@shared_task(name="tenken.detect_frames", acks_late=True, reject_on_worker_lost=True, ignore_result=False)
def detect_frames(spec: str, frames: list[dict[str, Any]], conf: float | None = None) -> list[dict[str, Any]]:
    """Live frames: detect in a small batch of JPEG frames (base64 in `jpeg_b64`); returns detections."""
    from worker.live import detect_jpeg_batch

    images = [base64.b64decode(f["jpeg_b64"]) for f in frames]
    return detect_jpeg_batch(spec, images, frames, conf, _runtime())
