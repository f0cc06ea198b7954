"""Tenken's detection metrics on hand-counted cases."""

from __future__ import annotations

import numpy as np
import pytest

from vision.train.metrics import average_precision, evaluate, iou_matrix, match_image

NAMES = ("crack", "pothole")


def test_iou_of_identical_half_overlapping_and_disjoint_boxes() -> None:
    got = iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    assert got[0] == pytest.approx([1.0, 50 / 150, 0.0])


def test_a_ground_truth_box_is_matched_only_once() -> None:
    r = match_image([[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8], [0, 0], [[0, 0, 10, 10]], [0], 2)
    assert r.true_positive.tolist() == [True, False]


def test_wrong_class_or_low_iou_is_a_false_positive() -> None:
    r = match_image([[0, 0, 10, 10], [6, 0, 16, 10]], [0.9, 0.8], [1, 0], [[0, 0, 10, 10]], [0], 2)
    assert r.true_positive.tolist() == [False, False]  # iou of the second is 40/160 < 0.5


def test_higher_confidence_takes_the_match_first() -> None:
    r = match_image([[0, 0, 10, 10], [0, 0, 10, 9]], [0.3, 0.9], [0, 0], [[0, 0, 10, 10]], [0], 2)
    assert r.true_positive.tolist() == [False, True]


def two_images() -> list:
    # image 1: two cracks, one pothole; predictions: crack hit (0.9), crack miss (0.6), pothole hit (0.4)
    a = match_image(
        [[0, 0, 10, 10], [50, 50, 60, 60], [100, 100, 120, 120]],
        [0.9, 0.6, 0.4],
        [0, 0, 1],
        [[0, 0, 10, 10], [20, 20, 30, 30], [100, 100, 120, 120]],
        [0, 0, 1],
        2,
    )
    # image 2: one crack, found at 0.7; a false pothole at 0.2
    b = match_image([[0, 0, 10, 10], [30, 30, 40, 40]], [0.7, 0.2], [0, 1], [[0, 0, 10, 10]], [0], 2)
    return [a, b]


def test_precision_recall_f1_at_a_threshold_are_hand_counted() -> None:
    ev = evaluate(two_images(), NAMES, conf=0.5)
    crack, pothole = ev.per_class["crack"], ev.per_class["pothole"]
    # kept at 0.5: crack 0.9 TP, 0.6 FP, 0.7 TP -> P 2/3, R 2/3 (3 cracks); pothole: none kept -> R 0
    assert (crack.precision, crack.recall, crack.support) == (pytest.approx(2 / 3), pytest.approx(2 / 3), 3)
    assert (pothole.precision, pothole.recall, pothole.f1) == (0.0, 0.0, 0.0)
    assert ev.precision == pytest.approx(2 / 3) and ev.recall == pytest.approx(2 / 4)
    assert ev.f1 == pytest.approx(2 * (2 / 3) * 0.5 / (2 / 3 + 0.5))


def test_best_conf_maximises_overall_f1() -> None:
    ev = evaluate(two_images(), NAMES)
    # at 0.3 .. 0.4: TP 3 (0.9, 0.7, 0.4), FP 1 (0.6) -> P 3/4, R 3/4, F1 0.75: the best of all thresholds
    assert ev.best_f1 == pytest.approx(0.75)
    assert 0.2 < ev.best_conf <= 0.4
    assert ev.conf == ev.best_conf


def test_average_precision_of_a_ranked_list() -> None:
    # ranks: TP, FP, TP with 3 ground truths -> envelope: P=1 up to R=1/3, P=2/3 up to R=2/3
    ap = average_precision(np.array([0.9, 0.8, 0.7]), np.array([True, False, True]), 3)
    assert ap == pytest.approx(1 / 3 * 1 + 1 / 3 * 2 / 3)


def test_map50_averages_classes_with_ground_truth_only() -> None:
    a = match_image([[0, 0, 10, 10]], [0.9], [0], [[0, 0, 10, 10]], [0], 2)
    ev = evaluate([a], NAMES)
    assert ev.per_class["pothole"].support == 0
    assert ev.map50 == pytest.approx(1.0)
