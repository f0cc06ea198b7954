"""Turn a `tenken eval` MODEL argument (a path or a shipped model name) into weights to load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tenken.errors import ModelError
from vision.registry import get_model


@dataclass(frozen=True)
class ResolvedWeights:
    path: Path
    label: str
    task: str | None = None  # known from the registry; None: read from the weights
    names: tuple[str, ...] | None = None
    imgsz: int | None = None


def resolve_weights(model: str) -> ResolvedWeights:
    """A weights path, or `name` / `name:format` (pt, onnx, openvino) from the registry."""
    path = Path(model)
    if path.exists():
        return ResolvedWeights(path, str(path))
    if "/" in model or path.suffix in (".pt", ".onnx", ".xml"):
        raise ModelError(f"weights not found: {model}")
    name, _, fmt = model.partition(":")
    info = get_model(name)
    weights = info.weights_path(fmt or None)
    label = f"{name} ({weights.relative_to(info.folder)})"
    return ResolvedWeights(weights, label, info.task, info.classes, info.imgsz)
