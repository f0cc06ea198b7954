"""Jobs always reach a final state: a killed server, lost queues and failing aggregation included.

Real processes (`tenken serve`, Celery workers, redis-server) are killed with SIGKILL; the store is
SQLite or the real PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import redis

from tenken.store import job_frames as framestore
from tenken.store import jobs as jobstore
from tenken.store.auth import create_token
from tenken.store.db import Store
from tests.workers.conftest import (
    DETECTOR,
    REPO,
    Cluster,
    OwnRedis,
    free_port,
    survey_options,
    wait_until,
)
from worker.executor import CeleryExecutor

SLOW = "tests.workers.slow_detector:SlowColourDetector"


def submit(cluster: Cluster, video: Path, gpx: Path, detector: str = DETECTOR) -> str:
    executor = CeleryExecutor(cluster.settings, cluster.store)
    try:
        return executor.submit_video_job(
            video, gpx, survey_options().model_copy(update={"conf": 0.25}), detector=detector
        )
    finally:
        executor.shutdown()


def assert_each_planned_frame_stored_once(store: Store, job_id: str) -> None:
    with store.session() as s:
        planned = sorted(f for c in jobstore.list_chunks(s, job_id) for f in c.frame_indices)
        stored = framestore.stored_frame_indices(s, job_id)
        job = jobstore.get_job(s, job_id)
    assert stored == planned
    assert job.frames_done == job.frames_total == len(planned)


class EmbeddedServer:
    """`tenken serve` without a broker, as a user runs it, in its own process group."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TENKEN_")}
        self.env.update(
            TENKEN_DATA_DIR=str(tmp / "data"),
            TENKEN_ROAD_DETECTOR=SLOW,
            TENKEN_CHUNK_FRAMES="4",
            TENKEN_TILE_URL="",
            PYTHONPATH=str(REPO),
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        log = open(self.tmp / f"serve-{self.starts}.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tenken.cli", "serve", "--port", str(self.port), "--log-level", "warning"],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def up() -> bool:
            try:
                return httpx.get(f"{self.url}/api/config", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(up, 60, "tenken serve to answer")

    def kill(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


def test_a_job_of_a_killed_embedded_server_completes_after_restart(tmp_path, drive):
    video, gpx = drive
    server = EmbeddedServer(tmp_path)
    store = Store(f"sqlite:///{tmp_path / 'data' / 'tenken.sqlite3'}")
    try:
        server.start()
        with store.session() as s:
            token = create_token(s, "operator", "test")[0]
        options = {"camera": survey_options().camera.model_dump(), "every_m": 2.0, "gps_error_m": 1.0}
        response = httpx.post(
            f"{server.url}/api/jobs",
            headers={"Authorization": f"Bearer {token}"},
            files={"video": ("drive.mp4", video.read_bytes()), "track": ("drive.gpx", gpx.read_bytes())},
            data={"options": json.dumps(options)},
            timeout=60,
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]

        def job() -> jobstore.JobRow:
            with store.session() as s:
                return jobstore.get_job(s, job_id)

        wait_until(lambda: job().frames_done > 0, 90, "the first chunk")
        server.kill()
        held = job()
        assert held.state == "running" and held.frames_done < (held.frames_total or 0)
        server.start()
        wait_until(lambda: job().state in jobstore.FINAL_STATES, 180, "the job to finish after the restart")
        assert job().state == "completed", job().error
        assert_each_planned_frame_stored_once(store, job_id)
    finally:
        server.stop()
        store.dispose()


def test_aggregation_that_keeps_failing_fails_the_job_and_a_resume_completes_it(
    tmp_path, redis_db_url, drive
):
    cluster = Cluster(
        tmp_path, redis_db_url, f"sqlite:///{tmp_path / 'store.sqlite3'}", aggregate_max_attempts="2"
    )
    blocker = tmp_path / "data" / "reports"
    blocker.parent.mkdir()
    blocker.write_text("a file where the reports folder should be")
    try:
        cluster.start_worker("a")
        job_id = submit(cluster, *drive)
        job = cluster.wait_final(job_id, timeout_s=120)
        assert job.state == "failed"
        assert "aggregation failed after 2 attempts" in (job.error or "")
        assert "reports" in (job.error or "")
        blocker.unlink()  # the operator fixes the cause, then resumes
        executor = CeleryExecutor(cluster.settings, cluster.store)
        try:
            assert executor.resume(job_id) == "aggregation"
        finally:
            executor.shutdown()
        job = cluster.wait_final(job_id)
        assert job.state == "completed" and job.error is None
        assert (Path(job.report_dir or "") / "index.html").is_file()
    finally:
        cluster.stop()
        flush_prefix(redis_db_url, cluster.prefix)


def flush_prefix(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    for key in client.scan_iter(f"*{prefix}*"):
        client.delete(key)


@pytest.fixture
def volatile_redis(tmp_path):
    """A private redis-server that keeps nothing on disk: a restart empties it."""
    server = OwnRedis(tmp_path / "redis", free_port(), persistent=False)
    server.start()
    yield f"redis://127.0.0.1:{server.port}/0", server
    server.stop()


def test_chunks_lost_with_a_redis_without_persistence_are_sent_again(tmp_path, volatile_redis, drive):
    url, server = volatile_redis
    cluster = Cluster(tmp_path, url, f"sqlite:///{tmp_path / 'store.sqlite3'}", stale_job_s="3")
    try:
        cluster.start_worker("a")
        job_id = submit(cluster, *drive, detector=SLOW)
        wait_until(lambda: cluster.job(job_id).frames_done > 0, 90, "the first chunk")
        server.kill()
        server.start()  # empty: the queued chunks are gone
        # Started with nothing: the worker may already have reconnected and written its own keys,
        # so count what the server loaded at start, not what it holds now.
        persistence = redis.Redis.from_url(url).info("persistence")
        assert persistence["aof_enabled"] == 0 and persistence["rdb_last_load_keys_loaded"] == 0
        held = cluster.job(job_id)
        assert held.state == "running" and held.frames_done < (held.frames_total or 0)
        job = cluster.wait_final(job_id, timeout_s=180)
        assert job.state == "completed", job.error
        assert job.errors == []
        assert_each_planned_frame_stored_once(cluster.store, job_id)
    finally:
        cluster.stop()


def test_a_starting_worker_takes_up_a_job_whose_queue_was_lost(tmp_path, redis_db_url, drive):
    cluster = Cluster(tmp_path, redis_db_url, f"sqlite:///{tmp_path / 'store.sqlite3'}", stale_job_s="1")
    try:
        job_id = submit(cluster, *drive)  # no worker yet: the preparation waits in Redis
        broker = redis.Redis.from_url(redis_db_url)
        broker.delete(*broker.scan_iter(f"{cluster.prefix}:{cluster.prefix}.*"))  # and is lost
        cluster.start_worker("a")  # nobody resumes it by hand
        job = cluster.wait_final(job_id)
        assert job.state == "completed", job.error
        assert_each_planned_frame_stored_once(cluster.store, job_id)
        assert "stalled; sent again (1): preparation" in cluster.log("a")
    finally:
        cluster.stop()
        flush_prefix(redis_db_url, cluster.prefix)


def test_a_stalled_job_is_sent_again_then_failed_with_the_reason(cluster, drive):
    from worker.celery_watch import CeleryJobWatch, jobs_in_broker

    settings = cluster.settings.model_copy(update={"stale_job_s": 0.001, "stale_job_max_redispatches": 2})
    job_id = submit(cluster, *drive)  # no worker: the preparation waits in Redis
    broker = redis.Redis.from_url(settings.broker_url)
    watch = CeleryJobWatch(settings, cluster.store)
    try:
        assert watch.round(locked=False) == []  # its work is on its way: left alone
        for sent in (1, 2):
            broker.delete(*broker.scan_iter(f"{cluster.prefix}:{cluster.prefix}.*"))  # the queue is lost
            assert jobs_in_broker(broker, settings, [job_id]) == set()
            (action,) = watch.round(locked=False)
            assert (action.job_id, action.action, action.detail) == (job_id, "resumed", "preparation")
            assert jobs_in_broker(broker, settings, [job_id]) == {job_id}
            assert cluster.job(job_id).redispatches == sent
        broker.delete(*broker.scan_iter(f"{cluster.prefix}:{cluster.prefix}.*"))
        (action,) = watch.round(locked=False)
        assert action.action == "failed"
        job = cluster.job(job_id)
        assert job.state == "failed" and "no progress after its remaining work was sent again 2 times" in (
            job.error or ""
        )
    finally:
        watch.close()


def test_the_visibility_timeout_follows_the_longest_chunk_and_acks_stay_late(tmp_path):
    from tenken.settings import load_settings
    from worker.app import make_celery

    def conf(**values):
        app = make_celery(load_settings(broker_url="redis://127.0.0.1:6379/13", data_dir=tmp_path, **values))
        return app.conf

    default = conf()
    assert default.broker_transport_options["visibility_timeout"] == 300  # not Redis's one hour
    assert default.task_acks_late and default.task_reject_on_worker_lost
    assert conf(chunk_frames=256).broker_transport_options["visibility_timeout"] == 2 * 256 * 5.0
    assert conf(frame_budget_s=60).broker_transport_options["visibility_timeout"] == 2 * 16 * 60
    assert conf(visibility_timeout_s=42).broker_transport_options["visibility_timeout"] == 42


def test_submit_timeout_ends_following_with_one_line_and_a_non_zero_exit(tmp_path, drive):
    video, gpx = drive
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENKEN_")}
    env.update(TENKEN_DATA_DIR=str(tmp_path / "data"), TENKEN_TILE_URL="", PYTHONPATH=str(REPO))
    args = ["submit", str(video), "--track", str(gpx), "--model", SLOW, "--every-m", "2", "-q"]
    result = subprocess.run(
        [sys.executable, "-m", "tenken.cli", *args, "--timeout", "1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 3, result.stderr
    job_id = result.stdout.splitlines()[0]
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: job {job_id} is still ")
    assert "after 1 s" in result.stderr and "Traceback" not in result.stderr
