"""Models folder, device and threads reach model loading as parameters, never from the global settings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tenken.errors import ModelError
from tenken.settings import get_settings, load_settings
from tests.model_folders import copy_model_as, threads_of
from vision.models.detector import load_detector
from vision.models.registry import get_model, list_models
from vision.models.runtime import RuntimeOptions
from worker.detectors import describe_detector, get_detector


@pytest.fixture
def global_settings_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The process-wide settings point at an empty models folder and let models use every core."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("TENKEN_MODELS_DIR", str(elsewhere))
    monkeypatch.delenv("TENKEN_INFERENCE_THREADS", raising=False)
    get_settings.cache_clear()
    yield elsewhere
    get_settings.cache_clear()


def test_runtime_options_are_built_from_the_settings_given(tmp_path):
    settings = load_settings(models_dir=tmp_path, device="cpu", inference_threads=3)
    assert RuntimeOptions.from_settings(settings) == RuntimeOptions(tmp_path, "cpu", 3)
    defaults = load_settings()
    assert RuntimeOptions() == RuntimeOptions.from_settings(defaults)  # one home for each default


def test_onnx_runtime_session_gets_the_threads_asked_for():
    onnx = get_model("fire").weights_path("onnx")
    one = load_detector(onnx, runtime=RuntimeOptions(device="cpu", inference_threads=1))
    assert one.backend == "onnxruntime" and threads_of(one) == 1
    assert threads_of(load_detector(onnx, runtime=RuntimeOptions(device="cpu"))) == 0  # all cores
    frame = np.zeros((64, 64, 3), np.uint8)
    assert len(one.predict([frame])) == 1


def test_openvino_model_gets_the_threads_asked_for():
    pytest.importorskip("openvino")
    weights = get_model("fire").weights_path("openvino")
    detector = load_detector(weights, runtime=RuntimeOptions(device="cpu", inference_threads=1))
    assert detector.backend == "openvino" and threads_of(detector) == 1


def test_worker_detectors_load_from_the_runtime_models_folder(tmp_path, global_settings_elsewhere):
    models = tmp_path / "models"
    copy_model_as("fire", "ember", models)
    assert list_models(get_settings().models_dir) == []  # the global settings know no such model
    runtime = RuntimeOptions(models_dir=models, device="cpu", inference_threads=1)

    info = describe_detector("ember", runtime)[0]
    assert info.folder == models / "ember" and info.classes == get_model("fire").classes
    loaded = get_detector("ember", runtime)
    assert loaded.info.name == "ember" and threads_of(loaded.detector) == 1
    with pytest.raises(ModelError, match="no model named 'ember'"):
        describe_detector("ember", RuntimeOptions(models_dir=global_settings_elsewhere))


# The edges that may read the process-wide settings: command lines and a Celery worker's start-up
# (its signal handlers, task bootstrap and `inspect` replies). Everything else is given its settings.
SETTINGS_EDGES = {
    "tenken/settings.py",
    "worker/app.py",
    "worker/tasks.py",
    "worker/health.py",
    "worker/celery_watch.py",
}


def _is_cli(path: Path) -> bool:
    """A command-line entry point: `cli*.py`, or any module of a `cli` package."""
    return path.name.startswith("cli") or "cli" in path.parent.parts


def test_only_entry_points_read_the_global_settings():
    root = Path(__file__).resolve().parents[2]
    readers = {
        str(path.relative_to(root))
        for package in ("api", "drone", "tenken", "vision", "worker")
        for path in (root / package).rglob("*.py")
        if "get_settings()" in path.read_text()
    }
    deep = {p for p in readers if not _is_cli(Path(p)) and p not in SETTINGS_EDGES}
    assert deep == set(), "pass Settings or RuntimeOptions down instead of calling get_settings()"
