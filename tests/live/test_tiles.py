"""Tiled inference: the tiles cover the frame, boxes come back in frame pixels, one object is one box."""

import math

import cv2
import numpy as np
import pytest

from tenken.errors import ConfigError
from tenken.geo import distance_m
from vision.live import DronePose, LiveFrame, LivePipeline, sightings_in_frame
from vision.live.tiles import TileGrid, merge_tiled
from vision.models.detections import Detections

HOME = (35.0, 139.0)


@pytest.mark.parametrize("grid", ["2x2", "3x2", "1x3", "4x4"])
@pytest.mark.parametrize(("w", "h"), [(1280, 720), (641, 359), (100, 100)])
def test_tiles_cover_every_pixel_and_overlap_their_neighbours(grid, w, h):
    tiles = TileGrid.parse(grid)
    windows = tiles.windows(w, h)
    assert len(windows) == tiles.cols * tiles.rows == tiles.images_per_frame - 1
    seen = np.zeros((h, w), np.int32)
    for x0, y0, x1, y1 in windows:
        assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
        seen[y0:y1, x0:x1] += 1
    assert seen.min() >= 1
    if tiles.cols > 1:  # neighbours share about 20 % of a tile
        (ax0, _, ax1, _), (bx0, _, _, _) = windows[0], windows[1]
        assert ax1 - bx0 == pytest.approx(0.2 * (ax1 - ax0), abs=1.5)


@pytest.mark.parametrize("bad", ["2by2", "0x2", "9x1", "x2", "2x"])
def test_a_bad_grid_is_one_clear_error(bad):
    with pytest.raises(ConfigError, match="tiles"):
        TileGrid.parse(bad)


def test_off_means_the_full_frame_only():
    assert TileGrid.parse("off") is None and TileGrid.parse(None) is None and TileGrid.parse("1x1") is None


class WhiteBoxes:
    """Finds each white rectangle exactly (its pixel bounds) in whatever image it is given; with
    `min_px`, only rectangles at least that wide in its input (a stand-in for a detector's reach)."""

    names = ("thing",)
    imgsz = 0
    backend = "stand-in"

    def __init__(self, min_px: int = 1) -> None:
        self.min_px = min_px
        self.calls: list[int] = []

    def predict(self, frames, conf=None):
        self.calls.append(len(frames))
        out = []
        for image in frames:
            mask = (image == 255).all(axis=2).astype(np.uint8)
            n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
            boxes = [
                (float(x), float(y), float(x + w), float(y + h))
                for x, y, w, h, _ in stats[1:n]
                if w >= self.min_px
            ]
            out.append(Detections.from_lists(boxes, [0.9] * len(boxes), [0] * len(boxes), self.names))
        return out


def boxes_found(pipeline, image):
    [result] = pipeline.finish(pipeline.submit([LiveFrame("d", 0, 0.0, image)]))
    return sorted(tuple(float(v) for v in b) for b in result.detections.xyxy)


def test_boxes_map_back_to_frame_pixels_exactly_and_one_object_is_one_box():
    image = np.zeros((720, 1280, 3), np.uint8)
    rects = [
        (100, 100, 140, 130),  # inside tile 0 only
        (620, 340, 660, 380),  # in the middle: inside all four tiles
        (1100, 600, 1150, 650),  # inside tile 3 only
        (200, 450, 1100, 560),  # wider than any tile: cut by the bottom tiles' inner edges
    ]
    for x0, y0, x1, y1 in rects:
        image[y0:y1, x0:x1] = 255
    detector = WhiteBoxes()
    pipeline = LivePipeline("d", detector, kinds=("thing",), tiles=TileGrid(2, 2))
    found = boxes_found(pipeline, image)
    assert detector.calls == [5]  # the full frame and four tiles, in one call
    assert found == sorted(tuple(map(float, r)) for r in rects)


def test_an_object_no_view_holds_whole_is_joined_across_tile_edges():
    # the full frame misses it; each tile of a 2x2 grid holds one cut part, overlapping the next
    windows = TileGrid(2, 2).windows(1000, 500)
    names = ("thing",)
    parts = []
    for x0, y0, x1, y1 in windows:
        box = (max(300, x0) - x0, max(100, y0) - y0, min(700, x1) - x0, min(400, y1) - y0)
        parts.append(Detections.from_lists([box], [0.5 + 0.1 * len(parts)], [0], names))
    merged, cut = merge_tiled(Detections.empty(names), parts, windows, 1000, 500)
    assert [tuple(map(float, b)) for b in merged.xyxy] == [(300.0, 100.0, 700.0, 400.0)]
    assert merged.confidence[0] == pytest.approx(0.8)
    assert cut.tolist() == [False]  # whole once joined


