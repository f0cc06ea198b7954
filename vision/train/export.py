"""Export trained weights to ONNX in the form Tenken commits, and write a model folder the registry reads.

Only the ONNX file is committed: the runtime converts it to OpenVINO and rebuilds a `.pt` from it on
first use (`vision/models/cache.py`), and its Conv/Gemm weights are stored as fp16 behind a `Cast` to
fp32, which halves the file while every runtime still computes in fp32.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tenken.errors import ModelError
from vision.train.offline import configure_offline_ultralytics

FP16_SUFFIX = "_fp16"


def compact_onnx(src: Path, dst: Path) -> Path:
    """Write `src` to `dst` with Conv/Gemm weights stored as fp16 and cast back to fp32 at load time."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    weight_names = {node.input[1] for node in graph.node if node.op_type in ("Conv", "Gemm")}
    initializers, casts = [], []
    for init in graph.initializer:
        if init.name in weight_names and init.data_type == TensorProto.FLOAT:
            half = numpy_helper.from_array(
                numpy_helper.to_array(init).astype(np.float16), f"{init.name}{FP16_SUFFIX}"
            )
            initializers.append(half)
            casts.append(
                helper.make_node(
                    "Cast", [half.name], [init.name], to=TensorProto.FLOAT, name=f"{init.name}/up"
                )
            )
        else:
            initializers.append(init)
    del graph.initializer[:]
    graph.initializer.extend(initializers)
    nodes = casts + list(graph.node)  # the casts first keep the graph topologically sorted
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.checker.check_model(model)
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    return dst


def export_onnx(pt: Path, imgsz: int, out: Path) -> Path:
    """Export `pt` to ONNX (batch 1, static shape, simplified) and write its compact form to `out`."""
    configure_offline_ultralytics()
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory(prefix="tenken-export-") as tmp:
        copy = Path(tmp) / f"{out.stem}.pt"
        shutil.copyfile(pt, copy)
        try:
            onnx_path = Path(
                YOLO(str(copy)).export(format="onnx", imgsz=imgsz, simplify=True, dynamic=False, batch=1)
            )
        except Exception as exc:  # ultralytics raises many types; the message is what a user needs
            raise ModelError(f"export of {pt} failed: {str(exc).splitlines()[0]}") from None
        return compact_onnx(onnx_path, out)


def export_formats(pt: Path, imgsz: int, out_dir: Path, stem: str) -> dict[str, str]:
    """Write out_dir/<stem>.onnx in the committed form (`tenken train --export`)."""
    return {"onnx": export_onnx(pt, imgsz, out_dir / f"{stem}.onnx").name}


def write_model_json(out_dir: Path, meta: dict[str, Any]) -> Path:
    """Write the registry entry (see vision/models/registry.py for the fields)."""
    path = out_dir / "model.json"
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path
