"""Real Redis, real Celery worker processes, a real store: fixtures for the distributed path.

Each test run uses its own Redis database number and queue/key prefix, so it never sees another
run's tasks; worker processes are started in their own process group and killed by that id.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import cv2
import pytest
import redis

from tenken.settings import load_settings
from tenken.store import jobs as jobstore
from tenken.store.db import Store
from tests.synthetic_drive import build_drive
from vision.road.survey_options import CAMERA_PROFILES, SurveyOptions

REPO = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
SHARED_REDIS = os.environ.get("TENKEN_TEST_REDIS", "redis://127.0.0.1:6379")
REDIS_DB = int(os.environ.get("TENKEN_TEST_REDIS_DB", "13"))
DETECTOR = "tests.synthetic_drive:ColourDetector"


def survey_options() -> SurveyOptions:
    return SurveyOptions(camera=CAMERA_PROFILES["windscreen"], every_m=2.0, gps_error_m=1.0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.1):
    """Poll until `predicate()` is truthy; the timeout only bounds a hang, it is not what is tested."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def drive(tmp_path_factory) -> tuple[Path, Path]:
    return build_drive(tmp_path_factory.mktemp("drive"))


class Cluster:
    """Environment for worker processes of one test: broker, store, prefix, data folder."""

    def __init__(self, tmp: Path, broker_url: str, database_url: str, **settings: str) -> None:
        self.tmp = tmp
        self.prefix = f"t{uuid.uuid4().hex[:10]}"
        self.env = dict(os.environ)
        self.env.update(
            TENKEN_BROKER_URL=broker_url,
            TENKEN_DATABASE_URL=database_url,
            TENKEN_QUEUE_PREFIX=self.prefix,
            TENKEN_DATA_DIR=str(tmp / "data"),
            TENKEN_CHUNK_FRAMES="4",
            TENKEN_VISIBILITY_TIMEOUT_S="6",
            TENKEN_TILE_URL="",
            PYTHONPATH=str(REPO),
            TMPDIR=str(tmp),  # the workers' health files (worker.healthcheck) stay with the test
        )
        self.env.pop("TENKEN_CONFIG", None)
        self.env.update({f"TENKEN_{k.upper()}": v for k, v in settings.items()})
        self.settings = load_settings(
            broker_url=broker_url,
            database_url=database_url,
            queue_prefix=self.prefix,
            data_dir=tmp / "data",
            chunk_frames=int(self.env["TENKEN_CHUNK_FRAMES"]),
            visibility_timeout_s=float(self.env["TENKEN_VISIBILITY_TIMEOUT_S"]),
            tile_url="",
            **settings,
        )
        self.store = Store(database_url)
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_worker(self, name: str, queues: str = "inference,ingest") -> subprocess.Popen[bytes]:
        full = ",".join(f"{self.prefix}.{q}" for q in queues.split(","))
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                CELERY,
                "-A",
                "worker.app",
                "worker",
                "--pool=prefork",
                "-c",
                "1",
                "-Q",
                full,
                "-n",
                f"{name}-{self.prefix}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "info",
            ],
            cwd=REPO,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(proc)
        wait_until(
            lambda: b"ready." in (self.tmp / f"{name}.log").read_bytes(), 60, f"worker {name} to start"
        )
        return proc

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def job(self, job_id: str) -> jobstore.JobRow:
        with self.store.session() as s:
            return jobstore.get_job(s, job_id)

    def wait_final(self, job_id: str, timeout_s: float = 90) -> jobstore.JobRow:
        wait_until(
            lambda: self.job(job_id).state in jobstore.FINAL_STATES, timeout_s, f"job {job_id} to finish"
        )
        return self.job(job_id)

    def stop(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        self.store.dispose()


@pytest.fixture
def redis_db_url() -> Iterator[str]:
    url = f"{SHARED_REDIS}/{REDIS_DB}"
    try:
        redis.Redis.from_url(url).ping()
    except redis.ConnectionError:
        pytest.fail(f"Redis is not running at {SHARED_REDIS} (see OFFLINE-NOTES.md, Services)")
    yield url


@pytest.fixture
def cluster(tmp_path, redis_db_url) -> Iterator[Cluster]:
    c = Cluster(tmp_path, redis_db_url, f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield c
    c.stop()
    client = redis.Redis.from_url(redis_db_url)
    for key in client.scan_iter(f"{c.prefix}*"):
        client.delete(key)
    for key in client.scan_iter(f"*{c.prefix}*"):
        client.delete(key)


@pytest.fixture
def own_redis(tmp_path) -> Iterator[tuple[str, OwnRedis]]:
    """A private redis-server (append-only, fsync always) that a test may kill and restart."""
    server = OwnRedis(tmp_path / "redis", free_port())
    server.start()
    yield f"redis://127.0.0.1:{server.port}/0", server
    server.stop()


class OwnRedis:
    """A redis-server of one test; `persistent=False` keeps nothing on disk, so a restart empties it."""

    def __init__(self, folder: Path, port: int, *, persistent: bool = True) -> None:
        self.folder = folder
        self.port = port
        self.persistent = persistent
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes" if self.persistent else "no",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port)

        def up() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(up, 20, "redis-server to start")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()


def corrupt_copy(video: Path, out: Path, bad_frames: range) -> Path:
    """The drive re-encoded as MJPEG AVI with the JPEG data of `bad_frames` wiped."""
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    writer = None
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if writer is None:
            h, w = image.shape[:2]
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"MJPG"), fps, (w, h))
        writer.write(image)
    capture.release()
    assert writer is not None
    writer.release()
    data = bytearray(out.read_bytes())
    starts = [
        i for i in range(len(data) - 2) if data[i] == 0xFF and data[i + 1] == 0xD8 and data[i + 2] == 0xFF
    ]
    for frame in bad_frames:
        begin, end = starts[frame], starts[frame + 1]
        data[begin : end - 16] = bytes(end - 16 - begin)
    out.write_bytes(bytes(data))
    return out
