"""The Celery app, configured from settings: Redis broker, two queues, crash-safe delivery.

`inference` holds the chunk and live-frame tasks (run it on GPU machines); `ingest` holds job
preparation and aggregation (CPU machines). Queue names carry `settings.queue_prefix` so several
deployments (or test runs) can share one Redis.

Start a worker with `tenken worker --queues inference,ingest` or
`celery -A worker.app worker -Q tenken.inference,tenken.ingest --pool=prefork -c 1`.
"""

from __future__ import annotations

from dataclasses import dataclass

from celery import Celery

from tenken.errors import ConfigError
from tenken.settings import Settings, get_settings


@dataclass(frozen=True)
class QueueNames:
    inference: str
    ingest: str

    def resolve(self, names: list[str]) -> list[str]:
        """Full queue names from short ones (`inference`, `ingest`) or full ones."""
        short = {"inference": self.inference, "ingest": self.ingest}
        full = set(short.values())
        out = []
        for name in names:
            if name in short:
                out.append(short[name])
            elif name in full:
                out.append(name)
            else:
                raise ConfigError(f"unknown queue {name!r} (known: inference, ingest)")
        return out


def queue_names(settings: Settings) -> QueueNames:
    return QueueNames(f"{settings.queue_prefix}.inference", f"{settings.queue_prefix}.ingest")


def make_celery(settings: Settings) -> Celery:
    """A Celery app for `settings`; tasks are registered by importing `worker.tasks`."""
    if not settings.broker_url:
        raise ConfigError("no broker configured: set TENKEN_BROKER_URL (e.g. redis://127.0.0.1:6379/0)")
    queues = queue_names(settings)
    app = Celery("tenken", broker=settings.broker_url, backend=settings.result_url or settings.broker_url)
    app.conf.update(
        # Frames travel as JPEG bytes or by reference, never as pickles.
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # A task is acknowledged only when it has finished, and put back when its process dies,
        # so a crashed worker loses nothing; every task is idempotent, so a repeat is harmless.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=queues.ingest,
        task_routes={
            "tenken.run_chunk": {"queue": queues.inference},
            "tenken.detect_frames": {"queue": queues.inference},
            "tenken.prepare_job": {"queue": queues.ingest},
            "tenken.aggregate_job": {"queue": queues.ingest},
        },
        task_ignore_result=True,
        result_expires=3600,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # keep reconnecting while Redis restarts
        broker_transport_options={
            "visibility_timeout": settings.effective_visibility_timeout_s,
            # Sweep for messages of vanished workers often enough for the visibility timeout.
            "unacked_restore_interval": max(1, int(settings.effective_visibility_timeout_s / 10)),
            "unacked_restore_throttle": 1,
            "global_keyprefix": f"{settings.queue_prefix}:",
        },
        result_backend_transport_options={"global_keyprefix": f"{settings.queue_prefix}:"},
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        # the tasks, the stale-job check, and the device check + `tenken_device` reply
        imports=["worker.tasks", "worker.celery_watch", "worker.health"],
    )
    return app


def _app_from_environment() -> Celery:
    settings = get_settings()
    if not settings.broker_url:
        # Importable without a broker (docs, type checks); using it then fails with a clear error.
        return Celery("tenken", set_as_current=False)
    return make_celery(settings)


# `celery -A worker.app` looks for this.
app = _app_from_environment()
