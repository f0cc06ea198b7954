"""The Resume button of the map's job list, in headless Chromium against `tenken serve`."""

from __future__ import annotations

import subprocess

import redis

from tenken.store import jobs as jobstore
from tenken.store.auth import create_token
from tenken.store.db import Store
from tests.api.test_browser import REDIS_URL, Served, browser, open_map, start_server  # noqa: F401


def test_a_failed_job_shows_a_resume_button_that_sends_it_again(browser, tmp_path):  # noqa: F811
    store = Store(f"sqlite:///{tmp_path / 'tenken.sqlite3'}")
    with store.session() as s:
        job_id = jobstore.create_video_job(s, "v.mp4", "t.gpx", detector="road", conf=None, options={}).id
        jobstore.start_job(
            s, job_id, [[0, 4]], video_start_s=0.0, duration_s=1.0, frame_size=(2, 2), frames_in_video=8
        )
        jobstore.fail_job(s, job_id, "aggregation failed after 5 attempts: OSError: disk full")
        viewer, operator = create_token(s, "viewer")[0], create_token(s, "operator")[0]
    process, url, prefix = start_server(tmp_path)
    try:
        page, record = open_map(browser, Served(url, viewer, operator, None, job_id), token=operator)  # type: ignore[arg-type]
        row = page.locator(f'#jobs li[data-id="{job_id}"]')
        assert "failed" in row.inner_text()
        assert row.locator("span[title]").nth(1).get_attribute("title").startswith("aggregation failed")
        row.locator("button.resume").click()
        page.wait_for_function(f"window.tenkenLive.view.jobs[{job_id!r}].state === 'running'", timeout=10_000)
        assert row.locator("button.resume").count() == 0
        with store.session() as s:
            assert jobstore.get_job(s, job_id).state == "running"
        broker = redis.Redis.from_url(REDIS_URL)
        queued = b"".join(broker.lrange(f"{prefix}:{prefix}.inference", 0, -1))
        assert job_id.encode() in queued  # its pending chunk was sent to the workers
        assert record["errors"] == []
        page.context.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        store.dispose()
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
