"""Real photographs to plant in the simulated world, so the simulator measures the shipped models.

Every decal is cut from an image the shipped models never trained on: the fire and smoke decals from
fire-8 images whose source group `vision.train.scene.group_split` sends to val (held out from the
fire detector and the scene classifier alike) and whose nearest training image differs in at least 11
bits of its 64-bit difference hash (the held-out `img_*` frames mostly have a near-copy in training);
the landslide decals from held-out CDD landslide photos. Fire and smoke decals are committed next to
this module (CC BY 4.0, see `decals/ATTRIBUTION.md`); the CDD photos have no known licence, so they are
read from the shared data folder at run time, and a landslide is drawn procedurally when it is absent.

    python -m drone.sim.decals   # re-cut the committed decals from the shared data folder
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from vision.train.datasets import shared_data_dir

HERE = Path(__file__).resolve().parent / "decals"
REPO = Path(__file__).resolve().parents[2]
FIRE8 = "disaster/fire8_cctv_fire_smoke_yolo"
CDD = "disaster/scenes_cdd"
FIRE8_NAMES = ("fire", "smoke")  # the YOLO class ids of fire-8


def data_dir_or(data_dir: Path | None) -> Path:
    return data_dir if data_dir is not None else shared_data_dir()


@dataclass(frozen=True)
class Decal:
    """A real image of one incident kind: `source` (under the shared data folder), cut to its largest
    labelled box of that kind when it has a YOLO label; `committed` ones ship in `decals/`."""

    kind: str
    source: str
    committed: bool

    @property
    def file(self) -> Path:
        return HERE / f"{self.kind}_{Path(self.source).stem.split('_jpg')[0]}.jpg"


# The one list of decals. The i-th planted patch of a kind gets its kind's decal i (cycling).
DECALS: tuple[Decal, ...] = (
    # flames on an office floor seen from a ceiling CCTV camera: the nearest thing to a top-down fire
    Decal("fire", f"{FIRE8}/images/train/test2_mp4-10_jpg.rf.39d2f2d6c8c1358c0029b83055b71956.jpg", True),
    Decal("fire", f"{FIRE8}/images/train/img_418_jpg.rf.579d5417c4d0caf251d17f2695a879f6.jpg", True),
    # a black smoke cloud over trees, and white smoke filling a yard
    Decal("smoke", f"{FIRE8}/images/train/img_811_jpg.rf.a8597eb71a6ed530c567999efd42a798.jpg", True),
    Decal("smoke", f"{FIRE8}/images/train/img_908_jpg.rf.c08bb087041d25997b57dcec85360988.jpg", True),
    # landslides seen from above (CDD, licence unknown: never committed)
    Decal("landslide", f"{CDD}/landslide/cdd_04_01_0061.jpg", False),
    Decal("landslide", f"{CDD}/landslide/cdd_04_01_0233.jpg", False),
    Decal("landslide", f"{CDD}/landslide/cdd_04_01_0321.jpg", False),
)


def decals_of(kind: str) -> list[Decal]:
    return [d for d in DECALS if d.kind == kind]


def cut(decal: Decal, data_dir: Path | None = None) -> npt.NDArray[np.uint8] | None:
    """The decal cut from its source in the shared data folder; None when the folder or file is absent."""
    path = data_dir_or(data_dir) / decal.source
    image = cv2.imread(str(path)) if path.is_file() else None  # OpenCV warns about a missing file
    if image is None:
        return None
    label = data_dir_or(data_dir) / decal.source.replace("/images/", "/labels/")
    label = label.with_suffix(".txt")
    boxes = []
    if label.is_file():
        for line in label.read_text().splitlines():
            fields = line.split()
            if len(fields) == 5 and FIRE8_NAMES[int(fields[0])] == decal.kind:
                cx, cy, bw, bh = (float(v) for v in fields[1:])
                boxes.append((bw * bh, cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2))
    if not boxes:
        return np.asarray(image, np.uint8)
    h, w = image.shape[:2]
    _area, x1, y1, x2, y2 = max(boxes)
    crop = image[max(int(y1 * h), 0) : min(round(y2 * h), h), max(int(x1 * w), 0) : min(round(x2 * w), w)]
    return np.asarray(crop, np.uint8)


def load(decal: Decal) -> npt.NDArray[np.uint8] | None:
    """The decal's image: the committed copy, else cut from the shared data folder; None if neither."""
    if decal.committed:
        image = cv2.imread(str(decal.file))
        if image is not None:
            return np.asarray(image, np.uint8)
    return cut(decal)


def main() -> None:
    for decal in DECALS:
        if not decal.committed:
            continue
        image = cut(decal)
        if image is None:
            raise SystemExit(f"{shared_data_dir() / decal.source}: not found (set TENKEN_SHARED_DATA)")
        cv2.imwrite(str(decal.file), image, [cv2.IMWRITE_JPEG_QUALITY, 90])
        print(f"{decal.file.relative_to(REPO)}: {image.shape[1]}x{image.shape[0]}")


if __name__ == "__main__":
    main()
