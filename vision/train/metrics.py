"""Detection metrics Tenken computes itself: matching at an IoU, P/R/F1 per class, AP50, best confidence.

Pure numpy so `.pt`, ONNX and OpenVINO predictions are scored by the same code. Matching follows the
usual VOC rule: per image and class, predictions in descending confidence take the unmatched ground
truth box of highest IoU >= the threshold; everything else is a false positive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
CONF_GRID = np.round(np.arange(0.01, 1.0, 0.01), 2)


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """IoU of every box in `a` (N, 4 xyxy) against every box in `b` (M, 4)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


@dataclass(frozen=True)
class ImageResult:
    """One image's predictions, each marked true or false positive; and its ground-truth count per class."""

    confidence: FloatArray
    class_id: npt.NDArray[np.int64]
    true_positive: npt.NDArray[np.bool_]
    gt_per_class: npt.NDArray[np.int64]


def match_image(
    pred_xyxy: npt.ArrayLike,
    pred_conf: npt.ArrayLike,
    pred_cls: npt.ArrayLike,
    gt_xyxy: npt.ArrayLike,
    gt_cls: npt.ArrayLike,
    num_classes: int,
    iou_threshold: float = 0.5,
) -> ImageResult:
    """Mark each prediction of one image as a true or false positive (one GT box matches at most once)."""
    pxy = np.asarray(pred_xyxy, np.float64).reshape(-1, 4)
    pconf = np.asarray(pred_conf, np.float64).reshape(-1)
    pcls = np.asarray(pred_cls, np.int64).reshape(-1)
    gxy = np.asarray(gt_xyxy, np.float64).reshape(-1, 4)
    gcls = np.asarray(gt_cls, np.int64).reshape(-1)
    tp = np.zeros(len(pxy), bool)
    ious = iou_matrix(pxy, gxy)
    taken = np.zeros(len(gxy), bool)
    for i in np.argsort(-pconf, kind="stable"):
        candidates = (gcls == pcls[i]) & ~taken & (ious[i] >= iou_threshold)
        if candidates.any():
            j = int(np.argmax(np.where(candidates, ious[i], -1.0)))
            taken[j] = True
            tp[i] = True
    gt_counts = np.bincount(gcls, minlength=num_classes)[:num_classes].astype(np.int64)
    return ImageResult(pconf, pcls, tp, gt_counts)


@dataclass(frozen=True)
class ClassScore:
    precision: float
    recall: float
    f1: float
    ap50: float
    support: int


def f1_score(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def average_precision(confidence: FloatArray, true_positive: npt.NDArray[np.bool_], n_gt: int) -> float:
    """Area under the precision envelope of the ranked predictions (VOC all-point interpolation)."""
    if n_gt == 0:
        return 0.0
    order = np.argsort(-confidence, kind="stable")
    tp = np.cumsum(true_positive[order])
    fp = np.cumsum(~true_positive[order])
    recall = np.concatenate([[0.0], tp / n_gt, [tp[-1] / n_gt if len(tp) else 0.0]])
    precision = np.concatenate([[1.0], tp / np.maximum(tp + fp, 1), [0.0]])
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    return float(np.sum((recall[1:] - recall[:-1]) * precision[1:]))


@dataclass(frozen=True)
class Evaluation:
    """Scores over a dataset at one confidence threshold, plus the F1-optimal threshold."""

    conf: float
    precision: float
    recall: float
    f1: float
    map50: float
    best_conf: float
    best_f1: float
    per_class: dict[str, ClassScore]


def _pooled(
    results: Sequence[ImageResult], num_classes: int
) -> tuple[FloatArray, npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.int64]]:
    conf = np.concatenate([r.confidence for r in results]) if results else np.zeros(0)
    cls = np.concatenate([r.class_id for r in results]).astype(np.int64) if results else np.zeros(0, np.int64)
    tp = np.concatenate([r.true_positive for r in results]).astype(bool) if results else np.zeros(0, bool)
    gt = np.sum([r.gt_per_class for r in results], axis=0) if results else np.zeros(num_classes, np.int64)
    return conf, cls, tp, np.asarray(gt, np.int64)


def counts_at(
    conf: FloatArray, tp: npt.NDArray[np.bool_], n_gt: int, threshold: float
) -> tuple[int, int, int]:
    """(true positives, false positives, false negatives) keeping predictions with confidence >= threshold."""
    kept = conf >= threshold
    n_tp = int(np.sum(tp & kept))
    return n_tp, int(np.sum(kept)) - n_tp, n_gt - n_tp


def _prf(n_tp: int, n_fp: int, n_fn: int) -> tuple[float, float, float]:
    precision = n_tp / (n_tp + n_fp) if n_tp + n_fp else 0.0
    recall = n_tp / (n_tp + n_fn) if n_tp + n_fn else 0.0
    return precision, recall, f1_score(precision, recall)


def evaluate(
    results: Sequence[ImageResult],
    names: Sequence[str],
    conf: float | None = None,
    conf_grid: FloatArray = CONF_GRID,
) -> Evaluation:
    """Per-class and overall (micro, over all classes) P/R/F1 at `conf` (default: the F1-optimal one)."""
    pconf, pcls, ptp, gt = _pooled(results, len(names))
    n_gt = int(gt.sum())
    f1_by_conf = [_prf(*counts_at(pconf, ptp, n_gt, float(c)))[2] for c in conf_grid]
    best = int(np.argmax(f1_by_conf))
    best_conf = float(conf_grid[best])
    threshold = best_conf if conf is None else conf
    per_class = {}
    for k, name in enumerate(names):
        mask = pcls == k
        p, r, f = _prf(*counts_at(pconf[mask], ptp[mask], int(gt[k]), threshold))
        ap = average_precision(pconf[mask], ptp[mask], int(gt[k]))
        per_class[name] = ClassScore(p, r, f, ap, int(gt[k]))
    p, r, f = _prf(*counts_at(pconf, ptp, n_gt, threshold))
    with_support = [s.ap50 for s in per_class.values() if s.support > 0]
    map50 = float(np.mean(with_support)) if with_support else 0.0
    return Evaluation(threshold, p, r, f, map50, best_conf, float(f1_by_conf[best]), per_class)
