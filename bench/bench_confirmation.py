"""What live confirmation adds to the fire model's single-image figures, measured on frame sequences.

    python scripts/build_training_sets.py --out build/training      # once: the held-out fire-8 videos
    python bench/bench_confirmation.py --fire-val build/training/heldout/fire_val

Sequences: each held-out fire-8 video (its frames in order; positives), the bundled sample drive
(roads, every frame) and a simulated drone orbit over a world with nothing planted (aerial negatives).
Each frame runs the shipped fire model at its threshold; an incident opens when a class is seen in
`min_hits` of the last `window_frames` frames (`vision.live.confirmation`, the live pipeline's policy).
Printed side by side: the share of frames that raise a class (what a single-image alert would do) and
whether / after how many frames a confirmed incident opens.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from drone.sim.camera import render_view  # noqa: E402
from drone.sim.vehicle import SimPose  # noqa: E402
from drone.sim.world import SyntheticWorld  # noqa: E402
from vision.live.confirmation import ConfirmationPolicy, IncidentState, update  # noqa: E402
from vision.models.detector import load_detector  # noqa: E402
from vision.models.registry import get_model  # noqa: E402


def fire8_sequences(root: Path) -> dict[str, list[Path]]:
    """Frames of each source video, in frame order (`name_mp4-37_jpg.rf.<hash>.jpg`)."""
    groups: dict[str, list[tuple[int, Path]]] = defaultdict(list)
    for image in sorted((root / "images").iterdir()):
        m = re.match(r"(.+?_(?:mp4|avi|mov))-(\d+)_", image.name)
        if m:
            groups[m.group(1)].append((int(m.group(2)), image))
    return {name: [p for _, p in sorted(frames)] for name, frames in groups.items() if len(frames) >= 5}


def drive_frames(video: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(video))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    return frames


def orbit_frames(count: int) -> list[np.ndarray]:
    lat0, lon0 = 35.60, 140.10
    world = SyntheticWorld(lat0, lon0, patches=[], seed=3)
    frames = []
    for n in range(count):
        angle = 2 * math.pi * n / count
        pose = SimPose(
            timestamp_s=n * 0.2,
            lat=lat0 + 0.00025 * math.cos(angle),
            lon=lon0 + 0.0003 * math.sin(angle),
            alt_m=40.0,
            heading_deg=(math.degrees(angle) + 90) % 360,
            gimbal_pitch_deg=-45.0,
        )
        frames.append(render_view(world, pose, width_px=640, height_px=360))
    return frames


def run_sequence(detector, frames, names, conf, policy) -> tuple[dict[str, float], dict[str, int | None]]:
    """Per class: share of frames raising it, and the frame at which a confirmed incident opens."""
    states = {n: IncidentState.initial() for n in names}
    raised = dict.fromkeys(names, 0)
    opened: dict[str, int | None] = dict.fromkeys(names, None)
    for i, frame in enumerate(frames):
        image = cv2.imread(str(frame)) if isinstance(frame, Path) else frame
        dets = detector.predict([image])[0]
        seen = {names[int(c)] for c, s in zip(dets.class_id, dets.confidence, strict=True) if s >= conf}
        for n in names:
            raised[n] += n in seen
            states[n] = update(states[n], n in seen, policy)
            if states[n].event == "opened" and opened[n] is None:
                opened[n] = i + 1
    return {n: raised[n] / max(len(frames), 1) for n in names}, opened


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--fire-val", type=Path, required=True, help="held-out fire-8 videos (YOLO folder)")
    parser.add_argument("--orbit-frames", type=int, default=120)
    args = parser.parse_args()
    info = get_model("fire")
    detector = load_detector(info.weights_path("onnx"), names=info.classes, imgsz=info.imgsz, conf=0.01)
    names = list(info.classes)
    conf = info.conf
    policy = ConfirmationPolicy()
    print(f"fire model {info.version}, threshold {conf}; confirmation {policy}")
    print(f"{'sequence':<28} {'frames':>6}  " + "  ".join(f"{n}: raised / opened at" for n in names))
    sequences: list[tuple[str, list]] = [(k, v) for k, v in fire8_sequences(args.fire_val).items()]
    sequences.append(("sample drive (roads)", drive_frames(ROOT / "samples" / "drive.mp4")))
    sequences.append(("sim orbit, nothing planted", orbit_frames(args.orbit_frames)))
    for name, frames in sequences:
        share, opened = run_sequence(detector, frames, names, conf, policy)
        cells = "  ".join(
            f"{share[n]:>5.0%} / {('-' if opened[n] is None else opened[n])!s:>4}" for n in names
        )
        print(f"{name[:28]:<28} {len(frames):>6}  {cells}")


if __name__ == "__main__":
    main()
