"""Opening a video file with OpenCV and describing it (frame rate, frame count, size, duration)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from tenken.errors import VideoError

# Above this a container's frame rate is a placeholder, not a real rate (some writers store 90000).
MAX_PLAUSIBLE_FPS = 1000.0


@dataclass(frozen=True)
class VideoInfo:
    """What the sampler needs to know about a video before decoding it."""

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps

    def frame_time_s(self, frame_index: int, start_s: float = 0.0) -> float:
        """Time of frame `frame_index` when the first frame is at `start_s`."""
        return start_s + frame_index / self.fps

    def frame_times_s(self, start_s: float = 0.0) -> np.ndarray:
        """Times of every frame, for planning which to keep before decoding any."""
        return start_s + np.arange(self.frame_count, dtype=float) / self.fps


def _count_frames(capture: cv2.VideoCapture) -> int:
    """Frame count by grabbing every frame, for containers that do not store it."""
    count = 0
    while capture.grab():
        count += 1
    return count


@contextmanager
def open_video(path: str | Path) -> Iterator[tuple[cv2.VideoCapture, VideoInfo]]:
    """An opened `cv2.VideoCapture` at frame 0 and its `VideoInfo`; released on exit.

    Raises VideoError for a missing file, a file OpenCV cannot decode, a video without frames
    and one without a usable frame rate.
    """
    video_path = Path(path)
    if not video_path.is_file():
        raise VideoError(f"video not found: {video_path}")
    capture = cv2.VideoCapture(str(video_path))
    try:
        if not capture.isOpened():
            raise VideoError(f"{video_path}: not a video OpenCV can read (corrupt file or unsupported codec)")
        fps = float(capture.get(cv2.CAP_PROP_FPS))
        if not (math.isfinite(fps) and 0.0 < fps <= MAX_PLAUSIBLE_FPS):
            raise VideoError(f"{video_path}: the video does not state a usable frame rate (read {fps})")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        frame_count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        if frame_count <= 0:
            frame_count = _count_frames(capture)
            capture.release()
            capture = cv2.VideoCapture(str(video_path))
        if frame_count <= 0 or width <= 0 or height <= 0:
            raise VideoError(f"{video_path}: the video has no frames (empty or corrupt file)")
        yield capture, VideoInfo(video_path, fps, frame_count, width, height)
    finally:
        capture.release()


def probe_video(path: str | Path) -> VideoInfo:
    """`VideoInfo` of a video, checking that it opens, without decoding it."""
    with open_video(path) as (_, info):
        return info
