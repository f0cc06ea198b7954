"""Writing an MP4 whose frames carry chosen timestamps: variable-frame-rate videos with a known truth.

Phones record variable frame rate: under load or in low light they drop frames or stretch the
interval, and only each frame's timestamp says when it was taken. OpenCV's writer produces
constant frame rate only, so the frames are encoded first and then re-muxed packet by packet with
their own presentation times (OpenCV's raw-stream writer, no extra package or tool needed).

>>> import tempfile, numpy as np
>>> from pathlib import Path
>>> frames = [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(4)]
>>> with tempfile.TemporaryDirectory() as tmp:
...     n = write_timed_video(Path(tmp) / "vfr.mp4", frames, [0.0, 0.1, 0.4, 0.5], fps=10.0)
>>> n
4
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

FOURCC = "mp4v"
VOP_START = b"\x00\x00\x01\xb6"  # MPEG-4 Part 2 picture header; its next 2 bits: 00 = intra


def is_intra_packet(data: bytes) -> bool:
    """An MPEG-4 Part 2 packet that holds an intra (key) picture.

    Read from the stream itself: OpenCV's key-frame property of raw packets is not reliable.
    """
    at = data.find(VOP_START)
    return at >= 0 and at + 4 < len(data) and data[at + 4] >> 6 == 0


def write_timed_video(path: Path, frames: Sequence[np.ndarray], times_s: Sequence[float], fps: float) -> int:
    """Write BGR `frames` to `path` (MP4), frame i presented at `times_s[i]` seconds.

    `fps` is the clock the timestamps tick in (a camera's nominal rate): every time is rounded to
    a whole tick of 1/fps s, and the ticks must strictly increase. Returns the frames written.
    """
    if len(frames) != len(times_s) or not frames:
        raise ValueError(f"need one time per frame, got {len(frames)} frames and {len(times_s)} times")
    ticks = [round(t * fps) for t in times_s]
    if any(b <= a for a, b in pairwise(ticks)) or ticks[0] < 0:
        raise ValueError("frame times must increase by at least one tick of 1/fps and start at 0 or later")
    height, width = frames[0].shape[:2]
    fourcc = cv2.VideoWriter.fourcc(*FOURCC)
    with tempfile.TemporaryDirectory() as tmp:
        encoded = Path(tmp) / "cfr.mp4"
        writer = cv2.VideoWriter(str(encoded), fourcc, fps, (width, height))
        try:
            for frame in frames:
                writer.write(frame)
        finally:
            writer.release()
        packets = _read_packets(encoded)
    if len(packets) != len(frames):
        raise RuntimeError(f"encoded {len(frames)} frames but read back {len(packets)} packets")
    # The raw writer marks key frames only by a fixed interval (a per-frame flag is ignored), so the
    # encoder's key frames must fall on one.
    intra = [i for i, (_, is_key) in enumerate(packets) if is_key]
    interval = intra[1] - intra[0] if len(intra) > 1 else len(packets)
    if intra != list(range(0, len(packets), interval)):
        raise RuntimeError(f"key frames at irregular places: {intra}")
    writer = cv2.VideoWriter(
        str(path),
        cv2.CAP_FFMPEG,
        fourcc,
        fps,
        (width, height),
        [cv2.VIDEOWRITER_PROP_RAW_VIDEO, 1, cv2.VIDEOWRITER_PROP_KEY_INTERVAL, interval],
    )
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    try:
        for (data, _), tick in zip(packets, ticks, strict=True):
            writer.set(cv2.VIDEOWRITER_PROP_PTS, float(tick))
            writer.write(data)
    finally:
        writer.release()
    return len(frames)


def _read_packets(path: Path) -> list[tuple[np.ndarray, bool]]:
    """The encoded packets of a video, in order, with their key-frame flag.

    The stream header (MPEG-4 VOL) lives in the container, not the stream; it goes in front of the
    first packet so that the re-muxed stream decodes on its own.
    """
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    packets: list[tuple[np.ndarray, bool]] = []
    try:
        header = np.zeros((1, 0), np.uint8)
        extradata_index = int(capture.get(cv2.CAP_PROP_CODEC_EXTRADATA_INDEX))
        while capture.grab():
            ok, data = capture.retrieve()
            if not ok or data is None:
                break
            if not packets:
                ok, extradata = capture.retrieve(flag=extradata_index)
                if ok and extradata is not None:
                    header = extradata.reshape(1, -1)
            payload = data.reshape(1, -1)
            if not packets:
                payload = np.concatenate([header, payload], axis=1)
            packets.append((payload.copy(), is_intra_packet(data.tobytes())))
    finally:
        capture.release()
    return packets
