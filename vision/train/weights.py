"""Turn a `tenken eval` MODEL argument (a path or a shipped model name) into a loaded detector."""

from __future__ import annotations

from pathlib import Path

from tenken.errors import ModelError
from vision.detector import Detector, load_detector
from vision.registry import get_model


def resolve_detector(model: str, *, agnostic_nms: bool = False) -> tuple[Detector, str]:
    """(detector, label) for a weights path, or for `name` / `name:format` from the registry."""
    path = Path(model)
    if path.exists():
        return load_detector(path, agnostic_nms=agnostic_nms), str(path)
    if "/" in model or path.suffix in (".pt", ".onnx", ".xml"):
        raise ModelError(f"weights not found: {model}")
    name, _, fmt = model.partition(":")
    info = get_model(name)
    weights = info.weights_path(fmt or None)
    detector = load_detector(weights, names=info.classes, imgsz=info.imgsz, agnostic_nms=agnostic_nms)
    return detector, f"{name} ({weights.relative_to(info.folder)})"
