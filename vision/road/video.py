"""Opening a video file with OpenCV and describing it (frame rate, frame count, size, frame times).

Frame times come from the container's timestamps, never from frame number / frame rate: phones
record a variable frame rate, and a frame's number says nothing about when it was taken. The probe
reads every packet's timestamp without decoding (OpenCV's raw-stream mode), which costs a read of
the file but no decoding; a decoder reports each grabbed frame's own timestamp.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from tenken.errors import VideoError

# Above this a container's frame rate is a placeholder, not a real rate (some writers store 90000).
MAX_PLAUSIBLE_FPS = 1000.0
# Two timestamps of one frame (read from its packet, and from the decoded frame) agree to well
# within this; two frames are always further apart.
SAME_FRAME_S = 5e-4


@dataclass(frozen=True)
class VideoInfo:
    """What the sampler needs to know about a video before decoding it.

    `fps` and `frame_count` are what the container states (for a variable frame rate, `fps` is
    the nominal rate). `timestamps_s` holds the presentation time of every frame the file really
    holds, from the container's timestamps, in order; empty when the backend gives none, and then
    frames are taken to be 1/fps apart.
    """

    path: Path
    fps: float
    frame_count: int
    width: int
    height: int
    timestamps_s: tuple[float, ...] = ()

    @property
    def frames_readable(self) -> int:
        """Frames the file really holds (fewer than stated when it was cut short)."""
        return len(self.timestamps_s) if self.timestamps_s else self.frame_count

    @property
    def frame_interval_s(self) -> float:
        """The usual time between frames (median of the timestamps' steps)."""
        if len(self.timestamps_s) >= 2:
            return float(np.median(np.diff(self.timestamps_s)))
        return 1.0 / self.fps

    @property
    def readable_duration_s(self) -> float:
        """From the first frame to the end of the last one the file really holds."""
        if not self.timestamps_s:
            return self.frame_count / self.fps
        return self.timestamps_s[-1] + self.frame_interval_s

    @property
    def duration_s(self) -> float:
        """How long the recording is: its stated frames at its stated rate, or the span of its
        frames' timestamps when longer (a variable-rate video states its nominal rate)."""
        return max(self.frame_count / self.fps, self.readable_duration_s)

    def frame_time_s(self, frame_index: int, start_s: float = 0.0) -> float:
        """Time of frame `frame_index` when the first frame is at `start_s`."""
        if frame_index < len(self.timestamps_s):
            return start_s + self.timestamps_s[frame_index]
        return start_s + frame_index / self.fps

    def frame_times_s(self, start_s: float = 0.0) -> np.ndarray:
        """Times of every readable frame, for planning which to keep before decoding any."""
        if self.timestamps_s:
            return start_s + np.asarray(self.timestamps_s, dtype=float)
        return start_s + np.arange(self.frame_count, dtype=float) / self.fps

    def frame_at_time(self, time_s: float) -> int | None:
        """Index of the frame presented at `time_s` (video time), None when no frame is."""
        if not self.timestamps_s:
            index = round(time_s * self.fps)
            return index if abs(index / self.fps - time_s) < SAME_FRAME_S else None
        index = bisect.bisect_left(self.timestamps_s, time_s - SAME_FRAME_S)
        if index < len(self.timestamps_s) and abs(self.timestamps_s[index] - time_s) < SAME_FRAME_S:
            return index
        return None


def grabbed_time_s(capture: cv2.VideoCapture, info: VideoInfo, frame_index: int) -> float:
    """Video time of the frame just grabbed, from its own timestamp.

    A backend that reports no timestamp (0 after the first frame) gets the probed time of the
    `frame_index`-th frame instead.
    """
    time_s = float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
    if not math.isfinite(time_s) or (time_s <= 0.0 and frame_index > 0):
        return info.frame_time_s(frame_index)
    return time_s


def read_timestamps(path: Path) -> tuple[float, ...]:
    """Presentation time of every frame the file holds, from its packets, without decoding them.

    Packets come in decoding order, which B-frames make differ from presentation order, so the
    times are sorted. Empty when the backend cannot read packets or reports no times.
    """
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    times: list[float] = []
    try:
        while capture.isOpened() and capture.grab():
            times.append(float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0)
    finally:
        capture.release()
    times.sort()
    if len(times) > 1 and (times[-1] <= 0.0 or not all(math.isfinite(t) for t in times)):
        return ()
    return tuple(times)


def _count_frames(capture: cv2.VideoCapture) -> int:
    """Frame count by grabbing (decoding) every frame: only for a video whose container states no
    count and whose packets carry no times."""
    count = 0
    while capture.grab():
        count += 1
    return count


@contextmanager
def _opened(video_path: Path) -> Iterator[cv2.VideoCapture]:
    if not video_path.is_file():
        raise VideoError(f"video not found: {video_path}")
    capture = cv2.VideoCapture(str(video_path))
    try:
        if not capture.isOpened():
            raise VideoError(f"{video_path}: not a video OpenCV can read (corrupt file or unsupported codec)")
        yield capture
    finally:
        capture.release()


def _stated_info(capture: cv2.VideoCapture, video_path: Path) -> VideoInfo:
    """What the container states; `frame_count` is 0 when it states none."""
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    if not (math.isfinite(fps) and 0.0 < fps <= MAX_PLAUSIBLE_FPS):
        raise VideoError(f"{video_path}: the video does not state a usable frame rate (read {fps})")
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    return VideoInfo(video_path, fps, max(int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), 0), width, height)


def probe_video(path: str | Path) -> VideoInfo:
    """`VideoInfo` of a video with every frame's timestamp, checking that it opens, without decoding it.

    A container that states no frame count is counted from the packets read for the frame times, so
    the file is read once and no frame is decoded; only when its packets carry no times are its
    frames counted by decoding them.

    Raises VideoError for a missing file, a file OpenCV cannot decode, a video without frames
    and one without a usable frame rate.
    """
    video_path = Path(path)
    no_frames = VideoError(f"{video_path}: the video has no frames (empty or corrupt file)")
    with _opened(video_path) as capture:
        info = _stated_info(capture, video_path)
    if info.width <= 0 or info.height <= 0:
        raise no_frames
    timestamps = read_timestamps(video_path)
    frame_count = info.frame_count or len(timestamps)
    if frame_count <= 0:
        with _opened(video_path) as capture:
            frame_count = _count_frames(capture)
    if frame_count <= 0:
        raise no_frames
    return replace(info, frame_count=frame_count, timestamps_s=timestamps)


@contextmanager
def open_video(
    path: str | Path, info: VideoInfo | None = None
) -> Iterator[tuple[cv2.VideoCapture, VideoInfo]]:
    """An opened `cv2.VideoCapture` at frame 0 and its `VideoInfo`; released on exit.

    Pass the video's probed `info` to skip probing it again (`probe_video`, which raises VideoError
    for a file that is missing, unreadable, without frames or without a usable frame rate).
    """
    video_path = Path(path)
    info = info if info is not None else probe_video(video_path)
    with _opened(video_path) as capture:
        yield capture, info
