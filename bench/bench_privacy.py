"""Face search in evidence crops: recall by face size, false alarms and CPU per crop, two settings.

    python bench/bench_privacy.py [--minutes 10] [--baseline 16,5] [--placements 3]

The crops are the evidence crops of the sample drive (or, with `--minutes`, of a long drive made by
`bench/long_drive.py`): the shipped road model's detections on the frames the survey samples, cut
as `vision.road.privacy.evidence_region` cuts them. Into each crop the face of
`tests/fixtures/privacy/face.jpg` is pasted `--placements` times per size, at seeded random places
and brightness; a face counts as found when a face region holds its centre and is at least half its
size. False alarms: crops without a pasted face in which a face is found (they only blur road). The
shipped settings (`vision.road.privacy.SEARCH`) are compared with `--baseline MIN_PX,NEIGHBOURS` for
the face cascades (default: the settings before they changed, 16 px and 5 neighbours).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenken.settings import get_settings  # noqa: E402
from vision.models.detector import load_detector  # noqa: E402
from vision.models.registry import get_model  # noqa: E402
from vision.models.runtime import RuntimeOptions  # noqa: E402
from vision.road.privacy import (  # noqa: E402
    SEARCH,
    Box,
    CascadeSearch,
    evidence_region,
    find_private_regions,
)
from vision.road.sampling import decode_plan  # noqa: E402
from vision.road.survey import prepare_survey  # noqa: E402
from vision.road.survey_options import CAMERA_PROFILES, SurveyOptions  # noqa: E402

VIDEO, TRACK = ROOT / "samples" / "drive.mp4", ROOT / "samples" / "drive.gpx"
FACE = ROOT / "tests" / "fixtures" / "privacy" / "face.jpg"
FACE_SHARE = 100 / 160  # the face's side over the fixture's side (see its MANIFEST.md)
SIZES = (24, 28, 32, 36, 40, 48, 64, 96, 128)


def evidence_crops(video: Path, track: Path) -> list[np.ndarray]:
    options = SurveyOptions(camera=CAMERA_PROFILES["motorbike"])
    inputs = prepare_survey(video, track, options)
    frames = [f.image for f in decode_plan(inputs.plan, inputs.track)]
    model = get_model("road")
    detector = load_detector(
        model.weights_path(), conf=model.threshold(None), runtime=RuntimeOptions.from_settings(get_settings())
    )
    crops: list[np.ndarray] = []
    for i in range(0, len(frames), 8):
        for frame, dets in zip(frames[i : i + 8], detector.predict(frames[i : i + 8]), strict=True):
            crops.extend(evidence_region(frame, (x1, y1, x2, y2)) for x1, y1, x2, y2 in dets.xyxy.tolist())
    return crops


def paste_face(
    crop: np.ndarray, face: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[np.ndarray, Box] | None:
    """`crop` with the fixture's face `size` px wide pasted in; the face box, or None if it does not fit."""
    side = round(size / FACE_SHARE)
    h, w = crop.shape[:2]
    if side >= min(h, w):
        return None
    x, y = int(rng.integers(0, w - side)), int(rng.integers(0, h - side))
    patch = cv2.resize(face, (side, side), interpolation=cv2.INTER_AREA).astype(np.float32)
    out = crop.copy()
    out[y : y + side, x : x + side] = np.clip(patch * rng.uniform(0.6, 1.2), 0, 255).astype(np.uint8)
    inset = (side - size) // 2
    return out, (x + inset, y + inset, size, size)


def found(regions: tuple[Box, ...], face_box: Box) -> bool:
    fx, fy, size, _ = face_box
    cx, cy = fx + size / 2, fy + size / 2
    return any(x <= cx <= x + w and y <= cy <= y + h and w >= size / 2 for x, y, w, h in regions)


def measure(
    label: str, search: dict[str, CascadeSearch], crops: list[np.ndarray], face: np.ndarray, placements: int
) -> None:
    t = time.process_time()
    alarms = sum(bool(find_private_regions(c, search).faces) for c in crops)
    ms = (time.process_time() - t) / len(crops) * 1000
    recall = []
    for size in SIZES:
        rng = np.random.default_rng(size)
        hits = tries = 0
        for crop in crops * placements:
            pasted = paste_face(crop, face, size, rng)
            if pasted is not None:
                tries += 1
                hits += found(find_private_regions(pasted[0], search).faces, pasted[1])
        recall.append(f"{hits / tries:>5.0%}" if tries else "    -")
    print(f"{label:<22}{ms:>9.1f}{alarms:>6}/{len(crops):<5}" + "".join(f"{r:>7}" for r in recall))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=0, help="long drive minutes (0: sample)")
    parser.add_argument("--baseline", default="16,5", help="face cascades' MIN_PX,NEIGHBOURS to compare")
    parser.add_argument("--placements", type=int, default=3, help="pastes of the face per crop and size")
    args = parser.parse_args()
    video, track = VIDEO, TRACK
    if args.minutes:
        from bench.long_drive import long_drive

        video, track = long_drive(args.minutes)
    cv2.setNumThreads(1)  # CPU per crop on one core, as the survey's threads run it
    crops = evidence_crops(video, track)
    face = cv2.imread(str(FACE))
    assert face is not None, f"{FACE} is missing"
    min_px, neighbours = (int(v) for v in args.baseline.split(","))
    baseline = dict(
        SEARCH, face=dataclasses.replace(SEARCH["face"], min_px=min_px, min_neighbours=neighbours)
    )
    print(f"{video.name}: {len(crops)} evidence crops, {args.placements} placements per crop and face size")
    print(f"{'face search':<22}{'ms/crop':>9}{'alarms':>12}" + "".join(f"{s:>5}px" for s in SIZES))
    for label, search in (("baseline", baseline), ("shipped", SEARCH)):
        how = search["face"]
        measure(f"{label} {how.min_px}px/{how.min_neighbours}n", search, crops, face, args.placements)


if __name__ == "__main__":
    main()
