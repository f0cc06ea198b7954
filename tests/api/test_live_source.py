"""A live feed run by the command post: frames in, incidents stored and published, video out."""

from __future__ import annotations

import time

import pytest

from api.live_source import LiveSource, LiveSourceSpec
from tenken.errors import ConfigError
from tenken.events import INCIDENTS, TELEMETRY
from tests.api.conftest import auth
from tests.synthetic_drive import ColourDetector, build_drive
from vision.models.detections import Detections


class RedMeansFire(ColourDetector):
    """The painted red marks of the synthetic drive stand in for fire: this test is about the wiring."""

    names = ("D00", "D10", "D20", "fire")

    def predict(self, frames, conf=None):
        return [
            Detections(d.xyxy, d.confidence, d.class_id, self.names) for d in super().predict(frames, conf)
        ]


def test_live_source_spec_needs_an_id_and_a_url():
    spec = LiveSourceSpec.parse("drone-1=rtsp://10.0.0.7/live")
    assert (spec.source_id, spec.url) == ("drone-1", "rtsp://10.0.0.7/live")
    for bad in ("rtsp://10.0.0.7/live", "=rtsp://x", "drone-1=", "../x=file.mp4"):
        with pytest.raises(ConfigError):
            LiveSourceSpec.parse(bad)


def test_live_feed_raises_a_stored_incident_and_serves_annotated_frames(client, services, tokens, tmp_path):
    video, _ = build_drive(tmp_path, distance_m=24.0)
    app = client.app
    source = LiveSource(
        app, LiveSourceSpec("drone-1", str(video), scene_model=None, every_s=0.1), detector=RedMeansFire()
    )
    # The drone hovers, looking straight down, and its telemetry covers the file's frame times (a file
    # is read faster than real time, so its frames are stamped ahead of the clock).
    now = time.time()
    for i in range(-2, 240):
        services.bus.publish(
            TELEMETRY,
            {
                "timestamp_s": now + 0.5 * i,
                "lat": 35.61,
                "lon": 140.11,
                "alt_m": 25.0,
                "heading_deg": 30.0,
                "gimbal_pitch_deg": -90.0,
                "vehicle_id": "drone-1",
            },
        )
    first_event = services.bus.last_id()
    source.telemetry.start()
    deadline = time.monotonic() + 10
    while len(source.poses) < 242 and time.monotonic() < deadline:
        time.sleep(0.05)
    source.start()
    source.join(timeout_s=60)
    assert source.error is None and source.frames > 10

    opened = [
        e.data
        for e in services.bus.read([INCIDENTS], first_event, timeout_s=0.1, limit=1000)
        if e.data.get("event") == "opened"  # the pipeline's own changes, not the stored announcements
    ]
    assert opened and all(e["source"] == "drone-1" and e["kind"] == "fire" for e in opened)
    assert all(e["lat"] is not None for e in opened)

    deadline = time.monotonic() + 5
    stored: list = []
    while time.monotonic() < deadline and not stored:
        response = client.get("/api/incidents", headers=auth(tokens["viewer"]))
        assert response.status_code == 200
        body = response.json()
        stored = body["features"] if isinstance(body, dict) and "features" in body else body
        time.sleep(0.1)
    assert stored, "the incident recorder stores what the live source raised"

    frame = client.get("/api/live/drone-1/frame.jpg", headers=auth(tokens["viewer"]))
    assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
    assert frame.content[:2] == b"\xff\xd8"


def test_live_source_runs_the_shipped_fire_and_scene_models(client, tmp_path):
    video, _ = build_drive(tmp_path, distance_m=8.0)
    source = LiveSource(client.app, LiveSourceSpec("cam-1", str(video), every_s=0.2))
    assert source.pipeline.classifier is not None and source.detector.names == ("fire", "smoke")
    source.start()
    source.join(timeout_s=60)
    assert source.error is None and source.frames >= 5
