"""ONNX Runtime backend: runs an ultralytics ONNX export without torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from tenken.errors import ModelError
from vision.backends.yolo_runtime import YoloRuntimeDetector, imgsz_from_metadata, names_from_metadata
from vision.models.detector import DetectorOptions


class OnnxDetector(YoloRuntimeDetector):
    backend = "onnxruntime"

    def __init__(self, path: Path, options: DetectorOptions = DetectorOptions()) -> None:
        import onnxruntime as ort

        session_options = ort.SessionOptions()
        session_options.log_severity_level = 3
        if options.threads:  # several worker processes on one machine: keep them from oversubscribing cores
            session_options.intra_op_num_threads = options.threads
        # The CPU path only: the GPU path is the torch backend, so nothing falls back silently.
        self.provider = "CPUExecutionProvider"
        try:
            self.session = ort.InferenceSession(str(path), session_options, providers=[self.provider])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            raise ModelError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        fixed = inp.shape[0] if isinstance(inp.shape[0], int) else None
        size = options.imgsz or imgsz_from_metadata(meta.get("imgsz")) or int(inp.shape[2])
        model_names = options.names or names_from_metadata(meta.get("names", "{}"))
        super().__init__(model_names, size, options, fixed_batch=fixed)

    def _infer(self, blob: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        out = self.session.run(None, {self.input_name: blob})[0]
        return np.asarray(out, dtype=np.float32)
