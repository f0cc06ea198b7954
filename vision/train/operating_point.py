"""Choose a model's shipped threshold on val: the lowest one that keeps false alarms on negatives rare.

Detectors: among the confidences at which at most `max_false_alarm_rate` of the images with no label
raise any box, the highest one at which every class still reaches the image-level recall target (so
an operator gets the target recall with the fewest spurious boxes); when no threshold within the
budget reaches the target, the lowest one within the budget (the most recall the budget allows).
Scene classifier: the same rule on the alert threshold, with `normal` views as the negatives. Pure numpy.
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


def _choose_threshold(false_alarm: FloatArray, recall: FloatArray, budget: float, target: float) -> int:
    """Index into the grid: the highest threshold within budget where every class (columns of `recall`)
    reaches `target`; else the lowest within budget; else the one with the fewest false alarms."""
    within = false_alarm <= budget + 1e-12
    meets = within & np.all(recall >= target - 1e-12, axis=1)
    if meets.any():
        return int(np.flatnonzero(meets)[-1])
    if within.any():
        return int(np.flatnonzero(within)[0])
    return int(np.argmin(false_alarm))


def _rule(negatives: str, budget: float) -> str:
    return (
        f"highest threshold with at most {budget:.0%} of {negatives} alerting and image-level recall "
        f">= {TARGET_RECALL:.0%} for every class (else the lowest within that budget)"
    )


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
    classes = [j for j in range(len(names)) if labelled[:, j].any()]
    recall_grid = np.array([[np.mean(scores[labelled[:, j], j] >= c) for j in classes] for c in grid])
    k = _choose_threshold(false_alarm, recall_grid.reshape(len(grid), len(classes)), max_false_alarm_rate,
                          TARGET_RECALL)  # fmt: skip
    conf = float(grid[k])
    recall = {names[j]: float(recall_grid[k, n]) for n, j in enumerate(classes)}
    return OperatingPoint(
        _rule("images without labels", max_false_alarm_rate),
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
    top = np.argmax(p, axis=1)
    top_p = p[np.arange(len(p)), top]
    disasters = [(j, name) for j, name in enumerate(labels) if name != NORMAL and np.any(truth == j)]
    recall_grid = np.array(
        [[np.mean(((top == truth) & (top_p >= c))[truth == j]) for j, _ in disasters] for c in grid]
    ).reshape(len(grid), len(disasters))
    k = _choose_threshold(false_alarm, recall_grid, max_false_alarm_rate, TARGET_RECALL)
    conf = float(grid[k])
    return OperatingPoint(
        _rule("normal views", max_false_alarm_rate),
        conf,
        max_false_alarm_rate,
        float(false_alarm[k]),
        int(normal.sum()),
        {name: float(recall_grid[k, n]) for n, (_, name) in enumerate(disasters)},
        {name: int(np.sum(truth == j)) for j, name in disasters},
    )
