"""Read detection datasets (Pascal VOC in the RDD layout, YOLO `data.yaml`) and write an ultralytics copy.

Every reader returns plain `Sample`s (an image path and boxes in pixels, by class name), so several
sources in either format can be merged and remapped onto one class list before training or evaluation.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from tenken.errors import DataError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
REPO = Path(__file__).resolve().parents[2]
SPLITS = ("train", "val")


@dataclass(frozen=True)
class Box:
    """One labelled box in pixel coordinates of its image."""

    name: str
    x1: float
    y1: float
    x2: float
    y2: float


@dataclass(frozen=True)
class Sample:
    """One image with its boxes (an empty tuple is a negative image)."""

    image: Path
    width: int
    height: int
    split: str  # "train" or "val"
    boxes: tuple[Box, ...] = field(default=())


@dataclass(frozen=True)
class ClassPolicy:
    """Which class names are trained, and which known names are dropped rather than refused."""

    classes: tuple[str, ...]
    dropped: frozenset[str] = frozenset()

    def keep(self, name: str, where: Path) -> bool:
        if name in self.classes:
            return True
        if name in self.dropped:
            return False
        known = ", ".join(self.classes + tuple(sorted(self.dropped)))
        raise DataError(f"{where}: unknown class {name!r} (known: {known})")


def shared_data_dir() -> Path:
    """The offline training and evaluation data: `$TENKEN_SHARED_DATA`, else ../shared/data by the repo."""
    return Path(os.environ.get("TENKEN_SHARED_DATA") or REPO.parent / "shared" / "data")


def hashed_split(stem: str, val_fraction: float = 0.15) -> str:
    """A stable train/val split for data without split files: the same stem always lands the same way."""
    digest = int(hashlib.sha1(stem.encode()).hexdigest()[:8], 16)
    return "val" if digest / 0xFFFFFFFF < val_fraction else "train"


def _image_for(images_dir: Path, stem: str) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        candidate = images_dir / f"{stem}{suffix}"
        if candidate.exists():
            return candidate
    return None


def read_image(path: Path) -> npt.NDArray[np.uint8]:
    """A BGR image as OpenCV decodes it; an unreadable file is a `DataError`."""
    import cv2

    image = cv2.imread(str(path))
    if image is None:
        raise DataError(f"{path}: not a readable image")
    return np.asarray(image, np.uint8)


def _image_size(path: Path) -> tuple[int, int]:
    image = read_image(path)
    return int(image.shape[1]), int(image.shape[0])


def _read_stems(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _voc_split_of(root: Path, stems: Iterable[str]) -> dict[str, str]:
    """Split per stem from train.txt / val.txt when present, else a stable hashed split."""
    split_files = {s: root / f"{s}.txt" for s in SPLITS if (root / f"{s}.txt").is_file()}
    if not split_files:
        return {stem: hashed_split(stem) for stem in stems}
    return {stem: split for split, path in split_files.items() for stem in _read_stems(path)}


def parse_voc_xml(path: Path, policy: ClassPolicy) -> tuple[int, int, tuple[Box, ...]]:
    """(width, height, boxes) of one VOC annotation; width/height are 0 when the file omits them."""
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise DataError(f"{path}: unreadable VOC annotation ({exc})") from None
    width = int(float(root.findtext("size/width") or 0))
    height = int(float(root.findtext("size/height") or 0))
    boxes = []
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if not policy.keep(name, path):
            continue
        try:
            x1, y1, x2, y2 = (
                float(obj.findtext(f"bndbox/{k}") or "") for k in ("xmin", "ymin", "xmax", "ymax")
            )
        except ValueError:
            raise DataError(f"{path}: object {name!r} has no numeric bndbox") from None
        boxes.append(Box(name, x1, y1, x2, y2))
    return width, height, tuple(boxes)


def read_voc(root: Path, policy: ClassPolicy, *, all_val: bool = False) -> list[Sample]:
    """Samples of a VOC folder in the RDD layout: images/, annotations/, optional train.txt / val.txt."""
    images_dir, ann_dir = root / "images", root / "annotations"
    for needed in (images_dir, ann_dir):
        if not needed.is_dir():
            raise DataError(f"{root}: not a VOC dataset folder (missing {needed.name}/)")
    xmls = {p.stem: p for p in sorted(ann_dir.glob("*.xml"))}
    if not xmls:
        raise DataError(f"{ann_dir}: no .xml annotations")
    split_of = _voc_split_of(root, xmls)
    samples = []
    for stem, xml_path in xmls.items():
        split = "val" if all_val else split_of.get(stem)
        if split is None:
            continue  # split files exist and this image is in neither
        image = _image_for(images_dir, stem)
        if image is None:
            raise DataError(f"{xml_path}: no image {stem}.* in {images_dir}")
        width, height, boxes = parse_voc_xml(xml_path, policy)
        if width <= 0 or height <= 0:
            width, height = _image_size(image)
        samples.append(Sample(image, width, height, split, boxes))
    return samples


def _yaml_names(meta: dict[str, object], path: Path) -> list[str]:
    names = meta.get("names")
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names, key=int)]
    if isinstance(names, list):
        return [str(n) for n in names]
    raise DataError(f"{path}: data.yaml has no 'names' list or mapping")


def _yaml_image_files(root: Path, entry: object, path: Path, key: str) -> list[Path]:
    entries = entry if isinstance(entry, list) else [entry]
    files: list[Path] = []
    for item in entries:
        where = (root / str(item)).resolve()
        if where.is_dir():
            files += sorted(p for p in where.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        elif where.is_file() and where.suffix == ".txt":
            files += [(root / line).resolve() for line in _read_stems(where)]
        else:
            raise DataError(f"{path}: '{key}' names {where}, which does not exist")
    return files


def _yolo_label_path(image: Path) -> Path:
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            parts[i] = "labels"
            break
    return Path(*parts).with_suffix(".txt")


def _read_yolo_labels(label: Path, names: Sequence[str], width: int, height: int) -> list[tuple[str, Box]]:
    if not label.is_file():
        return []
    out = []
    for n, line in enumerate(label.read_text().splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        try:
            cls, cx, cy, w, h = int(fields[0]), *(float(v) for v in fields[1:5])
        except (ValueError, TypeError):
            raise DataError(f"{label}:{n}: expected 'class cx cy w h'") from None
        if not 0 <= cls < len(names):
            raise DataError(f"{label}:{n}: class id {cls} is not in the data.yaml names")
        box = Box(
            names[cls],
            (cx - w / 2) * width,
            (cy - h / 2) * height,
            (cx + w / 2) * width,
            (cy + h / 2) * height,
        )
        out.append((names[cls], box))
    return out


def read_yolo_yaml(path: Path, policy: ClassPolicy, *, all_val: bool = False) -> list[Sample]:
    """Samples of a YOLO dataset described by a `data.yaml` (train/val folders or lists, names)."""
    try:
        meta = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DataError(f"{path}: unreadable data.yaml ({exc})") from None
    if not isinstance(meta, dict):
        raise DataError(f"{path}: data.yaml is not a mapping")
    names = _yaml_names(meta, path)
    root = path.parent / str(meta.get("path", "."))
    samples: list[Sample] = []
    seen: set[Path] = set()
    for split in SPLITS:
        if split not in meta:
            raise DataError(f"{path}: data.yaml has no '{split}' entry")
        for image in _yaml_image_files(root, meta[split], path, split):
            if all_val and image in seen:  # train and val may name the same images (tiny fixtures do)
                continue
            seen.add(image)
            width, height = _image_size(image)
            labelled = _read_yolo_labels(_yolo_label_path(image), names, width, height)
            boxes = tuple(box for name, box in labelled if policy.keep(name, path))
            samples.append(Sample(image, width, height, "val" if all_val else split, boxes))
    return samples


def read_yolo_folder(root: Path, policy: ClassPolicy, *, all_val: bool = False) -> list[Sample]:
    """A YOLO folder without data.yaml: images/ and labels/ (any depth) with a classes.txt naming the ids."""
    names_file = root / "classes.txt"
    if not names_file.is_file():
        raise DataError(
            f"{root}: images/ and labels/ but no classes.txt (one class name per line) or data.yaml"
        )
    names = _read_stems(names_file)
    samples = []
    for image in sorted(p for p in (root / "images").rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        width, height = _image_size(image)
        labelled = _read_yolo_labels(_yolo_label_path(image), names, width, height)
        boxes = tuple(box for name, box in labelled if policy.keep(name, root))
        samples.append(Sample(image, width, height, "val" if all_val else hashed_split(image.stem), boxes))
    return samples


def read_image_folder(root: Path, *, all_val: bool = False) -> list[Sample]:
    """Every image under `root` (any depth) as a negative: a folder of photos with no labels."""
    samples = []
    for image in sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES):
        width, height = _image_size(image)
        samples.append(Sample(image, width, height, "val" if all_val else hashed_split(image.stem)))
    if not samples:
        raise DataError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) and no dataset layout")
    return samples


def has_split_files(path: Path) -> bool:
    """Whether a source names its own train/val split (data.yaml, VOC train.txt / val.txt)."""
    if path.is_file():
        return path.suffix in (".yaml", ".yml")
    if (path / "annotations").is_dir():
        return any((path / f"{s}.txt").is_file() for s in SPLITS)
    return (path / "data.yaml").is_file()


def read_dataset(path: Path, policy: ClassPolicy, *, all_val: bool = False) -> list[Sample]:
    """Samples of a VOC folder, a YOLO data.yaml (or a folder holding one), a YOLO images/ + labels/
    folder with classes.txt, or a plain folder of images (all negatives). `all_val`: evaluate all."""
    if not path.exists():
        raise DataError(f"dataset not found: {path}")
    if path.is_file():
        if path.suffix not in (".yaml", ".yml"):
            raise DataError(f"{path}: expected a data.yaml or a dataset folder")
        return read_yolo_yaml(path, policy, all_val=all_val)
    if (path / "annotations").is_dir():
        return read_voc(path, policy, all_val=all_val)
    if (path / "data.yaml").is_file():
        return read_yolo_yaml(path / "data.yaml", policy, all_val=all_val)
    if (path / "images").is_dir() and (path / "labels").is_dir():
        return read_yolo_folder(path, policy, all_val=all_val)
    return read_image_folder(path, all_val=all_val)


def read_datasets(paths: Sequence[Path], policy: ClassPolicy, *, all_val: bool = False) -> list[Sample]:
    """Merge several sources into one sample list."""
    samples = [s for p in paths for s in read_dataset(p, policy, all_val=all_val)]
    if not samples:
        raise DataError(f"no images in {', '.join(map(str, paths))}")
    return samples


def yolo_label_lines(sample: Sample, classes: Sequence[str]) -> list[str]:
    """YOLO label lines (class cx cy w h, normalised, clipped to the image) for one sample."""
    lines = []
    for box in sample.boxes:
        x1, x2 = sorted((min(max(box.x1, 0.0), sample.width), min(max(box.x2, 0.0), sample.width)))
        y1, y2 = sorted((min(max(box.y1, 0.0), sample.height), min(max(box.y2, 0.0), sample.height)))
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        cx, cy = (x1 + x2) / 2 / sample.width, (y1 + y2) / 2 / sample.height
        w, h = (x2 - x1) / sample.width, (y2 - y1) / sample.height
        lines.append(f"{classes.index(box.name)} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}")
    return lines


def write_yolo_layout(samples: Sequence[Sample], classes: Sequence[str], out_dir: Path) -> Path:
    """Write images/{train,val} + labels/{train,val} + data.yaml under `out_dir`; returns the yaml path."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    counts = dict.fromkeys(SPLITS, 0)
    for i, sample in enumerate(samples):
        # a source index prefix keeps stems unique when merged sources reuse file names
        stem = f"{i:06d}_{sample.image.stem}"
        image_dir, label_dir = out_dir / "images" / sample.split, out_dir / "labels" / sample.split
        image_dir.mkdir(parents=True, exist_ok=True)
        label_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sample.image, image_dir / f"{stem}{sample.image.suffix.lower()}")
        lines = yolo_label_lines(sample, classes)
        (label_dir / f"{stem}.txt").write_text("".join(f"{line}\n" for line in lines))
        counts[sample.split] += 1
    for split, n in counts.items():
        if n == 0:
            raise DataError(f"the dataset has no {split} images (add {split}.txt or more images)")
    data_yaml = out_dir / "data.yaml"
    meta = {
        "path": str(out_dir.resolve()),
        "train": "images/train",
        "val": "images/val",
        "names": dict(enumerate(classes)),
    }
    data_yaml.write_text(yaml.safe_dump(meta, sort_keys=False))
    return data_yaml
