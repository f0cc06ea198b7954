"""The registry of shipped models: one folder per model under `models/`, described by `model.json`.

`model.json` holds: name, version, task ("detect" or "classify"), classes, imgsz, conf (the
shipped box threshold), alert_conf (scene classifiers: the probability at which a disaster class
raises an alert live), operating_point (the val figures those thresholds were chosen on), weights
({"onnx": ...} relative paths), licence, card (the model card file) and metrics (free-form, shown by
`tenken models`). This module is the one place the runtime reads thresholds from.

Only the ONNX file is committed: "openvino" and "pt" are built from it into Tenken's cache on first
use (`vision/models/cache.py`). A folder that still lists its own .pt / OpenVINO files uses those.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tenken.errors import ModelError
from tenken.settings import DEFAULT_DEVICE, DEFAULT_MODELS_DIR

# Preference on a CPU machine: OpenVINO is fastest, ONNX Runtime next; .pt needs torch.
FORMAT_PREFERENCE = ("openvino", "onnx", "pt")
# On a GPU: the ONNX export, run by the torch backend in fp16 (see vision/models/device.py).
GPU_FORMAT_PREFERENCE = ("onnx", "pt")
FORMATS = ("pt", "onnx", "openvino")
# Scene classes raise an alert at this probability when model.json names no alert_conf
DEFAULT_ALERT_CONF = 0.6


def format_preference(device: str) -> tuple[str, ...]:
    """Weights formats to try, best first, for the `device` setting (auto, cpu or cuda)."""
    from vision.models.device import resolve_device

    if resolve_device(device).device == "cuda":
        return GPU_FORMAT_PREFERENCE
    return FORMAT_PREFERENCE


DEFAULT_CONF = 0.25  # for weights that do not state their best-F1 confidence


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
    alert_conf: float = DEFAULT_ALERT_CONF
    operating_point: dict[str, Any] = field(default_factory=dict)

    @property
    def formats(self) -> tuple[str, ...]:
        """Every format this model runs in: the committed ones and those built from its ONNX file."""
        built = ("openvino", "pt") if "onnx" in self.weights else ()
        return tuple(f for f in FORMATS if f in self.weights or f in built)

    def threshold(self, requested: float | None) -> float:
        """The confidence threshold to detect with: the one asked for, else this model's best-F1.

        >>> ModelInfo("m", "1", "detect", (), 640, 0.31, "", Path(".")).threshold(None)
        0.31
        """
        return self.conf if requested is None else requested

    def weights_path(self, fmt: str | None = None, device: str = DEFAULT_DEVICE) -> Path:
        """Path of the weights in `fmt`, or the best available format for `device` on this machine.

        OpenVINO and .pt weights are built from the ONNX file into the cache on first use."""
        if fmt is not None and fmt not in FORMATS:
            raise ModelError(f"unknown weights format {fmt!r} (choose from {', '.join(FORMATS)})")
        order = (fmt,) if fmt else format_preference(device)
        for f in order:
            if f == "openvino" and not _openvino_available():
                continue
            if f == "pt" and fmt is None and not _torch_available():
                continue
            rel = self.weights.get(f)
            if rel and (self.folder / rel).exists():
                return self.folder / rel
            onnx = self.folder / self.weights.get("onnx", "")
            if f in ("openvino", "pt") and "onnx" in self.weights and onnx.is_file():
                from vision.models.cache import openvino_from_onnx, pt_from_onnx

                return openvino_from_onnx(onnx) if f == "openvino" else pt_from_onnx(onnx)
        wanted = fmt or "any format"
        raise ModelError(f"model {self.name!r} has no {wanted} weights in {self.folder}")


def _openvino_available() -> bool:
    try:
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def available_formats(info: ModelInfo) -> tuple[str, ...]:
    """The formats of `info` this machine can run (OpenVINO needs openvino, .pt torch + ultralytics)."""
    runnable = {"onnx": True, "openvino": _openvino_available(), "pt": _torch_available()}
    return tuple(f for f in info.formats if runnable[f])


def _torch_available() -> bool:
    import importlib.util

    return (
        importlib.util.find_spec("torch") is not None and importlib.util.find_spec("ultralytics") is not None
    )


def _read_model(folder: Path) -> ModelInfo:
    meta_path = folder / "model.json"
    try:
        meta = json.loads(meta_path.read_text())
        conf = float(meta.get("conf", DEFAULT_CONF))
        return ModelInfo(
            name=meta["name"],
            version=str(meta["version"]),
            task=meta.get("task", "detect"),
            classes=tuple(meta["classes"]),
            imgsz=int(meta["imgsz"]),
            conf=conf,
            licence=meta.get("licence", "unknown"),
            folder=folder,
            weights=dict(meta.get("weights", {})),
            metrics=dict(meta.get("metrics", {})),
            card=meta.get("card", "MODEL_CARD.md"),
            alert_conf=float(
                meta.get("alert_conf", DEFAULT_ALERT_CONF if meta.get("task") == "classify" else conf)
            ),
            operating_point=dict(meta.get("operating_point", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"{meta_path}: unreadable model description ({exc})") from None


def list_models(models_dir: Path = DEFAULT_MODELS_DIR) -> list[ModelInfo]:
    """Every model folder under `models_dir` (pass `RuntimeOptions.models_dir` from the settings)."""
    if not models_dir.is_dir():
        return []
    return [_read_model(p.parent) for p in sorted(models_dir.glob("*/model.json"))]


def get_model(name: str, models_dir: Path = DEFAULT_MODELS_DIR) -> ModelInfo:
    models = {m.name: m for m in list_models(models_dir)}
    if name not in models:
        known = ", ".join(sorted(models)) or "none"
        raise ModelError(f"no model named {name!r} (shipped models: {known})")
    return models[name]
