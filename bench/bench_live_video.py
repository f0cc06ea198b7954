"""Live video on loopback: glass-to-glass delay (p50/p95) and the bytes a viewer costs at each JPEG quality.

    python bench/bench_live_video.py [--seconds 8] [--fps 10] [--width 960] [--chromium]

A producer renders a simulated flight over the synthetic world (1280x720), draws the capture time into
each frame as a row of black and white blocks (the "glass"), and pushes it through the real path:
overlay, scale to --width, JPEG, frame hub, `GET /api/live/{source}/video.mjpg` on a uvicorn server.
The Python viewer reads the multipart stream, decodes each JPEG and reads the time back from the
pixels; with --chromium, headless Chromium shows the stream in an <img> and a canvas reads the time
back from what is on screen. Delay = time read back - time drawn in (same clock). The machine is
shared and has 2 cores: the figures are loopback, CPU-bound upper bounds, not network figures.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402

from api.app import create_app  # noqa: E402
from api.services import Services  # noqa: E402
from api.video import live_video_of  # noqa: E402
from api.video_feed import LiveVideoFeed, MjpegParser  # noqa: E402
from drone.sim.camera import render_view  # noqa: E402
from drone.sim.vehicle import SimPose  # noqa: E402
from drone.sim.world import SyntheticWorld  # noqa: E402
from tenken.events import InProcessBus  # noqa: E402
from tenken.geo import offset_latlon  # noqa: E402
from tenken.settings import load_settings  # noqa: E402
from tenken.store.auth import create_token  # noqa: E402
from tenken.store.db import Store  # noqa: E402
from vision.live import LiveFrame  # noqa: E402

LAT0, LON0 = 35.6812, 139.7671
BITS = 44  # milliseconds since 1970 fit in 41 bits
BLOCK_W, BLOCK_H = 20, 24  # in the 1280-px frame: 10 x 12 after scaling to 640, still readable at quality 20
CODE_X, CODE_Y = 300, 600
QUALITIES = (30, 50, 70, 90)


def draw_time(image: np.ndarray, t_ms: int) -> None:
    """Write t_ms as BITS black/white blocks (most significant first) with a white frame around them."""
    cv2.rectangle(
        image,
        (CODE_X - 6, CODE_Y - 6),
        (CODE_X + BITS * BLOCK_W + 5, CODE_Y + BLOCK_H + 5),
        (255, 255, 255),
        -1,
    )
    for i in range(BITS):
        bit = (t_ms >> (BITS - 1 - i)) & 1
        x = CODE_X + i * BLOCK_W
        cv2.rectangle(
            image,
            (x, CODE_Y),
            (x + BLOCK_W - 1, CODE_Y + BLOCK_H - 1),
            (0, 0, 0) if bit else (255, 255, 255),
            -1,
        )


def read_time(image: np.ndarray, scale: float) -> int:
    """The t_ms drawn by `draw_time`, read from a frame scaled by `scale`."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    value = 0
    for i in range(BITS):
        cx = (CODE_X + i * BLOCK_W + BLOCK_W / 2) * scale
        cy = (CODE_Y + BLOCK_H / 2) * scale
        r = max(1, int(BLOCK_W * scale / 4))
        patch = grey[int(cy) - r : int(cy) + r, int(cx) - r : int(cx) + r]
        value = (value << 1) | int(float(patch.mean()) < 128)
    return value


def flight_frames(count: int) -> list[np.ndarray]:
    world = SyntheticWorld(LAT0, LON0)
    frames = []
    for i in range(count):
        lat, lon = offset_latlon(LAT0, LON0, -60.0 + 120.0 * i / count, 40.0)
        pose = SimPose(0.0, lat, lon, 50.0, 90.0, -70.0)
        frames.append(render_view(world, pose, width_px=1280, height_px=720))
    return frames


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Producer(threading.Thread):
    def __init__(self, feed: LiveVideoFeed, frames: list[np.ndarray], fps: float) -> None:
        super().__init__(daemon=True)
        self.feed, self.frames, self.period_s = feed, frames, 1.0 / fps
        self.stop = threading.Event()
        self.pushed = 0

    def run(self) -> None:
        next_at = time.monotonic()
        telemetry = {"alt_m": 50.0, "heading_deg": 90.0, "battery_pct": 80.0, "mode": "AUTO"}
        while not self.stop.is_set():
            image = self.frames[self.pushed % len(self.frames)].copy()
            now = time.time()
            draw_time(image, int(now * 1000))
            self.feed.push(LiveFrame("bench", self.pushed, now, image), telemetry=telemetry)
            self.pushed += 1
            next_at += self.period_s
            self.stop.wait(max(0.0, next_at - time.monotonic()))


