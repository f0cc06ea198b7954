"""Fixtures for the command-post API: an app on a fresh SQLite store, tokens of each role, a live server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from tenken.events import InProcessBus
from tenken.settings import Settings, load_settings
from tenken.store import jobs as jobstore
from tenken.store.auth import create_token
from tenken.store.db import Store

UPLOAD_LIMIT_BYTES = 3_000_000


class RecordingExecutor:
    """Queues jobs in the store and runs nothing: these tests are about the API, not the pipeline."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.submitted: list[dict[str, Any]] = []
        self.canceled: list[str] = []
        self.resumed: list[str] = []

    def submit_video_job(self, video: Path, track: Path, options: Any) -> str:
        with self.store.session() as s:
            job = jobstore.create_video_job(
                s, str(video), str(track), detector="road", conf=options.conf, options={}
            )
        self.submitted.append({"id": job.id, "video": video, "track": track, "options": options})
        return job.id

    def cancel(self, job_id: str) -> bool:
        self.canceled.append(job_id)
        with self.store.session() as s:
            return jobstore.cancel_job(s, job_id)

    def resume(self, job_id: str) -> str:
        self.resumed.append(job_id)
        with self.store.session() as s:
            jobstore.reopen_job(s, job_id)
        return "nothing"

    def shutdown(self) -> None:
        pass


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(data_dir=tmp_path / "data", tile_url="", upload_max_bytes=UPLOAD_LIMIT_BYTES)


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    store = Store(settings.effective_database_url)
    services = Services(settings=settings, store=store, bus=InProcessBus(), executor=RecordingExecutor(store))
    yield services
    store.dispose()


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services)) as c:
        yield c


@pytest.fixture
def tokens(services: Services) -> dict[str, str]:
    with services.store.session() as s:
        return {role: create_token(s, role, f"test {role}")[0] for role in ("viewer", "operator", "admin")}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served by uvicorn on a loopback port, in a thread (for streaming clients)."""

    def __init__(self, settings: Settings, services: Services) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, services),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(settings: Settings, services: Services) -> Iterator[LiveServer]:
    with LiveServer(settings, services) as server:
        yield server


@pytest.fixture(scope="session")
def video_bytes(tmp_path_factory) -> bytes:
    path = tmp_path_factory.mktemp("video") / "drive.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (64, 48))
    for i in range(20):
        writer.write(np.full((48, 64, 3), i * 10, np.uint8))
    writer.release()
    data = path.read_bytes()
    assert data[4:8] == b"ftyp"
    return data
