"""The live panel in headless Chromium: streamed frames with boxes drawn, and replay on an incident click.

Needs Debian's chromium (`apt-get install -y chromium`; never `playwright install`): the test fails,
not skips, without it. `TENKEN_CHROMIUM` points at another binary. Requests leaving localhost fail.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from fastapi import FastAPI

from api.video import live_video_of
from tests.api.conftest import LiveServer
from tests.browser import CHROMIUM, CHROMIUM_ARGS
from tests.live_video.conftest import close_live_video
from vision.live import LiveFrame

BOX = (100.0, 100.0, 220.0, 200.0)


def frame_image(i: int) -> np.ndarray:
    """Frame i: grey level 8*i (mod 256) everywhere, so a replayed frame tells which one it is."""
    return np.full((360, 640, 3), (8 * i) % 256, np.uint8)


class Producer:
    """A drone streaming: frames at 10 fps with a fire box and telemetry, after 30 already recorded."""

    def __init__(self, app: FastAPI) -> None:
        self.feed = live_video_of(app).feed("drone-1")
        self.stop = threading.Event()
        t0 = time.time() - 20
        for i in range(30):
            self.feed.push(LiveFrame("drone-1", i, t0 + i / 2, frame_image(i)))
        self.incident_time_s = t0 + 17 / 2
        self.feed.record_finding(
            self.incident_time_s,
            {
                "event": "opened",
                "kind": "fire",
                "incident_id": "drone-1-1",
                "source": "drone-1",
                "best_frame_id": 17,
            },
        )
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        i = 100
        while not self.stop.is_set():
            self.feed.push(
                LiveFrame("drone-1", i, time.time(), frame_image(20)),
                boxes=[("fire", 0.91, BOX)],
                telemetry={"alt_m": 48.0, "heading_deg": 90.0, "battery_pct": 77.0, "mode": "AUTO"},
            )
            i += 1
            self.stop.wait(0.1)


@pytest.fixture
def producer(live_server: LiveServer) -> Iterator[Producer]:
    app = live_server.server.config.app
    assert isinstance(app, FastAPI)
    p = Producer(app)
    p.thread.start()
    yield p
    p.stop.set()
    p.thread.join(timeout=5)


PIXEL_JS = """([x, y]) => {
  const img = document.getElementById('live-img');
  if (!img || !img.naturalWidth) return null;
  const c = document.createElement('canvas');
  c.width = img.naturalWidth; c.height = img.naturalHeight;
  const g = c.getContext('2d'); g.drawImage(img, 0, 0);
  return Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3));
}"""


def test_live_panel_shows_boxes_and_an_incident_click_seeks_the_replay(
    live_server: LiveServer, tokens: dict[str, str], producer: Producer
) -> None:
    from playwright.sync_api import Request, Route, sync_playwright

    outside: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def guard(route: Route, request: Request) -> None:
                if request.url.startswith(live_server.url):
                    route.continue_()
                else:
                    outside.append(request.url)
                    route.abort()

            page.route("**/*", guard)
            page.add_init_script(f"localStorage.setItem('tenken.token', {tokens['viewer']!r})")
            page.goto(live_server.url + "/map")
            page.wait_for_function(
                "window.tenkenVideo && window.tenkenVideo.state.source === 'drone-1'", timeout=15000
            )
            # the live feed: the fire box's edge in the overlay colour, drawn on the streamed frame
            box_edge = f"({PIXEL_JS})([{int(BOX[0])}, 150])"
            page.wait_for_function(
                f"(p => p && p[0] > 200 && p[1] < 120 && p[2] < 60)({box_edge})", timeout=15000
            )
            assert page.eval_on_selector("#live-badge", "e => e.textContent") == "LIVE"
            # the findings timeline lists the recorded incident; clicking it shows the frame it came from
            page.wait_for_selector("#live-timeline li[data-i]", timeout=15000)
            page.click("#live-timeline li[data-i]")
            page.wait_for_function(
                "(i => i.src.includes('frame_id=17') && i.complete)(document.getElementById('live-img'))",
                timeout=15000,
            )
            page.wait_for_function(
                f"(() => {{ const p = ({PIXEL_JS})([600, 300]); return p && Math.abs(p[0] - 136) < 6; }})()",
                timeout=15000,
            )
            assert page.eval_on_selector("#live-badge", "e => e.textContent").startswith("REPLAY")
            page.click("#live-back")
            page.wait_for_function(
                "document.getElementById('live-img').src.includes('video.mjpg')", timeout=5000
            )
        finally:
            browser.close()
    assert outside == []
    assert errors == []


def screenshot(out: str) -> None:
    """docs/img/live-panel.jpg: a simulated survey over a fire, streamed, recorded and mapped."""
    import tempfile
    from pathlib import Path

    import cv2
    from playwright.sync_api import sync_playwright

    from api.services import Services
    from tenken.events import InProcessBus
    from tenken.settings import load_settings
    from tenken.store.auth import create_token
    from tenken.store.db import Store
    from tests.live_video.flight import marker_world, red_blob_centroids, survey_flight
    from vision.live import Incident

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(data_dir=Path(tmp), tile_url="", live_video_width_px=640)
        store = Store(settings.effective_database_url)
        services = Services(settings=settings, store=store, bus=InProcessBus())
        with store.session() as s:
            token = create_token(s, "viewer", "screenshot")[0]
        with LiveServer(settings, services) as server:
            app = server.server.config.app
            assert isinstance(app, FastAPI)
            feed = live_video_of(app).feed("drone-1")
            feed.quicklook_every = 1
            t0 = time.time() - 60
            best: tuple[float, int, float] | None = None  # distance from the image centre, frame, time
            for i, (image, pose) in enumerate(
                survey_flight(marker_world(), alt_m=45.0, gimbal_below_horizon_deg=75.0)
            ):
                boxes = [
                    ("fire", 0.88, (cx - 22, cy - 22, cx + 22, cy + 22))
                    for cx, cy in red_blob_centroids(image, min_area_px=20)
                ]
                incident = Incident(
                    "drone-1-1", "drone-1", "fire", "open", pose.lat, pose.lon, 3.0, t0, t0 + i, 0.9, 5, i
                )
                telemetry = {
                    "alt_m": 45.0,
                    "heading_deg": pose.heading_deg,
                    "battery_pct": 81.0 - i / 5,
                    "mode": "AUTO",
                }
                feed.push(LiveFrame("drone-1", i, t0 + i, image, pose), boxes=boxes,
                          incidents=[incident] if boxes else [], telemetry=telemetry)  # fmt: skip
                for _, _, (x1, y1, x2, y2) in boxes:
                    off = abs((x1 + x2) / 2 - 320) + abs((y1 + y2) / 2 - 180)
                    if best is None or off < best[0]:
                        best = (off, i, t0 + i)
            assert best is not None
            feed.record_finding(best[2], {"event": "opened", "kind": "fire", "incident_id": "drone-1-1",
                                          "source": "drone-1", "best_frame_id": best[1]})  # fmt: skip
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1500, "height": 820})
                page.add_init_script(f"localStorage.setItem('tenken.token', {token!r})")
                page.goto(server.url + "/map")
                page.wait_for_selector("#live-timeline li[data-i]", timeout=15000)
                page.check("#live-quicklook")
                page.wait_for_selector(".tenken-quicklook", timeout=15000)
                page.click("#live-timeline li[data-i]")
                page.wait_for_timeout(1500)
                page.screenshot(path=out.replace(".jpg", ".png"))
                browser.close()
            close_live_video(app)
        store.dispose()
    shot = cv2.imread(out.replace(".jpg", ".png"))
    assert shot is not None
    cv2.imwrite(out, shot, [cv2.IMWRITE_JPEG_QUALITY, 80])


if __name__ == "__main__":
    import sys

    screenshot(sys.argv[1] if len(sys.argv) > 1 else "docs/img/live-panel.jpg")
