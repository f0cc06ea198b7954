"""A colour stand-in detector for the simulator's painted fire, smoke and landslide patches."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from vision.models.detections import Detections

NAMES = ("fire", "smoke", "landslide")


# Each painted kind's colour, as the simulator draws it (BGR channels as int16).
MASKS = {
    "fire": lambda r, g, b: (r > 200) & (g > 60) & (r - b > 40),  # flames (orange to yellow)
    "smoke": lambda r, g, b: (abs(r - g) < 20) & (abs(g - b) < 20) & (r > 135) & (r < 200),
    "landslide": lambda r, g, b: (
        (r > 120) & (r < 185) & (g > 85) & (g < 135) & (b > 50) & (b < 105) & (r - b > 40)
    ),  # bare soil
}


class PaintedPatchDetector:
    """Flame-coloured, smoke-grey and bare-soil blobs, one box around each connected region."""

    imgsz = 640
    backend = "colour"

    def __init__(self, kinds: Sequence[str] = NAMES) -> None:
        self.names = tuple(kinds)

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        out = []
        for image in frames:
            b, g, r = (image[..., i].astype(np.int16) for i in range(3))
            masks = {class_id: MASKS[name](r, g, b) for class_id, name in enumerate(self.names)}
            boxes, scores, ids = [], [], []
            for class_id, mask in masks.items():
                closed = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((9, 9), np.uint8))
                n, _, stats, _ = cv2.connectedComponentsWithStats(closed)
                for x, y, w, h, area in stats[1:n]:
                    if area >= 150:
                        boxes.append((float(x), float(y), float(x + w), float(y + h)))
                        scores.append(0.9)
                        ids.append(class_id)
            out.append(Detections.from_lists(boxes, scores, ids, self.names))
        return out


class ShrinkingPatchDetector(PaintedPatchDetector):
    """The colour stand-in behind a fixed input size, like a real detector: every image is shrunk to
    `imgsz` px on its longer side first, and a blob under `min_px` wide in that input is not found.
    A small patch is then missed in a whole frame and found in a tile (shown at a larger scale)."""

    def __init__(self, kinds: Sequence[str] = NAMES, imgsz: int = 416, min_px: int = 30) -> None:
        super().__init__(kinds)
        self.imgsz, self.min_px = imgsz, min_px

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        out = []
        for image in frames:
            h, w = image.shape[:2]
            scale = self.imgsz / max(h, w)
            small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
            [d] = super().predict([small], conf)
            d = d.filter((d.xyxy[:, 2] - d.xyxy[:, 0]) >= self.min_px)
            out.append(Detections(d.xyxy / scale, d.confidence, d.class_id, d.names))
        return out
