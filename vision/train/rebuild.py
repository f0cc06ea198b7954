"""Rebuild a trainable ultralytics model (detector or classifier) from its ONNX export.

An ultralytics ONNX export keeps every Conv with its BatchNorm folded in, under the ultralytics layer
names. Copying those tensors into a fresh `DetectionModel` / `ClassificationModel` of the same size,
with identity BatchNorms, reproduces the ONNX outputs in eval mode. Tenken uses it for the COCO starting
weights (`pretrained.py`) and to give the `.pt` backend the shipped models, which are committed as ONNX
only. Weights stored as fp16 behind a `Cast` (see `export.compact_onnx`) are read back as fp32.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tenken.errors import ModelError
from vision.train.offline import configure_offline_ultralytics

# YOLOv8 size from the first conv's output channels
SCALE_BY_STEM_CHANNELS = {16: "n", 32: "s", 48: "m", 64: "l", 80: "x"}


def onnx_initializers(onnx_bytes: bytes) -> dict[str, npt.NDArray[np.float32]]:
    """Every initializer as fp32, also under the name a `Cast` of it produces (fp16-stored weights)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load_model_from_string(onnx_bytes)
    weights = {init.name: np.array(numpy_helper.to_array(init)) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Cast" and node.input[0] in weights:
            weights[node.output[0]] = weights[node.input[0]]
    return {k: v.astype(np.float32) if v.dtype == np.float16 else v for k, v in weights.items()}


def onnx_metadata(onnx_bytes: bytes) -> dict[str, str]:
    """The export's metadata (names, imgsz, task, ...) as ultralytics wrote it."""
    import onnx

    return {p.key: p.value for p in onnx.load_model_from_string(onnx_bytes).metadata_props}


def names_of(meta: dict[str, str], default_count: int = 80) -> dict[int, str]:
    names = ast.literal_eval(meta.get("names", "{}"))
    return {int(k): str(v) for k, v in names.items()} or {i: str(i) for i in range(default_count)}


def _detection_model(model_class: Any, yaml_name: str, nc: int, weights: dict[str, Any]) -> Any:
    """A detection model whose class branch is as wide as the export's: fine-tuning a COCO model keeps
    its 80-channel branch (the width follows the class count only when the model is built)."""
    import torch

    model = model_class(yaml_name, nc=nc, verbose=False)
    head = model.model[-1]
    key = f"model.{len(model.model) - 1}.cv3.0.0.conv.weight"
    width = int(weights[key].shape[0]) if key in weights else None
    if width is None or width == head.cv3[0][0].conv.out_channels:
        return model
    model = model_class(yaml_name, nc=width, verbose=False)
    head = model.model[-1]
    for branch in head.cv3:
        branch[-1] = torch.nn.Conv2d(branch[-1].in_channels, nc, 1)
    head.nc, head.no = nc, nc + head.reg_max * 4
    model.nc = nc
    model.yaml["nc"] = nc
    return model


def rebuild_model(onnx_bytes: bytes, *, min_layers: int = 20) -> Any:
    """A `DetectionModel` or `ClassificationModel` (from the export's `task`) holding the ONNX weights."""
    configure_offline_ultralytics()
    import torch
    from ultralytics.cfg import get_cfg
    from ultralytics.nn.modules import Conv
    from ultralytics.nn.tasks import ClassificationModel, DetectionModel

    meta = onnx_metadata(onnx_bytes)
    weights = onnx_initializers(onnx_bytes)
    stem = weights.get("model.0.conv.weight")
    scale = SCALE_BY_STEM_CHANNELS.get(int(stem.shape[0])) if stem is not None else None
    if scale is None:
        raise ModelError("the ONNX model does not look like a YOLOv8 export (no known first layer)")
    task = meta.get("task", "detect")
    names = names_of(meta)
    if task == "classify":
        model: Any = ClassificationModel(f"yolov8{scale}-cls.yaml", nc=len(names), verbose=False)
    else:
        model = _detection_model(DetectionModel, f"yolov8{scale}.yaml", len(names), weights)
    copied = 0
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, Conv) and f"{name}.conv.weight" in weights:
                module.conv.weight.copy_(torch.from_numpy(weights[f"{name}.conv.weight"]))
                bn: Any = module.bn
                bn.weight.fill_(1.0)
                bn.bias.copy_(torch.from_numpy(weights[f"{name}.conv.bias"]))
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0 - bn.eps)
                copied += 1
            elif isinstance(module, torch.nn.Conv2d | torch.nn.Linear) and f"{name}.weight" in weights:
                if module.bias is None:
                    continue  # the DFL conv: a fixed arange, not trained
                module.weight.copy_(torch.from_numpy(weights[f"{name}.weight"]))
                module.bias.copy_(torch.from_numpy(weights[f"{name}.bias"]))
                copied += 1
    if copied < min_layers:
        raise ModelError(f"the ONNX model does not look like a YOLOv8 export ({copied} layers matched)")
    model.names = names
    imgsz = ast.literal_eval(meta.get("imgsz", "[640, 640]"))
    model.args = {**vars(get_cfg()), "task": task, "imgsz": int(max(imgsz))}  # what ultralytics expects
    model.task = task
    model.eval()
    return model


def save_checkpoint(
    model: Any, path: Path, *, origin: str, licence: str, train_args: dict[str, Any] | None = None
) -> Path:
    """Save `model` as an ultralytics-loadable .pt (what `YOLO(path)` and training start from)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    ckpt = {
        "model": model,
        "train_args": train_args or {},
        "date": None,
        "version": "tenken-rebuild",
        "license": licence,
        "docs": origin,
        "epoch": -1,
    }
    buffer = io.BytesIO()
    torch.save(ckpt, buffer)
    path.write_bytes(buffer.getvalue())
    return path


def pt_from_onnx(onnx_path: Path, out: Path) -> Path:
    """Write `out` (.pt) rebuilt from the shipped ONNX at `onnx_path`; eval-exact, not for fine-tuning
    without `pretrained.recalibrate_batchnorm` first (its BatchNorms hold identity statistics)."""
    model = rebuild_model(onnx_path.read_bytes())
    return save_checkpoint(
        model,
        out,
        origin=f"rebuilt by Tenken from {onnx_path.name}",
        licence="see the model card next to the ONNX file",
        train_args={"task": model.task, "imgsz": model.args["imgsz"]},
    )
