"""Predict speed of each shipped model in each format on this machine (ms per image, batch 1).

.venv/bin/python bench/bench_models.py [--images DIR] [--n 30] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tenken.settings import get_settings
from vision.models.classifier import load_classifier
from vision.models.detector import Frame, load_detector
from vision.models.registry import list_models
from vision.models.runtime import RuntimeOptions
from vision.train.datasets import read_image

DEFAULT_IMAGES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pavement_tiny" / "images"


def time_per_image_ms(call: Callable[[list[Frame]], Any], frames: list[Frame], warmup: int = 3) -> float:
    for f in frames[:warmup]:
        call([f])
    t0 = time.perf_counter()
    for f in frames:
        call([f])
    return 1000 * (time.perf_counter() - t0) / len(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    paths = sorted(p for p in args.images.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    frames = [read_image(p) for p in (paths * (args.n // max(len(paths), 1) + 1))[: args.n]]
    results: dict[str, dict[str, float]] = {}
    runtime = RuntimeOptions.from_settings(get_settings())  # TENKEN_DEVICE, TENKEN_INFERENCE_THREADS
    for info in list_models(runtime.models_dir):
        for fmt in info.formats:  # openvino and pt are built from the ONNX file on first use
            path = info.weights_path(fmt)
            if info.task == "classify":
                model = load_classifier(path)
                ms = time_per_image_ms(model.probabilities, frames)
            else:
                detector = load_detector(
                    path, names=info.classes, imgsz=info.imgsz, conf=info.conf, runtime=runtime
                )
                ms = time_per_image_ms(detector.predict, frames)
            results.setdefault(info.name, {})[fmt] = round(ms, 1)
            print(f"{info.name:<6} {fmt:<9} {ms:7.1f} ms/image")
    doc = {"machine": f"{platform.processor() or platform.machine()}, {len(frames)} images", "ms": results}
    if args.json:
        args.json.write_text(json.dumps(doc, indent=2) + "\n")


if __name__ == "__main__":
    main()
