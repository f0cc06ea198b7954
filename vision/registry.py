"""The registry of shipped models: one folder per model under `models/`, described by `model.json`.

`model.json` holds: name, version, task ("detect" or "classify"), classes, imgsz, conf (the
F1-optimal confidence), weights ({"pt": ..., "onnx": ..., "openvino": ...} relative paths),
licence, card (the model card file) and metrics (free-form, shown by `tenken models`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenken.errors import ModelError
from tenken.settings import get_settings

# Preference on a CPU machine: OpenVINO is fastest, ONNX Runtime next; .pt needs torch.
FORMAT_PREFERENCE = ("openvino", "onnx", "pt")
# On a GPU: ONNX Runtime's CUDA provider (the ONNX backend asks for it first).
GPU_FORMAT_PREFERENCE = ("onnx", "pt", "openvino")


def format_preference(device: str) -> tuple[str, ...]:
    """Weights formats to try, best first, for the `device` setting (auto, cpu or cuda)."""
    if device == "cuda":
        return GPU_FORMAT_PREFERENCE
    if device == "auto":
        try:
            import onnxruntime
        except ImportError:
            return FORMAT_PREFERENCE
        if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
            return GPU_FORMAT_PREFERENCE
    return FORMAT_PREFERENCE


@dataclass(frozen=True)
class ModelInfo:
    name: str
    version: str
    task: str
    classes: tuple[str, ...]
    imgsz: int
    conf: float
    licence: str
    folder: Path
    weights: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    card: str = "MODEL_CARD.md"

    def weights_path(self, fmt: str | None = None) -> Path:
        """Path of the weights in `fmt`, or the best available format for this machine."""
        order = (fmt,) if fmt else format_preference(get_settings().device)
        for f in order:
            rel = self.weights.get(f)
            if rel and (self.folder / rel).exists():
                if f == "openvino" and not _openvino_available():
                    continue
                return self.folder / rel
        wanted = fmt or "any format"
        raise ModelError(f"model {self.name!r} has no {wanted} weights in {self.folder}")


def _openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def _read_model(folder: Path) -> ModelInfo:
    meta_path = folder / "model.json"
    try:
        meta = json.loads(meta_path.read_text())
        return ModelInfo(
            name=meta["name"],
            version=str(meta["version"]),
            task=meta.get("task", "detect"),
            classes=tuple(meta["classes"]),
            imgsz=int(meta["imgsz"]),
            conf=float(meta.get("conf", 0.25)),
            licence=meta.get("licence", "unknown"),
            folder=folder,
            weights=dict(meta.get("weights", {})),
            metrics=dict(meta.get("metrics", {})),
            card=meta.get("card", "MODEL_CARD.md"),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{meta_path}: unreadable model description ({exc})") from None


def list_models(models_dir: Path | None = None) -> list[ModelInfo]:
    root = models_dir or get_settings().models_dir
    if not root.is_dir():
        return []
    return [_read_model(p.parent) for p in sorted(root.glob("*/model.json"))]


def get_model(name: str, models_dir: Path | None = None) -> ModelInfo:
    models = {m.name: m for m in list_models(models_dir)}
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise ModelError(f"no model named {name!r} (shipped models: {known})")
    return models[name]
