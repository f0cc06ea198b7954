"""The live video, replay and quick-look routes of the command post, on a real loopback server."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import cv2
import numpy as np
import rasterio
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from api.video import live_video_of
from tenken.settings import Settings
from tests.api.conftest import LiveServer
from tests.live_video.flight import marker_world, survey_flight
from tests.live_video.mjpeg_socket import SocketViewer
from vision.live import LiveFrame


def noisy_frame(seed: int) -> np.ndarray:
    """A frame that compresses like camera video (about 100 kB at quality 70), not like a flat test card."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (90, 160, 3), dtype=np.uint8)
    return cv2.resize(small, (640, 360), interpolation=cv2.INTER_LINEAR)


def push_frames(app: FastAPI, count: int, period_s: float, start_id: int = 0) -> None:
    feed = live_video_of(app).feed("drone-1")
    images = [noisy_frame(i) for i in range(8)]
    for i in range(start_id, start_id + count):
        feed.push(
            LiveFrame("drone-1", i, time.time(), images[i % 8]), telemetry={"alt_m": 50.0, "mode": "AUTO"}
        )
        time.sleep(period_s)


def test_a_slow_viewer_does_not_slow_a_fast_viewer_or_the_producer(
    live_server: LiveServer, tokens: dict[str, str]
) -> None:
    app = live_server.server.config.app
    assert isinstance(app, FastAPI)
    push_frames(app, 1, 0.0)  # the source exists
    path = "/api/live/drone-1/video.mjpg"
    fast = SocketViewer(live_server.port, path, tokens["viewer"])
    slow = SocketViewer(live_server.port, path, tokens["viewer"], chunk_bytes=2048, delay_s=0.01)  # ~200 kB/s
    threads = [threading.Thread(target=v.run, daemon=True) for v in (fast, slow)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    produced = 120
    started = time.monotonic()
    push_frames(app, produced, 1 / 25, start_id=1)
    producer_s = time.monotonic() - started
    time.sleep(0.3)
    for v in (fast, slow):
        v.close()
    for t in threads:
        t.join(timeout=5)
    assert fast.status == slow.status == 200
    assert len(fast.frame_times) >= 0.8 * produced
    assert len(slow.frame_times) < 0.5 * len(fast.frame_times)  # it skipped frames rather than queue them
    assert slow.frame_times == sorted(slow.frame_times)
    # the producer kept its own pace: 120 frames took about 120 periods, whatever the slow viewer did
    assert producer_s < 2.0 * produced / 25


def test_live_video_needs_a_token(client: TestClient, tokens: dict[str, str]) -> None:
    assert isinstance(client.app, FastAPI)
    push_frames(client.app, 1, 0.0)
    assert client.get("/api/live/drone-1/frame.jpg").status_code == 401
    assert client.get("/api/live/drone-1/frame.jpg?token=tk_wrong").status_code == 401
    r = client.get(f"/api/live/drone-1/frame.jpg?token={tokens['viewer']}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert client.get(f"/api/live/nobody/frame.jpg?token={tokens['viewer']}").status_code == 404
    assert client.get(f"/api/live/..%2Fetc/frame.jpg?token={tokens['viewer']}").status_code in (400, 404)


def test_pushing_a_frame_needs_an_operator_and_a_jpeg(client: TestClient, tokens: dict[str, str]) -> None:
    _, jpeg = cv2.imencode(".jpg", noisy_frame(1))
    body = jpeg.tobytes()
    headers = {"Content-Type": "image/jpeg"}
    viewer = client.post(
        "/api/live/cam-2/frame",
        content=body,
        headers={**headers, "Authorization": f"Bearer {tokens['viewer']}"},
    )
    assert viewer.status_code == 403
    operator = {**headers, "Authorization": f"Bearer {tokens['operator']}"}
    assert client.post("/api/live/cam-2/frame", content=b"GIF89a", headers=operator).status_code == 415
    assert client.post("/api/live/cam-2/frame?timestamp_s=100", content=body, headers=operator).json() == {
        "seq": 1
    }
    latest = client.get(f"/api/live/cam-2/frame.jpg?token={tokens['viewer']}")
    assert latest.content == body and latest.headers["x-frame-time"] == "100.000"


def test_recording_survives_a_restart_and_replay_seeks_to_a_finding(
    settings: Settings, services: Services, tokens: dict[str, str]
) -> None:
    app = create_app(settings, services)
    feed = live_video_of(app).feed("drone-1")
    t0 = round(time.time()) - 60.0  # a minute ago: well inside the retention period
    for i in range(30):
        image = np.full((360, 640, 3), 8 * i, np.uint8)
        feed.push(LiveFrame("drone-1", i, t0 + i / 2, image))
        if i == 17:
            feed.record_finding(
                t0 + i / 2,
                {"event": "opened", "kind": "fire", "incident_id": "drone-1-1", "best_frame_id": 17},
            )
    feed.close()

    # a new app process on the same data folder: nothing of the first one's memory is left
    with TestClient(create_app(settings, services)) as client:
        auth = f"?token={tokens['viewer']}"
        segments = client.get(f"/api/replay/drone-1/segments{auth}").json()
        assert sum(s["frames"] for s in segments) == 30 and len(segments) == 2  # 10 s segments
        timeline = client.get(f"/api/replay/drone-1/findings{auth}").json()
        assert [(f["kind"], f["timestamp_s"]) for f in timeline] == [("fire", t0 + 8.5)]
        at = client.get(f"/api/replay/drone-1/frame.jpg{auth}&t={timeline[0]['timestamp_s']}")
        by_id = client.get(f"/api/replay/drone-1/frame.jpg{auth}&frame_id=17")
        for r in (at, by_id):
            assert r.status_code == 200 and r.headers["x-frame-id"] == "17"
            grey = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_GRAYSCALE)
            assert grey is not None
            assert abs(float(grey[200:, 400:].mean()) - 8 * 17) < 3  # the frame itself, below the labels
        assert client.get(f"/api/replay/drone-1/frame.jpg{auth}").status_code == 400
        assert client.get("/api/replay/drone-1/segments").status_code == 401


def test_quick_look_of_a_live_flight_is_served_as_png_bounds_and_geotiff(
    client: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    assert isinstance(client.app, FastAPI)
    feed = live_video_of(client.app).feed("drone-1")
    feed.quicklook_every = 1
    for i, (image, pose) in enumerate(survey_flight(marker_world(), half_size_m=40.0)):
        feed.push(LiveFrame("drone-1", i, pose.timestamp_s, image, pose))
    auth = f"?token={tokens['viewer']}"
    info = client.get(f"/api/quicklook/drone-1{auth}").json()
    assert info["label"] == "quick-look, not an orthophoto" and info["frames"] == 10
    (south, west), (north, east) = info["bounds"]
    assert south < 35.6812 < north and west < 139.7671 < east
    png = client.get(info["image_url"] + auth)
    decoded = cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_UNCHANGED)
    assert png.status_code == 200 and decoded is not None and decoded.shape[2] == 4
    tif = tmp_path / "q.tif"
    tif.write_bytes(client.get(info["geotiff_url"] + auth).content)
    with rasterio.open(tif) as ds:
        assert ds.crs.to_epsg() == 32654 and ds.count == 4


def test_incident_changes_on_the_bus_land_on_the_replay_timeline(
    settings: Settings, services: Services
) -> None:
    app = create_app(settings, services)
    video = live_video_of(app)
    feed = video.feed("drone-1")
    t = time.time()
    feed.push(LiveFrame("drone-1", 0, t, np.zeros((360, 640, 3), np.uint8)))
    services.bus.publish(
        "incidents", {"event": "opened", "source": "drone-1", "kind": "fire", "last_seen_s": t}
    )
    services.bus.publish(
        "incidents", {"event": "opened", "source": "no-video", "kind": "fire", "last_seen_s": t}
    )
    reader = video.reader("drone-1")
    deadline = time.monotonic() + 10
    while not reader.findings() and time.monotonic() < deadline:
        time.sleep(0.05)
    video.close()
    assert [(f["kind"], f["timestamp_s"]) for f in reader.findings()] == [("fire", t)]
    assert not (video.recordings_dir / "no-video").exists()


def test_quick_look_is_rebuilt_from_the_recording_after_a_restart(
    settings: Settings, services: Services, tokens: dict[str, str], tmp_path: Path
) -> None:
    from tests.live_video.test_quicklook import found_in_geotiff, planted_centres, position_errors_m

    world = marker_world()
    first = create_app(settings, services)
    feed = live_video_of(first).feed("drone-1")
    for i, (image, pose) in enumerate(survey_flight(world, step_m=4.0)):  # 5 frames to 20 m: every 5th maps
        feed.push(LiveFrame("drone-1", i, time.time() - 300 + i, image, pose))
    live_video_of(first).close()

    with TestClient(create_app(settings, services)) as client:  # nothing of the first run in memory
        auth = f"?token={tokens['viewer']}"
        info = client.get(f"/api/quicklook/drone-1{auth}").json()
        assert info["frames"] == 51  # every 5th of the 255 recorded frames
        tif = tmp_path / "rebuilt.tif"
        tif.write_bytes(client.get(info["geotiff_url"] + auth).content)
    errors = position_errors_m(found_in_geotiff(tif), planted_centres(world))
    assert len(errors) == 5 and max(errors) < 2.0  # measured 0.2-1.2 m: JPEG, and labels drawn on frames
