"""The road survey's options: one validated model for CLI, API and workers, and the camera mounts.

Every entry point builds its options here, so a value that would hurt the pipeline (a segment of
a nanometre, a camera with no field of view, NaN) is refused up front with the field it names,
and a default (the sampling distance above all) is the same whoever starts the survey.

>>> SurveyOptions.model_validate({"camera": "motorbike"}).every_m
3.6
>>> describe_errors(options_error({"segment_m": 1e-9}))
'segment_m: Input should be greater than or equal to 10 (got 1e-09)'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from tenken.errors import ConfigError
from tenken.geo import CameraModel
from vision.road.grading import DEFAULT_LANE_WIDTH_M
from vision.road.route import DEFAULT_SEGMENT_M

MAX_EVERY_M = 4.0  # sampling further apart than this leaves gaps in the graded road


class CameraSettings(BaseModel):
    """How the camera sits in the car. Defaults suit a phone or dash cam behind the windscreen."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    height_m: float = Field(default=1.3, ge=0.2, le=10.0, description="Camera height above the road, m.")
    pitch_deg: float = Field(
        default=15.0, ge=0.0, le=90.0, description="Camera tilt below the horizon, degrees."
    )
    hfov_deg: float = Field(default=70.0, ge=10.0, le=170.0, description="Horizontal field of view, degrees.")

    def model(self, width_px: int, height_px: int) -> CameraModel:
        return CameraModel(self.height_m, self.pitch_deg, self.hfov_deg, width_px, height_px)


# Named mounts; each value can still be overridden (CLI flags, or `{"profile": ..., "height_m": ...}`).
CAMERA_PROFILES: dict[str, CameraSettings] = {
    # A phone in a windscreen holder: looks far ahead, sees the lane from ~5 m on.
    "windscreen": CameraSettings(height_m=1.3, pitch_deg=15.0, hfov_deg=70.0),
    # A wide dash cam (distortion not modelled: positions far from the centre are rougher).
    "dashcam": CameraSettings(height_m=1.25, pitch_deg=12.0, hfov_deg=100.0),
    # A camera on a motorbike pointed steeply at the road, as in RDD2022 China_MotorBike.
    "motorbike": CameraSettings(height_m=1.5, pitch_deg=50.0, hfov_deg=80.0),
}


def camera_from(value: Any) -> Any:
    """A profile name, or an object with an optional `profile` and overrides, as CameraSettings input.

    >>> camera_from({"profile": "dashcam", "height_m": 1.4})
    {'height_m': 1.4, 'pitch_deg': 12.0, 'hfov_deg': 100.0}
    """
    if isinstance(value, str):
        value = {"profile": value}
    if isinstance(value, dict) and "profile" in value:
        overrides = dict(value)
        name = overrides.pop("profile")
        if not isinstance(name, str) or name not in CAMERA_PROFILES:
            raise ValueError(f"unknown camera profile {name!r} (known: {', '.join(CAMERA_PROFILES)})")
        return CAMERA_PROFILES[name].model_dump() | overrides
    return value


def default_every_m(
    camera: CameraSettings, grading_range_m: float = 12.0, cap_m: float = MAX_EVERY_M
) -> float:
    """A sampling distance that leaves no gaps: 80 % of the road depth one frame sees, at most `cap_m`."""
    model = camera.model(640, 480)
    near = model.ground_offset(320, 479)
    far = model.ground_offset(320, max(0.0, model.horizon_row() + 0.1 * 480))
    if near is None or far is None:
        return cap_m
    depth = min(far[0], grading_range_m) - near[0]
    return round(max(0.5, min(cap_m, 0.8 * depth)), 1)


