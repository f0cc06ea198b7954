"""OpenVINO and .pt weights built once from a shipped ONNX file into Tenken's cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tenken.errors import ModelError
from vision.models.classifier import load_classifier
from vision.models.registry import get_model
from vision.train.datasets import read_image

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "tenken" / "models"


def test_openvino_weights_are_built_once_from_the_onnx_file(fresh_cache: Path) -> None:
    info = get_model("scene")
    first = info.weights_path("openvino")
    assert first.is_relative_to(fresh_cache) and (first / "metadata.yaml").is_file()
    built_at = (first / "scene.xml").stat().st_mtime_ns
    assert info.weights_path("openvino") == first
    assert (first / "scene.xml").stat().st_mtime_ns == built_at  # not rebuilt
    assert not [p for p in first.parent.iterdir() if p.name.startswith(".")]  # no temporary folder left
    frame = read_image(next((FIXTURES / "disaster_tiny" / "images").glob("*.jpg")))
    onnx = load_classifier(info.weights_path("onnx")).probabilities([frame])
    openvino = load_classifier(first).probabilities([frame])
    assert np.abs(onnx - openvino).max() < 0.05


def test_pt_weights_rebuilt_from_the_onnx_file_give_the_onnx_probabilities(fresh_cache: Path) -> None:
    info = get_model("scene")
    pt = info.weights_path("pt")
    assert pt.is_relative_to(fresh_cache) and pt.suffix == ".pt"
    frames = [read_image(p) for p in sorted((FIXTURES / "disaster_tiny" / "images").glob("*.jpg"))[:4]]
    onnx = load_classifier(info.weights_path("onnx")).probabilities(frames)
    rebuilt = load_classifier(pt)
    assert rebuilt.names == info.classes and rebuilt.imgsz == info.imgsz
    assert np.abs(onnx - rebuilt.probabilities(frames)).max() < 0.1  # torchvision vs OpenCV resize


def test_an_unwritable_cache_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    with pytest.raises(ModelError, match=r"cannot write the model cache .* set XDG_CACHE_HOME"):
        get_model("road").weights_path("openvino")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ModelError, match="unknown weights format 'tflite'"):
        get_model("road").weights_path("tflite")
