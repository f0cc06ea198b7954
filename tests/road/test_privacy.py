"""Evidence crops are blurred where faces and plates are found."""

import numpy as np

from vision.road.privacy import blur_regions, evidence_crop, find_private_regions


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
