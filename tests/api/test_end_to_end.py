"""A survey through the whole embedded service: upload over HTTP, the in-process executor runs the
real pipeline (with a detector that finds the painted marks of a synthetic drive), findings come
back from the API, exports and live events included."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from tenken.events import FINDINGS, JOBS, InProcessBus
from tenken.settings import load_settings
from tenken.store.auth import create_token
from tenken.store.db import Store
from tests.api.conftest import auth
from tests.synthetic_drive import PLANTED, build_drive
from worker.executor import EmbeddedExecutor

DETECTOR = "tests.synthetic_drive:ColourDetector"


@pytest.fixture
def service(tmp_path):
    settings = load_settings(
        data_dir=tmp_path / "data",
        tile_url="",
        road_detector=DETECTOR,
        chunk_frames=8,
        upload_max_bytes=50_000_000,
    )
    store = Store(settings.effective_database_url)
    bus = InProcessBus()
    executor = EmbeddedExecutor(settings, store, bus)
    services = Services(settings=settings, store=store, bus=bus, executor=executor)
    with store.session() as s:
        operator = create_token(s, "operator")[0]
    with TestClient(create_app(settings, services)) as client:
        yield client, services, operator
    executor.shutdown()
    store.dispose()


def test_an_uploaded_drive_becomes_findings_on_the_api(service, tmp_path):
    client, services, token = service
    (tmp_path / "drive").mkdir()
    video, gpx = build_drive(tmp_path / "drive")
    start = services.bus.last_id()
    options = {
        "camera": "windscreen",
        "every_m": 2.0,
        "gps_error_m": 1.0,
    }
    response = client.post(
        "/api/jobs",
        headers=auth(token),
        files={"video": ("drive.mp4", video.read_bytes()), "track": ("drive.gpx", gpx.read_bytes())},
        data={"options": json.dumps(options)},
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    services.executor.wait(job_id, timeout_s=180)

    job = client.get(f"/api/jobs/{job_id}", headers=auth(token)).json()
    assert job["state"] == "completed" and job["progress"] == 1.0
    found = client.get("/api/findings", headers=auth(token), params={"job_id": job_id}).json()["features"]
    assert sorted(f["properties"]["class"] for f in found) == sorted(d.class_name for d in PLANTED)
    crop = client.get(f"/api/defects/{found[0]['id']}/crop", headers=auth(token))
    assert crop.headers["content-type"] == "image/jpeg"
    assert client.get(f"/api/surveys/{job_id}/export.gpkg", headers=auth(token)).status_code == 200

    events = services.bus.read([JOBS, FINDINGS], start, timeout_s=0.1, limit=1000)
    states = [e.data["state"] for e in events if e.channel == JOBS]
    assert states[0] == "queued" and states[-1] == "completed"
    assert sum(e.channel == FINDINGS for e in events) == len(found)
