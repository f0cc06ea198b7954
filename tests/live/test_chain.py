"""The live drone chain: sightings placed on the ground, confirmed into incidents that do not flap."""

import numpy as np
import pytest

from tenken.geo import distance_m, offset_latlon
from vision.live import DronePose, IncidentTracker, LiveFrame, LivePipeline, sightings_in_frame
from vision.live.confirmation import ConfirmationPolicy
from vision.models.detections import Detections

HOME = (35.0, 139.0)
POLICY = ConfirmationPolicy(min_hits=3, window_frames=5, clear_frames=4)


def frame(i, lat=HOME[0], lon=HOME[1], alt=100.0, heading=0.0, pitch=90.0):
    pose = DronePose(float(i), lat, lon, alt, heading, pitch, hfov_deg=90.0, gps_error_m=2.0)
    return LiveFrame("drone-1", i, float(i), np.zeros((100, 100, 3), np.uint8), pose)


def fire_at_centre(f, conf=0.8):
    # a box around the image centre (what a nadir camera places at the centre)
    return sightings_in_frame(f, [("fire", conf, (45.0, 45.0, 55.0, 55.0))])


def test_straight_down_camera_places_the_fire_under_the_drone():
    (s,) = fire_at_centre(frame(0))
    assert distance_m(HOME[0], HOME[1], s.lat, s.lon) < 0.01
    assert s.error_m > 2.0


def test_fire_ahead_of_an_oblique_camera_is_placed_along_the_heading():
    f = frame(0, alt=50.0, heading=90.0, pitch=45.0)
    # a flat box on the centre row: its bottom and its centre are the same row
    (s,) = sightings_in_frame(f, [("fire", 0.8, (45.0, 50.0, 55.0, 50.0))])
    # centre pixel, 45 degrees down from 50 m: 50 m ahead, i.e. east
    east = offset_latlon(*HOME, 50.0, 0.0)
    assert distance_m(*east, s.lat, s.lon) < 0.5


def test_one_false_frame_does_not_raise_an_alert():
    tracker = IncidentTracker("drone-1", POLICY)
    changes = tracker.observe(frame(0), fire_at_centre(frame(0)))
    for i in range(1, 8):
        changes += tracker.observe(frame(i), [])
    assert changes == []
    assert tracker.open_incidents() == []


def test_fire_seen_in_three_of_five_frames_opens_one_incident():
    tracker = IncidentTracker("drone-1", POLICY)
    events = []
    for i, seen in enumerate([True, False, True, True, True, True]):
        f = frame(i)
        events += [c.event for c in tracker.observe(f, fire_at_centre(f) if seen else [])]
    assert events.count("opened") == 1
    assert len(tracker.open_incidents()) == 1
    assert tracker.open_incidents()[0].sightings == 5


def test_open_incident_closes_only_after_being_unseen_in_view_long_enough():
    tracker = IncidentTracker("drone-1", POLICY)
    for i in range(4):
        tracker.observe(frame(i), fire_at_centre(frame(i)))
    events = []
    pattern = [False, False, True, False, False, False, False]  # a flicker back does not close/reopen
    for i, seen in enumerate(pattern, start=4):
        f = frame(i)
        events += [c.event for c in tracker.observe(f, fire_at_centre(f) if seen else [])]
    assert events == ["updated", "closed"]


def test_incident_out_of_view_stays_open_while_the_drone_flies_on():
    tracker = IncidentTracker("drone-1", POLICY)
    for i in range(4):
        tracker.observe(frame(i), fire_at_centre(frame(i)))
    far_lat, far_lon = offset_latlon(*HOME, 0.0, 2000.0)
    for i in range(4, 20):
        assert tracker.observe(frame(i, far_lat, far_lon), []) == []
    assert len(tracker.open_incidents()) == 1


def test_oblique_view_places_a_fire_at_the_bottom_of_its_box_and_a_nadir_view_at_its_centre():
    box = (40.0, 30.0, 60.0, 70.0)
    (oblique,) = sightings_in_frame(frame(0, alt=50.0, pitch=30.0), [("fire", 0.8, box)])
    (bottom,) = sightings_in_frame(frame(0, alt=50.0, pitch=30.0), [("fire", 0.8, (40.0, 70.0, 60.0, 70.0))])
    (nadir,) = sightings_in_frame(frame(0, alt=50.0, pitch=90.0), [("fire", 0.8, box)])
    assert distance_m(oblique.lat, oblique.lon, bottom.lat, bottom.lon) < 0.4 * distance_m(
        HOME[0], HOME[1], bottom.lat, bottom.lon
    )
    assert distance_m(HOME[0], HOME[1], nadir.lat, nadir.lon) < 0.01


def test_two_fires_far_apart_are_two_incidents():
    tracker = IncidentTracker("drone-1", POLICY, radius_m=30.0)
    for i in range(4):
        f = frame(i, alt=120.0)
        sightings = sightings_in_frame(
            f, [("fire", 0.9, (10.0, 5.0, 14.0, 10.0)), ("fire", 0.9, (86.0, 90.0, 90.0, 95.0))]
        )
        tracker.observe(f, sightings)
    assert len(tracker.open_incidents()) == 2


class FireEverywhere:
    names = ("fire", "smoke")
    imgsz = 100
    backend = "fake"

    def predict(self, frames, conf=None):
        return [Detections.from_lists([(45, 40, 55, 50)], [0.9], [0], self.names) for _ in frames]


def test_pipeline_publishes_each_incident_change_once():
    published = []
    pipeline = LivePipeline(
        "drone-1", FireEverywhere(), publish=lambda ch, data: published.append((ch, data)), policy=POLICY
    )
    pipeline.process([frame(i) for i in range(5)])
    opened = [d for ch, d in published if ch == "incidents" and d["event"] == "opened"]
    assert len(opened) == 1
    assert opened[0]["kind"] == "fire" and opened[0]["source"] == "drone-1"
    assert opened[0]["lat"] == pytest.approx(HOME[0], abs=1e-4)


def test_frames_without_pose_still_confirm_per_kind():
    tracker = IncidentTracker("cctv", POLICY)
    for i in range(3):
        f = LiveFrame("cctv", i, float(i), np.zeros((100, 100, 3), np.uint8), None)
        tracker.observe(f, sightings_in_frame(f, [("smoke", 0.7, (0.0, 0.0, 50.0, 50.0))]))
    (incident,) = tracker.open_incidents()
    assert incident.kind == "smoke" and incident.lat is None
