"""One physical finding is one incident: re-opened rather than duplicated, shared between drones, with a
ce that never claims more than the drone's own position error allows; stale poses place nothing."""

import numpy as np

from tenken.geo import offset_latlon
from vision.live import (
    DronePose,
    IncidentTracker,
    LiveFrame,
    LivePipeline,
    PoseHistory,
    below_horizon_deg,
    pose_from_state,
    sightings_in_frame,
)
from vision.live.confirmation import ConfirmationPolicy
from vision.live.sightings import Sighting

HOME = (35.0, 139.0)
POLICY = ConfirmationPolicy(min_hits=3, window_frames=5, clear_frames=4)


def frame(i, source="drone-1", lat=HOME[0], lon=HOME[1]):
    pose = DronePose(float(i), lat, lon, 100.0, 0.0, 90.0, hfov_deg=90.0, gps_error_m=2.0)
    return LiveFrame(source, i, float(i), np.zeros((100, 100, 3), np.uint8), pose)


def fire(f):
    return sightings_in_frame(f, [("fire", 0.8, (45.0, 45.0, 55.0, 55.0))])


def test_a_closed_fire_seen_again_reopens_under_the_same_id():
    tracker = IncidentTracker("live", POLICY)
    events = []
    pattern = [True] * 4 + [False] * 4 + [True] * 4  # burns, hidden by smoke long enough to close, back
    for i, seen in enumerate(pattern):
        f = frame(i)
        events += [(c.event, c.incident.incident_id) for c in tracker.observe(f, fire(f) if seen else [])]
    opened = [ident for event, ident in events if event == "opened"]
    assert [e for e, _ in events if e != "updated"] == ["opened", "closed", "opened"]
    assert len(set(opened)) == 1 and len(tracker.incidents) == 1


def test_two_drones_sharing_a_tracker_see_one_fire_as_one_incident():
    tracker = IncidentTracker("live", POLICY)
    near = offset_latlon(*HOME, 3.0, 0.0)  # drone-2 is 3 m east, looking down at the same fire
    for i in range(6):
        a, b = frame(i, "drone-1"), frame(i, "drone-2", *near)
        tracker.observe(a, fire(a))
        tracker.observe(b, fire(b))
    assert len(tracker.incidents) == 1
    (incident,) = tracker.open_incidents()
    assert incident.sightings == 12 and incident.source == "drone-1"


def test_an_incidents_ce_never_drops_below_the_drones_position_error():
    tracker = IncidentTracker("live", POLICY)
    for i in range(50):
        tracker.observe(frame(i), fire(frame(i)))
    (incident,) = tracker.open_incidents()
    assert incident.error_m is not None and incident.error_m >= 2.0


def test_a_sighting_too_uncertain_to_place_starts_no_incident():
    tracker = IncidentTracker("live", POLICY, radius_m=40.0)
    vague = Sighting("fire", 0.9, 0, 0.0, HOME[0], HOME[1], error_m=60.0, shared_error_m=2.0)
    for i in range(6):
        tracker.observe(frame(i), [vague])
    assert tracker.incidents == {}


def test_a_pose_older_than_the_max_age_is_no_pose():
    history = PoseHistory(max_age_s=2.0)
    history.add({"timestamp_s": 100.0, "lat": 35.0, "lon": 139.0, "alt_m": 30.0, "heading_deg": 90.0})
    assert history.state_at(101.9) is not None
    assert history.state_at(102.1) is None  # the drone landed and stopped reporting: 761 s before
    assert history.state_at(97.5) is None


def test_frames_without_a_recent_pose_raise_no_placed_incident():
    history = PoseHistory(max_age_s=2.0)
    history.add({"timestamp_s": 0.0, "lat": 35.0, "lon": 139.0, "alt_m": 30.0, "heading_deg": 0.0})
    pipeline = LivePipeline("drone-1", None, policy=POLICY)
    changes = []
    for i in range(10, 20):
        state = history.state_at(float(i))
        pose = pose_from_state(state) if state is not None else None
        f = LiveFrame("drone-1", i, float(i), np.zeros((100, 100, 3), np.uint8), pose)
        changes += pipeline.tracker.observe(f, fire(f))
    assert changes and all(c.incident.lat is None for c in changes)


def slide_seen(i, east_m):
    """A nadir frame `east_m` east of home whose view is filled by one long slide (cut by both sides)."""
    lat, lon = offset_latlon(*HOME, east_m, 0.0)
    pose = DronePose(float(i), lat, lon, 10.0, 90.0, 90.0, hfov_deg=90.0, gps_error_m=2.0)  # a 20 m view
    f = LiveFrame("drone-1", i, float(i), np.zeros((100, 100, 3), np.uint8), pose)
    return f, sightings_in_frame(f, [("landslide", 0.9, (0.0, 20.0, 100.0, 80.0))])


