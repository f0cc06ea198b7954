"""Letterboxing frames into the model's square input, and mapping boxes back to the frame."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

PAD_VALUE = 114  # the grey ultralytics pads with; the models were trained with it


@dataclass(frozen=True)
class LetterboxTransform:
    """How a frame was scaled and padded: model pixel = frame pixel * scale + pad."""

    scale: float
    pad_x: float
    pad_y: float

    def to_frame(self, xyxy: npt.NDArray[np.float32], width: int, height: int) -> npt.NDArray[np.float32]:
        """Map boxes from model input pixels back to frame pixels, clipped to the frame."""
        out = xyxy.astype(np.float32, copy=True)
        out[:, [0, 2]] = (out[:, [0, 2]] - self.pad_x) / self.scale
        out[:, [1, 3]] = (out[:, [1, 3]] - self.pad_y) / self.scale
        out[:, [0, 2]] = out[:, [0, 2]].clip(0, width)
        out[:, [1, 3]] = out[:, [1, 3]].clip(0, height)
        return out


def letterbox(frame: npt.NDArray[np.uint8], size: int) -> tuple[npt.NDArray[np.uint8], LetterboxTransform]:
    """Resize keeping the aspect ratio so the longer side is `size`, pad the rest to a square."""
    h, w = frame.shape[:2]
    scale = min(size / h, size / w)
    new_w, new_h = round(w * scale), round(h * scale)
    if (new_w, new_h) != (w, h):
        frame = cv2.resize(frame, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    pad_x, pad_y = (size - new_w) / 2, (size - new_h) / 2
    top, bottom = round(pad_y - 0.1), round(pad_y + 0.1)
    left, right = round(pad_x - 0.1), round(pad_x + 0.1)
    out = cv2.copyMakeBorder(
        frame, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(PAD_VALUE, PAD_VALUE, PAD_VALUE)
    )
    return out, LetterboxTransform(scale, float(left), float(top))


def to_blob(images: list[npt.NDArray[np.uint8]]) -> npt.NDArray[np.float32]:
    """BGR uint8 HWC images -> RGB float32 NCHW in [0, 1]."""
    batch = np.stack(images)[..., ::-1]
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
