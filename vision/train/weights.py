"""Turn a `tenken eval` MODEL argument (a path or a shipped model name) into weights to load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tenken.errors import ModelError
from vision.models.registry import get_model
from vision.models.runtime import DEFAULT_RUNTIME, RuntimeOptions


@dataclass(frozen=True)
class ResolvedWeights:
    path: Path
    label: str
    task: str | None = None  # known from the registry; None: read from the weights
    names: tuple[str, ...] | None = None
    imgsz: int | None = None
    conf: float | None = None  # the shipped thresholds, when from the registry
    alert_conf: float | None = None


def resolve_weights(model: str, runtime: RuntimeOptions = DEFAULT_RUNTIME) -> ResolvedWeights:
    """A weights path, or `name` / `name:format` (pt, onnx, openvino) from `runtime.models_dir`."""
    path = Path(model)
    if path.exists():
        return ResolvedWeights(path, str(path))
    if "/" in model or path.suffix in (".pt", ".onnx", ".xml"):
        raise ModelError(f"weights not found: {model}")
    name, _, fmt = model.partition(":")
    info = get_model(name, runtime.models_dir)
    weights = info.weights_path(fmt or None, device=runtime.device)
    shown = weights.relative_to(info.folder) if weights.is_relative_to(info.folder) else weights.name
    label = f"{name} ({shown})"
    return ResolvedWeights(weights, label, info.task, info.classes, info.imgsz, info.conf, info.alert_conf)
