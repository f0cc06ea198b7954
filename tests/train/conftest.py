"""Shared fixtures for the train/eval tests: the committed tiny datasets, copied so tests may edit them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def pavement_tiny(tmp_path: Path) -> Path:
    dst = tmp_path / "pavement_tiny"
    shutil.copytree(FIXTURES / "pavement_tiny", dst)
    return dst


@pytest.fixture
def disaster_tiny(tmp_path: Path) -> Path:
    dst = tmp_path / "disaster_tiny"
    shutil.copytree(FIXTURES / "disaster_tiny", dst)
    return dst
