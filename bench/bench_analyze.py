"""Pipeline cost over bare inference: `tenken analyze` end to end vs the model alone, same frames, one run.

    python bench/bench_analyze.py [--format openvino ...] [--weights PATH ...] [--repeat 3] [--minutes 10]

For each weights file (default: the shipped road model in every format this machine runs, OpenVINO
and .pt built from the ONNX file into the cache as `tenken analyze` builds them) it runs the whole
embedded survey on the bundled sample drive (or, with `--minutes`, on a long drive made with the
sample's method by `bench/long_drive.py`), then the bare `predict` on the very frames the survey
sampled (decoded beforehand, same batch size), interleaving the two `--repeat` times, and prints
frames per second of both and the overhead ratio, in wall time and in CPU time (this process's
CPU seconds: steadier than wall time on a shared machine, but blind to idle cores). Compare ratios,
not absolute numbers, and look at the spread across repeats. Below each line: where the survey's
CPU time over bare inference went: decoding (measured apart, on the same plan), the face and plate
search of evidence crops (the survey's `privacy_cpu`), and the rest (georeferencing, crops,
aggregation, the helper threads OpenCV runs the search in, threads contending for the cores).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tenken.settings import get_settings  # noqa: E402
from vision.models.detector import load_detector  # noqa: E402
from vision.models.registry import DEFAULT_CONF, FORMATS, available_formats, get_model  # noqa: E402
from vision.models.runtime import RuntimeOptions  # noqa: E402
from vision.road.sampling import decode_plan  # noqa: E402
from vision.road.survey import prepare_survey, run_survey  # noqa: E402
from vision.road.survey_options import CAMERA_PROFILES, SurveyOptions  # noqa: E402

VIDEO, TRACK = ROOT / "samples" / "drive.mp4", ROOT / "samples" / "drive.gpx"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", type=Path, action="append", help="weights to compare (repeatable)")
    parser.add_argument(
        "--format", choices=FORMATS, action="append", help="road model formats (default: all runnable)"
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--every-m", type=float, default=None, help="sampling distance (default: camera's)")
    parser.add_argument("--minutes", type=float, default=0, help="long drive minutes (0: sample)")
    args = parser.parse_args()
    video, track = VIDEO, TRACK
    if args.minutes:
        from bench.long_drive import long_drive

        video, track = long_drive(args.minutes)

    model = get_model("road") if not args.weights else None
    if model is not None:
        formats = args.format or available_formats(model)
        weights = [model.weights_path(fmt) for fmt in formats]
    else:
        weights = args.weights
    camera = CAMERA_PROFILES["motorbike"]  # the sample drive's camera
    options = SurveyOptions(camera=camera, batch=args.batch, every_m=args.every_m)

    inputs = prepare_survey(video, track, options)
    plan = inputs.plan
    c = time.process_time()
    frames = [f.image for f in decode_plan(plan, inputs.track)]
    decode_cpu = time.process_time() - c
    print(f"{video.name}: {plan.info.frame_count} frames, {len(frames)} sampled every {options.every_m} m")
    print(f"{'weights':<34}{'backend':<13}{'pipeline fps':>13}{'bare fps':>10}{'overhead':>10}{'cpu ovh':>9}")
    runtime = RuntimeOptions.from_settings(get_settings())  # TENKEN_DEVICE, TENKEN_INFERENCE_THREADS
    for path in weights:
        conf = model.threshold(None) if model else DEFAULT_CONF
        detector = load_detector(path, conf=conf, batch=args.batch, runtime=runtime)
        detector.predict(frames[: args.batch])  # warm-up: first call compiles / allocates
        pipe_s, bare_s, pipe_cpu, bare_cpu = [], [], [], []
        privacy_cpu: list[float] = []
        for _ in range(args.repeat):
            t, c = time.perf_counter(), time.process_time()
            result = run_survey(video, track, detector, options, conf=conf)
            pipe_s.append(time.perf_counter() - t)
            pipe_cpu.append(time.process_time() - c)
            privacy_cpu.append(result.timings_s.get("privacy_cpu", 0.0))
            t, c = time.perf_counter(), time.process_time()
            for i in range(0, len(frames), args.batch):
                detector.predict(frames[i : i + args.batch], conf=conf)
            bare_s.append(time.perf_counter() - t)
            bare_cpu.append(time.process_time() - c)
        n = result.frames_sampled
        pipe, bare = statistics.median(pipe_s), statistics.median(bare_s)
        ratios = [p / b for p, b in zip(pipe_s, bare_s, strict=True)]
        cpu_ratios = [p / b for p, b in zip(pipe_cpu, bare_cpu, strict=True)]
        cpu_ratio = statistics.median(cpu_ratios)
        print(
            f"{path.name:<34}{detector.backend:<13}{n / pipe:>13.1f}{n / bare:>10.1f}"
            f"{(statistics.median(ratios) - 1) * 100:>9.1f}%{(cpu_ratio - 1) * 100:>8.1f}%"
            f"   (wall ratios {', '.join(f'{r:.2f}' for r in ratios)};"
            f" cpu ratios {', '.join(f'{r:.2f}' for r in cpu_ratios)}; {len(result.defects)} defects;"
            f" stages {result.timings_s})"
        )
        bare_c = statistics.median(bare_cpu)
        shares = {"decode": decode_cpu / bare_c, "privacy": statistics.median(privacy_cpu) / bare_c}
        rest = statistics.median(pipe_cpu) / bare_c - 1 - sum(shares.values())
        print(
            f"{'':<34}CPU over bare inference ({bare_c:.2f} s): "
            + ", ".join(f"{k} +{v:.2f}x" for k, v in shares.items())
            + f", rest +{rest:.2f}x ({result.observations} observations, {len(result.defects)} crops)"
        )


if __name__ == "__main__":
    main()