def python_viewer(port: int, token: str, seconds: float, scale: float) -> tuple[list[float], int, float]:
    """Delays (ms) read back from decoded frames, bytes received, and seconds it read for."""
    delays, received = [], 0
    parser = MjpegParser()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/live/bench/video.mjpg", headers={"Authorization": f"Bearer {token}"})
    response = conn.getresponse()
    started = time.monotonic()
    try:
        while time.monotonic() - started < seconds:
            body = response.read1(65536)
            received += len(body)
            for _headers, jpeg in parser.feed(body):
                image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
                if image is not None:
                    delays.append(time.time() * 1000 - read_time(image, scale))
    finally:
        conn.close()
    return delays, received, time.monotonic() - started


CHROMIUM_JS = """async ([token, early, bits, codeX, codeY, blockW, blockH, scale, seconds]) => {
  const img = new Image();
  img.src = '/api/live/bench/video.mjpg?browser=' + early + '&token=' + encodeURIComponent(token);
  document.body.appendChild(img);
  const canvas = document.createElement('canvas');
  const g = canvas.getContext('2d', { willReadFrequently: true });
  const delays = []; let last = 0;
  const end = performance.now() + seconds * 1000;
  await new Promise(resolve => {
    function tick() {
      if (img.naturalWidth) {
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        g.drawImage(img, 0, 0);
        const now = Date.now();
        let value = 0;
        for (let i = 0; i < bits; i++) {
          const cx = Math.floor((codeX + i * blockW + blockW / 2) * scale);
          const cy = Math.floor((codeY + blockH / 2) * scale);
          const p = g.getImageData(cx, cy, 1, 1).data;
          value = value * 2 + ((p[0] + p[1] + p[2]) / 3 < 128 ? 1 : 0);
        }
        if (value !== last) { last = value; delays.push(now - value); }
      }
      if (performance.now() < end) { requestAnimationFrame(tick); } else { resolve(); }
    }
    requestAnimationFrame(tick);
  });
  img.src = '';
  return delays;
}"""


def chromium_viewer(url: str, token: str, seconds: float, scale: float, early: bool) -> list[float]:
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]  # fmt: skip
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=os.environ.get("TENKEN_CHROMIUM", "/usr/bin/chromium"), args=args
        )
        try:
            page = browser.new_page()
            page.goto(url + "/api/config")  # same origin as the stream, so the canvas may read its pixels
            delays: list[float] = page.evaluate(
                CHROMIUM_JS,
                [token, "true" if early else "false", BITS, CODE_X, CODE_Y, BLOCK_W, BLOCK_H, scale, seconds],
            )
        finally:
            browser.close()
    return delays


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=8.0, help="per measurement")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=960, help="width frames are sent at")
    parser.add_argument("--chromium", action="store_true", help="also measure in headless Chromium")
    parser.add_argument("--qualities", type=int, nargs="+", default=list(QUALITIES), help="JPEG qualities")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=Path(tmp), tile_url="", live_video_fps=args.fps, live_video_width_px=args.width
        )
        store = Store(settings.effective_database_url)
        services = Services(settings=settings, store=store, bus=InProcessBus())
        with store.session() as s:
            token = create_token(s, "viewer", "bench")[0]
        app = create_app(settings, services)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.02)
        feed = live_video_of(app).feed("bench", quicklook=False)
        producer = Producer(feed, flight_frames(24), args.fps)
        producer.start()
        scale = min(1.0, args.width / 1280)
        time.sleep(0.5)
        print(
            f"loopback, {args.fps:g} fps, 1280x720 frames sent {args.width} px wide, {args.seconds:g} s each"
        )
        print(f"quality  {'viewer':20s}  frames  delay p50 ms  p95 ms  kB/frame  kB/s per viewer")
        for quality in args.qualities:
            feed.jpeg_quality = quality
            time.sleep(0.3)
            delays, received, took_s = python_viewer(port, token, args.seconds, scale)
            good = [d for d in delays if 0 <= d < 60_000]
            p50, p95 = percentile(good, 50), percentile(good, 95)
            line = f"{quality:7d}  {'python':20s}{len(good):8d}  {p50:12.1f}  {p95:6.1f}"
            print(
                f"{line}  {received / max(len(delays), 1) / 1000:8.1f}  {received / took_s / 1000:15.1f}",
                flush=True,
            )
            for early in (False, True) if args.chromium else ():
                url = f"http://127.0.0.1:{port}"
                shown = [
                    d for d in chromium_viewer(url, token, args.seconds, scale, early) if 0 <= d < 60_000
                ]
                name = "chromium ?browser=1" if early else "chromium"
                if shown:
                    p50, p95 = percentile(shown, 50), percentile(shown, 95)
                    print(f"{quality:7d}  {name:20s}{len(shown):8d}  {p50:12.1f}  {p95:6.1f}", flush=True)
        producer.stop.set()
        server.should_exit = True
        live_video_of(app).close()
        store.dispose()
        print(f"producer pushed {producer.pushed} frames; delay = time decoded/shown - capture time drawn in")


if __name__ == "__main__":
    main()
