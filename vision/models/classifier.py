"""Scene classifier runtime: class probabilities for whole frames from `.pt`, ONNX or OpenVINO weights.

Preprocessing copies ultralytics' classification inference transform (shorter side resized to
`imgsz` with antialiasing, centre crop, RGB in [0, 1]) so the three formats agree.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from tenken.errors import ModelError
from vision.models.detector import Frame, weights_format

Probs = npt.NDArray[np.float32]


@dataclass(frozen=True)
class SceneResult:
    """One frame's scene class and the probability of every class."""

    label: str
    confidence: float
    probs: dict[str, float]


class SceneClassifier(Protocol):
    names: tuple[str, ...]
    imgsz: int
    backend: str

    def probabilities(self, frames: Sequence[Frame]) -> Probs:
        """(N, classes) probabilities, rows summing to 1."""
        ...


def classify(classifier: SceneClassifier, frames: Sequence[Frame]) -> list[SceneResult]:
    probs = classifier.probabilities(frames)
    out = []
    for row in probs:
        k = int(np.argmax(row))
        out.append(
            SceneResult(
                classifier.names[k], float(row[k]), dict(zip(classifier.names, map(float, row), strict=True))
            )
        )
    return out


def _triangle_taps(in_size: int, out_size: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Input indices and weights (out, taps) of PIL's antialiased bilinear resize along one axis."""
    scale = in_size / out_size
    support = max(scale, 1.0)
    centres = (np.arange(out_size) + 0.5) * scale
    taps = int(np.ceil(support)) * 2 + 1
    first = np.floor(centres - support).astype(np.int64)
    idx = first[:, None] + np.arange(taps)[None, :]
    w = np.clip(1.0 - np.abs(idx + 0.5 - centres[:, None]) / support, 0.0, None)
    w[(idx < 0) | (idx >= in_size)] = 0.0
    w /= w.sum(axis=1, keepdims=True)
    return np.clip(idx, 0, in_size - 1), w.astype(np.float32)


def _resample_axis0(image: npt.NDArray[np.float32], out_size: int) -> npt.NDArray[np.float32]:
    idx, w = _triangle_taps(image.shape[0], out_size)
    out = np.zeros((out_size, *image.shape[1:]), np.float32)
    for k in range(idx.shape[1]):  # a few taps: gathers, no BLAS threads
        out += w[:, k].reshape(-1, *([1] * (image.ndim - 1))) * image[idx[:, k]]
    return np.clip(np.rint(out), 0, 255)  # PIL rounds to 8 bits after each pass


def resize_like_pil(image: npt.NDArray[np.uint8], width: int, height: int) -> npt.NDArray[np.uint8]:
    """Bilinear resize with antialiasing, as PIL (and so ultralytics' classifier transform) does it."""
    horizontal = _resample_axis0(image.astype(np.float32).transpose(1, 0, 2), width).transpose(1, 0, 2)
    return _resample_axis0(np.ascontiguousarray(horizontal), height).astype(np.uint8)


def preprocess(frames: Sequence[Frame], imgsz: int) -> npt.NDArray[np.float32]:
    """BGR frames -> (N, 3, imgsz, imgsz) RGB float blob: shorter side to imgsz, centre crop."""
    blob = np.empty((len(frames), 3, imgsz, imgsz), np.float32)
    for i, frame in enumerate(frames):
        h, w = frame.shape[:2]
        scale = imgsz / min(h, w)
        nh, nw = max(imgsz, int(h * scale)), max(imgsz, int(w * scale))
        resized = resize_like_pil(frame, nw, nh)
        top, left = round((nh - imgsz) / 2.0), round((nw - imgsz) / 2.0)
        crop = resized[top : top + imgsz, left : left + imgsz, ::-1]
        blob[i] = crop.transpose(2, 0, 1).astype(np.float32) / 255.0
    return blob


def _names(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        raw = ast.literal_eval(raw)
    if isinstance(raw, dict):
        return tuple(str(raw[k]) for k in sorted(raw, key=int))
    return tuple(str(n) for n in raw)


class OnnxClassifier:
    backend = "onnxruntime"

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises untyped errors for bad files
            raise ModelError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0]})") from None
        meta = self.session.get_modelmeta().custom_metadata_map
        self.names = _names(meta.get("names", "{}"))
        self.imgsz = int(max(ast.literal_eval(meta.get("imgsz", "[224, 224]"))))
        self.input = self.session.get_inputs()[0].name
        self.fixed_batch = self.session.get_inputs()[0].shape[0]

    def probabilities(self, frames: Sequence[Frame]) -> Probs:
        blob = preprocess(frames, self.imgsz)
        if isinstance(self.fixed_batch, int):
            rows = [self.session.run(None, {self.input: blob[i : i + 1]})[0] for i in range(len(blob))]
            return np.concatenate(rows).astype(np.float32)
        return np.asarray(self.session.run(None, {self.input: blob})[0], np.float32)


