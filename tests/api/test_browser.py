"""The command-post map in headless Chromium against a running `tenken serve` (a subprocess).

The server runs the distributed live path (Redis Streams bus), so the test publishes a finding the
way a worker does. Every request that leaves localhost is recorded and refused. Needs Debian's
chromium (`apt-get install -y chromium`; never `playwright install`): the test fails, not skips,
without it. Run this file as a script to regenerate docs/img/command-post.png.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from tenken.events import FINDINGS, INCIDENTS
from tenken.events_redis import RedisStreamBus
from tenken.store.auth import create_token, revoke_token
from tenken.store.db import Store
from tests.api.conftest import free_port
from tests.api.seed import ORIGIN, defects_along, seed_survey
from tests.browser import CHROMIUM, CHROMIUM_ARGS

REDIS_URL = "redis://127.0.0.1:6379/0"
N_DEFECTS = 40
TENKEN = Path(sys.executable).parent / "tenken"


@dataclass
class Served:
    url: str
    viewer: str
    operator: str
    bus: RedisStreamBus
    job_id: str
    store_url: str = ""  # the store `tenken serve` runs on (for tests that change tokens)


def start_server(data_dir: Path, *, tile_url: str = "") -> tuple[subprocess.Popen[bytes], str, str]:
    """`tenken serve` on a free loopback port with its own Redis stream; returns (process, url, prefix)."""
    port = free_port()
    prefix = f"tenken-test-{uuid.uuid4().hex[:8]}"
    env = os.environ | {
        "TENKEN_DATA_DIR": str(data_dir),
        "TENKEN_TILE_URL": tile_url,
        "TENKEN_BROKER_URL": REDIS_URL,
        "TENKEN_QUEUE_PREFIX": prefix,
    }
    process = subprocess.Popen(
        [str(TENKEN), "serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/api/config", timeout=1).status_code == 200:
                return process, url, prefix
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(
                "tenken serve did not start: " + process.stdout.read().decode(errors="replace")
            )
        time.sleep(0.1)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    data_dir = tmp_path_factory.mktemp("serve")
    store = Store(f"sqlite:///{data_dir / 'tenken.sqlite3'}")
    job_id = seed_survey(store, defects_along(N_DEFECTS), seen_at_s=time.time() - 600)
    with store.session() as s:
        viewer, operator = create_token(s, "viewer")[0], create_token(s, "operator")[0]
    store.dispose()
    process, url, prefix = start_server(data_dir)
    bus = RedisStreamBus(REDIS_URL, key=f"{prefix}:events")
    yield Served(url, viewer, operator, bus, job_id, f"sqlite:///{data_dir / 'tenken.sqlite3'}")
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    bus._redis.delete(f"{prefix}:events")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"no Chromium at {CHROMIUM}: apt-get install -y chromium, or set TENKEN_CHROMIUM")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def open_map(browser, served: Served, token: str | None = None):
    """The map page with the token in localStorage; console errors and off-host requests recorded."""
    context = browser.new_context(viewport={"width": 1400, "height": 860})
    record: dict[str, list[str]] = {"errors": [], "external": []}

    def guard(route):
        host = urlparse(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            record["external"].append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    context.add_init_script(f"localStorage.setItem('tenken.token', {token or served.viewer!r});")
    page = context.new_page()
    page.on("console", lambda m: record["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: record["errors"].append(str(e)))
    page.goto(served.url + "/map")
    page.wait_for_function("window.tenkenLive && window.tenkenLive.view.ready === true")
    return page, record


def test_the_page_loads_with_no_console_errors_and_no_external_requests(browser, served):
    page, record = open_map(browser, served)
    page.wait_for_function("window.tenkenLive.view.connected === true")
    assert record["errors"] == []
    assert record["external"] == []
    assert page.locator("#conn").inner_text() == "live"
    page.context.close()


def test_seeded_defects_appear_as_markers_and_segments_as_lines(browser, served):
    page, _ = open_map(browser, served)
    assert page.evaluate("window.tenkenLive.defectCount()") == N_DEFECTS
    assert page.evaluate("window.tenkenLive.clusters.getLayers().length") == N_DEFECTS
    assert page.locator(".tenken-defect, .cluster").count() > 0
    assert page.locator("#defect-count").inner_text() == str(N_DEFECTS)
    colours = set(
        page.eval_on_selector_all("path.tenken-segment", "els => els.map(e => e.getAttribute('stroke'))")
    )
    assert colours == {"#16a34a", "#dc2626"}
    page.context.close()


def test_a_finding_published_live_appears_on_the_map_within_two_seconds(browser, served):
    page, _ = open_map(browser, served)
    page.wait_for_function("window.tenkenLive.view.connected === true")
    served.bus.publish(
        FINDINGS,
        {
            "kind": "defect",
            "id": 987654,
            "job_id": "live",
            "defect_id": 1,
            "class_name": "D40",
            "severity": "high",
            "lat": ORIGIN[0] + 0.0003,
            "lon": ORIGIN[1] + 0.0003,
            "error_m": 2.0,
            "confidence": 0.9,
            "n_observations": 3,
            "seen_at_s": time.time(),
        },
    )
    page.wait_for_function("window.tenkenLive.hasDefect(987654)", timeout=2000)
    assert page.locator("#defect-count").inner_text() == str(N_DEFECTS + 1)
    page.context.close()


def test_a_token_that_is_refused_asks_for_another(browser, served):
    page = browser.new_page()
    page.add_init_script("localStorage.setItem('tenken.token', 'tk_wrong');")
    page.goto(served.url + "/map")
    page.wait_for_selector("#token-form", state="visible")
    page.fill("#token-input", served.viewer)
    page.click("#token-form button")
    page.wait_for_function("window.tenkenLive.view.ready === true")
    assert page.locator("#token-form").is_hidden()
    page.close()


def test_the_page_streams_with_a_ticket_and_asks_again_when_its_token_is_revoked(browser, served):
    store = Store(served.store_url)
    with store.session() as s:
        secret, info = create_token(s, "viewer", "wall screen")
    urls: list[str] = []
    page = browser.new_page()
    page.on("request", lambda r: urls.append(r.url))
    page.add_init_script(f"localStorage.setItem('tenken.token', {secret!r});")
    page.goto(served.url + "/map")
    page.wait_for_function("window.tenkenLive && window.tenkenLive.view.connected === true")
    streams = [u for u in urls if "/api/stream?" in u]
    assert streams and all("ticket=st_" in u for u in streams)
    assert not [u for u in urls if secret in u]  # the token itself is never in a URL
    with store.session() as s:
        revoke_token(s, info.token_id)
    store.dispose()
    page.wait_for_selector("#token-form", state="visible", timeout=60_000)  # the stream ended; no new ticket
    page.close()


def test_clicking_a_defect_shows_its_evidence_crop(browser, served):
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page, record = open_map(browser, served)
    crop_shown = "document.querySelector('.leaflet-popup-content .crop img')?.complete === true"
    for attempt in range(3):
        x, y = page.evaluate(
            """() => {
                const live = window.tenkenLive, marker = Object.values(live.view.defects)[0];
                live.map.setView(marker.getLatLng(), 19, {animate: false});
                const p = live.map.latLngToContainerPoint(marker.getLatLng());
                const r = live.map.getContainer().getBoundingClientRect();
                return [r.left + p.x, r.top + p.y];
            }"""
        )
        # The cluster layer splits clusters with an animation: wait until the marker itself is on top.
        page.wait_for_function(
            "([x, y]) => document.elementFromPoint(x, y)?.classList.contains('tenken-defect') === true",
            arg=[x, y],
        )
        page.mouse.click(x, y)
        try:  # on a loaded machine the click can land while the clusters still move: click again
            page.wait_for_function(crop_shown, timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    assert page.evaluate("document.querySelector('.leaflet-popup-content .crop img').naturalWidth") == 120
    assert record["errors"] == []
    page.context.close()


def post(served: Served, path: str, body: dict) -> dict:
    response = httpx.post(
        served.url + path, json=body, headers={"Authorization": f"Bearer {served.operator}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def sighting(key: str, kind: str, t: float, dlat: float) -> dict:
    return {
        "key": key,
        "kind": kind,
        "lat": ORIGIN[0] + dlat,
        "lon": ORIGIN[1],
        "error_m": 10.0,
        "timestamp_s": t,
        "confidence": 0.8,
        "source": "drone-1",
    }


def test_incidents_fill_an_alert_list_that_keeps_its_order_as_they_update(browser, served):
    page, _ = open_map(browser, served)
    page.wait_for_function("window.tenkenLive.view.connected === true")
    t = time.time()
    a = post(served, "/api/incidents", sighting(f"a-{t}", "fire", t, 0.001))
    b = post(served, "/api/incidents", sighting(f"b-{t}", "smoke", t + 1, 0.002))
    page.wait_for_function(
        f"document.querySelectorAll('#alerts li.open').length >= 2 && "
        f"document.querySelector('#alerts li[data-id=\"{b['key']}\"]') !== null"
    )
    order = page.eval_on_selector_all("#alerts li.open", "els => els.map(e => e.dataset.id)")
    post(served, "/api/incidents", sighting(f"a-{t}", "fire", t + 5, 0.001) | {"confidence": 0.95})
    page.wait_for_function(f"window.tenkenLive.view.incidents[{a['key']!r}].data.confidence === 0.95")
    assert page.eval_on_selector_all("#alerts li.open", "els => els.map(e => e.dataset.id)") == order
    post(served, f"/api/incidents/{a['id']}/close", {"timestamp_s": t + 9})
    page.wait_for_selector(f'#alerts li.closed[data-id="{a["key"]}"]')
    assert page.locator(".tenken-incident.closed").count() >= 1
    page.context.close()


def test_an_incident_from_the_live_pipeline_is_shown_and_kept_in_the_store(browser, served):
    page, _ = open_map(browser, served)
    page.wait_for_function("window.tenkenLive.view.connected === true")
    t = time.time()
    incident_id = f"drone-1-{int(t)}"
    served.bus.publish(INCIDENTS, pipeline_change(incident_id, t))
    page.wait_for_selector(f'#alerts li.open[data-id="{incident_id}"]')
    assert page.locator(".tenken-incident-flood").count() >= 1
    page.context.close()
    stored = httpx.get(served.url + "/api/incidents", params={"token": served.viewer, "kind": "flood"}).json()
    assert incident_id in [i["key"] for i in stored]


def pipeline_change(incident_id: str, t: float) -> dict:
    """An incident change as `vision.live` publishes it."""
    return {
        "event": "opened",
        "incident_id": incident_id,
        "source": "drone-1",
        "kind": "flood",
        "state": "open",
        "lat": ORIGIN[0] + 0.002,
        "lon": ORIGIN[1] + 0.002,
        "error_m": 15.0,
        "first_seen_s": t - 3,
        "last_seen_s": t,
        "confidence": 0.77,
        "sightings": 4,
        "best_frame_id": 118,
    }


def test_the_live_drone_is_drawn_with_its_track_and_camera_footprint(browser, served):
    page, _ = open_map(browser, served)
    page.wait_for_function("window.tenkenLive.view.connected === true")
    for i in range(3):
        lat, lon = ORIGIN[0] + 0.0004 * i, ORIGIN[1] + 0.0002
        post(served, "/api/telemetry", drone_state(lat, lon, 45.0 + i))
    page.wait_for_function("window.tenkenLive.view.drones['drone-1']?.track.getLatLngs().length === 3")
    assert page.locator(".tenken-drone").count() == 1
    assert page.locator("path.tenken-footprint").count() == 1
    assert "battery 80 %" in page.locator("#drones").inner_text()
    page.context.close()


def test_a_reloaded_page_redraws_track_incidents_and_drone_card_from_the_store(browser, served):
    t = time.time()
    for i in range(4):  # a point every 2 s: each is kept in the recorded track
        state = drone_state(ORIGIN[0] - 0.001 + 0.0003 * i, ORIGIN[1] - 0.001, 40.0)
        state |= {"vehicle_id": "drone-7", "timestamp_s": t - 10 + 2 * i, "battery_pct": 77.0}
        state["mode"] = "GUIDED"
        post(served, "/api/telemetry", state)
    incident_id = f"drone-7-{int(t)}"
    for k in range(8):  # the pipeline sees the flood in every frame: opened, then updates
        change = pipeline_change(incident_id, t + 0.2 * k) | {"source": "drone-7"}
        served.bus.publish(INCIDENTS, change | {"event": "opened" if k == 0 else "updated"})

    page, record = open_map(browser, served)
    alert = f'#alerts li.open[data-id="{incident_id}"]'
    page.wait_for_selector(alert)
    page.wait_for_function("window.tenkenLive.trackLength('drone-7') === 4")
    before = page.locator(f"{alert} b").inner_text()
    page.reload()
    page.wait_for_function("window.tenkenLive && window.tenkenLive.view.ready === true")
    page.wait_for_selector(alert)
    page.wait_for_function("window.tenkenLive.trackLength('drone-7') === 4")
    assert page.locator(f"{alert} b").inner_text() == before == f"flood #{incident_id}"
    assert page.locator(f'#alerts li[data-id="{incident_id}"]').count() == 1
    card = page.locator('#drones li[data-id="drone-7"]').inner_text()
    assert "GUIDED" in card and "battery 77 %" in card
    assert not record["errors"], record["errors"]
    page.context.close()


def drone_state(lat: float, lon: float, alt_m: float) -> dict:
    d = 0.0004
    ring = [[lon - d, lat + d], [lon + d, lat + d], [lon + d / 3, lat + d / 4], [lon - d / 3, lat + d / 4]]
    return {
        "vehicle_id": "drone-1",
        "timestamp_s": time.time(),
        "lat": lat,
        "lon": lon,
        "alt_m": alt_m,
        "heading_deg": 20.0,
        "battery_pct": 80.0,
        "mode": "AUTO",
        "armed": True,
        "footprint": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
    }


def save_screenshot(path: Path) -> None:
    """The command post with a survey, a live drone and two incidents, for the README."""
    import tempfile

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        data_dir = Path(tmp)
        store = Store(f"sqlite:///{data_dir / 'tenken.sqlite3'}")
        job_id = seed_survey(store, defects_along(160, step_m=3.0), seen_at_s=time.time() - 3600)
        with store.session() as s:
            viewer, operator = create_token(s, "viewer", "wall screen")[0], create_token(s, "operator")[0]
        store.dispose()
        process, url, prefix = start_server(data_dir)
        served = Served(url, viewer, operator, RedisStreamBus(REDIS_URL, key=f"{prefix}:events"), job_id)
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            page, _ = open_map(b, served)
            page.wait_for_function("window.tenkenLive.view.connected === true")
            t = time.time()
            post(
                served,
                "/api/incidents",
                sighting("shot-1", "fire", t - 120, 0.0013) | {"lon": ORIGIN[1] + 0.0031},
            )
            post(
                served,
                "/api/incidents",
                sighting("shot-2", "smoke", t - 60, 0.0017) | {"lon": ORIGIN[1] + 0.0036},
            )
            for i in range(12):
                post(
                    served,
                    "/api/telemetry",
                    drone_state(ORIGIN[0] + 0.0001 * i, ORIGIN[1] + 0.0015 + 0.00012 * i, 60.0),
                )
            page.wait_for_function(
                "window.tenkenLive.view.drones['drone-1']?.track.getLatLngs().length === 12"
            )
            centre = [ORIGIN[0] + 0.0006, ORIGIN[1] + 0.0024]
            page.evaluate("c => window.tenkenLive.map.setView(c, 18, {animate: false})", centre)
            page.wait_for_timeout(800)
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path))
            b.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
            served.bus._redis.delete(f"{prefix}:events")


if __name__ == "__main__":
    target = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[2] / "docs/img/command-post.png"
    )
    save_screenshot(target)
    print(f"wrote {target}")


def test_unreachable_tiles_leave_a_usable_map(browser, tmp_path):
    refused = free_port()  # nothing listens there: tile requests fail at once, without any network
    store = Store(f"sqlite:///{tmp_path / 'tenken.sqlite3'}")
    seed_survey(store, defects_along(12))
    with store.session() as s:
        viewer = create_token(s, "viewer")[0]
    store.dispose()
    process, url, prefix = start_server(
        tmp_path, tile_url=f"http://127.0.0.1:{refused}/{{z}}/{{x}}/{{y}}.png"
    )
    try:
        page, record = open_map(
            browser, Served(url, viewer, viewer, RedisStreamBus(REDIS_URL, key=prefix), "")
        )
        page.wait_for_selector("#tile-note", state="visible")
        assert page.evaluate("window.tenkenLive.defectCount()") == 12
        assert page.locator(".leaflet-control-scale-line").first.is_visible()
        assert record["external"] == []
        assert [e for e in record["errors"] if "ERR_CONNECTION_REFUSED" not in e] == []
        page.context.close()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_api_reference_page_works_offline(browser, served):
    context = browser.new_context()
    external: list[str] = []

    def guard(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost") or route.request.url.startswith(
            "data:"
        ):
            route.continue_()
        else:
            external.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    page = context.new_page()
    page.goto(served.url + "/docs")
    page.wait_for_selector('.opblock-summary-path[data-path="/api/findings"]')
    assert external == []
    context.close()
