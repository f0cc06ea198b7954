"""The disaster scene classifier's data and training: frames and crops by class, split by source.

Sources: a YOLO fire/smoke `data.yaml` (a frame with fire is `fire`, with smoke only `smoke`, with
no box `normal`; boxes big enough also give context crops of their class) and class folders
(`<root>/<class>/*.jpg`, e.g. landslide/ and normal/). Train and val never share a source: frames of
one video (`fire2_mp4-37` and `fire2_mp4-59`) or one photo always land on the same side.
"""

from __future__ import annotations

import logging
import re
import shutil
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tenken.errors import DataError
from vision.train.datasets import IMAGE_SUFFIXES, hashed_split, read_image, read_yolo_yaml
from vision.train.tasks import TASKS

log = logging.getLogger(__name__)
SCENE_CLASSES = TASKS["scene"].classes
MIN_CROP_PX = 64
CROP_CONTEXT = 1.4
VAL_FRACTION = 0.2


@dataclass(frozen=True)
class SceneItem:
    """One training example: an image (or a crop of it) with its scene class and its source group."""

    image: Path
    label: str
    group: str
    crop: tuple[int, int, int, int] | None = None  # x1, y1, x2, y2 in pixels


def source_group(image: Path) -> str:
    """The video or photo an image comes from: frames `name_mp4-37_jpg.rf.<hash>` share `name_mp4`."""
    stem = re.sub(r"\.rf\.[0-9a-f]+$", "", image.stem)
    stem = re.sub(r"_(jpg|jpeg|png)$", "", stem)
    video = re.match(r"(.+?_(mp4|avi|mov))-\d+$", stem)
    return video.group(1) if video else stem


def group_split(group: str, val_fraction: float = VAL_FRACTION) -> str:
    return hashed_split(group, val_fraction)


def _crop_box(x1: float, y1: float, x2: float, y2: float, w: int, h: int) -> tuple[int, int, int, int]:
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * CROP_CONTEXT / 2
    return (
        int(max(cx - side, 0)),
        int(max(cy - side, 0)),
        int(min(cx + side, w)),
        int(min(cy + side, h)),
    )


def items_from_detection_set(data_yaml: Path) -> list[SceneItem]:
    policy = TASKS["fire"].policy()
    items = []
    for s in read_yolo_yaml(data_yaml, policy, all_val=True):
        names = {b.name for b in s.boxes}
        label = "fire" if "fire" in names else "smoke" if "smoke" in names else "normal"
        group = source_group(s.image)
        items.append(SceneItem(s.image, label, group))
        for b in s.boxes:
            if min(b.x2 - b.x1, b.y2 - b.y1) >= MIN_CROP_PX:
                items.append(
                    SceneItem(s.image, b.name, group, _crop_box(b.x1, b.y1, b.x2, b.y2, s.width, s.height))
                )
    return items


def items_from_class_folders(root: Path) -> list[SceneItem]:
    """`<root>/<class>/*.jpg`; a folder of images with no class folders is all `normal` views."""
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    if not folders:
        return [
            SceneItem(image, "normal", source_group(image))
            for image in sorted(root.iterdir())
            if image.suffix.lower() in IMAGE_SUFFIXES
        ]
    items = []
    for folder in folders:
        if folder.name not in SCENE_CLASSES:
            raise DataError(f"{folder}: unknown scene class (known: {', '.join(SCENE_CLASSES)})")
        for image in sorted(folder.iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES:
                items.append(SceneItem(image, folder.name, source_group(image)))
    return items


def read_scene_sources(paths: Sequence[Path]) -> list[SceneItem]:
    items: list[SceneItem] = []
    for path in paths:
        if not path.exists():
            raise DataError(f"dataset not found: {path}")
        if path.is_file() or (path / "data.yaml").is_file():
            items += items_from_detection_set(path if path.is_file() else path / "data.yaml")
        else:
            items += items_from_class_folders(path)
    if not items:
        raise DataError(f"no images in {', '.join(map(str, paths))}")
    return items


def split_items(items: Sequence[SceneItem]) -> dict[str, list[SceneItem]]:
    out: dict[str, list[SceneItem]] = {"train": [], "val": []}
    for item in items:
        out[group_split(item.group)].append(item)
    return out


def load_item(item: SceneItem) -> npt.NDArray[np.uint8]:
    image = read_image(item.image)
    if item.crop is None:
        return image
    x1, y1, x2, y2 = item.crop
    return np.ascontiguousarray(image[y1:y2, x1:x2])


def write_class_folders(split: dict[str, list[SceneItem]], out_dir: Path) -> tuple[Path, tuple[str, ...]]:
    """Write <out>/{train,val}/<class>/ images; returns the root and the classes that have images."""
    import cv2

    if out_dir.exists():
        shutil.rmtree(out_dir)
    present = sorted({i.label for i in split["train"]} & {i.label for i in split["val"]})
    classes = tuple(c for c in SCENE_CLASSES if c in present)
    for name, items in split.items():
        for n, item in enumerate(items):
            if item.label not in classes:
                continue
            folder = out_dir / name / item.label
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f"{n:05d}_{item.image.stem[:40]}.jpg"), load_item(item))
    missing = [c for c in SCENE_CLASSES if c not in classes]
    if missing:
        log.warning("no train+val images for scene classes: %s", ", ".join(missing))
    return out_dir, classes


def split_summary(split: dict[str, list[SceneItem]]) -> dict[str, dict[str, int]]:
    return {name: dict(Counter(i.label for i in items)) for name, items in split.items()}


def train_scene(
    data: Sequence[Path], *, epochs: int, imgsz: int, run_dir: Path | None, **overrides: object
) -> Path:
    """Train yolov8n-cls from the COCO backbone (BN recalibrated on scene images). Returns best.pt."""
    import random

    import torch

    from vision.train.offline import configure_offline_ultralytics
    from vision.train.pretrained import (
        letterbox_batch,
        pretrained_path,
        recalibrate_batchnorm,
        save_checkpoint,
    )
    from vision.train.trainer import pick_device

    configure_offline_ultralytics()
    from ultralytics import YOLO

    run = run_dir or Path("runs") / "scene"
    split = split_items(read_scene_sources(data))
    root, _classes = write_class_folders(split, run / "data")
    log.info("scene split: %s", split_summary(split))
    frames = [load_item(i) for i in random.Random(0).sample(split["train"], min(32, len(split["train"])))]
    ckpt = torch.load(pretrained_path(), map_location="cpu", weights_only=False)
    model = ckpt["model"].float()
    recalibrate_batchnorm(model, letterbox_batch(frames, imgsz))
    start = save_checkpoint(model, run / "start.pt")
    device = pick_device()
    args: dict[str, object] = {
        "data": str(root.resolve()),
        "epochs": epochs,
        "imgsz": imgsz,
        "batch": 32,
        "workers": 2,
        "device": device,
        "amp": device != "cpu",
        "plots": False,
        "project": str(run.resolve()),
        "name": "train",
        "exist_ok": True,
        "pretrained": str(start),
        "seed": 0,
        "verbose": False,
    }
    args.update(overrides)
    YOLO("yolov8n-cls.yaml").train(**args)
    best = run / "train" / "weights" / "best.pt"
    if not best.is_file():
        raise DataError(f"training produced no weights in {best.parent}")
    return best
