"""Choose a model's shipped threshold on val: the lowest one that keeps false alarms on negatives rare.

Detectors: the lowest confidence at which at most `max_false_alarm_rate` of the images with no label
raise any box; the image-level recall there is what an operator gets. Scene classifier: the lowest
alert threshold at which at most that share of `normal` views are called a disaster. Lower thresholds
find more, so the lowest one that meets the false-alarm budget is the best one that does. Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tenken.errors import DataError
from vision.train.metrics import CONF_GRID, FloatArray

MAX_FALSE_ALARM_RATE = 0.05  # of negative images (detector) or normal views (scene)
TARGET_RECALL = 0.90  # image-level; reported against, not enforced
NORMAL = "normal"  # the scene class that raises no alert


@dataclass(frozen=True)
class OperatingPoint:
    """A threshold and the val figures it was chosen on."""

    rule: str
    conf: float
    max_false_alarm_rate: float
    false_alarm_rate: float  # share of negative images / normal views raising an alert at `conf`
    negatives: int
    recall: dict[str, float]  # per class, image level: images with the class where it is raised
    positives: dict[str, int]
    target_recall: float = TARGET_RECALL

    @property
    def meets_false_alarm_budget(self) -> bool:
        return self.false_alarm_rate <= self.max_false_alarm_rate

    @property
    def meets_recall_target(self) -> bool:
        return all(r >= self.target_recall for r in self.recall.values())

    def as_json(self) -> dict[str, Any]:
        doc = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}
        doc["recall"] = {k: round(v, 4) for k, v in self.recall.items()}
        doc["meets_false_alarm_budget"] = self.meets_false_alarm_budget
        doc["meets_recall_target"] = self.meets_recall_target
        return doc


def _lowest_within_budget(false_alarm: FloatArray, grid: FloatArray, budget: float) -> int:
    """Index of the lowest threshold within budget; the one with the fewest false alarms if none is."""
    within = np.flatnonzero(false_alarm <= budget + 1e-12)
    return int(within[0]) if within.size else int(np.argmin(false_alarm))


def detector_operating_point(
    max_conf: npt.ArrayLike,
    present: npt.ArrayLike,
    names: Sequence[str],
    *,
    max_false_alarm_rate: float = MAX_FALSE_ALARM_RATE,
    grid: FloatArray = CONF_GRID,
) -> OperatingPoint:
    """`max_conf` (images, classes): each image's highest box confidence per class; `present`: labels."""
    scores = np.asarray(max_conf, np.float64)
    labelled = np.asarray(present, bool)
    empty = ~labelled.any(axis=1)
    if not empty.any():
        raise DataError(
            "no images without labels in the scored data: a threshold on false alarms needs negatives"
        )
    top = scores[empty].max(axis=1)
    false_alarm = np.array([np.mean(top >= c) for c in grid])
    k = _lowest_within_budget(false_alarm, grid, max_false_alarm_rate)
    conf = float(grid[k])
    recall = {
        name: float(np.mean(scores[labelled[:, j], j] >= conf))
        for j, name in enumerate(names)
        if labelled[:, j].any()
    }
    return OperatingPoint(
        f"lowest confidence with at most {max_false_alarm_rate:.0%} of images without labels raising any box",
        conf,
        max_false_alarm_rate,
        float(false_alarm[k]),
        int(empty.sum()),
        recall,
        {name: int(labelled[:, j].sum()) for j, name in enumerate(names) if labelled[:, j].any()},
    )


def scene_alerts(probs: FloatArray, labels: Sequence[str], threshold: float) -> npt.NDArray[np.bool_]:
    """Per image: whether it raises an alert (its top class is not normal, at >= threshold)."""
    top = np.argmax(probs, axis=1)
    alert_class = np.array([name != NORMAL for name in labels])
    return np.asarray(alert_class[top] & (probs[np.arange(len(probs)), top] >= threshold))


def scene_operating_point(
    probs: npt.ArrayLike,
    true: npt.ArrayLike,
    labels: Sequence[str],
    *,
    max_false_alarm_rate: float = MAX_FALSE_ALARM_RATE,
    grid: FloatArray = CONF_GRID,
) -> OperatingPoint:
    """`probs` (images, classes) of the classifier; `true`: each image's class index into `labels`."""
    p = np.asarray(probs, np.float64).reshape(len(np.asarray(true)), len(labels))
    truth = np.asarray(true, np.int64)
    if NORMAL not in labels or not np.any(truth == labels.index(NORMAL)):
        raise DataError("no normal images in the scored data: an alert threshold needs them")
    normal = truth == labels.index(NORMAL)
    false_alarm = np.array([np.mean(scene_alerts(p[normal], labels, float(c))) for c in grid])
    k = _lowest_within_budget(false_alarm, grid, max_false_alarm_rate)
    conf = float(grid[k])
    top = np.argmax(p, axis=1)
    hit = (top == truth) & (p[np.arange(len(p)), top] >= conf)
    disasters = [(j, name) for j, name in enumerate(labels) if name != NORMAL and np.any(truth == j)]
    return OperatingPoint(
        f"lowest alert threshold with at most {max_false_alarm_rate:.0%} of normal views called a disaster",
        conf,
        max_false_alarm_rate,
        float(false_alarm[k]),
        int(normal.sum()),
        {name: float(np.mean(hit[truth == j])) for j, name in disasters},
        {name: int(np.sum(truth == j)) for j, name in disasters},
    )
