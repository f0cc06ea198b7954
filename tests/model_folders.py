"""A shipped model copied under another name into a test's own models folder, and the threads a
loaded detector was given (what `RuntimeOptions` must reach)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from vision.models.registry import get_model


def copy_model_as(shipped: str, name: str, models_dir: Path) -> Path:
    """The shipped model `shipped` (ONNX weights only) as `models_dir/name`, named `name`."""
    info = get_model(shipped)
    folder = models_dir / name
    folder.mkdir(parents=True)
    meta = json.loads((info.folder / "model.json").read_text())
    onnx = meta["weights"]["onnx"]
    shutil.copyfile(info.folder / onnx, folder / onnx)
    meta.update(name=name, weights={"onnx": onnx})
    (folder / "model.json").write_text(json.dumps(meta))
    return folder


def threads_of(detector: Any) -> int:
    """CPU threads the backend runs the model on, as its runtime reports them (0: all cores)."""
    if detector.backend == "onnxruntime":
        return int(detector.session.get_session_options().intra_op_num_threads)
    if detector.backend == "openvino":
        return int(detector.compiled.get_property("INFERENCE_NUM_THREADS"))
    raise AssertionError(f"no thread setting on the {detector.backend} backend")
