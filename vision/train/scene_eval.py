"""Score a scene classifier: accuracy, per-class precision/recall/F1 and the confusion matrix."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from vision.classifier import SceneClassifier
from vision.train.scene import SceneItem, load_item


@dataclass(frozen=True)
class ConfusionReport:
    labels: tuple[str, ...]
    matrix: npt.NDArray[np.int64]  # rows: true class, columns: predicted class
    predict_ms_per_image: float

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
    true, predicted = [], []
    predict_s = 0.0
    for start in range(0, len(known), batch):
        chunk = known[start : start + batch]
        frames = [load_item(i) for i in chunk]
        t0 = time.perf_counter()
        probs = classifier.probabilities(frames)
        predict_s += time.perf_counter() - t0
        true += [labels.index(i.label) for i in chunk]
        predicted += [int(k) for k in np.argmax(probs, axis=1)]
    return ConfusionReport(
        labels, confusion_matrix(true, predicted, len(labels)), 1000 * predict_s / max(len(known), 1)
    )


def confusion_json(report: ConfusionReport, model: str, data: Sequence[str]) -> dict[str, Any]:
    return {
        "model": model,
        "data": list(data),
        "accuracy": round(report.accuracy, 4),
        "per_class": {
            name: {k: round(v, 4) if isinstance(v, float) else v for k, v in scores.items()}
            for name, scores in report.per_class().items()
        },
        "confusion": {"labels": list(report.labels), "matrix": report.matrix.tolist()},
        "images": int(report.matrix.sum()),
        "predict_ms_per_image": round(report.predict_ms_per_image, 2),
    }