class SurveyOptions(BaseModel):
    """What a road survey may be asked to do differently; the bounds keep every value harmless."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    every_m: float = Field(
        default=MAX_EVERY_M,
        ge=0.5,
        le=100.0,
        description="Keep one frame every this many metres travelled "
        "(default: what the camera sees of the road, at most 4 m).",
    )
    # Not 0: a threshold of nothing turns every anchor into a detection for the merge to chew on.
    conf: float | None = Field(
        default=None, ge=0.01, le=1.0, description="Confidence threshold (default: the model's best-F1)."
    )
    batch: int = Field(default=8, ge=1, le=64, description="Frames per detector call.")
    camera: CameraSettings = Field(
        default=CAMERA_PROFILES["windscreen"],
        description="A profile name (windscreen, dashcam, motorbike) or "
        "{profile?, height_m?, pitch_deg?, hfov_deg?}.",
    )
    gps_error_m: float = Field(default=3.0, ge=0.0, le=100.0, description="GPS error to assume, m.")
    max_range_m: float = Field(
        default=20.0, ge=1.0, le=200.0, description="Detections further ahead are dropped, m."
    )
    gate_m: float = Field(
        default=4.0, ge=0.1, le=50.0, description="How far a tracked defect may jump between frames, m."
    )
    merge_radius_m: float = Field(
        default=3.0, ge=0.1, le=50.0, description="Same-class detections closer than this are one defect, m."
    )
    min_observations: int = Field(default=1, ge=1, le=10_000, description="Frames a defect must be seen in.")
    segment_m: float = Field(
        default=DEFAULT_SEGMENT_M, ge=10.0, le=10_000.0, description="Length of graded road segments, m."
    )
    lane_width_m: float = Field(
        default=DEFAULT_LANE_WIDTH_M, ge=1.0, le=20.0, description="Width of the surveyed lane, m."
    )
    grading_range_m: float = Field(
        default=12.0, ge=1.0, le=200.0, description="Cracks are not resolved further ahead than this, m."
    )
    video_start_s: float | None = Field(
        default=None,
        description="UNIX time of the first video frame (default: from the video, else the track).",
    )
    offset_s: float = Field(
        default=0.0,
        ge=-86_400.0,
        le=86_400.0,
        description="Shift the video along the track by this many seconds.",
    )
    max_frames: int | None = Field(
        default=None, ge=1, le=10_000_000, description="Stop after this many sampled frames."
    )

    @field_validator("camera", mode="before")
    @classmethod
    def _camera_profile(cls, value: Any) -> Any:
        return camera_from(value)

    @model_validator(mode="before")
    @classmethod
    def _sample_by_camera(cls, data: Any) -> Any:
        """No `every_m` given: sample as densely as the camera needs (the one sampling default)."""
        if not isinstance(data, dict) or data.get("every_m") is not None:
            return data
        try:
            camera = CameraSettings.model_validate(camera_from(data.get("camera", {})))
        except ValueError:  # a bad camera is reported by its own field; keep the cap meanwhile
            return {k: v for k, v in data.items() if k != "every_m"}
        return data | {"every_m": default_every_m(camera)}


def options_error(raw: Any) -> ValidationError | None:
    """The validation error of `raw` options, or None when they are valid (for doctests and tests)."""
    try:
        SurveyOptions.model_validate(raw)
    except ValidationError as exc:
        return exc
    return None


def describe_errors(
    exc: ValidationError | None, limit: int = 5, names: Mapping[str, str] | None = None
) -> str:
    """One line naming each bad field, its problem and the value given (no Python internals).

    `names` renames fields as the caller knows them (`camera.hfov_deg` -> `--hfov` in the CLI).
    """
    if exc is None:
        return ""
    parts = []
    for error in exc.errors(include_url=False)[:limit]:
        field = ".".join(str(p) for p in error["loc"]) or "options"
        field = (names or {}).get(field, field)
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            on_camera = error["loc"][0] == "camera"
            known = (
                ["profile", *CameraSettings.model_fields] if on_camera else list(SurveyOptions.model_fields)
            )
            parts.append(f"{field}: unknown option (known: {', '.join(known)})")
        elif error["type"] == "missing" or isinstance(error["input"], (dict, list)):
            parts.append(f"{field}: {message}")
        else:
            parts.append(f"{field}: {message} (got {error['input']!r})")
    return "; ".join(parts)


def parse_options(raw: Any, names: Mapping[str, str] | None = None) -> SurveyOptions:
    """Options from a JSON-like object (an upload, flags); raises ConfigError naming the bad fields."""
    try:
        return SurveyOptions.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"invalid survey options: {describe_errors(exc, names=names)}") from None


# The flag a user typed for each option, so an error names it as they know it.
FLAG_OF_FIELD = {
    "every_m": "--every-m",
    "conf": "--conf",
    "batch": "--batch",
    "camera": "--camera",
    "camera.height_m": "--camera-height",
    "camera.pitch_deg": "--camera-pitch",
    "camera.hfov_deg": "--hfov",
    "gps_error_m": "--gps-error",
    "merge_radius_m": "--merge-radius",
    "min_observations": "--min-observations",
    "segment_m": "--segment-m",
    "lane_width_m": "--lane-width",
    "video_start_s": "--start",
    "offset_s": "--offset",
    "max_frames": "--max-frames",
}


def option_help(field: str, *, camera: bool = False) -> str:
    """A CLI flag's help from the model, so its text, default and bounds have one home."""
    info = (CameraSettings if camera else SurveyOptions).model_fields[field]
    bounds = [
        f"{name} {getattr(m, name)}" for m in info.metadata for name in ("ge", "le") if hasattr(m, name)
    ]
    default = "" if camera or info.default is None or field == "every_m" else f"; default {info.default}"
    limits = f" [{', '.join(bounds).replace('ge ', '>= ').replace('le ', '<= ')}]" if bounds else ""
    return f"{(info.description or '').rstrip('.')}{default}{limits}."
