"""Shared YOLO detection logic for the torch-free runtimes: letterbox, batching, decoding, names."""

from __future__ import annotations

import ast
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from tenken.errors import ModelError
from vision.backends.letterbox import letterbox, to_blob
from vision.backends.postprocess import decode_yolo
from vision.models.detections import Detections
from vision.models.detector import DetectorOptions, Frame


def names_from_metadata(raw: Any) -> tuple[str, ...]:
    """Class names from ultralytics export metadata: a dict {0: 'a', ...} or its string form."""
    if isinstance(raw, str):
        raw = ast.literal_eval(raw)
    if isinstance(raw, Mapping):
        return tuple(str(raw[k]) for k in sorted(raw, key=int))
    if isinstance(raw, Sequence):
        return tuple(str(n) for n in raw)
    raise ModelError(f"cannot read class names from model metadata: {raw!r}")


def imgsz_from_metadata(raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = ast.literal_eval(raw)
    if isinstance(raw, int):
        return raw
    return int(max(raw))


class YoloRuntimeDetector(ABC):
    """A YOLOv8 detection model run by a runtime that takes NCHW float blobs."""

    backend = "runtime"

    def __init__(
        self, names: tuple[str, ...], imgsz: int, options: DetectorOptions, *, fixed_batch: int | None
    ) -> None:
        self.names = names
        self.imgsz = imgsz
        self.conf = options.conf
        self.iou = options.iou
        self.agnostic_nms = options.agnostic_nms
        # A model exported with a fixed batch size must be fed exactly that many images.
        self.fixed_batch = fixed_batch
        self.batch = fixed_batch or max(1, options.batch)

    @abstractmethod
    def _infer(self, blob: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Raw head output (N, 4 + nc, anchors) for an NCHW blob."""

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        threshold = self.conf if conf is None else conf
        results: list[Detections] = []
        for start in range(0, len(frames), self.batch):
            chunk = list(frames[start : start + self.batch])
            boxed = [letterbox(f, self.imgsz) for f in chunk]
            images = [b[0] for b in boxed]
            if self.fixed_batch and len(images) < self.fixed_batch:
                images += [images[-1]] * (self.fixed_batch - len(images))
            output = self._infer(to_blob(images))
            for i, (frame, (_, transform)) in enumerate(zip(chunk, boxed, strict=True)):
                xyxy, scores, cls = decode_yolo(output[i], threshold, self.iou, agnostic=self.agnostic_nms)
                h, w = frame.shape[:2]
                results.append(Detections(transform.to_frame(xyxy, w, h), scores, cls, self.names))
        return results
