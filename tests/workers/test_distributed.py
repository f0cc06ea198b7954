"""Jobs on real Celery worker processes over real Redis: same findings as embedded, crash-safe."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from tenken.events import FINDINGS
from tenken.events_redis import RedisStreamBus
from tenken.store import defects as defectstore
from tenken.store import job_frames as framestore
from tenken.store import jobs as jobstore
from tests.synthetic_drive import ColourDetector
from tests.workers.conftest import DETECTOR, Cluster, corrupt_copy, survey_options, wait_until
from vision.road.survey import run_survey
from worker.executor import CeleryExecutor

SLOW = "tests.workers.slow_detector:SlowColourDetector"
PG_URL = os.environ.get("TENKEN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def defect_keys(defects) -> list[tuple]:
    return sorted(
        (d.class_name, round(d.lat, 9), round(d.lon, 9), d.n_observations, d.first_frame, d.last_frame)
        for d in defects
    )


def stored_defects(cluster: Cluster, job_id: str):
    with cluster.store.session() as s:
        return [
            defectstore.defect_from_row(r) for r in defectstore.query_defects(s, job_id=job_id, limit=10_000)
        ]


@pytest.fixture(scope="module")
def embedded_reference(drive):
    video, gpx = drive
    return run_survey(video, gpx, ColourDetector(), survey_options(), conf=0.25)


def submit(cluster: Cluster, video: Path, gpx: Path, detector: str = DETECTOR) -> str:
    executor = CeleryExecutor(cluster.settings, cluster.store)
    try:
        return executor.submit_video_job(video, gpx, survey_options(), detector=detector)
    finally:
        executor.shutdown()


@pytest.fixture
def pg_cluster(tmp_path, redis_db_url):
    """A cluster whose store is the real PostgreSQL, in a schema of its own dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {exc}")
    url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    cluster = Cluster(tmp_path, redis_db_url, url)
    yield cluster
    cluster.stop()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()
    client = redis.Redis.from_url(redis_db_url)
    for key in client.scan_iter(f"{cluster.prefix}*"):
        client.delete(key)


def test_two_workers_on_postgresql_find_the_same_defects_as_the_embedded_run(
    pg_cluster, drive, embedded_reference
):
    pg_cluster.start_worker("a")
    pg_cluster.start_worker("b")
    job_id = submit(pg_cluster, *drive)
    job = pg_cluster.wait_final(job_id)
    assert job.state == "completed", job.error
    assert job.errors == []
    assert job.frames_done == job.frames_total == embedded_reference.frames_sampled
    assert defect_keys(stored_defects(pg_cluster, job_id)) == defect_keys(embedded_reference.defects)
    # Both worker processes took chunks: the job really was spread out.
    assert "tenken.run_chunk" in pg_cluster.log("a") and "tenken.run_chunk" in pg_cluster.log("b")
    with pg_cluster.store.session() as s:
        segments = defectstore.job_segments(s, job_id)
    assert len(segments) == len(embedded_reference.segments)
    assert (Path(job.report_dir) / "index.html").is_file()


def chunk_in_progress(cluster: Cluster, job_id: str) -> int | None:
    """A chunk whose run has begun (attempt counted) and not finished, if any."""
    with cluster.store.session() as s:
        for chunk in jobstore.list_chunks(s, job_id):
            if chunk.state == "pending" and chunk.attempts >= 1:
                return chunk.index
    return None


def test_worker_killed_mid_job_loses_and_duplicates_nothing(cluster, drive, embedded_reference):
    victim = cluster.start_worker("victim")
    job_id = submit(cluster, *drive, detector=SLOW)
    # Past the first chunk, so the kill lands in the middle of the job, on a chunk being detected.
    wait_until(lambda: cluster.job(job_id).frames_done > 0, 60, "the first chunk")
    (busy,) = wait_until(
        lambda: [i for i in [chunk_in_progress(cluster, job_id)] if i is not None], 60, "a chunk"
    )
    os.killpg(victim.pid, signal.SIGKILL)  # the whole worker: main process and pool child
    victim.wait(10)
    held = cluster.job(job_id)
    assert held.state == "running" and held.frames_done < held.frames_total
    cluster.start_worker("survivor")
    job = cluster.wait_final(job_id, timeout_s=120)
    assert job.state == "completed", job.error
    with cluster.store.session() as s:
        chunks = jobstore.list_chunks(s, job_id)
        frames = framestore.stored_frame_indices(s, job_id)
    assert all(c.state == "done" for c in chunks)
    assert chunks[busy].attempts == 2  # the killed worker's chunk was delivered again, and run once more
    assert frames == sorted(set(frames))  # each frame stored once
    assert len(frames) == embedded_reference.frames_sampled
    assert defect_keys(stored_defects(cluster, job_id)) == defect_keys(embedded_reference.defects)


