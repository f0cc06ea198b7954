"""Where models live and how they run, as one value passed down from the edge.

Library code never reads the global settings: a CLI command, `create_app` or a worker's start-up
builds `RuntimeOptions.from_settings(settings)` once and hands it to model loading, so the settings
given to `create_app(settings)` (or a worker) are the ones its detectors run with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tenken.settings import DEFAULT_DEVICE, DEFAULT_MODELS_DIR

if TYPE_CHECKING:
    from tenken.settings import Settings


@dataclass(frozen=True)
class RuntimeOptions:
    """`models_dir`: shipped model folders; `device`: auto, cpu or cuda; `inference_threads`: CPU
    threads per model for ONNX Runtime / OpenVINO, 0 = all cores. Defaults are the settings' own."""

    models_dir: Path = DEFAULT_MODELS_DIR
    device: str = DEFAULT_DEVICE
    inference_threads: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> RuntimeOptions:
        return cls(settings.models_dir, settings.device, settings.inference_threads)


DEFAULT_RUNTIME = RuntimeOptions()
