"""The survey options model: camera presets, the one sampling default, bounds that keep the pipeline safe."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tenken.errors import ConfigError
from vision.road.grading import grade_segments
from vision.road.survey_options import (
    CAMERA_PROFILES,
    CameraSettings,
    SurveyOptions,
    default_every_m,
    describe_errors,
    parse_options,
)


def test_a_camera_profile_name_selects_its_mount():
    options = SurveyOptions.model_validate({"camera": "motorbike"})
    assert options.camera == CAMERA_PROFILES["motorbike"]


def test_a_profile_with_overrides_keeps_the_rest_of_the_mount():
    options = SurveyOptions.model_validate({"camera": {"profile": "dashcam", "height_m": 1.6}})
    assert options.camera == CameraSettings(height_m=1.6, pitch_deg=12.0, hfov_deg=100.0)


def test_sampling_defaults_to_what_the_camera_sees():
    motorbike = SurveyOptions.model_validate({"camera": "motorbike"})
    assert motorbike.every_m == default_every_m(CAMERA_PROFILES["motorbike"]) == 3.6
    assert SurveyOptions().every_m == default_every_m(CAMERA_PROFILES["windscreen"]) == 4.0
    assert SurveyOptions(camera=CAMERA_PROFILES["motorbike"]).every_m == 3.6


def test_an_explicit_sampling_distance_wins_over_the_camera_default():
    assert SurveyOptions.model_validate({"camera": "motorbike", "every_m": 2.5}).every_m == 2.5


def test_options_survive_the_json_a_job_is_stored_as():
    options = SurveyOptions.model_validate({"camera": "motorbike", "conf": 0.4, "max_frames": 9})
    assert SurveyOptions.model_validate(options.model_dump(mode="json")) == options


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"segment_m": 1e-9}, "segment_m"),
        ({"every_m": 1e-9}, "every_m"),
        ({"camera": {"hfov_deg": 0}}, "camera.hfov_deg"),
        ({"lane_width_m": 0}, "lane_width_m"),
        ({"gps_error_m": math.nan}, "gps_error_m"),
        ({"camera": {"height_m": "abc"}}, "camera.height_m"),
        ({"camera": "tractor"}, "camera"),
        ({"conf": 1.5}, "conf"),
        ({"offset_s": math.inf}, "offset_s"),
        ({"batch": 10**9}, "batch"),
        ({"detector": "os:system"}, "detector"),
        ({"camera": {"zoom": 2}}, "camera.zoom"),
    ],
)
def test_a_bad_value_is_refused_naming_its_field(raw, field):
    with pytest.raises(ConfigError) as caught:
        parse_options(raw)
    message = str(caught.value)
    assert message.startswith(f"invalid survey options: {field}: "), message
    assert "Traceback" not in message and "pydantic" not in message and "\n" not in message


def test_errors_name_fields_as_the_caller_knows_them():
    with pytest.raises(ValidationError) as caught:
        SurveyOptions.model_validate({"camera": {"hfov_deg": 0}})
    assert describe_errors(caught.value, names={"camera.hfov_deg": "--hfov"}).startswith("--hfov: ")


NUMERIC_FIELDS = [
    name
    for name, info in SurveyOptions.model_fields.items()
    if name not in ("camera", "video_start_s") and info.annotation is not None
]
ANY_NUMBER = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([None, "abc", "", True, [], {}]),
)
ROUTE = [(35.61 + i * 0.0001, 140.11) for i in range(12)]  # ~120 m northward


@settings(max_examples=300, deadline=None)
@given(
    values=st.dictionaries(st.sampled_from(NUMERIC_FIELDS), ANY_NUMBER, max_size=5),
    camera=st.one_of(
        st.sampled_from([*CAMERA_PROFILES, "tractor", None]),
        st.dictionaries(st.sampled_from(["height_m", "pitch_deg", "hfov_deg"]), ANY_NUMBER, max_size=3),
    ),
)
def test_any_options_are_refused_by_field_or_are_safe_for_the_pipeline(values, camera):
    raw = dict(values) | ({} if camera is None else {"camera": camera})
    try:
        options = SurveyOptions.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            assert error["loc"] and error["loc"][0] in SurveyOptions.model_fields
        assert describe_errors(exc)
        return
    numbers = [v for v in options.model_dump().values() if isinstance(v, float)]
    assert all(math.isfinite(v) for v in numbers)
    assert 0.5 <= options.every_m <= 100
    model = options.camera.model(640, 480)
    assert model.ground_offset(320, 479) is not None  # the bottom row always sees the road
    segments = grade_segments(
        ROUTE, [], [(0.0, 120.0)], segment_m=options.segment_m, lane_width_m=options.lane_width_m
    )
    assert 1 <= len(segments) <= 12
