"""The network, change and work-list routes and the change page, on SQLite and on PostgreSQL."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from tenken.events import InProcessBus
from tenken.settings import load_settings
from tenken.store import network as netstore
from tenken.store.auth import create_token
from tenken.store.db import Store
from tests.api.conftest import RecordingExecutor, auth
from tests.network_drives import DRIVE_A, DRIVE_B, EXPECTED, network_routes, store_drive


@pytest.fixture
def api(database_url, tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", tile_url="")
    store = Store(database_url)
    then_id, now_id = store_drive(store, DRIVE_A), store_drive(store, DRIVE_B)
    with store.session() as s:
        viewer = create_token(s, "viewer")[0]
    services = Services(settings=settings, store=store, bus=InProcessBus(), executor=RecordingExecutor(store))
    with TestClient(create_app(settings, services)) as client:
        yield client, store, viewer, then_id, now_id
    store.dispose()


def test_compare_without_a_network_is_a_conflict_that_says_what_to_do(api):
    client, _, viewer, then_id, now_id = api
    r = client.get("/api/compare.geojson", params={"then": then_id, "now": now_id}, headers=auth(viewer))
    assert r.status_code == 409 and "tenken network import" in r.json()["detail"]


def test_change_and_work_list_routes_serve_the_network_history(api):
    client, store, viewer, then_id, now_id = api
    with store.session() as s:
        netstore.replace_network(s, network_routes())
    routes = client.get("/api/network", headers=auth(viewer)).json()
    assert [(r["route_id"], r["n_units"]) for r in routes] == [("R1", 5), ("R2", 3)]
    # surveys are put on the network on first use
    r = client.get("/api/compare.geojson", params={"then": then_id, "now": now_id}, headers=auth(viewer))
    assert r.status_code == 200, r.text
    points = [f["properties"]["status"] for f in r.json()["features"] if f["geometry"]["type"] == "Point"]
    assert sorted(points) == sorted(EXPECTED.values())
    units = client.get(
        "/api/compare/units.csv", params={"then": then_id[:8], "now": now_id[:8]}, headers=auth(viewer)
    )
    assert [row["unit"] for row in csv.DictReader(io.StringIO(units.text))] == ["0", "1", "2", "3", "4"]
    work = client.get("/api/worklist.csv", headers=auth(viewer))
    rows = list(csv.DictReader(io.StringIO(work.text)))
    assert len(rows) == 5 and rows[0]["rank"] == "1" and rows[0]["route_id"] == "R1"
    assert client.get("/api/worklist.gpkg", headers=auth(viewer)).content[:16] == b"SQLite format 3\x00"
    graded = client.get(f"/api/surveys/{now_id}/units.geojson", headers=auth(viewer)).json()
    assert len(graded["features"]) == 5
    places = client.get(f"/api/surveys/{now_id}/defect-locations", headers=auth(viewer)).json()
    assert len(places) == 9 and {p["route_id"] for p in places} == {"R1"}
    assert all(
        1000.0 <= p["distance_m"] <= 1450.0 and p["unit"] == int((p["distance_m"] - 1000) // 100)
        for p in places
    )


def test_unknown_survey_is_404_and_a_bad_id_names_the_field(api):
    client, _, viewer, then_id, _ = api
    r = client.get("/api/compare.geojson", params={"then": then_id, "now": "abcdef12"}, headers=auth(viewer))
    assert r.status_code == 404 and "now" in r.json()["detail"]
    r = client.get("/api/compare.geojson", params={"then": "../x", "now": then_id}, headers=auth(viewer))
    assert r.status_code == 422 and "then" in r.json()["detail"]


def test_change_routes_need_a_token_and_the_page_is_served(api):
    client, _, _, then_id, now_id = api
    assert client.get("/api/compare.geojson", params={"then": then_id, "now": now_id}).status_code == 401
    page = client.get("/compare/")
    assert page.status_code == 200 and "assets/compare.js" in page.text
    assert client.get("/compare/assets/compare.js").status_code == 200
    assert client.get("/compare/assets/leaflet/leaflet.js").status_code == 200
