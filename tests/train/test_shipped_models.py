"""The shipped models: registry entries, the three formats agreeing, and predicting with no network."""

from __future__ import annotations

import socket
from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.models.classifier import load_classifier
from vision.models.detector import load_detector
from vision.models.registry import get_model, list_models
from vision.train.metrics import iou_matrix

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DETECTORS = {"road": FIXTURES / "pavement_tiny" / "images", "fire": FIXTURES / "disaster_tiny" / "images"}


def frames(folder: Path) -> list[np.ndarray]:
    return [cv2.imread(str(p)) for p in sorted(folder.glob("*.jpg"))]


def test_registry_lists_road_fire_and_scene_with_all_three_formats() -> None:
    models = {m.name: m for m in list_models()}
    assert {"road", "fire", "scene"} <= set(models)
    for m in models.values():
        assert set(m.formats) == {"pt", "onnx", "openvino"}
        assert set(m.weights) == {"onnx"}  # the only weights committed; the others are built from it
        assert all((m.folder / rel).exists() for rel in m.weights.values())
        assert (m.folder / m.card).is_file()
    assert models["road"].classes == ("D00", "D10", "D20", "D40")


def test_committed_weights_are_onnx_with_fp16_storage_and_fit_the_size_budget() -> None:
    import onnx

    total = 0
    for m in list_models():
        path = m.folder / m.weights["onnx"]
        total += path.stat().st_size
        graph = onnx.load(str(path)).graph
        halves = [i for i in graph.initializer if i.data_type == onnx.TensorProto.FLOAT16]
        assert len(halves) > 20, path
    assert total < 16 * 2**20  # three models; the fp32 ONNX files alone were 30 MiB


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_pt_onnx_and_openvino_find_the_same_boxes(name: str) -> None:
    info = get_model(name)
    images = frames(DETECTORS[name])
    results = {
        fmt: load_detector(info.weights_path(fmt), names=info.classes, imgsz=info.imgsz).predict(
            images, conf=0.3
        )
        for fmt in ("pt", "onnx", "openvino")
    }
    assert sum(len(d) for d in results["onnx"]) > 0
    for fmt in ("pt", "openvino"):
        for ref, other in zip(results["onnx"], results[fmt], strict=True):
            # boxes near the threshold may flip; every confident ONNX box has a twin of the same class
            confident = ref.confidence >= 0.4
            if not confident.any():
                continue
            assert len(other) > 0, fmt
            ious = iou_matrix(ref.xyxy[confident], other.xyxy)
            same_class = ref.class_id[confident][:, None] == other.class_id[None, :]
            assert np.all(np.max(np.where(same_class, ious, 0), axis=1) > 0.9), fmt


def test_scene_formats_agree_on_the_class_of_each_frame() -> None:
    info = get_model("scene")
    images = frames(DETECTORS["fire"]) + frames(DETECTORS["road"])[:3]
    probs = {
        fmt: load_classifier(info.weights_path(fmt)).probabilities(images)
        for fmt in ("pt", "onnx", "openvino")
    }
    assert np.abs(probs["onnx"] - probs["openvino"]).max() < 0.05  # OpenVINO keeps FP16 weights
    assert np.abs(probs["onnx"] - probs["pt"]).max() < 0.1  # torchvision vs OpenCV resize
    for fmt in ("pt", "openvino"):
        assert (probs["onnx"].argmax(1) == probs[fmt].argmax(1)).mean() >= 0.9


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.parametrize("fmt", ["pt", "onnx", "openvino"])
def test_loading_and_predicting_needs_no_network(no_network: None, fmt: str) -> None:
    info = get_model("road")
    detector = load_detector(info.weights_path(fmt), names=info.classes, imgsz=info.imgsz)
    assert len(detector.predict(frames(DETECTORS["road"])[:2])) == 2
    scene = load_classifier(get_model("scene").weights_path(fmt))
    assert scene.probabilities(frames(DETECTORS["fire"])[:1]).shape == (1, len(scene.names))
