"""Offline settings for ultralytics: set before it is imported, so it never reaches the network."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Tenken's cache: rebuilt starting weights, the ultralytics config dir, downloaded wheels."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tenken"


def configure_offline_ultralytics() -> Path:
    """No DNS probes, no pip auto-install, a config dir owned by Tenken, OpenVINO telemetry off.

    Returns the ultralytics config dir. Must run before the first `import ultralytics`.
    """
    config_dir = cache_dir() / "ultralytics"
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    consent = Path.home() / "intel" / "openvino_telemetry"
    if not consent.exists():
        consent.parent.mkdir(parents=True, exist_ok=True)
        consent.write_text("0")
    return Path(os.environ["YOLO_CONFIG_DIR"])
