"""The settings given to `create_app` are the ones its live feeds load their models with."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.live_source import LiveSourceSpec
from tenken.errors import ConfigError
from tenken.settings import get_settings, load_settings
from tests.model_folders import copy_model_as, threads_of
from tests.synthetic_drive import build_drive
from vision.live.tiles import TileGrid
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
            live_tiles="3x2",
        )
        video, _ = build_drive(tmp_path, distance_m=6.0)
        spec = LiveSourceSpec("drone-1", str(video), model="ember", scene_model=None, every_s=0.5)
        with TestClient(create_app(settings, live_sources=[spec])) as client:
            (feed,) = client.app.state.live_feeds
            feed.join(timeout_s=60)
            assert feed.error is None
            assert feed.detector.names == get_model("fire").classes
            assert threads_of(feed.detector) == 1
            assert feed.pipeline.tiles == TileGrid(3, 2)
    finally:
        get_settings.cache_clear()


def test_live_tiles_is_off_or_a_grid_and_a_feed_may_override_it(tmp_path):
    for bad in ("2by2", "12x2", "x2"):
        with pytest.raises(ConfigError, match=r"live_tiles.*COLSxROWS"):
            load_settings(data_dir=tmp_path, live_tiles=bad)
    assert TileGrid.parse(load_settings(data_dir=tmp_path, live_tiles=" 2X2 ").live_tiles) == TileGrid(2, 2)
    spec = LiveSourceSpec.parse("drone-1=rtsp://10.0.0.7/live", tiles="off")
    assert spec.tiles == "off"
