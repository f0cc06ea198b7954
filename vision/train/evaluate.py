"""Evaluate any `Detector` (.pt, ONNX, OpenVINO) on a dataset with Tenken's own metrics."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tenken.errors import ConfigError, DataError
from vision.models.detector import Detector
from vision.train.datasets import ClassPolicy, Sample, has_split_files, read_datasets, read_image
from vision.train.metrics import Evaluation, ImageResult, evaluate, match_image
from vision.train.tasks import TASKS

EVAL_MIN_CONF = 0.001


SPLITS = ("val", "all", "train")


@dataclass(frozen=True)
class ImageLevel:
    """Whether a class is present in an image at all: what an alert uses."""

    recall: float  # images with the class where it was detected
    false_alarm_rate: float  # images without the class where it was detected anyway
    images_with: int
    images_without: int


@dataclass(frozen=True)
class AnyBoxLevel:
    """Images with no label at all (of the scored classes) that raise a box of any scored class."""

    false_alarm_rate: float
    images_without: int


@dataclass(frozen=True)
class ImageScores:
    """Per image and class: the highest predicted confidence and whether a label is present."""

    images: tuple[Path, ...]
    max_conf: npt.NDArray[np.float64]  # (images, classes)
    present: npt.NDArray[np.bool_]  # (images, classes)


@dataclass(frozen=True)
class DetectorReport:
    evaluation: Evaluation
    image_level: dict[str, ImageLevel]
    any_box: AnyBoxLevel
    scores: ImageScores
    predict_ms_per_image: float
    images: int


@dataclass(frozen=True)
class EvalSet:
    """The samples to score and the line that says which ones they are."""

    samples: list[Sample]
    split: str  # of --data: "val", "train" or "all"
    description: str


def eval_policy(classes: Sequence[str], model_names: Sequence[str]) -> ClassPolicy:
    """Score `classes`; drop the model's other classes and every known extra label (e.g. Repair)."""
    dropped = {n for t in TASKS.values() for n in t.dropped} | set(model_names)
    return ClassPolicy(tuple(classes), frozenset(dropped - set(classes)))


def choose_split(split: str | None, has_split_files: bool) -> tuple[str, str]:
    """(split, why): `split` when given, else val when the data names one and every image otherwise."""
    if split is not None:
        if split not in SPLITS:
            raise ConfigError(f"--split must be one of {', '.join(SPLITS)}, not {split!r}")
        return split, "--split"
    if has_split_files:
        return "val", "default: the data has split files; --split all scores every image"
    return "all", "default: no split files"


def describe_split(split: str, reason: str, n_data: int, n_heldout: int) -> str:
    """One line: which images are scored and why."""
    what = "every image" if split == "all" else f"the {split} split"
    line = f"scoring {what} of --data: {n_data} images ({reason})"
    return line + (f" + every image of --heldout: {n_heldout}" if n_heldout else "")


def load_eval_samples(
    data: Sequence[Path], policy: ClassPolicy, split: str | None = None, heldout: Sequence[Path] = ()
) -> EvalSet:
    """The `split` of `data` (default: val when a source has split files, else every image), plus
    every image of the `heldout` sources (e.g. negatives from sources training never saw)."""
    chosen, reason = choose_split(split, any(has_split_files(p) for p in data))
    samples: list[Sample] = []
    if data:
        if chosen == "all":
            samples = read_datasets(data, policy, all_val=True)
        else:
            samples = [s for s in read_datasets(data, policy) if s.split == chosen]
            if not samples:
                raise DataError(f"no {chosen} images in {', '.join(map(str, data))} (try --split all)")
    extra = read_datasets(heldout, policy, all_val=True) if heldout else []
    return EvalSet(samples + extra, chosen, describe_split(chosen, reason, len(samples), len(extra)))


def image_level(scores: ImageScores, names: Sequence[str], conf: float) -> dict[str, ImageLevel]:
    """Per class: recall and false-alarm rate of "the class is in this image" at `conf`."""
    detected = scores.max_conf >= conf
    out = {}
    for k, name in enumerate(names):
        pos, neg = scores.present[:, k], ~scores.present[:, k]
        recall = float(np.mean(detected[pos, k])) if pos.any() else 0.0
        false_alarm = float(np.mean(detected[neg, k])) if neg.any() else 0.0
        out[name] = ImageLevel(recall, false_alarm, int(pos.sum()), int(neg.sum()))
    return out


def any_box_level(scores: ImageScores, conf: float) -> AnyBoxLevel:
    """How many images with no labels raise any box at `conf`."""
    empty: npt.NDArray[np.bool_] = ~np.any(scores.present, axis=1)
    raised: npt.NDArray[np.bool_] = np.any(scores.max_conf >= conf, axis=1)
    rate = float(np.mean(raised[empty])) if empty.any() else 0.0
    return AnyBoxLevel(rate, int(empty.sum()))


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
    scores = ImageScores(tuple(s.image for s in samples), max_conf, gt_present)
    return DetectorReport(
        evaluation,
        image_level(scores, classes, evaluation.conf),
        any_box_level(scores, evaluation.conf),
        scores,
        1000 * predict_s / max(len(samples), 1),
        len(samples),
    )


def rounded(doc: dict[str, Any]) -> dict[str, Any]:
    """`doc` with its float values rounded to 4 places, as the eval JSON documents show them."""
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in doc.items()}


def image_level_json(report: DetectorReport, names: Sequence[str], conf: float) -> dict[str, Any]:
    """`image_level` of the JSON document at any threshold (the eval's own is at its `conf`)."""
    return {
        **{name: rounded(asdict(level)) for name, level in image_level(report.scores, names, conf).items()},
        "any": rounded(asdict(any_box_level(report.scores, conf))),
    }


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
        "per_class": {name: rounded(asdict(score)) for name, score in ev.per_class.items()},
        "image_level": {
            **{name: rounded(asdict(level)) for name, level in report.image_level.items()},
            "any": rounded(asdict(report.any_box)),
        },
        "images": report.images,
        "predict_ms_per_image": round(report.predict_ms_per_image, 2),
    }
