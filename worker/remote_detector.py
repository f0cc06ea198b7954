"""Live detection on Celery workers, behind the live pipeline's `LiveDetector` protocol: a batch of frames
goes to the inference queue as JPEGs (`tenken.detect_frames`) and comes back as `Detections`."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import numpy as np

from vision.live.pipeline import DetectionRequest
from vision.models.detections import Detections
from worker.live import encode_jpeg


def detections_of(result: dict[str, Any], names: Sequence[str]) -> Detections:
    """One frame's result from `tenken.detect_frames` as `Detections` over the model's `names`."""
    index = {name: i for i, name in enumerate(names)}
    rows = [d for d in result["detections"] if d["class_name"] in index]
    return Detections.from_lists(
        [tuple(float(v) for v in d["box_xyxy"]) for d in rows],  # type: ignore[misc]
        [float(d["confidence"]) for d in rows],
        [index[d["class_name"]] for d in rows],
        tuple(names),
    )


class _Remote:
    def __init__(self, async_result: Any, names: Sequence[str]) -> None:
        self._result = async_result
        self._names = names

    def ready(self) -> bool:
        return bool(self._result.ready())

    def result(self, timeout_s: float | None = None) -> list[Detections]:
        return [detections_of(r, self._names) for r in self._result.get(timeout=timeout_s)]


class CeleryDetector:
    """Submit each batch to `queue`; `names` are the model's classes (`describe_detector(spec)`)."""

    def __init__(
        self,
        app: Any,
        queue: str,
        spec: str,
        names: Sequence[str],
        conf: float | None,
        *,
        jpeg_quality: int = 85,
    ) -> None:
        self.app, self.queue, self.spec, self.names = app, queue, spec, tuple(names)
        self.conf = conf
        self.jpeg_quality = jpeg_quality

    def submit(self, images: Sequence[np.ndarray]) -> DetectionRequest:
        frames = [
            {"frame_index": i, "jpeg_b64": base64.b64encode(encode_jpeg(image, self.jpeg_quality)).decode()}
            for i, image in enumerate(images)
        ]
        task = self.app.send_task(
            "tenken.detect_frames", args=[self.spec, frames, self.conf], queue=self.queue
        )
        return _Remote(task, self.names)
