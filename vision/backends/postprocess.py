"""Decoding YOLOv8-style raw outputs and non-maximum suppression, in numpy."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]


def box_iou(a: FloatArray, b: FloatArray) -> FloatArray:
    """Pairwise IoU of (N,4) and (M,4) xyxy boxes -> (N, M)."""
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    return (inter / np.maximum(union, 1e-9)).astype(np.float32)


def nms(boxes: FloatArray, scores: FloatArray, iou_threshold: float) -> npt.NDArray[np.int64]:
    """Indices of the boxes kept by greedy NMS, highest score first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1:
            break
        ious = box_iou(boxes[i : i + 1], boxes[order[1:]])[0]
        order = order[1:][ious <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def decode_yolo(
    output: FloatArray,
    conf_threshold: float,
    iou_threshold: float,
    *,
    agnostic: bool = False,
    max_detections: int = 300,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]:
    """One image's raw YOLOv8 head output (4 + nc, anchors) -> xyxy, confidence, class id after NMS."""
    preds = output.T  # (anchors, 4 + nc)
    scores_all = preds[:, 4:]
    class_id = scores_all.argmax(axis=1)
    conf = scores_all[np.arange(len(preds)), class_id]
    mask = conf >= conf_threshold
    if not mask.any():
        return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64)
    xywh, conf, class_id = preds[mask, :4], conf[mask], class_id[mask]
    xyxy = np.empty_like(xywh)
    xyxy[:, :2] = xywh[:, :2] - xywh[:, 2:] / 2
    xyxy[:, 2:] = xywh[:, :2] + xywh[:, 2:] / 2
    # Per-class NMS by offsetting each class into its own region of the plane.
    offset = 0.0 if agnostic else 7680.0
    keep = nms(xyxy + (class_id[:, None] * offset), conf, iou_threshold)[:max_detections]
    return xyxy[keep].astype(np.float32), conf[keep].astype(np.float32), class_id[keep].astype(np.int64)
