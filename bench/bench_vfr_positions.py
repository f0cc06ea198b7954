"""Defect positions on a variable-frame-rate video against the truth, beside the constant-rate original.

    python bench/bench_vfr_positions.py [--keep-every 3] [--from-frame 100]

Phones drop frames under load and stamp each kept frame with the time it was taken. This builds
such a video from the bundled sample drive: every frame up to `--from-frame`, then one frame in
`--keep-every`, each keeping its original timestamp, so the truth (samples/drive.truth.geojson) is
unchanged. Both videos go through `tenken analyze` with the shipped road model; for each defect
found the distance to the nearest true damage of its class is measured, and the median, 90th
percentile and maximum are printed side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenken.geo import distance_m  # noqa: E402
from vision.timed_video import write_timed_video  # noqa: E402

VIDEO, TRACK = ROOT / "samples" / "drive.mp4", ROOT / "samples" / "drive.gpx"
TRUTH = ROOT / "samples" / "drive.truth.geojson"


def make_vfr(out: Path, from_frame: int, keep_every: int) -> tuple[int, int]:
    capture = cv2.VideoCapture(str(VIDEO))
    fps = capture.get(cv2.CAP_PROP_FPS)
    frames, times = [], []
    index = 0
    while True:
        ok, image = capture.read()
        if not ok:
            break
        if index < from_frame or (index - from_frame) % keep_every == 0:
            frames.append(image)
            times.append(index / fps)
        index += 1
    capture.release()
    write_timed_video(out, frames, times, fps)
    return len(frames), index


def position_errors(video: Path, out: Path) -> list[float]:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "tenken.cli",
            "analyze",
            str(video),
            "--track",
            str(TRACK),
            "--camera",
            "motorbike",
            "--out",
            str(out),
            "-q",
            "--json",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    truth = json.loads(TRUTH.read_text())["features"]
    errors = []
    for feature in json.loads((out / "defects.geojson").read_text())["features"]:
        lon, lat = feature["geometry"]["coordinates"]
        same = [t for t in truth if t["properties"]["class"] == feature["properties"]["class"]] or truth
        points = [t["geometry"]["coordinates"] for t in same]
        errors.append(min(distance_m(lat, lon, t_lat, t_lon) for t_lon, t_lat in points))
    return errors


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--from-frame", type=int, default=100, help="frames before this are all kept")
    parser.add_argument("--keep-every", type=int, default=3, help="after it, keep one frame in this many")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        vfr = Path(tmp) / "drive-vfr.mp4"
        kept, total = make_vfr(vfr, args.from_frame, args.keep_every)
        print(f"VFR copy: {kept} of {total} frames, original timestamps")
        print(f"{'video':<10}{'defects':>9}{'median m':>10}{'p90 m':>8}{'max m':>8}")
        for name, video in (("constant", VIDEO), ("variable", vfr)):
            errors = position_errors(video, Path(tmp) / f"report-{name}")
            p90 = float(np.percentile(errors, 90)) if errors else float("nan")
            median = statistics.median(errors) if errors else float("nan")
            worst = max(errors, default=float("nan"))
            print(f"{name:<10}{len(errors):>9}{median:>10.2f}{p90:>8.2f}{worst:>8.2f}")


if __name__ == "__main__":
    main()
