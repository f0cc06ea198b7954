"""Linking detections across frames and merging them into one defect per physical defect."""

import pytest

from tenken.findings import Observation
from tenken.geo import distance_m, offset_latlon
from vision.road.merge import MergeOptions, merge_observations
from vision.road.tracking import link_observations

ORIGIN = (35.6, 140.1)


def severity(class_name: str, size_m: float, confidence: float) -> str:
    return "high" if class_name == "D40" else "low"


def obs(frame: int, east_m: float, north_m: float, cls: str = "D40", conf: float = 0.8, err: float = 3.5):
    lat, lon = offset_latlon(*ORIGIN, east_m, north_m)
    return Observation(frame, float(frame), cls, conf, (0, 0, 10, 10), lat, lon, err)


def test_pothole_seen_in_twelve_frames_is_one_defect():
    jitter = [(0.3, -0.2), (-0.4, 0.1), (0.2, 0.5), (-0.1, -0.6), (0.5, 0.0), (0.0, 0.3)] * 2
    seen = [obs(f, 10 + dx, 20 + dy) for f, (dx, dy) in enumerate(jitter)]
    defects, _clusters = merge_observations(link_observations(seen), severity)
    assert len(defects) == 1
    assert defects[0].n_observations == 12
    assert defects[0].first_frame == 0 and defects[0].last_frame == 11
    truth = offset_latlon(*ORIGIN, 10.0, 20.0)
    assert distance_m(*truth, defects[0].lat, defects[0].lon) < 0.5


def test_two_potholes_five_metres_apart_stay_two_defects():
    seen = [obs(f, 0, 0) for f in range(4)] + [obs(f, 5, 0) for f in range(4)]
    seen.sort(key=lambda o: o.frame_index)
    defects, _ = merge_observations(link_observations(seen), severity)
    assert len(defects) == 2


def test_different_classes_at_the_same_place_are_not_merged():
    seen = [obs(0, 0, 0, "D40"), obs(0, 0.2, 0, "D00"), obs(1, 0, 0.1, "D40"), obs(1, 0.1, 0, "D00")]
    defects, _ = merge_observations(link_observations(seen), severity)
    assert sorted(d.class_name for d in defects) == ["D00", "D40"]


def test_same_defect_seen_again_on_a_second_pass_is_merged_in_map_space():
    first_pass = [obs(f, 0, 0) for f in range(3)]
    second_pass = [obs(f, 0.8, 0.4) for f in range(100, 103)]
    linked = link_observations(first_pass + second_pass)
    assert len({o.track_id for o in linked}) == 2  # the tracker closed the first track
    defects, _ = merge_observations(linked, severity)
    assert len(defects) == 1 and defects[0].n_observations == 6


def test_min_observations_drops_single_frame_detections():
    seen = [obs(0, 0, 0), obs(1, 0, 0), obs(2, 30, 0)]
    defects, _ = merge_observations(link_observations(seen), severity, MergeOptions(min_observations=2))
    assert len(defects) == 1 and defects[0].n_observations == 2


def test_merged_error_keeps_the_gps_error_and_adds_spread():
    seen = [obs(f, 0, 0, err=3.5) for f in range(10)]
    defects, _ = merge_observations(link_observations(seen), severity, MergeOptions(gps_error_m=3.0))
    assert 3.0 <= defects[0].error_m < 3.5
    spread = [obs(f, (-1) ** f * 1.5, 0, err=3.5) for f in range(10)]
    wide, _ = merge_observations(
        link_observations(spread), severity, MergeOptions(merge_radius_m=5.0, gps_error_m=3.0)
    )
    assert wide[0].error_m > defects[0].error_m


def test_defects_are_numbered_by_first_sighting():
    seen = sorted([obs(5, 50, 0), obs(6, 50, 0), obs(1, 0, 0), obs(2, 0, 0)], key=lambda o: o.frame_index)
    defects, _ = merge_observations(link_observations(seen), severity)
    assert [(d.defect_id, d.first_frame) for d in defects] == [(1, 1), (2, 5)]


def test_no_observations_give_no_defects():
    assert merge_observations(link_observations([]), severity) == ([], [])


@pytest.mark.parametrize("gate", [1.0, 4.0])
def test_tracker_gate_limits_association(gate):
    linked = link_observations([obs(0, 0, 0), obs(1, 2.5, 0)], gate_m=gate)
    assert (linked[0].track_id == linked[1].track_id) == (gate > 2.5)
