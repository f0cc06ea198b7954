"""An operator reviews a finding on the map page in headless Chromium, against a running `tenken serve`:
opens it, sees its evidence crop and source frame, draws a box, re-classes it, rejects another, and
moves a repair status; a viewer gets no review button. Needs Debian's chromium (fails without it)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import httpx
import pytest

from tenken.store import jobs as jobstore
from tenken.store.auth import create_token
from tenken.store.db import Store
from tenken.store.defects import query_defects
from tests.api.seed import defects_along, seed_survey
from tests.api.test_browser import Served, open_map, start_server
from tests.browser import launch_chromium
from tests.synthetic_drive import build_drive


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("serve")
    video, _ = build_drive(tmp_path_factory.mktemp("drive"))
    url = f"sqlite:///{data_dir / 'tenken.sqlite3'}"
    store = Store(url)
    job_id = seed_survey(store, defects_along(8, step_m=15.0))
    with store.session() as s:
        s.get(jobstore.JobRow, job_id).video_path = str(video)
        viewer = create_token(s, "viewer", "wall screen")[0]
        operator = create_token(s, "operator", "inspector sato")[0]
        ids = {row.defect_id: row.id for row in query_defects(s, job_id=job_id)}
    store.dispose()
    process, base, _prefix = start_server(data_dir)
    yield Served(base, viewer, operator, None, job_id, url), ids  # type: ignore[arg-type]
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


def watch_failures(page) -> list[str]:
    """Requests answered 4xx/5xx from now on, except the live stream: a stream the loaded machine drops
    reconnects with its expired ticket (a 401) before the page fetches a new one, by design."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return failed


def script_errors(record) -> list[str]:
    """Script errors on the page (failed loads are checked by URL in `watch_failures`)."""
    return [e for e in record["errors"] if not e.startswith("Failed to load resource")]


def open_review(page, row_id: int) -> None:
    page.evaluate(f"window.tenkenLive.openDefect({row_id})")
    page.wait_for_selector(f'.leaflet-popup-content .review-open[data-id="{row_id}"]')
    page.click(f'.leaflet-popup-content .review-open[data-id="{row_id}"]')
    page.wait_for_selector("#review-panel", state="visible")
    page.wait_for_selector('#review-frame[data-loaded="true"]')


def review_of(served: Served, row_id: int) -> dict:
    r = httpx.get(
        f"{served.url}/api/defects/{row_id}/review", headers={"Authorization": f"Bearer {served.viewer}"}
    )
    assert r.status_code == 200
    return r.json()


def test_an_operator_redraws_reclasses_rejects_and_schedules_on_the_map(browser, served):
    served, ids = served
    page, record = open_map(browser, served, served.operator)
    failed = watch_failures(page)
    open_review(page, ids[3])
    assert page.locator("#review-crop").get_attribute("src").startswith("blob:")
    assert page.evaluate("document.getElementById('review-frame').width") == 320
    # draw a box across the frame's middle: the canvas is scaled, so drag in screen space
    frame = page.locator("#review-frame").bounding_box()
    page.mouse.move(frame["x"] + frame["width"] * 0.25, frame["y"] + frame["height"] * 0.5)
    page.mouse.down()
    page.mouse.move(frame["x"] + frame["width"] * 0.5, frame["y"] + frame["height"] * 0.75, steps=5)
    page.mouse.up()
    page.check('#review-verdicts input[value="reclassed"]')
    page.select_option("#review-class", "D40")
    page.fill("#review-note", "a pothole, not alligator cracking")
    page.click("#review-save")
    page.wait_for_function("document.getElementById('review-status').textContent.startsWith('Saved')")
    review = review_of(served, ids[3])["review"]
    assert (
        review["verdict"] == "reclassed"
        and review["class_name"] == "D40"
        and review["detected_class"] == "D20"
    )
    assert review["reviewer"] == "inspector sato" and review["note"] == "a pothole, not alligator cracking"
    x1, y1, x2, y2 = review["box_xyxy"]
    assert x1 == pytest.approx(80, abs=3) and y1 == pytest.approx(120, abs=3)
    assert x2 == pytest.approx(160, abs=3) and y2 == pytest.approx(180, abs=3)
    assert page.evaluate(f"window.tenkenLive.defect({ids[3]})['class']") == "D40"
    if os.environ.get("TENKEN_DOC_IMAGES"):  # TENKEN_DOC_IMAGES=1 pytest this file: the docs' picture
        page.screenshot(path=str(Path(__file__).parents[2] / "docs/img/review-panel.png"))
    # confirming it later keeps the drawn box and the corrected class
    open_review(page, ids[3])
    page.check('#review-verdicts input[value="confirmed"]')
    page.click("#review-save")
    page.wait_for_function("document.getElementById('review-status').textContent.startsWith('Saved')")
    again = review_of(served, ids[3])["review"]
    assert again["verdict"] == "confirmed" and again["class_name"] == "D40"
    assert again["box_xyxy"] == review["box_xyxy"] and again["detected_class"] == "D20"

    open_review(page, ids[5])
    page.check('#review-verdicts input[value="rejected"]')
    page.click("#review-save")
    page.wait_for_function("document.getElementById('review-status').textContent.startsWith('Saved')")
    assert review_of(served, ids[5])["review"]["verdict"] == "rejected"
    # still on the map, drawn as rejected
    assert page.evaluate(f"window.tenkenLive.defect({ids[5]}).review") == "rejected"
    assert page.evaluate("window.tenkenLive.defectCount()") == 8

    page.select_option("#repair-status", "scheduled")
    page.fill("#repair-note", "crew 3, order 118")
    page.click("#repair-save")
    page.wait_for_function("document.getElementById('repair-message').textContent === 'Saved: scheduled.'")
    assert page.locator("#repair-history li").first.inner_text().startswith("scheduled")
    repair = review_of(served, ids[5])["repair"]
    assert repair["status"] == "scheduled" and repair["changed_by"] == "inspector sato"
    # the map filters by repair status
    page.select_option("#repair-filter", "scheduled")
    page.wait_for_function("window.tenkenLive.defectCount() === 1")
    assert page.evaluate(f"window.tenkenLive.hasDefect({ids[5]})")
    page.select_option("#repair-filter", "")
    page.wait_for_function("window.tenkenLive.defectCount() === 8")
    assert script_errors(record) == [] and record["external"] == []
    assert [f for f in failed if "/api/stream?" not in f] == []
    page.context.close()


def test_a_viewer_sees_the_review_state_but_no_review_button(browser, served):
    served, ids = served
    page, record = open_map(browser, served, served.viewer)
    failed = watch_failures(page)
    page.evaluate(f"window.tenkenLive.openDefect({ids[1]})")
    page.wait_for_selector(".leaflet-popup-content .crop img")
    assert page.locator(".leaflet-popup-content .review-open").count() == 0
    assert "Review" in page.locator(".leaflet-popup-content").inner_text()
    assert script_errors(record) == [] and [f for f in failed if "/api/stream?" not in f] == []
    page.context.close()
