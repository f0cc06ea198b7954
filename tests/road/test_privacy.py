"""Evidence crops are blurred where faces and plates are found."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from vision.road.privacy import Box, blur_regions, evidence_crop, evidence_region, find_private_regions


def test_blurred_region_loses_its_detail_and_the_rest_is_untouched():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (120, 120, 3), dtype=np.uint8)
    out = blur_regions(image, ((40, 40, 36, 36),), grow=0.0)
    region, orig = out[40:76, 40:76].astype(float), image[40:76, 40:76].astype(float)
    assert region.std() < orig.std() * 0.6
    assert (out[:40] == image[:40]).all() and (out[80:] == image[80:]).all()


def test_plain_road_texture_has_no_faces_or_plates():
    road = np.full((200, 200, 3), 100, np.uint8)
    assert find_private_regions(road).all == ()


def test_evidence_crop_keeps_context_around_the_box():
    frame = np.zeros((400, 600, 3), np.uint8)
    crop = evidence_crop(frame, (200, 200, 300, 260), context=0.5)
    assert crop.shape[0] >= 96 * 1.5 - 1 and crop.shape[1] == 150


ROOT = Path(__file__).resolve().parents[2]
FACE = cv2.imread(str(ROOT / "tests" / "fixtures" / "privacy" / "face.jpg"))
FACE_SHARE = 100 / 160  # the face's side over the fixture's side (its MANIFEST.md)


@pytest.fixture(scope="module")
def road_crops() -> list[np.ndarray]:
    """Evidence crops of the sample drive's road, around boxes where its defects lie."""
    capture = cv2.VideoCapture(str(ROOT / "samples" / "drive.mp4"))
    frames = []
    for index in range(0, 200, 40):
        capture.set(cv2.CAP_PROP_POS_FRAMES, index)
        ok, frame = capture.read()
        assert ok
        frames.append(frame)
    capture.release()
    boxes = [(120.0, 250.0, 220.0, 330.0), (40.0, 150.0, 330.0, 300.0), (260.0, 300.0, 300.0, 340.0)]
    return [evidence_region(frame, box) for frame in frames for box in boxes]


def with_face(crop: np.ndarray, face_px: int, rng: np.random.Generator) -> tuple[np.ndarray, Box]:
    side = round(face_px / FACE_SHARE)
    h, w = crop.shape[:2]
    x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
    out = crop.copy()
    out[y : y + side, x : x + side] = cv2.resize(FACE, (side, side), interpolation=cv2.INTER_AREA)
    inset = (side - face_px) // 2
    return out, (x + inset, y + inset, face_px, face_px)


def holds(regions: tuple[Box, ...], face: Box) -> bool:
    fx, fy, size, _ = face
    return any(x <= fx + size / 2 <= x + w and y <= fy + size / 2 <= y + h for x, y, w, h in regions)


@pytest.mark.parametrize(("face_px", "least"), [(48, 0.5), (64, 0.8), (96, 0.9)])
def test_faces_of_recognisable_size_in_road_evidence_crops_are_found(road_crops, face_px, least):
    rng = np.random.default_rng(face_px)
    fit = [c for c in road_crops if min(c.shape[:2]) > face_px / FACE_SHARE]
    placed = [with_face(c, face_px, rng) for c in fit * 3]  # three places in each crop
    assert len(placed) >= 10
    found = sum(holds(find_private_regions(image).faces, face) for image, face in placed)
    assert found >= least * len(placed), f"{found} of {len(placed)} faces of {face_px} px found"


def test_the_evidence_crop_of_a_box_beside_a_face_shows_the_face_pixelated(road_crops):
    frame = np.ascontiguousarray(np.vstack([road_crops[1], road_crops[1]]))
    image, (x, y, size, _) = with_face(frame, 80, np.random.default_rng(1))
    crop = evidence_crop(image, (x + size, y, x + size + 40, y + 40))  # the face is in its context
    assert find_private_regions(image).faces and not find_private_regions(crop).faces