def test_an_object_larger_than_the_view_is_one_incident_along_its_length():
    tracker = IncidentTracker("live", POLICY, radius_m=40.0)
    for i in range(40):  # flying east along a slide 2 m a frame: 80 m, twice the merge radius
        f, sightings = slide_seen(i, 2.0 * i)
        assert sightings[0].ground_ring  # cut by the view's edges: it carries what it covers
        tracker.observe(f, sightings)
    (incident,) = tracker.incidents.values()
    assert incident.sightings == 40


def test_objects_cut_by_the_edge_in_views_that_do_not_meet_stay_apart():
    tracker = IncidentTracker("live", POLICY, radius_m=40.0)
    for i in range(6):  # two slides 500 m apart, each filling its view
        for east in (0.0, 500.0):
            f, sightings = slide_seen(i, east)
            tracker.observe(f, sightings)
    assert len(tracker.open_incidents()) == 2


def unposed(i, source="drone-1"):
    return LiveFrame(source, i, float(i), np.zeros((100, 100, 3), np.uint8), None)


def test_a_fire_still_seen_after_telemetry_stops_stays_its_one_placed_incident():
    tracker = IncidentTracker("live", POLICY)
    for i in range(6):  # flying, telemetry on: the fire is placed
        tracker.observe(frame(i), fire(frame(i)))
    (placed,) = tracker.open_incidents()
    changes = []
    for i in range(6, 40):  # landed beside it, telemetry gone, the camera still sees it
        f = unposed(i)
        changes += tracker.observe(f, fire(f))
    assert list(tracker.incidents) == [placed.incident_id]
    assert {c.incident.incident_id for c in changes} == {placed.incident_id}
    (after,) = tracker.open_incidents()
    assert (after.lat, after.lon, after.error_m) == (placed.lat, placed.lon, placed.error_m)
    assert after.sightings == 40 and after.last_seen_s == 39.0


def test_an_unplaced_sighting_long_after_the_placed_fire_opens_its_own_incident():
    tracker = IncidentTracker("live", POLICY, unplaced_join_s=30.0)
    for i in range(6):
        tracker.observe(frame(i), fire(frame(i)))
    for i in range(100, 106):  # minutes later, no telemetry: nothing says it is the same fire
        tracker.observe(unposed(i), fire(unposed(i)))
    placed, unplaced = sorted(tracker.open_incidents(), key=lambda inc: inc.lat is None)
    assert placed.lat is not None and unplaced.lat is None and unplaced.sightings == 6


def test_a_camera_without_telemetry_keeps_one_unplaced_incident_per_kind_and_drone():
    tracker = IncidentTracker("live", POLICY)
    for i in range(6):
        for source in ("cam-1", "cam-2"):
            f = unposed(i, source)
            tracker.observe(f, fire(f))
    assert sorted(inc.source for inc in tracker.open_incidents()) == ["cam-1", "cam-2"]
    assert all(inc.lat is None for inc in tracker.incidents.values())


def test_the_interpolated_state_keeps_battery_and_mode_for_the_video_overlay():
    history = PoseHistory(max_age_s=2.0)
    base = {"lat": 35.0, "lon": 139.0, "alt_m": 30.0, "heading_deg": 350.0, "mode": "AUTO"}
    history.add(base | {"timestamp_s": 0.0, "battery_pct": 80.0})
    history.add(base | {"timestamp_s": 1.0, "battery_pct": 79.0, "heading_deg": 10.0})
    state = history.state_at(0.5)
    assert state is not None
    assert state["battery_pct"] == 79.5 and state["mode"] == "AUTO" and state["heading_deg"] == 0.0
    pose = pose_from_state(state)
    assert pose is not None and pose.yaw_rate_dps == 20.0 and pose.heading_error_deg > 3.0


def test_the_gimbal_sign_flips_in_one_place():
    assert below_horizon_deg(-90.0) == 90.0 and below_horizon_deg(-45.0) == 45.0
    assert below_horizon_deg(10.0) == 0.0  # tilted up: clamped to level, nothing below it to place
    state = {"lat": 35.0, "lon": 139.0, "alt_m": 30.0, "heading_deg": 0.0, "gimbal_pitch_deg": -30.0}
    pose = pose_from_state(state)
    assert pose is not None and pose.gimbal_pitch_deg == 30.0
