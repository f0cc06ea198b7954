"""Where a model fails, for its card: the worst false alarms and misses of an eval run as small thumbnails.

Worst false alarm: the image without a class that raised it with the highest confidence. Worst miss:
the image with a class whose best score for it is the lowest. `write_failures` puts at most 12 JPEG
thumbnails (160 px, <= 20 KB) and an `index.md` table into `models/<name>/failures/`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vision.train.datasets import read_image

MAX_THUMBNAILS = 12
THUMBNAIL_PX = 160
MAX_THUMBNAIL_BYTES = 20_000
INDEX = "index.json"


@dataclass(frozen=True)
class Failure:
    image: Path
    kind: str  # "false_alarm" or "miss"
    label: str  # the class raised (false alarm) or missed (miss)
    score: float  # its confidence / probability
    crop: tuple[int, int, int, int] | None = None  # x1, y1, x2, y2 (scene crops)


def _interleave(false_alarms: list[Failure], misses: list[Failure], limit: int) -> list[Failure]:
    """Half of each kind when both have enough; the other kind fills what one lacks."""
    half = limit // 2
    n_fa = min(len(false_alarms), max(half, limit - len(misses)))
    n_miss = min(len(misses), limit - n_fa)
    return false_alarms[:n_fa] + misses[:n_miss]


def detector_failures(
    images: Sequence[Path],
    max_conf: npt.NDArray[np.float64],
    present: npt.NDArray[np.bool_],
    names: Sequence[str],
    conf: float,
    limit: int = MAX_THUMBNAILS,
) -> list[Failure]:
    """False alarms (no label of the class, raised at >= conf) and misses (labelled, below conf)."""
    false_alarms, misses = [], []
    for i, image in enumerate(images):
        for k, name in enumerate(names):
            score = float(max_conf[i, k])
            if not present[i, k] and score >= conf:
                false_alarms.append(Failure(image, "false_alarm", name, score))
            elif present[i, k] and score < conf:
                misses.append(Failure(image, "miss", name, score))
    false_alarms.sort(key=lambda f: -f.score)
    misses.sort(key=lambda f: f.score)
    return _interleave(_one_per_image(false_alarms), _one_per_image(misses), limit)


def _one_per_image(failures: list[Failure]) -> list[Failure]:
    seen: set[tuple[Path, tuple[int, int, int, int] | None]] = set()
    out = []
    for f in failures:
        if (f.image, f.crop) not in seen:
            seen.add((f.image, f.crop))
            out.append(f)
    return out


def scene_failures(
    images: Sequence[tuple[Path, tuple[int, int, int, int] | None]],
    probs: npt.NDArray[np.float64],
    true: npt.NDArray[np.int64],
    labels: Sequence[str],
    alert_conf: float,
    limit: int = MAX_THUMBNAILS,
) -> list[Failure]:
    """False alarms: normal views raised as a disaster; misses: disaster views not raised as theirs."""
    from vision.train.operating_point import NORMAL

    false_alarms, misses = [], []
    for (image, crop), row, t in zip(images, probs, true, strict=True):
        top = int(np.argmax(row))
        if labels[t] == NORMAL:
            if labels[top] != NORMAL and row[top] >= alert_conf:
                false_alarms.append(Failure(image, "false_alarm", labels[top], float(row[top]), crop))
        elif top != t or row[top] < alert_conf:
            misses.append(Failure(image, "miss", labels[t], float(row[t]), crop))
    false_alarms.sort(key=lambda f: -f.score)
    misses.sort(key=lambda f: f.score)
    return _interleave(false_alarms, misses, limit)


def thumbnail_jpeg(
    image: npt.NDArray[np.uint8], size_px: int = THUMBNAIL_PX, max_bytes: int = MAX_THUMBNAIL_BYTES
) -> bytes:
    """The image scaled so its longer side is `size_px`, as a JPEG of at most `max_bytes`."""
    import cv2

    h, w = image.shape[:2]
    scale = size_px / max(h, w)
    small = cv2.resize(
        image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
    )
    for quality in (85, 75, 60, 45, 30, 15):
        ok, buffer = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(buffer) <= max_bytes:
            return bytes(buffer)
    return bytes(buffer)


def write_failures(failures: Sequence[Failure], out_dir: Path, conf: float) -> list[Path]:
    """Write the thumbnails, `index.json` and `index.md` into `out_dir`, replacing the previous set
    (only files a previous run listed in its index are removed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    index = out_dir / INDEX
    if index.is_file():
        for entry in json.loads(index.read_text()).get("thumbnails", []):
            (out_dir / Path(entry["file"]).name).unlink(missing_ok=True)
    written, entries = [], []
    for n, failure in enumerate(failures[:MAX_THUMBNAILS], 1):
        image = read_image(failure.image)
        if failure.crop is not None:
            x1, y1, x2, y2 = failure.crop
            image = np.ascontiguousarray(image[y1:y2, x1:x2])
        path = out_dir / f"{n:02d}_{failure.kind}_{failure.label}.jpg"
        path.write_bytes(thumbnail_jpeg(image))
        written.append(path)
        entry = {
            **asdict(failure),
            "image": failure.image.name,
            "file": path.name,
            "score": round(failure.score, 3),
        }
        entries.append(entry)
    index.write_text(json.dumps({"conf": conf, "thumbnails": entries}, indent=2) + "\n")
    rows = [
        f"| ![]({e['file']}) | {e['kind'].replace('_', ' ')} | {e['label']} | {e['score']} | {e['image']} |"
        for e in entries
    ]
    table = ["| | failure | class | score | source image |", "|---|---|---|---|---|", *rows]
    (out_dir / "index.md").write_text(
        f"Worst false alarms and misses at threshold {conf} (written by `tenken eval --failures`).\n\n"
        + "\n".join(table)
        + "\n"
    )
    return written
