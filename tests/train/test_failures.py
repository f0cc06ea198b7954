"""Card thumbnails of the worst false alarms and misses: which ones, how many, how small."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from vision.train.failures import (
    MAX_THUMBNAIL_BYTES,
    detector_failures,
    scene_failures,
    thumbnail_jpeg,
    write_failures,
)

NAMES = ("fire", "smoke")


def test_worst_false_alarms_are_the_most_confident_and_worst_misses_the_least() -> None:
    images = [Path(f"{i}.jpg") for i in range(5)]
    max_conf = np.array([[0.0, 0.9], [0.0, 0.4], [0.2, 0.0], [0.05, 0.0], [0.8, 0.0]])
    present = np.array([[0, 0], [0, 0], [1, 0], [1, 0], [1, 0]], bool)
    found = detector_failures(images, max_conf, present, NAMES, conf=0.3)
    assert [(f.image.name, f.kind, f.label) for f in found] == [
        ("0.jpg", "false_alarm", "smoke"),  # 0.9
        ("1.jpg", "false_alarm", "smoke"),  # 0.4
        ("3.jpg", "miss", "fire"),  # 0.05
        ("2.jpg", "miss", "fire"),  # 0.2
    ]


def test_at_most_half_of_the_thumbnails_are_one_kind_when_both_have_enough() -> None:
    images = [Path(f"{i}.jpg") for i in range(40)]
    max_conf = np.tile([0.9, 0.0], (40, 1))
    present = np.zeros((40, 2), bool)
    present[20:, 1] = True  # 20 missed smokes; the first 20 images are false fires
    kinds = [f.kind for f in detector_failures(images, max_conf, present, NAMES, conf=0.5)]
    assert kinds.count("false_alarm") == 6 and kinds.count("miss") == 6


def test_scene_failures_are_normal_views_alerting_and_disasters_not_raised() -> None:
    labels = ("landslide", "normal")
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.4, 0.6], [0.95, 0.05]])
    true = np.array([1, 1, 0, 0])
    images = [(Path(f"{i}.jpg"), None) for i in range(4)]
    found = scene_failures(images, probs, true, labels, alert_conf=0.6)
    assert [(f.image.name, f.kind) for f in found] == [("0.jpg", "false_alarm"), ("2.jpg", "miss")]


def test_thumbnails_are_small_jpegs_and_a_rerun_replaces_them(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    source = tmp_path / "noise.png"
    cv2.imwrite(str(source), rng.integers(0, 255, (600, 900, 3), dtype=np.uint8))
    assert len(thumbnail_jpeg(cv2.imread(str(source)))) <= MAX_THUMBNAIL_BYTES
    max_conf = np.tile([0.9, 0.0], (14, 1))
    out = tmp_path / "failures"
    (out / "notes.txt").parent.mkdir()
    (out / "notes.txt").write_text("the card author's")
    images = [tmp_path / f"{i}.png" for i in range(14)]
    for image in images:
        image.write_bytes(source.read_bytes())
    found = detector_failures(images, max_conf, np.zeros((14, 2), bool), NAMES, 0.5)
    written = write_failures(found, out, 0.5)
    assert len(written) == 12 and all(p.stat().st_size <= MAX_THUMBNAIL_BYTES for p in written)
    assert max(cv2.imread(str(written[0])).shape[:2]) == 160
    write_failures(found[:2], out, 0.5)
    listed = [e["file"] for e in json.loads((out / "index.json").read_text())["thumbnails"]]
    assert sorted(p.name for p in out.glob("*.jpg")) == sorted(listed) == sorted(p.name for p in written[:2])
    assert (out / "notes.txt").read_text() == "the card author's"  # not ours: never removed
    assert "false alarm" in (out / "index.md").read_text()
