"""Score a scene classifier: accuracy, per-class precision/recall/F1, the confusion matrix, and the
alerts it would raise live: per class, the share of `normal` views called that disaster at the alert
threshold."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tenken.errors import DataError
from vision.models.classifier import SceneClassifier
from vision.train.evaluate import choose_split, describe_split, rounded
from vision.train.operating_point import NORMAL, scene_alerts
from vision.train.scene import SceneItem, load_item, read_scene_sources, split_items


@dataclass(frozen=True)
class ConfusionReport:
    labels: tuple[str, ...]
    matrix: npt.NDArray[np.int64]  # rows: true class, columns: predicted class
    predict_ms_per_image: float
    probs: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))  # (images, classes)
    true: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    items: tuple[SceneItem, ...] = ()

    def alerts_on_normal(self, threshold: float) -> dict[str, float | int]:
        """Share of normal views whose top class is each disaster at >= threshold, and of any."""
        if NORMAL not in self.labels:
            return {"images": 0}
        normal = self.true == self.labels.index(NORMAL)
        probs = self.probs[normal]
        top = np.argmax(probs, axis=1) if len(probs) else np.zeros(0, np.int64)
        raised = scene_alerts(probs, self.labels, threshold) if len(probs) else np.zeros(0, bool)
        out: dict[str, float | int] = {"images": int(normal.sum())}
        for k, name in enumerate(self.labels):
            if name != NORMAL:
                out[name] = float(np.mean(raised & (top == k))) if len(probs) else 0.0
        out["any"] = float(np.mean(raised)) if len(probs) else 0.0
        return out

    def recall_at(self, threshold: float) -> dict[str, float]:
        """Per disaster class: share of its images raised as that class at >= threshold."""
        top = np.argmax(self.probs, axis=1)
        hit = (top == self.true) & (self.probs[np.arange(len(self.probs)), top] >= threshold)
        return {
            name: float(np.mean(hit[self.true == k]))
            for k, name in enumerate(self.labels)
            if name != NORMAL and np.any(self.true == k)
        }

    @property
    def accuracy(self) -> float:
        total = int(self.matrix.sum())
        return float(np.trace(self.matrix)) / total if total else 0.0

    def per_class(self) -> dict[str, dict[str, float | int]]:
        out: dict[str, dict[str, float | int]] = {}
        for k, name in enumerate(self.labels):
            tp = int(self.matrix[k, k])
            support = int(self.matrix[k].sum())
            predicted = int(self.matrix[:, k].sum())
            recall = tp / support if support else 0.0
            precision = tp / predicted if predicted else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            out[name] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
        return out


def load_scene_eval_items(
    data: Sequence[Path], split: str | None, heldout: Sequence[Path] = ()
) -> tuple[list[SceneItem], str]:
    """Items of `split` of `data` plus every item of `heldout`, and the line saying which. Default:
    val (the source-disjoint hashed part) when a source is a detection set with split files, else all."""
    detection_set = any(p.is_file() or (p / "data.yaml").is_file() for p in data)
    chosen, reason = choose_split(split, detection_set)
    items = read_scene_sources(data) if data else []
    if items and chosen != "all":
        items = split_items(items)[chosen]
        if not items:
            raise DataError(f"no {chosen} images in {', '.join(map(str, data))} (try --split all)")
    extra = read_scene_sources(heldout) if heldout else []
    return items + extra, describe_split(chosen, reason, len(items), len(extra))


def confusion_matrix(true: Sequence[int], predicted: Sequence[int], n: int) -> npt.NDArray[np.int64]:
    matrix = np.zeros((n, n), np.int64)
    for t, p in zip(true, predicted, strict=True):
        matrix[t, p] += 1
    return matrix


def evaluate_classifier(
    classifier: SceneClassifier, items: Sequence[SceneItem], batch: int = 16
) -> ConfusionReport:
    """Confusion over the classes the model knows; items of other classes are skipped."""
    labels = classifier.names
    known = [i for i in items if i.label in labels]
    true: list[int] = []
    rows: list[npt.NDArray[np.float32]] = []
    predict_s = 0.0
    for start in range(0, len(known), batch):
        chunk = known[start : start + batch]
        frames = [load_item(i) for i in chunk]
        t0 = time.perf_counter()
        probs = classifier.probabilities(frames)
        predict_s += time.perf_counter() - t0
        true += [labels.index(i.label) for i in chunk]
        rows.append(probs)
    all_probs = np.concatenate(rows).astype(np.float64) if rows else np.zeros((0, len(labels)))
    predicted = [int(k) for k in np.argmax(all_probs, axis=1)]
    return ConfusionReport(
        labels,
        confusion_matrix(true, predicted, len(labels)),
        1000 * predict_s / max(len(known), 1),
        all_probs,
        np.asarray(true, np.int64),
        tuple(known),
    )


def alerts_json(report: ConfusionReport, alert_conf: float) -> dict[str, Any]:
    """What the classifier would raise live at `alert_conf`: on normal views, and on each disaster."""
    return {
        "threshold": alert_conf,
        "false_alarm_rate_on_normal": rounded(report.alerts_on_normal(alert_conf)),
        "recall": rounded(report.recall_at(alert_conf)),
    }


def confusion_json(
    report: ConfusionReport, model: str, data: Sequence[str], alert_conf: float
) -> dict[str, Any]:
    """The `tenken eval --json` document of a classifier; `alerts` at the live alert threshold."""
    return {
        "model": model,
        "data": list(data),
        "accuracy": round(report.accuracy, 4),
        "per_class": {name: rounded(scores) for name, scores in report.per_class().items()},
        "confusion": {"labels": list(report.labels), "matrix": report.matrix.tolist()},
        "alerts": alerts_json(report, alert_conf),
        "images": int(report.matrix.sum()),
        "predict_ms_per_image": round(report.predict_ms_per_image, 2),
    }
