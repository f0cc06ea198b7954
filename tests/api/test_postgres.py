"""The API on a real PostgreSQL (as the distributed path runs it), isolated in a schema of its own."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from tenken.events import InProcessBus
from tenken.store.auth import create_token
from tenken.store.db import Store
from tests.api.conftest import RecordingExecutor, auth
from tests.api.seed import defects_along, seed_survey

PG_URL = "postgresql+psycopg://postgres@127.0.0.1/test"


@pytest.fixture
def pg_store():
    schema = f"tenken_api_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    store = Store(f"{PG_URL}?options=-csearch_path%3D{schema}")
    yield store
    store.dispose()
    with admin.begin() as conn:
        conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_findings_incidents_and_tokens_work_on_postgresql(settings, pg_store):
    assert pg_store.engine.dialect.name == "postgresql"
    job_id = seed_survey(pg_store, defects_along(10))
    with pg_store.session() as s:
        viewer = create_token(s, "viewer")[0]
        operator = create_token(s, "operator")[0]
    services = Services(
        settings=settings, store=pg_store, bus=InProcessBus(), executor=RecordingExecutor(pg_store)
    )
    with TestClient(create_app(settings, services)) as client:
        found = client.get(
            "/api/findings", headers=auth(viewer), params={"job_id": job_id, "severity": "high"}
        )
        assert found.status_code == 200 and len(found.json()["features"]) == 3
        crop = client.get(f"/api/defects/{found.json()['features'][0]['id']}/crop", headers=auth(viewer))
        assert crop.content[:2] == b"\xff\xd8"
        gpkg = client.get(f"/api/surveys/{job_id}/export.gpkg", headers=auth(viewer))
        assert gpkg.status_code == 200
        sighting = {
            "key": "k1",
            "kind": "flood",
            "lat": 35.0,
            "lon": 139.0,
            "error_m": 20.0,
            "timestamp_s": 1.0,
            "confidence": 0.6,
            "source": "drone-2",
        }
        assert client.post("/api/incidents", headers=auth(operator), json=sighting).json()["state"] == "open"
        assert client.post("/api/incidents", headers=auth(operator), json=sighting).json()["id"] == 1
        assert client.get("/api/me", headers=auth("tk_bad")).status_code == 401
