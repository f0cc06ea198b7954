"""Live frames on a worker: detect in a small batch of JPEG frames and describe what was found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from tenken.errors import VideoError
from vision.models.runtime import DEFAULT_RUNTIME, RuntimeOptions
from worker.detectors import get_detector


def decode_jpeg(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise VideoError("a live frame is not a decodable JPEG")
    return image


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise VideoError("a live frame could not be encoded as JPEG")
    return bytes(buf)


def detect_jpeg_batch(
    spec: str,
    images_jpeg: Sequence[bytes],
    frames: Sequence[dict[str, Any]],
    conf: float | None,
    runtime: RuntimeOptions = DEFAULT_RUNTIME,
) -> list[dict[str, Any]]:
    """One result per frame: the frame's metadata (index, time, pose) plus its detections."""
    loaded = get_detector(spec, runtime)
    threshold = loaded.info.threshold(conf)
    images = [decode_jpeg(data) for data in images_jpeg]
    # On a GPU worker live frames jump the queue: they wait at most the live latency cap.
    predict = getattr(loaded.detector, "predict_live", loaded.detector.predict)
    out = []
    for meta, image, dets in zip(frames, images, predict(images, conf=threshold), strict=True):
        detections = [
            {
                "class_name": dets.names[int(c)],
                "confidence": round(float(p), 4),
                "box_xyxy": [round(float(v), 1) for v in box],
            }
            for box, p, c in zip(dets.xyxy, dets.confidence, dets.class_id, strict=True)
        ]
        result = {k: v for k, v in meta.items() if k != "jpeg_b64"}
        result.update(size=[int(image.shape[1]), int(image.shape[0])], detections=detections)
        out.append(result)
    return out
