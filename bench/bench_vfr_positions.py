"""Defect positions on a variable-frame-rate video against the truth, beside the constant-rate original.

    python bench/bench_vfr_positions.py [--keep-every 3] [--from-frame 100]

Phones drop frames under load and stamp each kept frame with the time it was taken. This builds
such a video from the bundled sample drive: every frame up to `--from-frame`, then one frame in
`--keep-every`, each keeping its original timestamp, so the truth (samples/drive.truth.geojson) is
unchanged. Both videos go through `tenken analyze` with the shipped road model; for each defect
found the distance to the nearest true damage of its class is measured, and the median, 90th
percentile and maximum are printed side by side. The truth is dense (several boxes per metre in
places), so a misplaced defect often lands near another true one: the last column, each
defect's distance to the nearest defect of its class found on the constant-rate video, shows the
displacement itself.

A second table does the same on the synthetic drive of the tests (five marks painted at exactly
known places, found by colour), recorded at 10 fps and as a phone would (`phone_frame_times_s`):
there the truth is exact and sparse, so the error per mark is the displacement.
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
from tests.synthetic_drive import PLANTED, ColourDetector, build_drive, phone_frame_times_s  # noqa: E402
from vision.road.survey import run_survey  # noqa: E402
from vision.road.survey_options import CAMERA_PROFILES, SurveyOptions  # noqa: E402
from vision.road.timed_video import write_timed_video  # noqa: E402

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


def analyze(video: Path, out: Path) -> list[tuple[str, float, float]]:
    """(class, lat, lon) of each defect `tenken analyze` finds."""
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
    features = json.loads((out / "defects.geojson").read_text())["features"]
    return [
        (f["properties"]["class"], f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0])
        for f in features
    ]


def nearest_m(
    found: list[tuple[str, float, float]], reference: list[tuple[str, float, float]]
) -> list[float]:
    """For each defect found, the distance to the nearest reference point of its class."""
    out = []
    for cls, lat, lon in found:
        same = [(r_lat, r_lon) for r_cls, r_lat, r_lon in reference if r_cls == cls]
        out.append(min((distance_m(lat, lon, r_lat, r_lon) for r_lat, r_lon in same), default=float("nan")))
    return out


def planted_errors(folder: Path, frame_times_s: list[float] | None) -> list[float]:
    """Distance from each painted mark to the nearest defect of its class, on the synthetic drive."""
    folder.mkdir()
    video, gpx = build_drive(folder, frame_times_s=frame_times_s)
    options = SurveyOptions(camera=CAMERA_PROFILES["windscreen"], every_m=2.0, gps_error_m=1.0)
    result = run_survey(video, gpx, ColourDetector(), options)
    found = [(d.class_name, d.lat, d.lon) for d in result.defects]
    return nearest_m([(p.class_name, *p.latlon()) for p in PLANTED], found)


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
        truth = [
            (t["properties"]["class"], t["geometry"]["coordinates"][1], t["geometry"]["coordinates"][0])
            for t in json.loads(TRUTH.read_text())["features"]
        ]
        constant = analyze(VIDEO, Path(tmp) / "report-constant")
        print(
            f"{'video':<10}{'defects':>9}{'median m':>10}{'p90 m':>8}{'max m':>8}"
            f"{'vs constant: median/max m':>27}"
        )
        for name, found in (
            ("constant", constant),
            ("variable", analyze(vfr, Path(tmp) / "report-variable")),
        ):
            errors = nearest_m(found, truth)
            shift = nearest_m(found, constant)
            print(
                f"{name:<10}{len(found):>9}{statistics.median(errors):>10.2f}"
                f"{float(np.percentile(errors, 90)):>8.2f}{max(errors):>8.2f}"
                f"{statistics.median(shift):>18.2f} / {max(shift):.2f}"
            )
        print(f"\nsynthetic drive, {len(PLANTED)} painted marks: error per mark, m")
        for name, times in (("constant", None), ("variable", phone_frame_times_s())):
            errors = planted_errors(Path(tmp) / f"planted-{name}", times)
            listed = ", ".join(f"{e:.2f}" for e in errors)
            print(f"{name:<10} median {statistics.median(errors):.2f}  max {max(errors):.2f}  ({listed})")


if __name__ == "__main__":
    main()
