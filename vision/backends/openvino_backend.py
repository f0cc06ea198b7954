"""OpenVINO backend: the fastest path on Intel CPUs, no torch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from tenken.errors import ModelError
from vision.backends.yolo_runtime import YoloRuntimeDetector, imgsz_from_metadata, names_from_metadata
from vision.models.detector import DetectorOptions


def _xml_path(path: Path) -> Path:
    if path.is_dir():
        xmls = sorted(path.glob("*.xml"))
        if not xmls:
            raise ModelError(f"{path}: no OpenVINO .xml model in this folder")
        return xmls[0]
    return path


class OpenVinoDetector(YoloRuntimeDetector):
    backend = "openvino"
    provider = "OpenVINO CPU"

    def __init__(self, path: Path, options: DetectorOptions = DetectorOptions()) -> None:
        import openvino as ov

        xml = _xml_path(path)
        meta: dict[str, Any] = {}
        meta_file = xml.parent / "metadata.yaml"
        if meta_file.is_file():
            meta = yaml.safe_load(meta_file.read_text()) or {}
        core = ov.Core()
        try:
            model = core.read_model(str(xml))
        except Exception as exc:  # openvino raises RuntimeError with long text
            raise ModelError(f"{xml}: not a loadable OpenVINO model ({str(exc).splitlines()[0]})") from None
        shape = model.inputs[0].get_partial_shape()
        fixed = shape[0].get_length() if shape[0].is_static else None
        size = options.imgsz or imgsz_from_metadata(meta.get("imgsz")) or shape[2].get_length()
        model_names = options.names or names_from_metadata(meta.get("names", {}))
        config: dict[str, Any] = {"PERFORMANCE_HINT": "LATENCY"}
        if options.threads:  # several worker processes on one machine: keep them from oversubscribing
            config["INFERENCE_NUM_THREADS"] = options.threads
        self.compiled = core.compile_model(model, "CPU", config)
        self.request = self.compiled.create_infer_request()
        super().__init__(model_names, size, options, fixed_batch=fixed)

    def _infer(self, blob: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        self.request.infer({0: blob})
        return np.asarray(self.request.get_output_tensor(0).data, dtype=np.float32).copy()
