"""The `Detector` interface every backend implements, and `load_detector` that picks one from a path."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from tenken.errors import ModelError
from vision.models.detections import Detections
from vision.models.runtime import DEFAULT_RUNTIME, RuntimeOptions

log = logging.getLogger(__name__)

Frame = npt.NDArray[np.uint8]  # H x W x 3, BGR as OpenCV decodes it


@runtime_checkable
class Detector(Protocol):
    """Finds objects in batches of BGR frames."""

    names: tuple[str, ...]
    imgsz: int
    backend: str  # "onnxruntime", "openvino", "torch" or "ultralytics"

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        """One `Detections` per frame, boxes in that frame's pixel coordinates."""
        ...


@dataclass(frozen=True)
class DetectorOptions:
    """How a backend runs a model: overrides for names and input size, thresholds, batch size, and
    CPU threads (ONNX Runtime / OpenVINO; 0 = all cores)."""

    names: tuple[str, ...] | None = None  # None: from the weights' metadata
    imgsz: int | None = None  # None: from the weights' metadata
    conf: float = 0.25
    iou: float = 0.45
    agnostic_nms: bool = False
    batch: int = 8
    threads: int = 0


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
    runtime: RuntimeOptions = DEFAULT_RUNTIME,
) -> Detector:
    """Load weights from a local path (never a download). Missing files raise `ModelError`.

    `runtime` gives the device (auto, cpu or cuda; cuda without a usable GPU raises `DeviceError`)
    and the CPU threads per model. The device, backend and provider picked are logged.
    """
    from vision.models.device import inference_plan, resolve_device

    path = Path(path)
    if not path.exists():
        raise ModelError(f"weights not found: {path}")
    fmt = weights_format(path)
    choice = resolve_device(runtime.device)
    if choice.reason:
        log.info("device auto: running on the CPU, there is %s", choice.reason)
    plan = inference_plan(fmt, choice.device)
    opts = DetectorOptions(
        tuple(names) if names else None, imgsz, conf, iou, agnostic_nms, batch, runtime.inference_threads
    )
    detector: Detector
    if plan.backend == "torch":
        from vision.backends.torch_backend import TorchDetector

        detector = TorchDetector(path, opts, device=choice.device)
    elif plan.backend == "onnxruntime":
        from vision.backends.onnx_backend import OnnxDetector

        detector = OnnxDetector(path, opts)
    elif plan.backend == "openvino":
        from vision.backends.openvino_backend import OpenVinoDetector

        detector = OpenVinoDetector(path, opts)
    else:
        from vision.backends.ultralytics_backend import UltralyticsDetector

        detector = UltralyticsDetector(path, opts, device=choice.device)
    log.info("%s: %s (%s)", path.name, describe_inference(detector, choice.device), choice.description)
    return detector


def describe_inference(detector: Detector, device: str) -> str:
    """'device D, backend B, provider P' of a loaded detector, for logs and worker health replies."""
    provider = getattr(detector, "provider", detector.backend)
    return f"device {device}, backend {detector.backend}, provider {provider}"
