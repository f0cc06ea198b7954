#!/usr/bin/env python
"""Build the training and held-out sets of the three shipped models from ../shared/data (or
$TENKEN_SHARED_DATA), offline.

    .venv/bin/python scripts/build_training_sets.py --out build/training

Writes, under --out (sources and counts in SOURCES.json, for the model cards):
  road/                 RDD2022 (CC BY-SA 4.0), the dataset's own split (made by `tenken train road`)
  fire/                 fire-8 positives (CC BY 4.0) re-split by source video (train and val never share a
                        video), plus negatives (no labels) from scenes the product watches: roads (RDD2022
                        train split), the simulator's world seen from the gimbal, synthetic fog, sunset and
                        headlight versions of road images, and half of the CDD `normal` towns and landscapes
                        (licence unknown: research and evaluation use; the model card says so)
  heldout/fire_val      the fire-8 val videos (positives and their negatives), YOLO layout
  heldout/neg_roads     RDD2022 val road images (no fire, no smoke): negatives never trained on
  heldout/neg_scenes    the other half of the CDD `normal` towns and landscapes, never trained on
  heldout/neg_sim       simulator views from another world seed and place
  scene_extra/normal    road and street views (RDD2022 train, simulator from above) for the scene
                        classifier's `normal` class
  heldout/scene_roads   RDD2022 val road views as class folder normal/ (scene classifier negatives)
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from vision.train.datasets import hashed_split, shared_data_dir  # noqa: E402
from vision.train.scene import group_split, source_group  # noqa: E402

DATA = shared_data_dir()
RDD = DATA / "pavement" / "rdd2022_china_motorbike"
FIRE8 = DATA / "disaster" / "fire8_cctv_fire_smoke_yolo"
CDD = DATA / "disaster" / "scenes_cdd"


def rdd_images(split: str) -> list[Path]:
    stems = (RDD / f"{split}.txt").read_text().split()
    return [RDD / "images" / f"{s}.jpg" for s in stems]


def fire8_items() -> list[tuple[Path, Path]]:
    items = []
    for split in ("train", "val"):
        for image in sorted((FIRE8 / "images" / split).iterdir()):
            items.append((image, FIRE8 / "labels" / split / f"{image.stem}.txt"))
    return items


def copy_pair(image: Path, label: Path | None, out: Path, split: str | None, name: str) -> None:
    img_dir = out / "images" / split if split else out / "images"
    lbl_dir = out / "labels" / split if split else out / "labels"
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image, img_dir / f"{name}{image.suffix}")
    text = label.read_text() if label is not None and label.is_file() else ""
    (lbl_dir / f"{name}.txt").write_text(text)


def write_negative(image: np.ndarray, out: Path, split: str | None, name: str) -> None:
    img_dir = out / "images" / split if split else out / "images"
    lbl_dir = out / "labels" / split if split else out / "labels"
    img_dir.mkdir(parents=True, exist_ok=True)
    lbl_dir.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(img_dir / f"{name}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    (lbl_dir / f"{name}.txt").write_text("")


def fog(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """Haze: contrast falls with height in the frame, towards a grey-white airlight."""
    h, _w = image.shape[:2]
    density = rng.uniform(0.35, 0.75)
    ramp = np.linspace(1.0, 0.3, h, dtype=np.float32)[:, None, None] * density
    air = np.float32(rng.uniform(200, 235))
    out = image.astype(np.float32) * (1 - ramp) + air * ramp
    return np.clip(out, 0, 255).astype(np.uint8)


def sunset(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """Warm low sun: orange grade, a glowing sky band at the top."""
    h, w = image.shape[:2]
    out = image.astype(np.float32)
    out *= np.array([0.55, 0.8, 1.25], dtype=np.float32)  # BGR: less blue, more red
    sky_rows = int(h * rng.uniform(0.2, 0.4))
    t = np.linspace(0, 1, sky_rows, dtype=np.float32)[:, None]
    sky = np.stack([40 + 80 * t, 90 + 80 * t, 200 + 50 * t], axis=-1) * np.ones((1, w, 1), np.float32)
    out[:sky_rows] = 0.3 * out[:sky_rows] + 0.7 * sky
    cx = rng.uniform(0.2, 0.8) * w
    yy, xx = np.mgrid[0:h, 0:w]
    glow = np.exp(-((xx - cx) ** 2 + (yy - sky_rows * 0.8) ** 2) / (2 * (0.08 * w) ** 2)).astype(np.float32)
    out += glow[..., None] * np.array([120, 200, 255], np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def headlights(image: np.ndarray, rng: random.Random) -> np.ndarray:
    """Night road with oncoming headlights and street lamps: dark frame, bright warm-white glows."""
    h, w = image.shape[:2]
    out = image.astype(np.float32) * rng.uniform(0.12, 0.25)
    yy, xx = np.mgrid[0:h, 0:w]
    for _ in range(rng.randint(2, 6)):
        cx, cy = rng.uniform(0.1, 0.9) * w, rng.uniform(0.3, 0.6) * h
        r = rng.uniform(0.01, 0.04) * w
        glow = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r**2)).astype(np.float32)
        colour = np.array([rng.uniform(170, 255), rng.uniform(210, 255), 255], np.float32)
        out += glow[..., None] * colour * 1.5
    return np.clip(out, 0, 255).astype(np.uint8)


def sim_views(count: int, seed: int, lat0: float, lon0: float) -> list[np.ndarray]:
    """Gimbal views of the simulator's world with no planted incidents (fields, a road), as a drone flies."""
    from drone.sim.camera import render_view
    from drone.sim.vehicle import SimPose
    from drone.sim.world import SyntheticWorld

    world = SyntheticWorld(lat0, lon0, patches=[], seed=seed)
    rng = random.Random(seed)
    views = []
    for n in range(count):
        pose = SimPose(
            timestamp_s=float(n),
            lat=lat0 + rng.uniform(-0.0012, 0.0012),
            lon=lon0 + rng.uniform(-0.0012, 0.0012),
            alt_m=rng.uniform(15, 80),
            heading_deg=rng.uniform(0, 360),
            gimbal_pitch_deg=-rng.uniform(30, 90),
        )
        views.append(render_view(world, pose, width_px=416, height_px=416))
    return views


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=Path("build/training"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--without-unknown-licence",
        action="store_true",
        help="keep the CDD scenes (licence unknown) out of the fire training set: all of them stay held out",
    )
    args = parser.parse_args()
    out: Path = args.out
    if out.exists():
        shutil.rmtree(out)
    rng = random.Random(args.seed)
    sources: dict[str, dict[str, int]] = {}

    # fire: positives re-split by source video (20 % of videos to val)
    fire = out / "fire"
    heldout = out / "heldout"
    counts = {"train_pos": 0, "train_neg_fire8": 0, "val_pos": 0, "val_neg_fire8": 0}
    for image, label in fire8_items():
        val = group_split(source_group(image), val_fraction=0.2) == "val"
        has_boxes = label.is_file() and label.read_text().strip() != ""
        if val:
            copy_pair(image, label, heldout / "fire_val", None, image.stem)
            counts["val_pos" if has_boxes else "val_neg_fire8"] += 1
        else:
            copy_pair(image, label, fire, "train", image.stem)
            counts["train_pos" if has_boxes else "train_neg_fire8"] += 1
    # the ultralytics layout needs a val split: use the held-out videos
    for image in sorted((heldout / "fire_val" / "images").iterdir()):
        copy_pair(image, heldout / "fire_val" / "labels" / f"{image.stem}.txt", fire, "val", image.stem)
    sources["fire8 (CC BY 4.0), by source video"] = counts

    road_train = rdd_images("train")
    rng.shuffle(road_train)
    neg = {"rdd2022_train_roads": 0, "sim_views": 0, "fog": 0, "sunset": 0,
           "headlights": 0}  # fmt: skip
    for path in road_train[:300]:
        shutil.copyfile(path, (fire / "images" / "train" / f"neg_road_{path.stem}.jpg"))
        (fire / "labels" / "train" / f"neg_road_{path.stem}.txt").write_text("")
        neg["rdd2022_train_roads"] += 1
    for n, view in enumerate(sim_views(120, seed=11, lat0=35.60, lon0=140.10)):
        write_negative(view, fire, "train", f"neg_sim_{n:03d}")
        neg["sim_views"] += 1
    for n, path in enumerate(road_train[300:420]):
        image = cv2.imread(str(path))
        kind = ("fog", "sunset", "headlights")[n % 3]
        fn = {"fog": fog, "sunset": sunset, "headlights": headlights}[kind]
        write_negative(fn(image, rng), fire, "train", f"neg_{kind}_{path.stem}")
        neg[kind] += 1
    sources["fire negatives (train)"] = neg
    (fire / "data.yaml").write_text(
        f"path: {fire.resolve()}\ntrain: images/train\nval: images/val\nnames:\n  0: fire\n  1: smoke\n"
    )

    # held-out negatives, never trained on by the fire model
    road_val = rdd_images("val")
    for path in road_val:
        write_negative(cv2.imread(str(path)), heldout / "neg_roads", None, path.stem)
    cdd_train = 0
    for path in sorted((CDD / "normal").iterdir()):
        image = cv2.imread(str(path))
        if image is None:
            continue
        # the half that hashed_split would send to val goes to training here (kept as first built)
        in_train = hashed_split(path.stem, val_fraction=0.5) == "val"
        if in_train and not args.without_unknown_licence:
            write_negative(image, fire, "train", f"neg_cdd_{path.stem}")
            cdd_train += 1
        else:
            write_negative(image, heldout / "neg_scenes", None, path.stem)
    neg["cdd_normal_half (research use)"] = cdd_train
    for n, view in enumerate(sim_views(60, seed=99, lat0=43.32, lon0=140.97)):
        write_negative(view, heldout / "neg_sim", None, f"sim_{n:03d}")
    sources["held-out negatives"] = {
        "rdd2022_val_roads": len(road_val),
        "cdd_normal_other_half": len(list((heldout / "neg_scenes" / "images").iterdir())),
        "sim_other_world": 60,
    }

    # scene classifier: road and street views for `normal`, held-out road views for its evaluation
    extra = out / "scene_extra" / "normal"
    extra.mkdir(parents=True)
    for path in road_train[:90]:
        shutil.copyfile(path, extra / f"road_{path.stem}.jpg")
    for n, view in enumerate(sim_views(40, seed=23, lat0=35.61, lon0=140.12)):
        cv2.imwrite(str(extra / f"aerial_{n:03d}.jpg"), view)
    roads_out = heldout / "scene_roads" / "normal"
    roads_out.mkdir(parents=True)
    for path in road_val:
        shutil.copyfile(path, roads_out / path.name)
    sources["scene normal extra"] = {"rdd2022_train_roads": 90, "sim_aerial": 40}

    (out / "SOURCES.json").write_text(json.dumps(sources, indent=2) + "\n")
    print(json.dumps(sources, indent=2))


if __name__ == "__main__":
    main()
