"""Sampling video frames by metres travelled, decoding only the frames that are kept.

Planning is separate from decoding so a caller knows the frame count up front (for a progress
bar) and planning stays a pure function of the track:

>>> plan_samples([0.0, 1.5, 3.0, 4.5, 4.5, 4.5, 9.0], every_m=4.0)
[0, 3, 6]

Frame times are the container's timestamps (planning) and each decoded frame's own timestamp
(decoding), so a variable-frame-rate video is placed where it was recorded.

Decoding policy: a frame that cannot be decoded before any frame was produced is a VideoError
naming it (the video is unusable); after frames were produced the sampler stops with a logged
warning, records where in `DecodeOutcome`, and the frames so far stand, because a truncated
recording still holds a usable survey (the report says how much of the video it covers).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from tenken.errors import ConfigError, VideoError
from tenken.findings import Pose
from vision.road.video import VideoInfo, grabbed_time_s, open_video, probe_video

log = logging.getLogger(__name__)

# A millimetre short counts as reached: UNIX times near 1.8e9 s carry ~2e-7 s of rounding, which
# at driving speed makes a frame that is 4 m on come out as 3.999998 m.
DISTANCE_EPSILON_M = 1e-3


class PoseSource(Protocol):
    """Where the camera was: a `tenken.tracks.Track`, or anything else that can say."""

    def pose_at(self, timestamp_s: float) -> Pose: ...

    def distances_along(self, timestamps_s: Sequence[float] | np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class SampledFrame:
    """One kept frame: its index in the video, its time, the camera pose then, and the BGR image."""

    frame_index: int
    timestamp_s: float
    pose: Pose
    image: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class SamplePlan:
    """Which frames of a video to decode, decided from the track before decoding anything."""

    info: VideoInfo
    video_start_s: float
    frame_indices: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.frame_indices)


@dataclass
class DecodeOutcome:
    """Where decoding a plan stopped short, if it did; `decode_plan` fills it in as it goes."""

    stopped_at_frame: int | None = None  # the first frame that could not be decoded
    stopped_at_s: float | None = None  # its video time (from the first frame)


def plan_samples(
    distances_m: Sequence[float] | np.ndarray, every_m: float, max_frames: int | None = None
) -> list[int]:
    """Indices of the frames to keep, given the distance along the track at every frame.

    The first frame is kept (it shows the road ahead of the start); after that a frame is kept
    when the distance since the last kept frame reaches `every_m`, so a stopped car adds no frames.
    At most `max_frames` indices are returned.
    """
    if every_m <= 0:
        raise ConfigError(f"sampling distance must be positive, got {every_m} m")
    if max_frames is not None and max_frames < 0:
        raise ConfigError(f"max_frames must be zero or more, got {max_frames}")
    limit = len(distances_m) if max_frames is None else max_frames
    kept: list[int] = []
    last_m = 0.0
    for index, distance_m in enumerate(np.asarray(distances_m, dtype=float).tolist()):
        if len(kept) >= limit:
            break
        if not kept or distance_m - last_m >= every_m - DISTANCE_EPSILON_M:
            kept.append(index)
            last_m = distance_m
    return kept


def plan_by_distance(
    video_path: str | Path,
    poses: PoseSource,
    video_start_s: float,
    every_m: float = 4.0,
    max_frames: int | None = None,
    info: VideoInfo | None = None,
) -> SamplePlan:
    """Open the video (checking it is readable) and plan which frames to keep; decodes nothing.

    Pass the video's `info` when it is already known, to skip probing the file again.
    """
    info = info or probe_video(video_path)
    distances_m = poses.distances_along(info.frame_times_s(video_start_s))
    return SamplePlan(info, video_start_s, tuple(plan_samples(distances_m, every_m, max_frames)))


def decode_plan(
    plan: SamplePlan, poses: PoseSource, outcome: DecodeOutcome | None = None
) -> Iterator[SampledFrame]:
    """Decode the planned frames in order: `grab()` every frame, `retrieve()` only the kept ones.

    Each frame's time is its own timestamp. Where decoding stops early is written to `outcome`.
    """
    if not plan.frame_indices:
        return
    wanted = set(plan.frame_indices)
    last_wanted = plan.frame_indices[-1]
    produced = 0
    with open_video(plan.info.path, plan.info) as (capture, info):
        for index in range(last_wanted + 1):
            ok = capture.grab()
            image = None
            if ok and index in wanted:
                ok, image = capture.retrieve()
                ok = ok and image is not None
            if not ok:
                if produced == 0:
                    raise VideoError(
                        f"{info.path}: cannot decode frame {index} of {info.frame_count} "
                        "(corrupt or truncated video)"
                    )
                log.warning(
                    "%s: cannot decode frame %d of %d; stopping with %d of %d planned frames",
                    info.path,
                    index,
                    info.frame_count,
                    produced,
                    len(plan),
                    extra={"frame_index": index},
                )
                if outcome is not None:
                    outcome.stopped_at_frame = index
                    outcome.stopped_at_s = plan.info.frame_time_s(index)
                return
            if image is None:
                continue
            timestamp_s = plan.video_start_s + grabbed_time_s(capture, plan.info, index)
            yield SampledFrame(index, timestamp_s, poses.pose_at(timestamp_s), image)
            produced += 1


def sample_by_distance(
    video_path: str | Path,
    poses: PoseSource,
    video_start_s: float,
    every_m: float = 4.0,
    max_frames: int | None = None,
) -> Iterator[SampledFrame]:
    """Frames taken every `every_m` metres travelled, each with its pose.

    `video_start_s` is the track time of the first frame (see `tenken.tracks.align_video`). Use
    `plan_by_distance` + `decode_plan` instead when the number of frames is needed up front.
    """
    plan = plan_by_distance(video_path, poses, video_start_s, every_m, max_frames)
    return decode_plan(plan, poses)
