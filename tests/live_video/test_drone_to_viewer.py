"""End to end: simulated camera -> capture with poses -> live pipeline -> video feed -> an API viewer."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence

import cv2
import numpy as np
from fastapi import FastAPI

from api.services import Services
from api.video import live_video_of
from api.video_feed import DetectionTap, boxes_of
from drone.capture import FrameCapture, PosedFrame
from drone.live_frames import live_frame
from drone.sim.camera import CameraServer
from drone.sim.vehicle import SimPose
from drone.sim.world import PlantedPatch, SyntheticWorld
from drone.state import VehicleState
from drone.telemetry import TelemetryBridge
from tenken.geo import distance_m, offset_latlon
from tests.api.conftest import LiveServer
from tests.live_video.flight import LAT0, LON0
from tests.live_video.mjpeg_socket import SocketViewer
from vision.live import LivePipeline
from vision.models.detections import Detections
from vision.models.detector import Frame

HFOV_DEG = 73.7
FIRE = PlantedPatch("fire", *offset_latlon(LAT0, LON0, 8.0, 5.0), 4.0)


class RedPatchDetector:
    """Stands in for the fire model: a box around each flame-red blob (the test is about the plumbing)."""

    names: tuple[str, ...] = ("fire",)
    imgsz, backend = 640, "fake"

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        out = []
        for image in frames:
            b, g, r = (image[..., i].astype(np.int16) for i in range(3))
            mask = ((r > 200) & (g < 200) & (b < 120)).astype(np.uint8)
            _, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            boxes = [
                (float(x - 8), float(y - 8), float(x + w + 8), float(y + h + 8))
                for x, y, w, h, area in stats[1:]
                if area >= 30
            ]
            out.append(Detections.from_lists(boxes, [0.9] * len(boxes), [0] * len(boxes), self.names))
        return out


def hovering_state() -> VehicleState:
    return VehicleState(time.time(), LAT0, LON0, 40.0, 0.0, 0.0, 0.0, -90.0, 16.0, 74.0, "GUIDED", True, 0.0)


def test_a_hovering_drone_over_a_fire_shows_boxed_and_opened_on_the_command_post(
    live_server: LiveServer, services: Services, tokens: dict[str, str]
) -> None:
    app = live_server.server.config.app
    assert isinstance(app, FastAPI)
    world = SyntheticWorld(LAT0, LON0, [FIRE], size_m=200.0)
    frames: queue.Queue[PosedFrame] = queue.Queue(maxsize=4)
    tap = DetectionTap(RedPatchDetector())
    pipeline = LivePipeline("drone-1", tap, publish=services.bus.publish)
    feed = live_video_of(app).feed("drone-1")
    stop = threading.Event()
    pushed = []

    def run_live_loop(bridge: TelemetryBridge) -> None:
        while not stop.is_set():
            try:
                posed = frames.get(timeout=0.1)
            except queue.Empty:
                continue
            frame = live_frame(posed, source="drone-1", hfov_deg=HFOV_DEG)
            pipeline.process([frame])
            state = bridge.history.latest()
            feed.push(
                frame,
                boxes=boxes_of(tap.last[0], sorted(pipeline.kinds)),
                incidents=pipeline.tracker.open_incidents(),
                telemetry=state.to_dict() if state else None,
            )
            pushed.append(frame.frame_id)

    def pose() -> SimPose:
        return SimPose(time.time(), LAT0, LON0, 40.0, 0.0, -90.0)

    viewer = SocketViewer(live_server.port, "/api/live/drone-1/video.mjpg", tokens["viewer"])
    with (
        CameraServer(world, pose, port=0, fps=10.0, hfov_deg=HFOV_DEG) as camera,
        TelemetryBridge(hovering_state, lambda _: None, sample_hz=20) as bridge,
        FrameCapture(camera.url, bridge.history, frames),
    ):
        loop = threading.Thread(target=run_live_loop, args=(bridge,), daemon=True)
        loop.start()
        deadline = time.monotonic() + 20
        while not pushed and time.monotonic() < deadline:
            time.sleep(0.05)
        reader = threading.Thread(target=viewer.run, daemon=True)
        reader.start()
        while (
            len(viewer.frame_times) < 8 or not pipeline.tracker.open_incidents()
        ) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        viewer.close()
        loop.join(timeout=5)

    incidents = pipeline.tracker.open_incidents()
    assert len(incidents) == 1 and incidents[0].lat is not None and incidents[0].lon is not None
    # vision.live places a fire at its box's bottom edge (flames rise from the ground): about one
    # patch radius plus the box margin south of the patch's centre
    assert distance_m(FIRE.lat, FIRE.lon, incidents[0].lat, incidents[0].lon) < FIRE.radius_m * 1.25 + 2.0
    assert len(viewer.frame_times) >= 8
    shown = cv2.imdecode(np.frombuffer(viewer.last_jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert shown is not None
    box = boxes_of(tap.last[0])[0][2]
    scale = shown.shape[1] / 640
    b, g, r = (int(v) for v in shown[int((box[1] + box[3]) / 2 * scale), int(box[0] * scale)])
    assert r > 200 and g < 120 and b < 80  # the detection box drawn on what the command post sees
    segments = live_video_of(app).reader("drone-1").segments()
    assert sum(len(s.frames) for s in segments) == len(pushed)  # every published frame is recorded
