"""Evaluate any `Detector` (.pt, ONNX, OpenVINO) on a dataset with Tenken's own metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tenken.errors import DataError
from vision.detector import Detector
from vision.train.datasets import ClassPolicy, Sample, read_datasets, read_image
from vision.train.metrics import Evaluation, ImageResult, evaluate, match_image
from vision.train.tasks import TASKS

EVAL_MIN_CONF = 0.001


@dataclass(frozen=True)
class ImageLevel:
    """Whether a class is present in an image at all: what an alert uses."""

    recall: float  # images with the class where it was detected
    false_alarm_rate: float  # images without the class where it was detected anyway
    positives: int
    negatives: int


@dataclass(frozen=True)
class DetectorReport:
    evaluation: Evaluation
    image_level: dict[str, ImageLevel]
    predict_ms_per_image: float
    images: int


def eval_policy(classes: Sequence[str], model_names: Sequence[str]) -> ClassPolicy:
    """Score `classes`; drop the model's other classes and every known extra label (e.g. Repair)."""
    dropped = {n for t in TASKS.values() for n in t.dropped} | set(model_names)
    return ClassPolicy(tuple(classes), frozenset(dropped - set(classes)))


def load_eval_samples(data: Sequence[Path], policy: ClassPolicy) -> list[Sample]:
    """The val split of the data (every image when there are no split files)."""
    samples = read_datasets(data, policy)
    val = [s for s in samples if s.split == "val"]
    return val or samples


def _image_level(gt_present: np.ndarray, detected: np.ndarray, names: Sequence[str]) -> dict[str, ImageLevel]:
    out = {}
    for k, name in enumerate(names):
        pos, neg = gt_present[:, k], ~gt_present[:, k]
        recall = float(np.mean(detected[pos, k])) if pos.any() else 0.0
        false_alarm = float(np.mean(detected[neg, k])) if neg.any() else 0.0
        out[name] = ImageLevel(recall, false_alarm, int(pos.sum()), int(neg.sum()))
    return out


def evaluate_detector(
    detector: Detector,
    samples: Sequence[Sample],
    classes: Sequence[str],
    *,
    conf: float | None = None,
    iou_threshold: float = 0.5,
    batch: int = 8,
) -> DetectorReport:
    """Predict every sample once at a low threshold, then score at `conf` (default: F1-optimal)."""
    to_eval = {i: classes.index(n) for i, n in enumerate(detector.names) if n in classes}
    if not to_eval:
        raise DataError(
            f"the model's classes ({', '.join(detector.names)}) share none with the data's "
            f"({', '.join(classes)})"
        )
    results: list[ImageResult] = []
    max_conf = np.zeros((len(samples), len(classes)))
    gt_present = np.zeros((len(samples), len(classes)), bool)
    predict_s = 0.0
    for start in range(0, len(samples), batch):
        chunk = samples[start : start + batch]
        frames = [read_image(s.image) for s in chunk]
        t0 = time.perf_counter()
        dets = detector.predict(frames, conf=EVAL_MIN_CONF)
        predict_s += time.perf_counter() - t0
        for j, (sample, det) in enumerate(zip(chunk, dets, strict=True)):
            keep = np.array([int(c) in to_eval for c in det.class_id], bool)
            cls = np.array([to_eval[int(c)] for c in det.class_id[keep]], np.int64)
            gt_cls = np.array([classes.index(b.name) for b in sample.boxes], np.int64)
            gt_xyxy = np.array([[b.x1, b.y1, b.x2, b.y2] for b in sample.boxes], np.float64)
            results.append(
                match_image(
                    det.xyxy[keep], det.confidence[keep], cls, gt_xyxy, gt_cls, len(classes), iou_threshold
                )
            )
            gt_present[start + j, gt_cls] = True
            for c, score in zip(cls, det.confidence[keep], strict=True):
                max_conf[start + j, c] = max(max_conf[start + j, c], float(score))
    evaluation = evaluate(results, classes, conf)
    detected = max_conf >= evaluation.conf
    return DetectorReport(
        evaluation,
        _image_level(gt_present, detected, classes),
        1000 * predict_s / max(len(samples), 1),
        len(samples),
    )


def report_json(report: DetectorReport, model: str, data: Sequence[str], iou: float) -> dict[str, Any]:
    """The `tenken eval --json` document."""
    ev = report.evaluation
    return {
        "model": model,
        "data": list(data) if len(data) > 1 else data[0],
        "iou": iou,
        "conf": round(ev.conf, 4),
        "f1": round(ev.f1, 4),
        "precision": round(ev.precision, 4),
        "recall": round(ev.recall, 4),
        "map50": round(ev.map50, 4),
        "best_conf": ev.best_conf,
        "per_class": {
            name: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(score).items()}
            for name, score in ev.per_class.items()
        },
        "image_level": {
            name: {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(level).items()}
            for name, level in report.image_level.items()
        },
        "images": report.images,
        "predict_ms_per_image": round(report.predict_ms_per_image, 2),
    }
