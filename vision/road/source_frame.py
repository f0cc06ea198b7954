"""One frame of a survey's video, decoded again by its timestamp, with faces and plates blurred.

The store keeps each finding's evidence crop, not whole frames; a reviewer drawing a box and the
training export need the whole frame, so it is decoded again from the video the job names.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from tenken.errors import VideoError
from vision.road.privacy import anonymise
from vision.road.video import VideoInfo, probe_video

Image = npt.NDArray[np.uint8]
_SEEK_BACK_S = 2.0  # seek this far before the frame and walk forward: keyframes are seldom closer


def _walk_to(capture: cv2.VideoCapture, info: VideoInfo, time_s: float) -> Image | None:
    tolerance = info.frame_interval_s / 2
    while capture.grab():
        now = float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0
        if abs(now - time_s) <= tolerance:
            ok, image = capture.retrieve()
            return image if ok else None
        if now > time_s + tolerance:
            return None
    return None


@functools.lru_cache(maxsize=16)
def _probe_version(path: Path, mtime_ns: int, size: int) -> VideoInfo:
    return probe_video(path)


def probed(path: Path) -> VideoInfo:
    """`probe_video`, remembered while the file is unchanged: a reviewer asks for frame after frame
    of one survey's video, and each probe reads the whole file."""
    stat = path.stat()
    return _probe_version(path.resolve(), stat.st_mtime_ns, stat.st_size)


def read_frame(video_path: str | Path, frame_index: int, info: VideoInfo | None = None) -> Image:
    """Frame `frame_index` of the video (as the job numbered them: by presentation time)."""
    path = Path(video_path)
    if not path.is_file():
        raise VideoError(f"the survey's video {path} is gone; its frames cannot be shown again")
    info = info or probed(path)
    if frame_index < 0 or frame_index >= max(info.frame_count, len(info.timestamps_s)):
        raise VideoError(f"{path} has no frame {frame_index}")
    time_s = info.frame_time_s(frame_index)
    capture = cv2.VideoCapture(str(path))
    try:
        capture.set(cv2.CAP_PROP_POS_MSEC, max(0.0, time_s - _SEEK_BACK_S) * 1000.0)
        image = _walk_to(capture, info, time_s)
        if image is None:  # the seek overshot (a damaged or odd file): walk from the start
            capture.set(cv2.CAP_PROP_POS_MSEC, 0.0)
            image = _walk_to(capture, info, time_s)
    finally:
        capture.release()
    if image is None:
        raise VideoError(f"cannot decode frame {frame_index} of {path}")
    return image


def private_frame(video_path: str | Path, frame_index: int, info: VideoInfo | None = None) -> Image:
    """`read_frame` with faces and plates blurred: what a reviewer or a training set may see."""
    return anonymise(read_frame(video_path, frame_index, info))[0]


def frame_jpeg(video_path: str | Path, frame_index: int, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(
        ".jpg", private_frame(video_path, frame_index), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    if not ok:
        raise VideoError(f"cannot encode frame {frame_index} of {video_path}")
    return bytes(buf)
