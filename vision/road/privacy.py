"""Blurring faces and number plates in evidence crops before anything is written to disk.

Uses the Haar cascades that ship inside opencv-python-headless (<5), so it works offline. They miss
small or turned faces and many plate styles: the blur is best effort, and the report says so.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Image = npt.NDArray[np.uint8]
Box = tuple[int, int, int, int]  # x, y, w, h


@dataclass(frozen=True)
class CascadeSearch:
    """How one kind of region is searched: its cascade files, the smallest size searched (px in
    the detection image) and the overlapping hits a region needs (OpenCV's minNeighbors)."""

    files: tuple[str, ...]
    min_px: int
    min_neighbours: int


# Faces are searched from 28 px up, with 4 overlapping hits: the smallest scales of the face
# cascades (their 20 and 24 px windows) cost a third of the search time and, at 5 hits, found about
# 1 % of 28 px faces; these settings find 32-64 px faces more often than 16 px / 5 hits did.
# `python bench/bench_privacy.py` prints recall by face size, false alarms and CPU per crop of
# both. Plates: every scale of the cascade's 60x20 window (a tenth of the search time).
SEARCH = {
    "face": CascadeSearch(("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml"), 28, 4),
    "plate": CascadeSearch(("haarcascade_russian_plate_number.xml",), 16, 5),
}
SCALE_STEP = 1.2  # between the cascade's window sizes
# Cascades cost time with the square of the image side; faces and plates too small to find at this
# size are too small to recognise in the crop anyway.
DETECT_MAX_SIDE_PX = 240


_PER_THREAD = threading.local()  # a CascadeClassifier must not be shared between threads


def _cascade(name: str) -> cv2.CascadeClassifier:
    loaded: dict[str, cv2.CascadeClassifier] = _PER_THREAD.__dict__.setdefault("cascades", {})
    if name not in loaded:
        path = Path(cv2.data.haarcascades) / name  # type: ignore[attr-defined]
        cascade = cv2.CascadeClassifier(str(path))
        if cascade.empty():
            raise RuntimeError(f"OpenCV cascade {path} could not be loaded")
        loaded[name] = cascade
    return loaded[name]


@dataclass(frozen=True)
class PrivacyRegions:
    faces: tuple[Box, ...]
    plates: tuple[Box, ...]

    @property
    def all(self) -> tuple[Box, ...]:
        return self.faces + self.plates


def find_private_regions(image: Image, search: Mapping[str, CascadeSearch] = SEARCH) -> PrivacyRegions:
    """Faces and number plates found by OpenCV's cascades, as (x, y, w, h) boxes."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    scale = min(1.0, DETECT_MAX_SIDE_PX / max(grey.shape[:2]))
    if scale < 1.0:
        grey = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    grey = cv2.equalizeHist(grey)
    found: dict[str, list[Box]] = {"face": [], "plate": []}
    for kind, how in search.items():
        for name in how.files:
            hits = _cascade(name).detectMultiScale(
                grey,
                scaleFactor=SCALE_STEP,
                minNeighbors=how.min_neighbours,
                minSize=(how.min_px, how.min_px),
            )
            found[kind].extend(tuple(round(v / scale) for v in h) for h in hits)
    return PrivacyRegions(tuple(found["face"]), tuple(found["plate"]))


def blur_regions(image: Image, regions: tuple[Box, ...], grow: float = 0.2) -> Image:
    """A copy of `image` with each region (grown by `grow` of its size) pixelated beyond recognition."""
    out = image.copy()
    h, w = out.shape[:2]
    for x, y, bw, bh in regions:
        gx, gy = int(bw * grow), int(bh * grow)
        x0, y0 = max(0, x - gx), max(0, y - gy)
        x1, y1 = min(w, x + bw + gx), min(h, y + bh + gy)
        if x1 <= x0 or y1 <= y0:
            continue
        patch = out[y0:y1, x0:x1]
        small = cv2.resize(patch, (max(1, (x1 - x0) // 12), max(1, (y1 - y0) // 12)), cv2.INTER_AREA)
        out[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
    return out


def anonymise(image: Image) -> tuple[Image, PrivacyRegions]:
    """The image with faces and plates blurred, and the regions that were blurred."""
    regions = find_private_regions(image)
    return blur_regions(image, regions.all), regions


EVIDENCE_CONTEXT = 0.5  # share of the box (at least EVIDENCE_MIN_SIDE_PX) shown around it
EVIDENCE_MIN_SIDE_PX = 96


def evidence_crop(
    frame: Image,
    box_xyxy: tuple[float, float, float, float],
    context: float = EVIDENCE_CONTEXT,
    min_side_px: int = EVIDENCE_MIN_SIDE_PX,
) -> Image:
    """The box with some context around it, faces and plates in it blurred."""
    blurred, _ = anonymise(evidence_region(frame, box_xyxy, context, min_side_px))
    return blurred


def evidence_region(
    frame: Image,
    box_xyxy: tuple[float, float, float, float],
    context: float = EVIDENCE_CONTEXT,
    min_side_px: int = EVIDENCE_MIN_SIDE_PX,
) -> Image:
    """The pixels an evidence crop shows (not yet anonymised: only `evidence_crop` hands them out)."""
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = box_xyxy
    bw, bh = max(x2 - x1, min_side_px), max(y2 - y1, min_side_px)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    half_w, half_h = bw * (1 + context) / 2, bh * (1 + context) / 2
    X0, Y0 = int(max(0, cx - half_w)), int(max(0, cy - half_h))
    X1, Y1 = int(min(w, cx + half_w)), int(min(h, cy + half_h))
    return np.ascontiguousarray(frame[Y0:Y1, X0:X1])
