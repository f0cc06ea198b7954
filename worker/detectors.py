"""Detectors named by a spec, loaded lazily once per process (so never before a worker forks).

A spec is a shipped model's name (`road`, see `tenken models`) or an import string
`package.module:Class` naming a class whose no-argument constructor gives a `Detector` (tests
use `tests.synthetic_drive:ColourDetector`).
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from pathlib import Path

from tenken.errors import ModelError
from vision.models.batching import MAX_BATCH, SharedBatchDetector
from vision.models.detector import Detector, load_detector, weights_format
from vision.models.registry import DEFAULT_CONF, ModelInfo, get_model
from vision.models.runtime import DEFAULT_RUNTIME, RuntimeOptions


@dataclass(frozen=True)
class LoadedDetector:
    detector: Detector
    info: ModelInfo
    weights: Path


_cache: dict[tuple[str, RuntimeOptions], LoadedDetector] = {}
_lock = threading.Lock()


def _import_class(spec: str) -> type:
    module_name, _, class_name = spec.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ModelError(f"detector {spec!r} cannot be imported: {exc}") from None
    if not isinstance(cls, type):
        raise ModelError(f"detector {spec!r} is not a class")
    return cls


def describe_detector(spec: str, runtime: RuntimeOptions = DEFAULT_RUNTIME) -> tuple[ModelInfo, Path, str]:
    """The model description, weights path and backend name of `spec` (a model in
    `runtime.models_dir`), without loading weights."""
    if ":" in spec:
        cls = _import_class(spec)
        info = ModelInfo(
            name=spec,
            version="custom",
            task="detect",
            classes=tuple(cls.names),  # type: ignore[attr-defined]
            imgsz=int(cls.imgsz),  # type: ignore[attr-defined]
            conf=DEFAULT_CONF,
            licence="as supplied",
            folder=Path("."),
        )
        return info, Path(spec.partition(":")[2]), str(getattr(cls, "backend", "custom"))
    info = get_model(spec, runtime.models_dir)
    weights = info.weights_path(device=runtime.device)
    return info, weights, weights_format(weights)


def _load(spec: str, runtime: RuntimeOptions) -> LoadedDetector:
    info, weights, _ = describe_detector(spec, runtime)
    if ":" in spec:
        detector: Detector = _import_class(spec)()
    else:
        detector = load_detector(
            weights, names=info.classes, imgsz=info.imgsz, conf=info.conf, batch=MAX_BATCH, runtime=runtime
        )
        if detector.backend == "torch":
            # One GPU per process: the chunks and live frames its threads serve share its batches.
            # The shared runner warms the detector up in its own thread before it is handed out.
            detector = SharedBatchDetector(detector, max_batch=MAX_BATCH)
    return LoadedDetector(detector, info, weights)


def get_detector(spec: str, runtime: RuntimeOptions = DEFAULT_RUNTIME) -> LoadedDetector:
    """The detector for `spec` run as `runtime` says, loaded on first use in this process and kept."""
    with _lock:
        loaded = _cache.get((spec, runtime))
        if loaded is None:
            loaded = _cache[spec, runtime] = _load(spec, runtime)
        return loaded


def loaded_specs() -> list[str]:
    """Specs loaded in this process so far (a parent must show none before it forks workers)."""
    return sorted({spec for spec, _ in _cache})


def loaded_detectors() -> dict[str, Detector]:
    """The detectors loaded in this process so far, by spec."""
    with _lock:
        return {spec: loaded.detector for (spec, _), loaded in sorted(_cache.items(), key=lambda i: i[0][0])}
