"""Camera capture: frames from the simulated camera stream and from files, tagged with vehicle poses."""

from __future__ import annotations

import queue

import cv2
import numpy as np
import pytest

from drone.capture import FrameCapture, PosedFrame, open_video
from drone.link import VehicleLink
from drone.sim.camera import CameraServer
from drone.sim.world import SyntheticWorld
from drone.state import StateHistory, VehicleState
from drone.telemetry import TelemetryBridge
from tenken.errors import VideoError
from tenken.geo import distance_m

from .conftest import HOME, wait_until


def test_stream_frames_carry_the_pose_of_the_drone_hovering_over_the_fire(sim):
    world = SyntheticWorld(*HOME, size_m=300.0)
    fire = next(p for p in world.patches if p.kind == "fire")
    with sim.vehicle.lock:  # put the simulated drone 30 m above the planted fire
        sim.vehicle.x_m, sim.vehicle.y_m = sim.vehicle.proj.to_xy(fire.lat, fire.lon)
        sim.vehicle.alt_m = 30.0
    frames: queue.Queue[PosedFrame] = queue.Queue(maxsize=100)
    link = VehicleLink.connect(f"tcp:127.0.0.1:{sim.port}", timeout_s=20)
    try:
        assert wait_until(lambda: link.snapshot().has_position, 10.0)
        with (
            CameraServer(world, sim.vehicle.pose, port=0, fps=20.0) as camera,
            TelemetryBridge(link.snapshot, lambda message: None, sample_hz=20) as bridge,
            FrameCapture(camera.url, bridge.history, frames) as capture,
        ):
            assert wait_until(lambda: frames.qsize() >= 5, 20.0)
    finally:
        link.close()

    got = [frames.get_nowait() for _ in range(5)]
    assert capture.frames_delivered >= 5
    for frame in got:
        assert frame.image.shape == (360, 640, 3)
        assert frame.pose is not None
        assert distance_m(frame.pose.lat, frame.pose.lon, fire.lat, fire.lon) < 1.0
        assert frame.pose.alt_m == pytest.approx(30.0, abs=0.1)
        assert frame.pose.gimbal_pitch_deg == -90.0
        centre = frame.image[170:190, 310:330].reshape(-1, 3).mean(axis=0)  # BGR
        assert centre[2] > 200, "the fire should fill the middle of a nadir frame above it"
    assert [f.timestamp_s for f in got] == sorted(f.timestamp_s for f in got)


def _write_video(path, n_frames: int, fps: float) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (64, 48))
    for i in range(n_frames):
        writer.write(np.full((48, 64, 3), i * 20, dtype=np.uint8))
    writer.release()


def _moving_history(t0: float) -> StateHistory:
    history = StateHistory()
    for k in range(0, 21):  # 10 Hz for 2 s, flying north at 1e-5 degrees per second
        t = t0 + k * 0.1
        history.add(VehicleState(t, HOME[0] + 1e-5 * (t - t0), HOME[1], 30.0, 0.0, 0.0, 0.0, -90.0,
                                 16.0, 90.0, "AUTO", True, 1.0))  # fmt: skip
    return history


def test_file_frames_are_stamped_from_the_file_start_and_posed_by_interpolation(tmp_path):
    video = tmp_path / "flight.avi"
    _write_video(video, n_frames=10, fps=5.0)
    t0 = 1_800_000_000.0
    got: list[PosedFrame] = []
    capture = FrameCapture(str(video), _moving_history(t0), got.append, file_start_s=t0).start()
    assert capture.wait(20.0)

    assert len(got) == 10
    for i, frame in enumerate(got):
        assert frame.frame_index == i
        assert frame.timestamp_s == pytest.approx(t0 + i * 0.2, abs=1e-3)
        assert frame.pose is not None
        assert frame.pose.lat == pytest.approx(HOME[0] + 1e-5 * i * 0.2, abs=1e-9)


def test_frames_outside_the_telemetry_have_no_pose(tmp_path):
    video = tmp_path / "flight.avi"
    _write_video(video, n_frames=4, fps=1.0)
    got: list[PosedFrame] = []
    capture = FrameCapture(str(video), _moving_history(0.0), got.append, file_start_s=1000.0).start()
    assert capture.wait(20.0)
    assert [f.pose for f in got] == [None] * 4
    assert capture.frames_without_pose == 4


def test_a_full_queue_drops_the_oldest_frames(tmp_path):
    video = tmp_path / "flight.avi"
    _write_video(video, n_frames=8, fps=5.0)
    frames: queue.Queue[PosedFrame] = queue.Queue(maxsize=3)
    capture = FrameCapture(str(video), StateHistory(), frames, file_start_s=0.0).start()
    assert capture.wait(20.0)
    assert capture.frames_dropped == 5
    assert [frames.get_nowait().frame_index for _ in range(3)] == [5, 6, 7]


def test_unopenable_source_is_a_video_error(tmp_path):
    with pytest.raises(VideoError, match="cannot open video source"):
        open_video(str(tmp_path / "missing.mp4"))
