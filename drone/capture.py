"""Camera capture: read a video stream (RTSP, UDP, HTTP MJPEG or a file), tag each frame with the vehicle
pose at its timestamp, and hand it on (a callback or a queue) to the live pipeline."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import cv2
import numpy as np

from drone.state import StateHistory, VehicleState
from tenken.errors import VideoError
from vision.live.pose import motion_around, motion_window_s
from vision.live.sampling import is_live

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PosedFrame:
    """One camera frame and where the vehicle was when it was taken (None: no telemetry near that time)."""

    frame_index: int
    timestamp_s: float  # UNIX time of exposure (arrival time minus the configured latency for streams)
    image: np.ndarray
    pose: VehicleState | None
    # How fast the vehicle moved and turned around that time, on the frames' clock: how far a small
    # frame-to-telemetry timing error moves the camera.
    speed_mps: float = 0.0
    yaw_rate_dps: float = 0.0


def motion_at(poses: StateHistory, timestamp_s: float) -> tuple[float, float]:
    """(speed m/s, yaw rate °/s) around `timestamp_s`, derived as for every live path by
    `vision.live.pose.motion_around`."""

    def state_at(t: float) -> dict[str, Any] | None:
        state = poses.at(t)
        return state.to_dict() if state is not None else None

    return motion_around(state_at, motion_window_s(poses.times_s(), timestamp_s))


FrameSink = Callable[[PosedFrame], None] | queue.Queue[PosedFrame]


def open_video(source: str) -> cv2.VideoCapture:
    """Open a stream or file with FFmpeg, or raise VideoError naming the source."""
    cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG)
    if not cap.isOpened():
        cap.release()
        raise VideoError(
            f"cannot open video source {source!r} (check the URL or path and that it is streaming)"
        )
    return cap


class FrameCapture:
    """Read `source` in a thread and deliver `PosedFrame`s to `sink`.

    Live streams are stamped with the arrival time minus `latency_s` (encoder + network delay, measure
    it once per camera); files with `file_start_s` + the frame's position in the file. Poses come from
    `poses` (the telemetry bridge's history), interpolated at each frame's time. With a queue sink, a
    full queue drops its oldest frame: live work must not fall behind the camera.
    """

    def __init__(
        self,
        source: str,
        poses: StateHistory,
        sink: FrameSink,
        *,
        latency_s: float = 0.0,
        file_start_s: float | None = None,
        max_fps: float | None = None,
        reconnect_s: float = 2.0,
    ) -> None:
        self.source = source
        self.poses = poses
        self.sink = sink
        self.latency_s = latency_s
        self.live = is_live(source)
        self.file_start_s = file_start_s if file_start_s is not None else time.time()
        self.min_period_s = 1.0 / max_fps if max_fps else 0.0
        self.reconnect_s = reconnect_s
        self.frames_read = 0
        self.frames_delivered = 0
        self.frames_without_pose = 0
        self.frames_dropped = 0
        self.error: VideoError | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cap: cv2.VideoCapture | None = None

    def start(self) -> FrameCapture:
        """Open the source (raising VideoError at once if it cannot be opened) and start reading."""
        self._cap = open_video(self.source)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="tenken-capture", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10.0)

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the reader to finish (end of a file); True if it has."""
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def __enter__(self) -> FrameCapture:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _timestamp(self, cap: cv2.VideoCapture) -> float:
        if self.live:
            return time.time() - self.latency_s
        return self.file_start_s + cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0

    def _run(self) -> None:
        cap = self._cap
        last_delivered = -float("inf")
        try:
            while not self._stop.is_set():
                if cap is None:
                    cap = self._reopen()
                    if cap is None:
                        return
                ok, image = cap.read()
                if not ok:
                    cap.release()
                    cap = None
                    if not self.live:
                        return  # end of file
                    log.warning("stream %s stopped; reconnecting in %.0f s", self.source, self.reconnect_s)
                    continue
                timestamp_s = self._timestamp(cap)
                self.frames_read += 1
                if timestamp_s - last_delivered < self.min_period_s:
                    continue
                last_delivered = timestamp_s
                pose = self.poses.at(timestamp_s)
                if pose is None:
                    self.frames_without_pose += 1
                speed, yaw = motion_at(self.poses, timestamp_s)
                self._deliver(PosedFrame(self.frames_read - 1, timestamp_s, image, pose, speed, yaw))
        finally:
            if cap is not None:
                cap.release()

    def _reopen(self) -> cv2.VideoCapture | None:
        while not self._stop.wait(self.reconnect_s):
            try:
                return open_video(self.source)
            except VideoError as exc:
                self.error = exc
                log.warning("%s", exc)
        return None

    def _deliver(self, frame: PosedFrame) -> None:
        sink = self.sink
        if isinstance(sink, queue.Queue):
            while True:
                try:
                    sink.put_nowait(frame)
                    break
                except queue.Full:
                    try:
                        sink.get_nowait()
                        self.frames_dropped += 1
                    except queue.Empty:
                        pass
        else:
            sink(frame)
        self.frames_delivered += 1
