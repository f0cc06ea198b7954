"""Export trained weights to ONNX and OpenVINO and write a model folder the registry can read."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tenken.errors import ModelError
from vision.train.offline import configure_offline_ultralytics


def export_formats(pt: Path, imgsz: int, out_dir: Path, stem: str) -> dict[str, str]:
    """Copy `pt` to out_dir/<stem>.pt and write <stem>.onnx and <stem>_openvino_model/ next to it."""
    configure_offline_ultralytics()
    from ultralytics import YOLO

    out_dir.mkdir(parents=True, exist_ok=True)
    target_pt = out_dir / f"{stem}.pt"
    if pt.resolve() != target_pt.resolve():
        shutil.copyfile(pt, target_pt)
    from ultralytics.utils.torch_utils import strip_optimizer

    strip_optimizer(str(target_pt))  # ship fp16 weights only, no optimizer state from a stopped run
    # OpenVINO stores FP16 weights (half the size) and still computes in FP32 on a CPU
    model = YOLO(str(target_pt))
    try:
        onnx_path = Path(model.export(format="onnx", imgsz=imgsz, simplify=True, dynamic=False, batch=1))
        ov_dir = Path(
            YOLO(str(target_pt)).export(format="openvino", imgsz=imgsz, dynamic=False, batch=1, half=True)
        )
    except Exception as exc:  # ultralytics raises many types; the message is what a user needs
        raise ModelError(f"export of {pt} failed: {str(exc).splitlines()[0]}") from None
    return {"pt": target_pt.name, "onnx": onnx_path.name, "openvino": ov_dir.name}


def write_model_json(out_dir: Path, meta: dict[str, Any]) -> Path:
    """Write the registry entry (see vision/registry.py for the fields)."""
    path = out_dir / "model.json"
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path
