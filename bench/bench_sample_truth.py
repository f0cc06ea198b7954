"""The bundled sample drive against its truth: how many defects are real, how much damage is found.

    python bench/bench_sample_truth.py [--weights OLD.onnx --conf 0.2]   # shipped model, beside another

`samples/drive.mp4` is built from RDD2022 *val* images (never trained on) laid on the road at known
places (`samples/drive.truth.geojson`, one point per annotated box). For each model, `tenken analyze`
runs on the sample and prints side by side: defects found, the share within `--radius-m` of an
annotated box of the same class (a precision on the map), the share of annotated boxes with a
same-class defect that close (a recall on the map; one long crack annotated as several boxes is one
defect, so this stays below 1), and the median distance to the nearest same-class box.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenken.geo import distance_m  # noqa: E402

VIDEO, TRACK = ROOT / "samples" / "drive.mp4", ROOT / "samples" / "drive.gpx"
TRUTH = ROOT / "samples" / "drive.truth.geojson"
Point = tuple[str, float, float]


def points(geojson: Path) -> list[Point]:
    return [
        (f["properties"]["class"], f["geometry"]["coordinates"][1], f["geometry"]["coordinates"][0])
        for f in json.loads(geojson.read_text())["features"]
    ]


def nearest(p: Point, others: list[Point]) -> float:
    return min((distance_m(p[1], p[2], o[1], o[2]) for o in others if o[0] == p[0]), default=float("inf"))


def analyze(out: Path, extra: list[str]) -> list[Point]:
    command = [sys.executable, "-m", "tenken.cli", "analyze", str(VIDEO), "--track", str(TRACK)]
    command += ["--camera", "motorbike", "--out", str(out), "-q", *extra]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return points(out / "defects.geojson")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", type=Path, help="other weights to score beside the shipped model")
    parser.add_argument("--conf", type=float, help="threshold for --weights (its own shipped one)")
    parser.add_argument("--radius-m", type=float, default=3.0)
    args = parser.parse_args()
    truth = points(TRUTH)
    runs: list[tuple[str, list[str]]] = [("shipped road model", [])]
    if args.weights:
        extra = ["--weights", str(args.weights)] + (["--conf", str(args.conf)] if args.conf else [])
        runs.append((args.weights.name, extra))
    print(f"{len(truth)} annotated boxes; match radius {args.radius_m} m")
    print(f"{'model':<24}{'defects':>8}{'on truth':>10}{'truth found':>13}{'median m':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, extra) in enumerate(runs):
            found = analyze(Path(tmp) / f"report-{n}", extra)
            to_truth = [nearest(p, truth) for p in found]
            on_truth = sum(d <= args.radius_m for d in to_truth)
            covered = sum(nearest(t, found) <= args.radius_m for t in truth)
            finite = [d for d in to_truth if d != float("inf")]
            median = statistics.median(finite) if finite else float("nan")
            print(
                f"{name[:24]:<24}{len(found):>8}{on_truth / max(len(found), 1):>10.0%}"
                f"{covered / len(truth):>13.0%}{median:>10.2f}"
            )


if __name__ == "__main__":
    main()
