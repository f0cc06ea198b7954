"""Reading VOC and YOLO datasets, merging them and writing the ultralytics layout."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tenken.errors import DataError
from vision.train.datasets import ClassPolicy, read_dataset, read_datasets, write_yolo_layout
from vision.train.tasks import TASKS

ROAD = TASKS["road"].policy()
FIRE = TASKS["fire"].policy()


def test_voc_folder_drops_repair_and_keeps_the_four_damage_classes(pavement_tiny: Path) -> None:
    samples = read_dataset(pavement_tiny, ROAD)
    names = [b.name for s in samples for b in s.boxes]
    assert len(samples) == 10
    assert "Repair" not in names and set(names) == {"D00", "D10", "D20", "D40"}
    assert names.count("D40") == 2


def test_repair_can_be_trained_as_an_extra_class(pavement_tiny: Path) -> None:
    samples = read_dataset(pavement_tiny, TASKS["road"].policy(("Repair",)))
    assert sum(b.name == "Repair" for s in samples for b in s.boxes) == 4


def test_split_files_decide_train_and_val(pavement_tiny: Path) -> None:
    stems = sorted(p.stem for p in (pavement_tiny / "annotations").glob("*.xml"))
    (pavement_tiny / "train.txt").write_text("\n".join(stems[:8]))
    (pavement_tiny / "val.txt").write_text("\n".join(stems[8:]))
    splits = [s.split for s in sorted(read_dataset(pavement_tiny, ROAD), key=lambda s: s.image.name)]
    assert splits == ["train"] * 8 + ["val"] * 2


def test_voc_boxes_become_normalised_yolo_labels(pavement_tiny: Path, tmp_path: Path) -> None:
    data_yaml = write_yolo_layout(read_dataset(pavement_tiny, ROAD), TASKS["road"].classes, tmp_path / "out")
    meta = yaml.safe_load(data_yaml.read_text())
    assert meta["names"] == {0: "D00", 1: "D10", 2: "D20", 3: "D40"}
    label = next((tmp_path / "out" / "labels").rglob("*China_MotorBike_000359.txt")).read_text()
    rows = [line.split() for line in label.splitlines()]
    # one D00 and one D10 box, every coordinate normalised to [0, 1]
    assert sorted(r[0] for r in rows) == ["0", "1"]
    assert all(len(r) == 5 and all(0 <= float(v) <= 1 for v in r[1:]) for r in rows)


def test_yolo_yaml_keeps_negatives(disaster_tiny: Path) -> None:
    val = [s for s in read_dataset(disaster_tiny / "data.yaml", FIRE) if s.split == "val"]
    assert len(val) == 10
    assert sum(not s.boxes for s in val) == 2


def test_evaluation_reads_each_image_once(disaster_tiny: Path) -> None:
    assert len(read_dataset(disaster_tiny / "data.yaml", FIRE, all_val=True)) == 10


def test_two_sources_merge_into_one_layout(disaster_tiny: Path, tmp_path: Path) -> None:
    samples = read_datasets([disaster_tiny / "data.yaml", disaster_tiny], FIRE)
    data_yaml = write_yolo_layout(samples, ("fire", "smoke"), tmp_path / "merged")
    assert len(list((data_yaml.parent / "images" / "val").glob("*.jpg"))) == 20


def test_missing_path_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        read_dataset(tmp_path / "nope", ROAD)


def test_data_yaml_naming_an_absent_folder_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text("train: images/train\nval: images/val\nnames: [fire, smoke]\n")
    with pytest.raises(DataError, match="does not exist"):
        read_dataset(tmp_path / "data.yaml", FIRE)


def test_voc_with_an_unknown_class_is_a_data_error(pavement_tiny: Path) -> None:
    xml = next((pavement_tiny / "annotations").glob("*.xml"))
    xml.write_text(xml.read_text().replace("<name>D00</name>", "<name>Pothole?</name>", 1))
    with pytest.raises(DataError, match="unknown class 'Pothole\\?'"):
        read_dataset(pavement_tiny, ClassPolicy(("D00",), frozenset({"D10", "D20", "D40", "Repair"})))


def test_a_yolo_folder_without_data_yaml_reads_names_from_classes_txt(disaster_tiny: Path) -> None:
    (disaster_tiny / "data.yaml").unlink()
    with pytest.raises(DataError, match=r"no classes\.txt"):
        read_dataset(disaster_tiny, FIRE)
    (disaster_tiny / "classes.txt").write_text("fire\nsmoke\n")
    samples = read_dataset(disaster_tiny, FIRE, all_val=True)
    assert len(samples) == 10 and sum(not s.boxes for s in samples) == 2
