"""The `Detector` interface every backend implements, and `load_detector` that picks one from a path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from tenken.errors import ModelError
from vision.detections import Detections

Frame = npt.NDArray[np.uint8]  # H x W x 3, BGR as OpenCV decodes it


@runtime_checkable
class Detector(Protocol):
    """Finds objects in batches of BGR frames."""

    names: tuple[str, ...]
    imgsz: int
    backend: str  # "onnxruntime", "openvino" or "ultralytics"

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        """One `Detections` per frame, boxes in that frame's pixel coordinates."""
        ...


@dataclass(frozen=True)
class DetectorOptions:
    """How a backend runs a model: overrides for names and input size, thresholds, batch size."""

    names: tuple[str, ...] | None = None  # None: from the weights' metadata
    imgsz: int | None = None  # None: from the weights' metadata
    conf: float = 0.25
    iou: float = 0.45
    agnostic_nms: bool = False
    batch: int = 8


def weights_format(path: Path) -> str:
    """'pt', 'onnx' or 'openvino' from a weights path (an OpenVINO export is a folder or an .xml)."""
    if path.is_dir() and any(path.glob("*.xml")):
        return "openvino"
    suffix = path.suffix.lower()
    if suffix == ".xml":
        return "openvino"
    if suffix in (".onnx", ".pt"):
        return suffix[1:]
    raise ModelError(f"{path}: unknown weights format (expected .pt, .onnx or an OpenVINO folder/.xml)")


def load_detector(
    path: str | Path,
    *,
    names: Sequence[str] | None = None,
    imgsz: int | None = None,
    conf: float = 0.25,
    iou: float = 0.45,
    agnostic_nms: bool = False,
    batch: int = 8,
) -> Detector:
    """Load weights from a local path (never a download). Missing files raise `ModelError`."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"weights not found: {path}")
    fmt = weights_format(path)
    opts = DetectorOptions(tuple(names) if names else None, imgsz, conf, iou, agnostic_nms, batch)
    if fmt == "onnx":
        from vision.backends.onnx_backend import OnnxDetector

        return OnnxDetector(path, opts)
    if fmt == "openvino":
        from vision.backends.openvino_backend import OpenVinoDetector

        return OpenVinoDetector(path, opts)
    from vision.backends.ultralytics_backend import UltralyticsDetector

    return UltralyticsDetector(path, opts)
