"""Live frame sampling: one decoded frame every `every_s` seconds of a stream or file, with its time."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import cv2
import numpy as np

from tenken.errors import VideoError

log = logging.getLogger(__name__)

LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "udp://", "http://", "https://", "tcp://", "srt://")


def is_live(source: str) -> bool:
    return source.lower().startswith(LIVE_SCHEMES)


def sample_frames(
    source: str, every_s: float, max_frames: int | None = None
) -> Iterator[tuple[int, float, np.ndarray]]:
    """(frame index, UNIX time, BGR image) every `every_s` seconds of the source.

    A file's frame times come from its frame rate (starting now); a live source's from the
    clock when the frame arrived. Skipped frames are only grabbed, never decoded.
    """
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise VideoError(f"cannot open video source {source!r}")
    live = is_live(source)
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
    start_s = time.time()
    next_s = 0.0
    index = -1
    produced = 0
    try:
        while max_frames is None or produced < max_frames:
            if not capture.grab():
                break
            index += 1
            rel_s = time.time() - start_s if live else index / fps
            if rel_s + 1e-9 < next_s:
                continue
            ok, image = capture.retrieve()
            if not ok or image is None:
                log.warning("%s: frame %d did not decode; skipped", source, index)
                continue
            next_s = rel_s + every_s if live else next_s + every_s
            produced += 1
            yield index, start_s + rel_s, image
    finally:
        capture.release()
