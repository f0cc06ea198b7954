"""Choosing the shipped threshold on val: within the false-alarm budget, the highest that reaches the
recall target (else the lowest within budget), hand-counted."""

from __future__ import annotations

import numpy as np
import pytest

from tenken.errors import DataError
from vision.train.operating_point import detector_operating_point, scene_alerts, scene_operating_point

NAMES = ("fire", "smoke")


def twenty_negatives_and_four_fires() -> tuple[np.ndarray, np.ndarray]:
    # negatives: one smoke box at 0.8, one at 0.5, the other 18 at most 0.1
    negatives = np.zeros((20, 2))
    negatives[:, 1] = 0.1
    negatives[0, 1], negatives[1, 1] = 0.8, 0.5
    fires = np.array([[0.9, 0.0], [0.7, 0.0], [0.45, 0.0], [0.3, 0.0]])
    max_conf = np.vstack([negatives, fires])
    present = np.zeros((24, 2), bool)
    present[20:, 0] = True
    return max_conf, present


def test_without_reaching_the_recall_target_the_threshold_is_the_lowest_within_the_budget() -> None:
    max_conf, present = twenty_negatives_and_four_fires()
    point = detector_operating_point(max_conf, present, NAMES)
    # 1 of 20 negatives (5 %) may alert: above 0.5 only the 0.8 box is left -> conf 0.51
    assert point.conf == pytest.approx(0.51)
    assert (point.false_alarm_rate, point.negatives) == (0.05, 20)
    assert point.recall == {"fire": 0.5}  # 0.9 and 0.7 of the four fires
    assert point.positives == {"fire": 4}
    assert point.meets_false_alarm_budget and not point.meets_recall_target


def test_a_looser_budget_picks_the_highest_threshold_that_reaches_the_recall_target() -> None:
    max_conf, present = twenty_negatives_and_four_fires()
    point = detector_operating_point(max_conf, present, NAMES, max_false_alarm_rate=0.10)
    # two negatives may alert now: 0.11 and up; all four fires (recall 1 >= 0.9) up to 0.30
    assert point.conf == pytest.approx(0.30)
    assert point.recall == {"fire": 1.0}
    assert point.false_alarm_rate == 0.10 and point.meets_recall_target


def test_a_budget_no_threshold_meets_is_reported_not_hidden() -> None:
    max_conf, present = twenty_negatives_and_four_fires()
    max_conf[:, 1] = 0.995  # every negative raises smoke at any threshold on the grid
    point = detector_operating_point(max_conf, present, NAMES)
    assert not point.meets_false_alarm_budget and point.as_json()["meets_false_alarm_budget"] is False


def test_no_negative_images_is_a_data_error() -> None:
    with pytest.raises(DataError, match="without labels"):
        detector_operating_point(np.ones((3, 2)), np.ones((3, 2), bool), NAMES)


LABELS = ("fire", "landslide", "normal")


def test_scene_alerts_need_a_disaster_top_class_at_the_threshold() -> None:
    probs = np.array([[0.7, 0.2, 0.1], [0.3, 0.3, 0.4], [0.1, 0.55, 0.35]])
    assert scene_alerts(probs, LABELS, 0.6).tolist() == [True, False, False]
    assert scene_alerts(probs, LABELS, 0.5).tolist() == [True, False, True]


def test_scene_threshold_keeps_normal_views_called_a_disaster_within_budget() -> None:
    # 20 normal views: one called landslide at 0.9, one at 0.62, the rest normal
    normal = np.tile([0.05, 0.05, 0.9], (20, 1))
    normal[0], normal[1] = [0.05, 0.9, 0.05], [0.08, 0.62, 0.3]
    landslides = np.array([[0.0, 0.95, 0.05], [0.1, 0.7, 0.2], [0.1, 0.6, 0.3]])
    probs = np.vstack([normal, landslides])
    true = np.array([2] * 20 + [1] * 3)
    point = scene_operating_point(probs, true, LABELS)
    assert point.conf == pytest.approx(0.63)  # 1 of 20 normal views (5 %) may alert
    assert point.false_alarm_rate == 0.05 and point.negatives == 20
    assert point.recall == {"landslide": pytest.approx(2 / 3)}


def test_scene_threshold_needs_normal_views() -> None:
    with pytest.raises(DataError, match="no normal images"):
        scene_operating_point(np.array([[0.9, 0.05, 0.05]]), np.array([0]), LABELS)
