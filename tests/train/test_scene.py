"""Scene classifier data: labels from detection sets and folders, and a split that never shares a source."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tenken.errors import DataError
from vision.models.classifier import preprocess
from vision.train.scene import read_scene_sources, source_group, split_items
from vision.train.scene_eval import ConfusionReport, confusion_matrix


def test_frames_of_one_video_share_a_group_and_photos_are_their_own() -> None:
    assert source_group(Path("fire2_mp4-37_jpg.rf.742a554b0f0772dc0fb772be8648477c.jpg")) == "fire2_mp4"
    assert source_group(Path("fire2_mp4-59_jpg.rf.0123456789abcdef0123456789abcdef.jpg")) == "fire2_mp4"
    assert source_group(Path("img_241_jpg.rf.2f2f2bcae51b49146ffbd002d993b259.jpg")) == "img_241"
    assert source_group(Path("cdd_04_01_0003.jpg")) == "cdd_04_01_0003"


def test_detection_frames_become_fire_smoke_or_normal_plus_crops(disaster_tiny: Path) -> None:
    items = read_scene_sources([disaster_tiny / "data.yaml"])
    frames = [i for i in items if i.crop is None]
    assert sorted(i.label for i in frames) == ["fire"] * 4 + ["normal"] * 2 + ["smoke"] * 4
    assert all(i.label in ("fire", "smoke") for i in items if i.crop is not None)


def test_train_and_val_never_share_a_source(disaster_tiny: Path) -> None:
    split = split_items(read_scene_sources([disaster_tiny / "data.yaml"]))
    assert not {i.group for i in split["train"]} & {i.group for i in split["val"]}


def test_class_folders_with_an_unknown_class_are_refused(tmp_path: Path) -> None:
    (tmp_path / "tornado").mkdir()
    with pytest.raises(DataError, match="unknown scene class"):
        read_scene_sources([tmp_path])


def test_confusion_matrix_accuracy_and_per_class_recall() -> None:
    matrix = confusion_matrix([0, 0, 1, 1, 1], [0, 1, 1, 1, 0], 2)
    assert matrix.tolist() == [[1, 1], [1, 2]]
    report = ConfusionReport(("fire", "normal"), matrix, 0.0)
    assert report.accuracy == 3 / 5
    assert report.per_class()["normal"]["recall"] == 2 / 3


def test_preprocess_resizes_the_short_side_and_centre_crops() -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    frame[:, 50:150] = (0, 0, 255)  # a red centre band, BGR: the centre crop keeps only it
    blob = preprocess([frame], 64)
    assert blob.shape == (1, 3, 64, 64)
    assert blob[0, 0, :, 2:-2].min() == pytest.approx(1.0)  # channel 0 is red after BGR->RGB
    assert blob[0, 2].max() == 0.0


def test_preprocess_matches_the_antialiased_resize_ultralytics_uses() -> None:
    from PIL import Image
    from torchvision import transforms

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (300, 416, 3), dtype=np.uint8)
    ours = preprocess([frame], 224)[0]
    pipeline = transforms.Compose([transforms.Resize(224), transforms.CenterCrop(224), transforms.ToTensor()])
    reference = pipeline(Image.fromarray(np.ascontiguousarray(frame[..., ::-1]))).numpy()
    assert np.abs(ours - reference).max() <= 1.5 / 255


def test_class_folders_are_scored_in_full_and_a_detection_set_by_its_val_part(
    disaster_tiny: Path, tmp_path: Path
) -> None:
    from vision.train.scene_eval import load_scene_eval_items

    for name in ("landslide", "normal"):
        (tmp_path / "scenes" / name).mkdir(parents=True)
    for n, image in enumerate(sorted((disaster_tiny / "images").glob("*.jpg"))):
        target = tmp_path / "scenes" / ("landslide" if n % 2 else "normal") / f"photo_{n}.jpg"
        target.write_bytes(image.read_bytes())
    items, line = load_scene_eval_items([tmp_path / "scenes"], None)
    assert len(items) == 10 and "every image" in line
    val = split_items(read_scene_sources([disaster_tiny / "data.yaml"]))["val"]
    items, line = load_scene_eval_items([disaster_tiny / "data.yaml"], None)
    assert items == val and "the val split" in line
