"""The frame hub: every viewer gets the newest frame when it is ready; slow viewers skip, never queue."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import numpy as np

from api.video_feed import FrameHub, ViewerStats, draw_overlay, telemetry_line
from vision.live import Incident


def run_viewer(hub: FrameHub, stats: ViewerStats, stop: threading.Event, delay_s: float) -> None:
    while not stop.is_set():
        frame = hub.wait_newer(stats.last_seq, timeout_s=0.2)
        if frame is not None:
            stats.took(frame)
            time.sleep(delay_s)  # the time this viewer's link takes to carry one frame


def test_slow_viewer_skips_frames_and_a_fast_one_gets_nearly_all() -> None:
    hub = FrameHub()
    fast, slow, stop = ViewerStats(), ViewerStats(), threading.Event()
    threads = [
        threading.Thread(target=run_viewer, args=(hub, fast, stop, 0.0)),
        threading.Thread(target=run_viewer, args=(hub, slow, stop, 0.05)),
    ]
    for t in threads:
        t.start()
    frames = 200
    for i in range(frames):
        hub.publish(b"jpeg%d" % i, float(i))
        time.sleep(0.005)
    time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    assert hub.published == frames
    assert fast.sent >= 0.9 * frames
    assert slow.sent < 0.5 * fast.sent and slow.skipped > 0
    assert slow.sent + slow.skipped <= frames  # the slow viewer never got a backlog: it skipped instead
    assert slow.last_seq >= frames - 1 - 10  # and it ends close to live, not minutes behind


def test_a_stalled_viewer_does_not_hold_back_the_producer_or_others() -> None:
    hub = FrameHub()
    stalled = hub.wait_newer(0, timeout_s=0.0)  # took nothing and never asks again
    assert stalled is None
    seen = []
    for i in range(100):
        hub.publish(b"x", float(i))
        frame = hub.wait_newer(i, timeout_s=1.0)
        assert frame is not None
        seen.append(frame.seq)
    assert seen == list(range(1, 101))


def test_async_viewers_wake_on_a_frame_published_from_another_thread() -> None:
    hub = FrameHub()

    async def main() -> list[int]:
        async def viewer() -> int:
            frame = await hub.next_newer(0, timeout_s=5.0)
            assert frame is not None
            return frame.seq

        tasks = [asyncio.create_task(viewer()) for _ in range(3)]
        await asyncio.sleep(0.05)
        threading.Thread(target=hub.publish, args=(b"x", 1.0)).start()
        return list(await asyncio.gather(*tasks))

    assert asyncio.run(main()) == [1, 1, 1]


def test_async_wait_times_out_with_no_frame() -> None:
    assert asyncio.run(FrameHub().next_newer(0, timeout_s=0.01)) is None


def test_overlay_draws_boxes_incident_labels_and_telemetry() -> None:
    image = np.full((360, 640, 3), 90, np.uint8)
    incident = Incident("drone-1-1", "drone-1", "fire", "open", 35.0, 139.0, 3.0, 0.0, 1.0, 0.9, 5, 3)
    telemetry = {"alt_m": 52.0, "heading_deg": 90.0, "battery_pct": 81.0, "mode": "AUTO"}
    out = draw_overlay(image, [("fire", 0.87, (100.0, 100.0, 200.0, 180.0))], [incident], telemetry)
    assert tuple(out[140, 100]) == (0, 69, 255)  # the box's left edge in the fire colour
    assert (out[300:360, :300] != 90).any()  # incident label at the bottom left
    assert (out[0:40, :300] != 90).any()  # telemetry at the top left
    assert (image == 90).all()  # the original is not drawn on
    assert telemetry_line(None) == "ALT - m  HDG -  BAT -%  -"


def test_the_feed_draws_what_the_live_pipeline_detected_and_its_open_incidents() -> None:
    from api.video_feed import DetectionTap, LiveVideoFeed, boxes_of
    from tests.live_video.flight import LAT0, LON0
    from vision.live import DronePose, LiveFrame, LivePipeline
    from vision.models.detections import Detections

    class OneFire:
        names: tuple[str, ...] = ("fire", "car")
        imgsz, backend = 640, "fake"

        def predict(self, frames: object, conf: float | None = None) -> list[Detections]:
            boxes = [(100.0, 100.0, 220.0, 200.0), (300.0, 50.0, 340.0, 80.0)]
            return [Detections.from_lists(boxes, [0.9, 0.8], [0, 1], self.names) for _ in frames]  # type: ignore[attr-defined]

    tap = DetectionTap(OneFire())
    pipeline = LivePipeline("drone-1", tap)
    hub = FrameHub()
    feed = LiveVideoFeed("drone-1", hub, jpeg_quality=95)
    pose = DronePose(0.0, LAT0, LON0, 40.0, 0.0, 90.0, 70.0)
    for i in range(4):
        frame = LiveFrame("drone-1", i, float(i), np.full((360, 640, 3), 90, np.uint8), pose)
        pipeline.process([frame])
        boxes = boxes_of(tap.last[0], sorted(pipeline.kinds))
        feed.push(frame, boxes=boxes, incidents=pipeline.tracker.open_incidents())
    assert [b[0] for b in boxes] == ["fire"]  # the car is not a live kind: not drawn
    assert len(pipeline.tracker.open_incidents()) == 1
    latest = hub.latest()
    assert latest is not None and hub.published == 4
    import cv2

    shown = cv2.imdecode(np.frombuffer(latest.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert shown is not None
    b, g, r = (int(v) for v in shown[150, 101])
    assert r > 200 and g < 120 and b < 60  # the fire box's edge
    assert (np.abs(shown[320:360, 0:300].astype(int) - 90).sum(axis=2) > 60).any()  # the incident label


def test_a_failing_recording_does_not_stop_the_live_picture(tmp_path: Path) -> None:
    from api.video_feed import LiveVideoFeed
    from vision.live import LiveFrame
    from vision.live.recording import FlightRecorder

    recorder = FlightRecorder(tmp_path, "drone-1")
    feed = LiveVideoFeed("drone-1", FrameHub(), recorder=recorder)
    feed.push(LiveFrame("drone-1", 0, 1.0, np.zeros((36, 64, 3), np.uint8)))
    for f in tmp_path.glob("drone-1/*"):
        f.unlink()
    (tmp_path / "drone-1").rmdir()
    (tmp_path / "drone-1").write_text("not a folder any more")  # the next segment cannot be created
    for i in range(1, 30):
        feed.push(LiveFrame("drone-1", i, 1.0 + i, np.zeros((36, 64, 3), np.uint8)))
    assert feed.hub.published == 30 and feed.recording_errors >= 1
