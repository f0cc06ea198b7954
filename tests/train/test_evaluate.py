"""`evaluate_detector` on the committed tiny fixtures, with a scripted detector and hand-counted results."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vision.models.detections import Detections
from vision.train.datasets import Sample
from vision.train.evaluate import eval_policy, evaluate_detector, load_eval_samples, report_json

ROAD = ("D00", "D10", "D20", "D40")


class ScriptedDetector:
    """Returns, per image, its ground truth boxes of the chosen classes plus one far-off false box."""

    backend = "scripted"
    imgsz = 416

    def __init__(self, samples: Sequence[Sample], names: tuple[str, ...], found: set[str]) -> None:
        self.names = names
        self._by_size = {}
        self._answers = {}
        for s in samples:
            boxes = [(b.x1, b.y1, b.x2, b.y2) for b in s.boxes if b.name in found]
            ids = [names.index(b.name) for b in s.boxes if b.name in found]
            boxes.append((0.0, 0.0, 5.0, 5.0))  # nothing is labelled in a 5 px corner
            ids.append(0)
            confs = [0.9] * (len(boxes) - 1) + [0.3]
            self._answers[s.image.name] = Detections.from_lists(boxes, confs, ids, names)
        self.order = [s.image.name for s in samples]
        self.calls = 0

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        out = [self._answers[self.order[self.calls + i]] for i in range(len(frames))]
        self.calls += len(frames)
        return out


def test_hand_counted_precision_and_recall_on_the_tiny_voc_fixture(pavement_tiny: Path) -> None:
    samples = load_eval_samples([pavement_tiny], eval_policy(ROAD, ROAD), "val").samples
    # no split files and a stable hashed split: 3 of the 10 images are val
    # (000046: D00; 001426: D00 D20 D00; 001918: D20)
    assert sorted(s.image.stem for s in samples) == [
        "China_MotorBike_000046",
        "China_MotorBike_001426",
        "China_MotorBike_001918",
    ]
    detector = ScriptedDetector(samples, ROAD, found={"D00"})
    report = evaluate_detector(detector, samples, ROAD, conf=0.25)
    ev = report.evaluation
    # 3 D00 found (TP), 3 corner boxes labelled D00 (FP), 2 D20 missed (FN)
    assert ev.per_class["D00"].precision == 0.5 and ev.per_class["D00"].recall == 1.0
    assert ev.per_class["D20"].recall == 0.0 and ev.per_class["D20"].support == 2
    assert (ev.precision, ev.recall) == (0.5, 3 / 5)
    # above 0.3 only the true boxes remain: precision 1, recall 3/5 -> the best threshold
    assert ev.best_conf > 0.3 and ev.best_f1 == 2 * 1 * 0.6 / 1.6


def test_eval_json_has_the_documented_keys(pavement_tiny: Path) -> None:
    samples = load_eval_samples([pavement_tiny], eval_policy(ROAD, ROAD), "val").samples
    report = evaluate_detector(ScriptedDetector(samples, ROAD, {"D00", "D20"}), samples, ROAD)
    doc = report_json(report, "scripted", [str(pavement_tiny)], 0.5)
    expected = {
        "model",
        "data",
        "iou",
        "conf",
        "f1",
        "precision",
        "recall",
        "map50",
        "best_conf",
        "per_class",
        "image_level",
    }
    assert expected <= set(doc)
    assert set(doc["per_class"]["D00"]) == {"precision", "recall", "f1", "ap50", "support"}
    assert set(doc["image_level"]["D00"]) == {"recall", "false_alarm_rate", "images_with", "images_without"}
    assert set(doc["image_level"]["any"]) == {"false_alarm_rate", "images_without"}
    assert doc["f1"] == 1.0 and doc["map50"] == 1.0


def test_image_level_fire_recall_and_false_alarms_on_the_tiny_yolo_fixture(disaster_tiny: Path) -> None:
    names = ("fire", "smoke")
    samples = load_eval_samples([disaster_tiny / "data.yaml"], eval_policy(names, names)).samples
    assert len(samples) == 10  # train and val name the same 10 images; each is scored once
    report = evaluate_detector(ScriptedDetector(samples, names, {"smoke"}), samples, names, conf=0.25)
    fire = report.image_level["fire"]
    # 4 images hold fire, 6 do not; the corner box (class fire, 0.3) fires on every image
    assert (fire.images_with, fire.images_without) == (4, 6)
    assert fire.recall == 1.0 and fire.false_alarm_rate == 1.0
    smoke = report.image_level["smoke"]
    assert smoke.recall == 1.0 and smoke.false_alarm_rate == 0.0
    # the 2 images with no label at all raise the corner box: both are false alarms of "any"
    assert (report.any_box.images_without, report.any_box.false_alarm_rate) == (2, 1.0)


def test_a_folder_without_split_files_is_scored_in_full(pavement_tiny: Path) -> None:
    eval_set = load_eval_samples([pavement_tiny], eval_policy(ROAD, ROAD))
    assert (len(eval_set.samples), eval_set.split) == (10, "all")
    assert "every image" in eval_set.description and "no split files" in eval_set.description


def test_split_files_make_val_the_default_and_split_all_scores_everything(pavement_tiny: Path) -> None:
    stems = sorted(p.stem for p in (pavement_tiny / "annotations").glob("*.xml"))
    (pavement_tiny / "train.txt").write_text("\n".join(stems[:7]))
    (pavement_tiny / "val.txt").write_text("\n".join(stems[7:]))
    assert len(load_eval_samples([pavement_tiny], eval_policy(ROAD, ROAD)).samples) == 3
    assert len(load_eval_samples([pavement_tiny], eval_policy(ROAD, ROAD), "train").samples) == 7
    assert len(load_eval_samples([pavement_tiny], eval_policy(ROAD, ROAD), "all").samples) == 10


def test_a_plain_folder_of_images_is_all_negatives(disaster_tiny: Path, tmp_path: Path) -> None:
    photos = tmp_path / "roads"
    photos.mkdir()
    for image in sorted((disaster_tiny / "images").glob("*.jpg"))[:3]:
        (photos / image.name).write_bytes(image.read_bytes())
    names = ("fire", "smoke")
    eval_set = load_eval_samples([photos], eval_policy(names, names))
    assert len(eval_set.samples) == 3 and not any(s.boxes for s in eval_set.samples)
    report = evaluate_detector(
        ScriptedDetector(eval_set.samples, names, set()), eval_set.samples, names, conf=0.5
    )
    # the scripted corner box has confidence 0.3: below 0.5 no photo raises anything
    assert (report.any_box.images_without, report.any_box.false_alarm_rate) == (3, 0.0)


def test_heldout_data_is_scored_in_full_next_to_the_val_split(disaster_tiny: Path) -> None:
    names = ("fire", "smoke")
    eval_set = load_eval_samples(
        [disaster_tiny / "data.yaml"], eval_policy(names, names), heldout=[disaster_tiny / "images"]
    )
    assert len(eval_set.samples) == 20 and "--heldout: 10" in eval_set.description