def test_job_completes_when_redis_restarts_mid_job(tmp_path, own_redis, drive, embedded_reference):
    url, server = own_redis
    cluster = Cluster(tmp_path, url, f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        cluster.start_worker("a")
        job_id = submit(cluster, *drive, detector=SLOW)
        wait_until(lambda: cluster.job(job_id).frames_done > 0, 60, "the first chunk")
        server.kill()
        assert cluster.job(job_id).state == "running"  # the outage really is mid-job
        time.sleep(2.0)
        server.start()
        job = cluster.wait_final(job_id, timeout_s=120)
        assert job.state == "completed", job.error
        assert job.frames_done == embedded_reference.frames_sampled
        assert defect_keys(stored_defects(cluster, job_id)) == defect_keys(embedded_reference.defects)
    finally:
        cluster.stop()


def test_poison_chunk_fails_alone_with_its_error_on_the_job(cluster, drive, tmp_path):
    video, gpx = drive
    bad = corrupt_copy(video, tmp_path / "corrupt.avi", range(50, 54))
    cluster.start_worker("a")
    cluster.start_worker("b")
    job_id = submit(cluster, bad, gpx)
    job = cluster.wait_final(job_id)
    assert job.state == "completed"
    assert len(job.errors) == 1
    assert "cannot decode frame" in job.errors[0] and "corrupt" in job.errors[0]
    with cluster.store.session() as s:
        chunks = jobstore.list_chunks(s, job_id)
    failed = [c for c in chunks if c.state == "failed"]
    assert len(failed) == 1 and failed[0].attempts == 1  # bad input is not retried
    assert any(50 <= f <= 53 for f in failed[0].frame_indices)
    assert all(c.state == "done" for c in chunks if c is not failed[0])
    assert stored_defects(cluster, job_id)  # the rest of the drive still produced findings


def test_live_file_stream_results_are_published_in_frame_order(cluster, drive):
    from worker.app import make_celery, queue_names
    from worker.detectors import describe_detector
    from worker.remote_detector import CeleryDetector
    from worker.stream_reader import StreamConfig, run_stream

    video, _ = drive
    cluster.start_worker("a", "inference")
    cluster.start_worker("b", "inference")
    bus = RedisStreamBus(cluster.settings.broker_url, key=f"{cluster.prefix}:events")
    start = bus.last_id()
    app = make_celery(cluster.settings)
    jittery = "tests.workers.slow_detector:JitteryColourDetector"  # batches finish out of order
    config = StreamConfig(source=str(video), stream_id="cam1", every_s=0.2, hfov_deg=73.7, batch_frames=2)
    names = describe_detector(jittery)[0].classes
    detector = CeleryDetector(app, queue_names(cluster.settings).inference, jittery, names, None)
    stats = run_stream(config, detector, bus)
    app.close()
    events = bus.read([FINDINGS], start, timeout_s=1.0, limit=10_000)
    indices = [e.data["frame_index"] for e in events]
    assert stats.batches > 4 and stats.published == len(events) > 3
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert all(e.data["stream_id"] == "cam1" and e.data["detections"] for e in events)
    assert {d["class_name"] for e in events for d in e.data["detections"]} <= {"D00", "D40"}


def test_a_job_whose_queued_work_was_lost_completes_when_resumed(cluster, drive, embedded_reference):
    job_id = submit(cluster, *drive)  # no worker yet: the preparation task waits in Redis
    broker = redis.Redis.from_url(cluster.settings.broker_url)
    lost = [key for key in broker.scan_iter(f"{cluster.prefix}*")]
    assert any(key.endswith(b".ingest") for key in lost)  # the queue holding the task
    broker.delete(*lost)  # a broker restarted without persistence
    cluster.start_worker("a")
    executor = CeleryExecutor(cluster.settings, cluster.store)
    try:
        assert executor.resume(job_id) == "preparation"
    finally:
        executor.shutdown()
    job = cluster.wait_final(job_id)
    assert job.state == "completed"
    assert defect_keys(stored_defects(cluster, job_id)) == defect_keys(embedded_reference.defects)
