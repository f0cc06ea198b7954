"""Evidence crops: cut around each observation at detection, anonymised once a defect chooses one."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from vision.road.privacy import evidence_crop

CROP_PAD_PX = 64  # context kept around each box until the evidence crop is chosen
Box = tuple[float, float, float, float]


def crop_origin(box: Box) -> tuple[int, int]:
    """Top-left corner, in the frame, of the context crop kept for `box`."""
    return max(0, int(box[0]) - CROP_PAD_PX), max(0, int(box[1]) - CROP_PAD_PX)


def encode_jpeg(image: Any, quality: int = 92) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return bytes(buf)


def context_crop_jpeg(frame: Any, box: Box) -> bytes:
    """The box with `CROP_PAD_PX` of context, as kept per observation (not yet anonymised)."""
    ox, oy = crop_origin(box)
    x2, y2 = int(box[2]) + CROP_PAD_PX, int(box[3]) + CROP_PAD_PX
    return encode_jpeg(frame[oy:y2, ox:x2])


def box_in_crop(box: Box) -> Box:
    """`box` in the coordinates of its context crop."""
    ox, oy = crop_origin(box)
    return box[0] - ox, box[1] - oy, box[2] - ox, box[3] - oy


def anonymised_evidence(crop_jpeg: bytes, box: Box) -> bytes:
    """The evidence crop of a box (frame pixels) from its context crop, faces and plates blurred."""
    image = cv2.imdecode(np.frombuffer(crop_jpeg, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("stored evidence crop is not a decodable JPEG")
    return encode_jpeg(evidence_crop(image, box_in_crop(box)), quality=85)
