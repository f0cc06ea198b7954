"""The settings given to `create_app` are the ones its live feeds load their models with."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.app import create_app
from api.live_source import LiveSourceSpec
from tenken.settings import get_settings, load_settings
from tests.model_folders import copy_model_as, threads_of
from tests.synthetic_drive import build_drive
from vision.models.registry import get_model, list_models


def test_live_feed_loads_its_model_from_the_apps_settings_not_the_global_ones(tmp_path, monkeypatch):
    models = tmp_path / "models"
    copy_model_as("fire", "ember", models)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("TENKEN_MODELS_DIR", str(elsewhere))
    monkeypatch.delenv("TENKEN_INFERENCE_THREADS", raising=False)
    get_settings.cache_clear()
    try:
        assert list_models(get_settings().models_dir) == [] and get_settings().inference_threads == 0
        settings = load_settings(
            data_dir=tmp_path / "data",
            tile_url="",
            models_dir=models,
            device="cpu",
            inference_threads=1,
            live_person_detection=False,
        )
        video, _ = build_drive(tmp_path, distance_m=6.0)
        spec = LiveSourceSpec("drone-1", str(video), model="ember", scene_model=None, every_s=0.5)
        with TestClient(create_app(settings, live_sources=[spec])) as client:
            (feed,) = client.app.state.live_feeds
            feed.join(timeout_s=60)
            assert feed.error is None
            assert feed.detector.names == get_model("fire").classes
            assert threads_of(feed.detector) == 1
    finally:
        get_settings.cache_clear()
