"""The road survey pipeline on a synthetic drive with marks painted at known positions."""

import json

import pytest

from tenken.errors import TrackError
from tenken.geo import distance_m
from tests.synthetic_drive import PLANTED, ColourDetector, build_drive, phone_frame_times_s
from vision.models.registry import ModelInfo
from vision.road.report import write_survey_report
from vision.road.survey import run_survey
from vision.road.survey_options import CAMERA_PROFILES, SurveyOptions


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    return build_drive(tmp_path_factory.mktemp("drive"))


@pytest.fixture(scope="module")
def phone_drive(tmp_path_factory):
    """The same drive recorded at a variable frame rate: 10 fps for 3 s, then 3.3 fps."""
    return build_drive(tmp_path_factory.mktemp("phone-drive"), frame_times_s=phone_frame_times_s())


def options(**kw):
    return SurveyOptions(camera=CAMERA_PROFILES["windscreen"], every_m=2.0, gps_error_m=1.0, **kw)


def assert_each_planted_defect_found_at_its_place(result):
    assert sorted(d.class_name for d in result.defects) == sorted(p.class_name for p in PLANTED)
    for planted in PLANTED:
        lat, lon = planted.latlon()
        nearest = min(
            (d for d in result.defects if d.class_name == planted.class_name),
            key=lambda d: distance_m(lat, lon, d.lat, d.lon),
        )
        assert distance_m(lat, lon, nearest.lat, nearest.lon) < min(nearest.error_m, 1.5)


def test_each_painted_defect_becomes_one_defect_at_its_place(drive):
    video, gpx = drive
    assert_each_planted_defect_found_at_its_place(run_survey(video, gpx, ColourDetector(), options()))


def test_defects_on_a_variable_frame_rate_video_land_at_their_place(phone_drive):
    # Placed by frame number / frame rate, the marks after the first 3 s landed up to 20 m short.
    video, gpx = phone_drive
    assert_each_planted_defect_found_at_its_place(run_survey(video, gpx, ColourDetector(), options()))


def test_defects_seen_in_several_frames_are_merged_not_repeated(drive):
    video, gpx = drive
    result = run_survey(video, gpx, ColourDetector(), options())
    assert result.observations > len(result.defects)
    assert all(d.n_observations >= 2 for d in result.defects)


def test_only_sampled_frames_reach_the_detector(drive):
    video, gpx = drive
    detector = ColourDetector()
    result = run_survey(video, gpx, detector, options())
    assert detector.frames_seen == result.frames_sampled
    # 56 m at one frame every 2 m, plus the first frame
    assert result.frames_sampled == pytest.approx(29, abs=1)
    assert result.frames_total > 3 * result.frames_sampled


def test_route_is_graded_in_segments_with_what_was_seen(drive):
    video, gpx = drive
    result = run_survey(video, gpx, ColourDetector(), options(segment_m=25.0))
    assert len(result.segments) == 3
    assert all(s.surveyed_fraction > 0.5 for s in result.segments[:2])
    assert sum(sum(s.defect_counts.values()) for s in result.segments) == len(result.defects)
    assert all(s.category in {"I", "II", "III"} for s in result.segments if s.crack_ratio_pct is not None)


def test_track_from_another_time_is_refused(drive, tmp_path):
    video, gpx = drive
    with pytest.raises(TrackError, match="track covers"):
        run_survey(video, gpx, ColourDetector(), options(video_start_s=0.0))


def test_report_folder_is_written_whole(drive, tmp_path):
    video, gpx = drive
    result = run_survey(video, gpx, ColourDetector(), options())
    info = ModelInfo("fake", "0", "detect", ColourDetector.names, 320, 0.5, "n/a", tmp_path)
    out = tmp_path / "report"
    summary = write_survey_report(
        result,
        out,
        model=info,
        weights=tmp_path / "fake.onnx",
        backend="fake",
        conf=0.5,
        options=options(),
        tile_url="",
    )
    assert summary["counts"]["defects"] == len(PLANTED)
    names = {p.name for p in out.iterdir()}
    assert {
        "index.html",
        "defects.geojson",
        "defects.csv",
        "segments.geojson",
        "report.json",
        "crops",
    } <= names
    fc = json.loads((out / "defects.geojson").read_text())
    assert len(fc["features"]) == len(PLANTED)
    for feature in fc["features"]:
        crop = feature["properties"]["crop_path"]
        assert (out / crop).is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".report")]  # no temporary leftovers