class OpenVinoClassifier:
    backend = "openvino"

    def __init__(self, path: Path) -> None:
        import openvino as ov
        import yaml

        xml = path if path.suffix == ".xml" else next(path.glob("*.xml"))
        core = ov.Core()
        self.compiled = core.compile_model(core.read_model(str(xml)), "CPU")
        meta_file = xml.parent / "metadata.yaml"
        meta = yaml.safe_load(meta_file.read_text()) if meta_file.is_file() else {}
        if "names" not in meta:
            raise ModelError(f"{xml.parent}: no metadata.yaml with class names next to the OpenVINO model")
        self.names = _names(meta["names"])
        self.imgsz = int(max(meta.get("imgsz", [224])))

    def probabilities(self, frames: Sequence[Frame]) -> Probs:
        blob = preprocess(frames, self.imgsz)
        rows = [self.compiled(blob[i : i + 1])[0] for i in range(len(blob))]
        return np.concatenate(rows).astype(np.float32)


class UltralyticsClassifier:
    backend = "ultralytics"

    def __init__(self, path: Path) -> None:
        from vision.train.offline import configure_offline_ultralytics

        configure_offline_ultralytics()
        try:
            from ultralytics import YOLO
        except ImportError:
            raise ModelError(
                f"{path}: .pt weights need the `train` extra; use the ONNX/OpenVINO export"
            ) from None
        self.model = YOLO(str(path), task="classify")
        names = self.model.names
        self.names = tuple(names[k] for k in sorted(names))
        self.imgsz = int(self.model.overrides.get("imgsz", 224) or 224)

    def probabilities(self, frames: Sequence[Frame]) -> Probs:
        results = self.model.predict(list(frames), imgsz=self.imgsz, verbose=False)
        return np.stack([r.probs.data.cpu().numpy() for r in results]).astype(np.float32)


def load_classifier(path: str | Path) -> SceneClassifier:
    """Load a scene classifier from local weights (never a download)."""
    path = Path(path)
    if not path.exists():
        raise ModelError(f"weights not found: {path}")
    fmt = weights_format(path)
    if fmt == "onnx":
        return OnnxClassifier(path)
    if fmt == "openvino":
        return OpenVinoClassifier(path)
    return UltralyticsClassifier(path)


def weights_task(path: Path) -> str:
    """'classify' or 'detect', from the export metadata next to / inside the weights."""
    fmt = weights_format(path)
    if fmt == "onnx":
        import onnxruntime as ort

        meta = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).get_modelmeta()
        return str(meta.custom_metadata_map.get("task", "detect"))
    if fmt == "openvino":
        folder = path if path.is_dir() else path.parent
        meta_file = folder / "metadata.yaml"
        return "classify" if meta_file.is_file() and "task: classify" in meta_file.read_text() else "detect"
    import torch

    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # torch.load raises many types for a bad file
        raise ModelError(f"{path}: not loadable .pt weights ({str(exc).splitlines()[0]})") from None
    model = ckpt.get("model") if isinstance(ckpt, dict) else None
    return str(getattr(model, "task", "detect"))
