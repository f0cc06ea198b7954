"""ultralytics backend for `.pt` weights (needs the `train` extra: torch + ultralytics)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tenken.errors import ModelError
from vision.models.detections import Detections
from vision.models.detector import DetectorOptions, Frame
from vision.train.offline import configure_offline_ultralytics


class UltralyticsDetector:
    backend = "ultralytics"

    def __init__(self, path: Path, options: DetectorOptions = DetectorOptions(), device: str = "cpu") -> None:
        configure_offline_ultralytics()
        try:
            from ultralytics import YOLO
        except ImportError:
            raise ModelError(
                f"{path}: .pt weights need torch and ultralytics (pip install 'tenken[train]'); "
                "use the .onnx or OpenVINO export instead"
            ) from None
        try:
            self.model = YOLO(str(path), task="detect")
        except Exception as exc:  # torch.load raises many types for a bad file
            raise ModelError(f"{path}: not loadable .pt weights ({str(exc).splitlines()[0]})") from None
        model_names = self.model.names
        self.names = options.names or tuple(model_names[k] for k in sorted(model_names))
        self.imgsz = options.imgsz or int(self.model.overrides.get("imgsz", 640) or 640)
        self.conf, self.iou = options.conf, options.iou
        self.agnostic_nms, self.batch = options.agnostic_nms, options.batch
        self.device = "cuda:0" if device == "cuda" else "cpu"
        self.provider = f"torch {self.device}"

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        out: list[Detections] = []
        for start in range(0, len(frames), self.batch):
            results = self.model.predict(
                list(frames[start : start + self.batch]),
                imgsz=self.imgsz,
                conf=self.conf if conf is None else conf,
                iou=self.iou,
                agnostic_nms=self.agnostic_nms,
                device=self.device,
                half=self.device != "cpu",
                verbose=False,
            )
            for r in results:
                boxes = r.boxes
                out.append(
                    Detections(
                        boxes.xyxy.cpu().numpy().astype(np.float32),
                        boxes.conf.cpu().numpy().astype(np.float32),
                        boxes.cls.cpu().numpy().astype(np.int64),
                        self.names,
                    )
                )
        return out
