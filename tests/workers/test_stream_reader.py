"""The stream reader on an HTTP MJPEG source, as an IP camera or a drone's video link serves it."""

from __future__ import annotations

import time

import cv2
import pytest

from tenken.events import FINDINGS, InProcessBus
from tests.workers.conftest import DETECTOR
from tests.workers.mjpeg_server import serve_mjpeg
from vision.live.pipeline import LocalDetector
from vision.live.pose import PoseHistory
from worker.detectors import get_detector
from worker.live import encode_jpeg
from worker.stream_reader import StreamConfig, run_stream


@pytest.fixture(scope="module")
def mjpeg_url(drive):
    capture = cv2.VideoCapture(str(drive[0]))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(encode_jpeg(image))
    server, url = serve_mjpeg(frames, fps=50.0)
    yield url
    server.shutdown()


def hovering_drone(**extra: float) -> PoseHistory:
    """A drone that reports the same position twice a second for the next two minutes."""
    poses = PoseHistory(max_age_s=2.0)
    now = time.time()
    for i in range(-2, 240):
        state = {
            "timestamp_s": now + i * 0.5,
            "lat": 35.61,
            "lon": 140.11,
            "alt_m": 60.0,
            "heading_deg": 45.0,
        }
        poses.add({**state, **extra})
    return poses


def stream_config(mjpeg_url: str, **overrides: object) -> StreamConfig:
    values: dict = {"source": mjpeg_url, "stream_id": "drone-1", "every_s": 0.05, "hfov_deg": 73.7}
    return StreamConfig(**{**values, "batch_frames": 3, **overrides})


def test_http_mjpeg_stream_results_are_published_in_order_with_the_drone_pose(mjpeg_url):
    bus = InProcessBus()
    detector = LocalDetector(get_detector(DETECTOR).detector)
    stats = run_stream(stream_config(mjpeg_url), detector, bus, hovering_drone())
    events = bus.read([FINDINGS], "0-0", timeout_s=0.1, limit=10_000)
    indices = [e.data["frame_index"] for e in events]
    assert stats.frames_sent > 10 and len(events) == stats.published > 3
    assert indices == sorted(indices) and len(set(indices)) == len(indices)
    assert all(e.data["pose"]["lat"] == 35.61 and e.data["pose"]["alt_m"] == 60.0 for e in events)
    assert all(e.data["size"] == [320, 240] for e in events)


def test_frames_after_the_telemetry_stopped_place_nothing(mjpeg_url):
    from tenken.events import INCIDENTS

    bus = InProcessBus()
    poses = PoseHistory(max_age_s=2.0)
    poses.add(
        {"timestamp_s": time.time() - 10.0, "lat": 35.61, "lon": 140.11, "alt_m": 60.0, "heading_deg": 0}
    )
    config = stream_config(mjpeg_url, incident_kinds=("D40",))
    run_stream(config, LocalDetector(get_detector(DETECTOR).detector), bus, poses)
    findings = [e.data for e in bus.read([FINDINGS], "0-0", timeout_s=0.1, limit=10_000)]
    incidents = [e.data for e in bus.read([INCIDENTS], "0-0", timeout_s=0.1, limit=10_000)]
    assert findings and all(f["pose"] is None for f in findings)
    assert all(i["lat"] is None for i in incidents)


def test_a_source_that_does_not_open_is_a_video_error():
    from tenken.errors import VideoError
    from vision.live.sampling import sample_frames

    with pytest.raises(VideoError, match="cannot open video source"):
        next(sample_frames("/nonexistent/stream.mp4", 0.5))


def test_stream_findings_seen_in_enough_frames_become_incidents_published_once(mjpeg_url):
    from tenken.events import INCIDENTS

    bus = InProcessBus()
    # The painted potholes stand in for fires: this test is about confirmation, not the model.
    config = stream_config(mjpeg_url, incident_kinds=("D40",))
    run_stream(
        config, LocalDetector(get_detector(DETECTOR).detector), bus, hovering_drone(gimbal_pitch_deg=-90.0)
    )
    events = [e.data for e in bus.read([INCIDENTS], "0-0", timeout_s=0.1, limit=10_000)]
    opened = [e for e in events if e["event"] == "opened"]
    assert opened, "a pothole seen in consecutive frames must be confirmed"
    assert len({e["incident_id"] for e in opened}) == len(opened)  # each opens once
    assert all(e["kind"] == "D40" and e["sightings"] >= 3 and e["lat"] is not None for e in opened)


def test_a_bad_tile_grid_is_one_line_and_a_failed_exit(capsys, tmp_path):
    from tenken.cli import main

    code = main(["stream", str(tmp_path / "missing.mp4"), "--tiles", "2by2"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and err.count("\n") == 0 and "2by2" in err and "COLSxROWS" in err
