"""The survey's stages run beside the detector without changing what it finds."""

from __future__ import annotations

import threading

import pytest

from tenken.errors import VideoError
from tenken.findings import Observation
from tenken.geo import offset_latlon
from tests.synthetic_drive import ColourDetector, build_drive
from vision.road.sampling import decode_plan
from vision.road.survey import aggregate_frames, detect_frames, run_survey
from vision.road.survey_options import CAMERA_PROFILES, SurveyOptions
from vision.road.survey_overlap import EvidenceAhead, prefetch
from vision.road.tracking import Tracker

ORIGIN = (35.6, 140.1)


def obs(frame: int, east_m: float, conf: float = 0.8) -> Observation:
    lat, lon = offset_latlon(*ORIGIN, east_m, 0.0)
    return Observation(frame, float(frame), "D40", conf, (0, 0, 10, 10), lat, lon, 3.0)


def test_prefetch_yields_everything_in_order():
    assert list(prefetch(iter(range(50)), depth=3)) == list(range(50))


def test_prefetch_raises_the_producers_error_after_what_came_before():
    def frames():
        yield 1
        yield 2
        raise VideoError("cannot decode frame 3")

    seen = []
    with pytest.raises(VideoError, match="frame 3"):
        for item in prefetch(frames(), depth=1):
            seen.append(item)
    assert seen == [1, 2]


def test_prefetch_stops_its_thread_when_the_consumer_stops_early():
    stopped = threading.Event()

    def endless():
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            stopped.set()

    items = prefetch(endless(), depth=2)
    assert next(items) == 1
    items.close()
    assert stopped.wait(5)


def test_a_track_closes_after_the_gap_with_its_most_confident_observation():
    tracker = Tracker(gate_m=4.0, max_gap_s=4.0)
    tracker.add_frame(0, [obs(0, 0.0, conf=0.5)])
    tracker.add_frame(1, [obs(1, 0.2, conf=0.9)])
    tracker.add_frame(2, [obs(2, 0.1, conf=0.7)])
    assert tracker.closed_tracks(now_s=6.0) == []  # last seen at 2 s: still open at 6 s
    [closed] = tracker.closed_tracks(now_s=6.5)  # last seen at 2 s: closed at 6.5 s
    assert (closed.track_id, closed.best_key, closed.best_confidence) == (0, 1, 0.9)
    assert tracker.closed_tracks(now_s=9.0) == []  # reported once


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    return build_drive(tmp_path_factory.mktemp("drive"))


def test_evidence_started_ahead_is_the_evidence_aggregation_would_make(drive):
    from vision.road.survey import prepare_survey

    video, gpx = drive
    options = SurveyOptions(camera=CAMERA_PROFILES["windscreen"], every_m=2.0, gps_error_m=1.0)
    inputs = prepare_survey(video, gpx, options)
    frames = list(decode_plan(inputs.plan, inputs.track))
    results = detect_frames(frames, ColourDetector(), options, 0.25)
    ahead = EvidenceAhead(gate_m=options.gate_m, merge_radius_m=options.merge_radius_m)
    for result, frame in zip(results, frames, strict=True):
        ahead.add_frame(result.frame_index, frame.timestamp_s, result.observations, result.crops_jpeg)
    ahead.add_frame(10**6, 10**6, [], [])  # a frame long after: every track closes
    size = (inputs.info.width, inputs.info.height)
    route = [(f.pose.lat, f.pose.lon) for f in frames]
    plain = aggregate_frames(results, route, options, size)
    fast = aggregate_frames(results, route, options, size, ahead.crops)
    ahead.close()
    assert ahead.crops  # tracks closed during the drive: their crops were started early
    assert fast.crops_jpeg == plain.crops_jpeg and fast.defects == plain.defects


def test_survey_with_stages_overlapped_stops_on_a_detector_error(drive):
    class Failing(ColourDetector):
        def predict(self, frames, conf=None):
            raise RuntimeError("detector crashed")

    video, gpx = drive
    options = SurveyOptions(camera=CAMERA_PROFILES["windscreen"], every_m=2.0)
    with pytest.raises(RuntimeError, match="detector crashed"):
        run_survey(video, gpx, Failing(), options)


def test_the_survey_reports_the_cpu_time_of_the_face_and_plate_search(drive):
    video, gpx = drive
    options = SurveyOptions(camera=CAMERA_PROFILES["windscreen"], every_m=2.0, gps_error_m=1.0)
    result = run_survey(video, gpx, ColourDetector(), options)
    assert result.crops_jpeg  # evidence crops were anonymised
    cpu = {k: v for k, v in result.timings_s.items() if k.endswith("_cpu")}
    assert set(cpu) == {"privacy_cpu"} and cpu["privacy_cpu"] >= 0