def test_a_part_no_other_view_holds_stays_flagged_cut_and_its_ce_grows():
    windows = TileGrid(2, 2).windows(1000, 500)  # tile 0 is (0, 0, 556, 278)
    names = ("fire",)
    only_tile_0 = [Detections.from_lists([(500.0, 100.0, 556.0, 150.0)], [0.7], [0], names)]
    only_tile_0 += [Detections.empty(names)] * 3
    merged, cut = merge_tiled(Detections.empty(names), only_tile_0, windows, 1000, 500)
    assert [tuple(map(float, b)) for b in merged.xyxy] == [(500.0, 100.0, 556.0, 150.0)] and cut.tolist() == [
        True
    ]
    pose = DronePose(0.0, *HOME, 60.0, 0.0, 90.0, hfov_deg=73.7, gps_error_m=2.0)
    frame = LiveFrame("d", 0, 0.0, np.zeros((500, 1000, 3), np.uint8), pose)
    box = (500.0, 100.0, 556.0, 150.0)
    [whole] = sightings_in_frame(frame, [("fire", 0.7, box)])
    [part] = sightings_in_frame(frame, [("fire", 0.7, box, True)])
    assert part.error_m > whole.error_m


def test_different_classes_are_never_merged():
    names = ("fire", "smoke")
    full = Detections.from_lists([(10, 10, 50, 50), (12, 12, 48, 48)], [0.9, 0.8], [0, 1], names)
    merged, _ = merge_tiled(full, [Detections.empty(names)] * 4, TileGrid(2, 2).windows(200, 100), 200, 100)
    assert sorted(merged.class_name(i) for i in range(len(merged))) == ["fire", "smoke"]


class ShrinkingInput(WhiteBoxes):
    """Sees every image shrunk to 640 px wide, as a detector with a fixed input size does: a
    rectangle under 20 px wide in that input is not found."""

    def predict(self, frames, conf=None):
        out = []
        for d, image in zip(super().predict(frames), frames, strict=True):
            scale = 640 / image.shape[1]
            out.append(d.filter((d.xyxy[:, 2] - d.xyxy[:, 0]) * scale >= 20))
        return out


def test_tiling_finds_a_rectangle_too_small_for_the_full_frame():
    image = np.zeros((720, 1280, 3), np.uint8)
    image[100:130, 200:230] = 255  # 30 px of 1280: 15 px at the stand-in's input, 35 px in a 3x3 tile
    plain = LivePipeline("d", ShrinkingInput(), kinds=("thing",))
    tiled = LivePipeline("d", ShrinkingInput(), kinds=("thing",), tiles=TileGrid(3, 3))
    assert boxes_found(plain, image) == []
    assert boxes_found(tiled, image) == [(200.0, 100.0, 230.0, 130.0)]


class BrownScene:
    """A scene classifier stand-in: 'landslide' where most of the image is bare soil (pure brown)."""

    names = ("landslide", "normal")
    imgsz = 64
    backend = "stand-in"

    def probabilities(self, frames):
        rows = []
        for image in frames:
            brown = float((image == (40, 80, 140)).all(axis=2).mean())
            rows.append([brown, 1.0 - brown])
        return np.asarray(rows, np.float32)


def test_a_scene_class_found_in_a_tile_is_placed_on_that_tile_with_a_smaller_ce():
    w, h = 1280, 720
    pose = DronePose(0.0, *HOME, 60.0, 0.0, 90.0, hfov_deg=73.7, gps_error_m=2.0)
    image = np.zeros((h, w, 3), np.uint8)
    image[:, :] = (40, 140, 60)
    image[0:320, 0:560] = (40, 80, 140)  # soil filling most of the top-left tile, a fifth of the view
    frame = LiveFrame("d", 0, 0.0, image, pose)
    full_only = LivePipeline("d", None, classifier=BrownScene(), scene_threshold=0.5)
    tiled = LivePipeline("d", None, classifier=BrownScene(), scene_threshold=0.5, tiles=TileGrid(2, 2))
    [plain] = full_only.finish(full_only.submit([frame]))
    assert plain.sightings == []
    [result] = tiled.finish(tiled.submit([frame]))
    [(kind, prob, region)] = result.scene
    assert kind == "landslide" and prob > 0.6 and region == (0.0, 0.0, 711.0, 400.0)
    [sighting] = result.sightings
    # the soil's centre on the ground lies within the tile sighting's ce
    [truth] = sightings_in_frame(frame, [("landslide", 1.0, (0.0, 0.0, 560.0, 320.0))])
    [whole_view] = sightings_in_frame(frame, [], [("landslide", 1.0)])
    assert distance_m(truth.lat, truth.lon, sighting.lat, sighting.lon) <= sighting.error_m
    assert sighting.error_m < whole_view.error_m
    assert math.isfinite(sighting.error_m)
