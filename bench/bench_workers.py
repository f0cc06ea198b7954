"""Scaling on Celery workers: the same job with 1 then 2 worker processes, and Celery's cost per frame.

    python bench/bench_workers.py [--detector SPEC] [--distance-m 150] [--every-m 1] [--repeat 2]

Renders a synthetic drive, runs it embedded (`run_survey`, one process), then as a job on one
and on two real `celery` worker processes (prefork, one process each) over Redis with the store
on PostgreSQL (a throw-away schema; `--sqlite` for a file). Prints sampled frames per second of
each, the 2-vs-1 scaling ratio, and the per-frame overhead of the Celery path over the embedded one
measured with a detector that costs nothing (`ColourDetector`).

The default detector burns a fixed amount of CPU per frame (like a small model on a laptop core)
so that scaling is about the pipeline, not about a model that may not be trained yet; pass
`--detector road` to use the shipped road model. The machine is shared: read ratios, not absolute
numbers, and compare repeats.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from tenken.settings import load_settings  # noqa: E402
from tenken.store import jobs as jobstore  # noqa: E402
from tenken.store.db import Store  # noqa: E402
from tests.synthetic_drive import ColourDetector, build_drive  # noqa: E402
from vision.models.detections import Detections  # noqa: E402
from vision.road.survey import run_survey  # noqa: E402
from vision.road.survey_options import CAMERA_PROFILES, SurveyOptions  # noqa: E402
from worker.executor import CeleryExecutor  # noqa: E402

CELERY = str(Path(sys.executable).with_name("celery"))
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BUSY_ROUNDS = int(os.environ.get("TENKEN_BENCH_BUSY_ROUNDS", "12"))


class BusyDetector(ColourDetector):
    """`ColourDetector` plus a fixed CPU cost per frame (blurs at 640 px, one thread)."""

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        cv2.setNumThreads(1)
        for frame in frames:
            big = cv2.resize(frame, (640, 480))
            for _ in range(BUSY_ROUNDS):
                big = cv2.GaussianBlur(big, (15, 15), 0)
        return super().predict(frames, conf)


def detector_object(spec: str):
    if spec == "bench.bench_workers:BusyDetector":
        return BusyDetector()
    from worker.detectors import get_detector

    return get_detector(spec).detector


class Workers:
    def __init__(self, env: dict[str, str], prefix: str, tmp: Path) -> None:
        self.env, self.prefix, self.tmp = env, prefix, tmp
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, n: int) -> None:
        for i in range(n):
            log = self.tmp / f"worker{i}-{uuid.uuid4().hex[:4]}.log"
            proc = subprocess.Popen(
                [
                    CELERY, "-A", "worker.app", "worker", "--pool=prefork", "-c", "1",
                    "-Q", f"{self.prefix}.inference,{self.prefix}.ingest", "-n", f"bench{i}-{self.prefix}@%h",
                    "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "warning",
                ],
                cwd=ROOT, env=self.env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
            self.procs.append(proc)
        time.sleep(4.0)  # workers connect; a warm-up job then loads the model in each

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.procs = []


def run_job(
    executor: CeleryExecutor, store: Store, video: Path, gpx: Path, options: SurveyOptions, spec: str
) -> tuple[float, float, int]:
    """Submit and wait: (seconds until every chunk was done, seconds until completed, frames)."""
    t = time.perf_counter()
    job_id = executor.submit_video_job(video, gpx, options, detector=spec)
    chunks_s = None
    while True:
        with store.session() as s:
            job = jobstore.get_job(s, job_id)
            state, done, total, error = job.state, job.frames_done, job.frames_total, job.error
        now = time.perf_counter() - t
        if chunks_s is None and total is not None and done >= total:
            chunks_s = now
        if state in jobstore.FINAL_STATES:
            if state != "completed":
                raise SystemExit(f"job {job_id} {state}: {error}")
            return chunks_s or now, now, int(done)
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--detector", default="bench.bench_workers:BusyDetector")
    parser.add_argument("--distance-m", type=float, default=150.0)
    parser.add_argument("--every-m", type=float, default=1.0)
    parser.add_argument("--chunk-frames", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--sqlite", action="store_true", help="store in a SQLite file instead of PostgreSQL")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    video, gpx = build_drive(tmp, distance_m=args.distance_m)
    options = SurveyOptions(camera=CAMERA_PROFILES["windscreen"], every_m=args.every_m, gps_error_m=1.0)
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    schema = None
    if args.sqlite:
        db_url = f"sqlite:///{tmp / 'store.sqlite3'}"
    else:
        from sqlalchemy import create_engine, text

        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with create_engine(PG_URL).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        db_url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    env = dict(os.environ)
    env.update(
        TENKEN_BROKER_URL=args.broker, TENKEN_DATABASE_URL=db_url, TENKEN_QUEUE_PREFIX=prefix,
        TENKEN_DATA_DIR=str(tmp / "data"), TENKEN_CHUNK_FRAMES=str(args.chunk_frames), TENKEN_TILE_URL="",
        PYTHONPATH=str(ROOT),
    )  # fmt: skip
    settings = load_settings(
        broker_url=args.broker, database_url=db_url, queue_prefix=prefix, data_dir=tmp / "data",
        chunk_frames=args.chunk_frames, tile_url="",
    )  # fmt: skip
    store = Store(db_url)
    executor = CeleryExecutor(settings, store)
    workers = Workers(env, prefix, tmp)
    warm = options.model_copy(update={"max_frames": 4})
    try:
        results: dict[str, list[float]] = {}  # key -> whole-job seconds per repeat
        phases: dict[str, list[float]] = {}  # key -> seconds until every frame was detected
        frames = 0
        for spec, label in ((args.detector, "model"), ("tests.synthetic_drive:ColourDetector", "free")):
            detector = detector_object(spec)
            emb, emb_phase = [], []
            for _ in range(args.repeat):
                t = time.perf_counter()
                survey = run_survey(video, gpx, detector, options, conf=0.25)
                emb.append(time.perf_counter() - t)
                emb_phase.append(
                    survey.timings_s["prepare"] + survey.timings_s["decode"] + survey.timings_s["detect"]
                )
                frames = survey.frames_sampled
            results[f"embedded/{label}"], phases[f"embedded/{label}"] = emb, emb_phase
            for n in (1, 2):
                workers.start(n)
                for _ in range(n):
                    run_job(executor, store, video, gpx, warm, spec)
                times, phase = [], []
                for _ in range(args.repeat):
                    chunks_s, elapsed, done = run_job(executor, store, video, gpx, options, spec)
                    assert done == frames, (done, frames)
                    times.append(elapsed)
                    phase.append(chunks_s)
                results[f"celery{n}/{label}"], phases[f"celery{n}/{label}"] = times, phase
                workers.stop()
                if label == "free":
                    break  # the overhead needs one worker only
    finally:
        workers.stop()
        executor.shutdown()
        store.dispose()
        if schema:
            from sqlalchemy import create_engine, text

            with create_engine(PG_URL).begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    def fps(table: dict[str, list[float]], key: str) -> float:
        return frames / statistics.median(table[key])

    print(f"drive: {frames} sampled frames, chunks of {args.chunk_frames}, detector {args.detector}")
    print(
        f"store: {'SQLite' if args.sqlite else 'PostgreSQL'}, broker {args.broker}, cores: {os.cpu_count()}"
    )
    print(f"{'run':<16}{'detect fps':>11}{'job fps':>9}   whole-job seconds per repeat")
    for key, times in results.items():
        spread = ", ".join(f"{t:.2f}" for t in times)
        print(f"{key:<16}{fps(phases, key):>11.1f}{fps(results, key):>9.1f}   {spread}")
    for table, what in ((phases, "detection phase"), (results, "whole job")):
        ratio = fps(table, "celery2/model") / fps(table, "celery1/model")
        print(f"scaling 2 workers / 1 worker, {what}: {ratio:.2f}x")
    versus = fps(results, "celery1/model") / fps(results, "embedded/model")
    print(f"celery 1 worker / embedded, whole job: {versus:.2f}x")
    per_frame_s = (
        statistics.median(phases["celery1/free"]) - statistics.median(phases["embedded/free"])
    ) / frames
    print(f"celery overhead per frame (zero-cost detector, detection phase): {per_frame_s * 1000:.1f} ms")


if __name__ == "__main__":
    main()
