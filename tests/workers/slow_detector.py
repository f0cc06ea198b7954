"""Fake detectors for worker tests: the colour detector, slowed down so a test can act mid-job."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

import numpy as np

from tests.synthetic_drive import ColourDetector
from vision.models.detections import Detections

DELAY_S = float(os.environ.get("TENKEN_TEST_DETECT_DELAY_S", "0.25"))


class SlowColourDetector(ColourDetector):
    """`ColourDetector` taking DELAY_S per frame, like a real model on a slow machine."""

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        time.sleep(DELAY_S * len(frames))
        return super().predict(frames, conf)


class JitteryColourDetector(ColourDetector):
    """`ColourDetector` whose batches take uneven time, so parallel workers finish out of order."""

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        time.sleep(0.3 if int(frames[0].sum()) % 3 == 0 else 0.0)
        return super().predict(frames, conf)


class CrashingDetector(ColourDetector):
    """A detector with a bug: every call raises, as a model that crashes on some input would."""

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        raise RuntimeError("model exploded")
