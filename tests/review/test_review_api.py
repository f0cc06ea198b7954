"""Review and repair status through the API, on SQLite and PostgreSQL: roles, fields named on bad
input, rejected findings leaving the grades, repairs filtered and exported, found-again re-opening."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from tenken.events import InProcessBus
from tenken.settings import load_settings
from tenken.store import defects as defectstore
from tenken.store import job_frames as framestore
from tenken.store.auth import create_token
from tenken.store.db import Store
from tenken.store.repairs import reopen_found_again
from tests.api.conftest import RecordingExecutor, auth
from tests.api.seed import defects_along, seed_survey
from vision.road.grading import grade_segments, seen_intervals_from_frames
from vision.road.regrade import regrade_survey
from vision.road.survey import graded_range_m
from vision.road.survey_options import parse_options

N = 12


def graded_survey(store: Store, seen_at_s: float = 1_790_000_000.0) -> str:
    """A seeded survey whose segments are graded from its own route and frames, as aggregation does."""
    defects = defects_along(N, step_m=15.0)
    job_id = seed_survey(store, defects, seen_at_s=seen_at_s)
    route = [(d.lat, d.lon) for d in defects]
    with store.session() as s:
        poses = [pose for _, pose in framestore.load_frame_poses(s, job_id)]
        near_m, far_m = graded_range_m(parse_options({}), (320, 240))
        seen = seen_intervals_from_frames(route, poses, near_m=near_m, far_m=far_m)
        defectstore.replace_segments(s, job_id, grade_segments(route, defects, seen, segment_m=50.0))
    return job_id


@pytest.fixture
def api(database_url, tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", tile_url="")
    store = Store(database_url)
    job_id = graded_survey(store)
    with store.session() as s:
        viewer = create_token(s, "viewer", "wall screen")[0]
        operator = create_token(s, "operator", "inspector sato")[0]
    services = Services(settings=settings, store=store, bus=InProcessBus(), executor=RecordingExecutor(store))
    with TestClient(create_app(settings, services)) as client:
        yield client, store, job_id, viewer, operator
    store.dispose()


def counts(client, viewer, job_id) -> dict[str, int]:
    total: dict[str, int] = {}
    for f in client.get("/api/segments", params={"job_id": job_id}, headers=auth(viewer)).json()["features"]:
        for cls, n in f["properties"]["defect_counts"].items():
            total[cls] = total.get(cls, 0) + n
    return total


def findings(client, viewer, job_id) -> dict[int, dict]:
    r = client.get("/api/findings", params={"job_id": job_id}, headers=auth(viewer))
    return {f["properties"]["defect_id"]: f["properties"] for f in r.json()["features"]}


def test_regrading_an_unreviewed_survey_reproduces_its_grades(api):
    _, store, job_id, *_ = api
    with store.session() as s:
        before = [defectstore.segment_from_row(r) for r in defectstore.job_segments(s, job_id)]
        after = regrade_survey(s, job_id)
    assert len(before) >= 3
    assert [(g.segment_id, g.defect_counts) for g in after] == [
        (g.segment_id, g.defect_counts) for g in before
    ]
    assert [g.surveyed_fraction for g in after] == pytest.approx([g.surveyed_fraction for g in before])


def test_viewers_cannot_review_and_operators_can(api):
    client, _, job_id, viewer, operator = api
    row_id = findings(client, viewer, job_id)[5]["id"]
    r = client.post(f"/api/defects/{row_id}/review", json={"verdict": "confirmed"}, headers=auth(viewer))
    assert r.status_code == 403
    r = client.post(
        f"/api/defects/{row_id}/review",
        json={"verdict": "confirmed", "note": "seen on site"},
        headers=auth(operator),
    )
    assert r.status_code == 200, r.text
    review = client.get(f"/api/defects/{row_id}/review", headers=auth(viewer)).json()["review"]
    assert review["verdict"] == "confirmed" and review["reviewer"] == "inspector sato"
    assert review["note"] == "seen on site" and review["reviewed_at"]


def test_a_rejected_finding_leaves_the_grades_but_stays_visible_as_rejected(api):
    client, _, job_id, viewer, operator = api
    before = counts(client, viewer, job_id)
    target = findings(client, viewer, job_id)[5]  # D00 (classes cycle D00, D10, D20, D40)
    assert target["class"] == "D00"
    r = client.post(
        f"/api/defects/{target['id']}/review", json={"verdict": "rejected"}, headers=auth(operator)
    )
    assert r.status_code == 200 and r.json()["segments_graded"] >= 3
    after = counts(client, viewer, job_id)
    assert after["D00"] == before["D00"] - 1 and after["D10"] == before["D10"]
    listed = findings(client, viewer, job_id)
    assert len(listed) == N and listed[5]["review"] == "rejected"


def test_a_reclassed_finding_counts_as_its_new_class(api):
    client, _, job_id, viewer, operator = api
    before = counts(client, viewer, job_id)
    target = findings(client, viewer, job_id)[5]
    body = {"verdict": "reclassed", "class_name": "D40", "box_xyxy": [12, 22, 70, 90], "frame_index": 40}
    r = client.post(f"/api/defects/{target['id']}/review", json=body, headers=auth(operator))
    assert r.status_code == 200, r.text
    assert r.json()["review"]["detected_class"] == "D00" and r.json()["review"]["box_xyxy"] == [
        12,
        22,
        70,
        90,
    ]
    after = counts(client, viewer, job_id)
    assert after["D00"] == before["D00"] - 1 and after["D40"] == before["D40"] + 1
    assert findings(client, viewer, job_id)[5]["class"] == "D40"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"verdict": "maybe"}, "verdict"),
        ({"verdict": "reclassed"}, "class_name"),
        ({"verdict": "reclassed", "class_name": "D99"}, "class_name"),
        ({"verdict": "confirmed", "class_name": "D40"}, "class_name"),
        ({"verdict": "confirmed", "box_xyxy": [50, 20, 10, 80]}, "box_xyxy"),
        ({"verdict": "confirmed", "box_xyxy": [10, 20, 400, 80]}, "box_xyxy"),
        ({"verdict": "confirmed", "box_xyxy": [10, 20]}, "box_xyxy"),
        ({"verdict": "confirmed", "box_xyxy": [10, 20, 30, 40], "frame_index": 9999}, "frame_index"),
        ({"verdict": "confirmed", "note": "x" * 5000}, "note"),
    ],
)
def test_bad_reviews_are_422_naming_the_field(api, body, field):
    client, _, job_id, viewer, operator = api
    row_id = findings(client, viewer, job_id)[2]["id"]
    r = client.post(f"/api/defects/{row_id}/review", json=body, headers=auth(operator))
    assert r.status_code == 422 and field in r.json()["detail"], r.text
    assert client.get(f"/api/defects/{row_id}/review", headers=auth(viewer)).json()["review"] is None


def test_reviewing_a_missing_defect_is_404(api):
    client, *_, operator = api
    assert (
        client.post(
            "/api/defects/999999/review", json={"verdict": "confirmed"}, headers=auth(operator)
        ).status_code
        == 404
    )


def test_repair_status_moves_forward_with_who_and_when_and_exports_by_status(api):
    client, _, job_id, viewer, operator = api
    ids = [f["id"] for f in findings(client, viewer, job_id).values()]
    assert (
        client.post(
            f"/api/defects/{ids[0]}/repair", json={"status": "scheduled"}, headers=auth(viewer)
        ).status_code
        == 403
    )
    for status_ in ("scheduled", "repaired"):
        r = client.post(
            f"/api/defects/{ids[0]}/repair",
            json={"status": status_, "note": "crew 3"},
            headers=auth(operator),
        )
        assert (
            r.status_code == 200
            and r.json()["status"] == status_
            and r.json()["changed_by"] == "inspector sato"
        )
    r = client.post(f"/api/defects/{ids[0]}/repair", json={"status": "scheduled"}, headers=auth(operator))
    assert (
        r.status_code == 409
        and r.json()["field"] == "status"
        and "repaired defect can become open" in r.json()["detail"]
    )
    r = client.post(f"/api/defects/{ids[1]}/repair", json={"status": "fixed"}, headers=auth(operator))
    assert r.status_code == 422 and "status" in r.json()["detail"]
    assert (
        client.post(
            f"/api/defects/{ids[1]}/repair", json={"status": "dismissed"}, headers=auth(operator)
        ).status_code
        == 200
    )
    history = client.get(f"/api/defects/{ids[0]}/review", headers=auth(viewer)).json()["repair"]["history"]
    assert [h["status"] for h in history] == ["scheduled", "repaired"] and all(h["at"] for h in history)

    geo = client.get("/api/repairs.geojson", params={"status": "repaired"}, headers=auth(viewer)).json()
    assert [f["id"] for f in geo["features"]] == [ids[0]]
    rows = list(
        csv.DictReader(
            io.StringIO(client.get("/api/repairs.csv", params={"status": "open"}, headers=auth(viewer)).text)
        )
    )
    assert len(rows) == N - 2 and {r["status"] for r in rows} == {"open"}
    assert client.get("/api/repairs.csv", params={"status": "fixed"}, headers=auth(viewer)).status_code == 422
    assert findings(client, viewer, job_id)[2]["repair"] == "dismissed"
    by_status = {
        status_: sorted(
            f["id"]
            for f in client.get(
                "/api/findings", params={"job_id": job_id, "repair": status_}, headers=auth(viewer)
            ).json()["features"]
        )
        for status_ in ("open", "repaired", "dismissed", "scheduled")
    }
    assert by_status == {
        "open": sorted(ids[2:]),
        "repaired": [ids[0]],
        "dismissed": [ids[1]],
        "scheduled": [],
    }
    r = client.get("/api/findings", params={"repair": "fixed"}, headers=auth(viewer))
    assert r.status_code == 422 and "repair" in r.json()["detail"]


def test_a_repaired_defect_found_again_by_a_later_survey_reopens_with_a_flag(api):
    client, store, job_id, viewer, operator = api
    first = findings(client, viewer, job_id)
    for n in (1, 2):
        client.post(
            f"/api/defects/{first[n]['id']}/repair", json={"status": "repaired"}, headers=auth(operator)
        )
    later = seed_survey(store, defects_along(N, step_m=15.0)[1:], seen_at_s=1_800_000_000.0)  # #2 onwards
    with store.session() as s:
        reopened = reopen_found_again(s, later)
    assert reopened == [first[2]["id"]]  # defect 1 was not found again: it stays repaired
    state = client.get(f"/api/defects/{first[2]['id']}/review", headers=auth(viewer)).json()["repair"]
    assert state["status"] == "open" and state["reopened"] is True and state["found_again_as"] is not None
    assert state["history"][-1]["by"] == "found again"
    assert (
        client.get(f"/api/defects/{first[1]['id']}/review", headers=auth(viewer)).json()["repair"]["status"]
        == "repaired"
    )
    with store.session() as s:  # checking again re-opens nothing more
        assert reopen_found_again(s, later) == []


def test_the_source_frame_of_a_survey_whose_video_is_gone_is_404_saying_so(api):
    client, _, job_id, viewer, _ = api
    row_id = findings(client, viewer, job_id)[2]["id"]
    r = client.get(f"/api/defects/{row_id}/frame", headers=auth(viewer))
    assert r.status_code == 404 and "is gone" in r.json()["detail"]
    assert (
        client.get(
            f"/api/defects/{row_id}/frame", params={"frame_index": -1}, headers=auth(viewer)
        ).status_code
        == 422
    )
