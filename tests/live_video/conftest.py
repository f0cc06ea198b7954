"""Fixtures for live video: the command-post app on a fresh store, tokens, and a loopback server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.services import Services
from tenken.events import InProcessBus
from tenken.settings import Settings, load_settings
from tenken.store.auth import create_token
from tenken.store.db import Store
from tests.api.conftest import LiveServer


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(
        data_dir=tmp_path / "data", tile_url="", live_video_fps=60.0, live_video_width_px=640
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    store = Store(settings.effective_database_url)
    yield Services(settings=settings, store=store, bus=InProcessBus(), executor=None)
    store.dispose()


@pytest.fixture
def tokens(services: Services) -> dict[str, str]:
    with services.store.session() as s:
        return {role: create_token(s, role, f"test {role}")[0] for role in ("viewer", "operator")}


@pytest.fixture
def client(settings: Settings, services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(settings, services)) as c:
        yield c
    close_live_video(c.app)


@pytest.fixture
def live_server(settings: Settings, services: Services) -> Iterator[LiveServer]:
    with LiveServer(settings, services) as server:
        yield server
    close_live_video(server.server.config.app)


def close_live_video(app: object) -> None:
    """Stop the app's timeline thread and close its recordings (the app's lifespan does not own them)."""
    video = getattr(getattr(app, "state", None), "live_video", None)
    if video is not None:
        video.close()
