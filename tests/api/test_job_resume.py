"""POST /api/jobs/{id}/resume: operators send a failed or stalled job's work again."""

from __future__ import annotations

from tenken.store import jobs as jobstore
from tests.api.conftest import auth


def failed_job(services) -> str:
    with services.store.session() as s:
        job_id = jobstore.create_video_job(s, "v.mp4", "t.gpx", detector="road", conf=None, options={}).id
        jobstore.start_job(
            s, job_id, [[0, 4]], video_start_s=0.0, duration_s=1.0, frame_size=(2, 2), frames_in_video=8
        )
        jobstore.fail_job(s, job_id, "aggregation failed after 5 attempts: OSError: disk full")
    return job_id


def test_an_operator_resumes_a_failed_job(client, services, tokens):
    job_id = failed_job(services)
    listed = client.get(f"/api/jobs/{job_id}", headers=auth(tokens["viewer"])).json()
    assert listed["resumable"] and not listed["stalled"]
    response = client.post(f"/api/jobs/{job_id}/resume", headers=auth(tokens["operator"]))
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["state"], body["error"], body["resumable"]) == ("running", None, False)
    assert services.executor.resumed == [job_id]


def test_resume_needs_an_operator_token(client, services, tokens):
    job_id = failed_job(services)
    assert client.post(f"/api/jobs/{job_id}/resume").status_code == 401
    refused = client.post(f"/api/jobs/{job_id}/resume", headers=auth(tokens["viewer"]))
    assert refused.status_code == 403 and "operator" in refused.json()["detail"]
    assert services.executor.resumed == []


def test_a_finished_or_unknown_job_is_not_resumed(client, services, tokens):
    job_id = failed_job(services)
    with services.store.session() as s:
        jobstore.get_job(s, job_id).state = "canceled"
    conflict = client.post(f"/api/jobs/{job_id}/resume", headers=auth(tokens["operator"]))
    assert conflict.status_code == 409 and "canceled" in conflict.json()["detail"]
    missing = client.post("/api/jobs/nope/resume", headers=auth(tokens["operator"]))
    assert missing.status_code == 404
    assert services.executor.resumed == []


def test_a_job_quiet_for_the_stale_time_is_listed_as_stalled(client, services, tokens, settings):
    with services.store.session() as s:
        job_id = jobstore.create_video_job(s, "v.mp4", "t.gpx", detector="road", conf=None, options={}).id
    services.settings = settings.model_copy(update={"stale_job_s": 1e-6})
    (job,) = client.get("/api/jobs", headers=auth(tokens["viewer"])).json()
    assert (job["id"], job["state"], job["stalled"], job["resumable"]) == (job_id, "queued", True, True)
