"""The road survey: drive video + GPS track -> merged, georeferenced, graded defects.

The same functions serve `tenken analyze` (one process) and the distributed workers, which call
`detect_frames` per chunk and `aggregate_survey` once per job.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from tenken.errors import VideoError
from tenken.findings import Defect, Observation, Pose, SegmentGrade
from tenken.tracks import Track, align_video, load_track
from vision.models.detections import Detections
from vision.models.detector import Detector
from vision.models.registry import DEFAULT_CONF
from vision.road.coverage import VideoCoverage, video_coverage
from vision.road.evidence import anonymised_evidence, context_crop_jpeg
from vision.road.georef import GeorefOptions, georeference_detections
from vision.road.grading import grade_segments, seen_intervals_from_frames, severity_of
from vision.road.merge import MergeOptions, merge_observations
from vision.road.sampling import (
    DecodeOutcome,
    PoseSource,
    SampledFrame,
    SamplePlan,
    decode_plan,
    plan_by_distance,
)
from vision.road.survey_options import SurveyOptions
from vision.road.survey_overlap import CpuClock, EvidenceAhead, prefetch
from vision.road.tracking import link_observations
from vision.road.video import VideoInfo, grabbed_time_s, open_video, probe_video

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (frames done, frames planned)


@dataclass
class FrameResult:
    """What one sampled frame produced: its pose, and its georeferenced observations with crops."""

    frame_index: int
    pose: Pose
    observations: list[Observation]
    crops_jpeg: list[bytes]  # one per observation, not yet anonymised


@dataclass
class SurveyResult:
    video: str
    track: str
    defects: list[Defect]
    segments: list[SegmentGrade]
    route: list[tuple[float, float]]
    frames_sampled: int
    frames_total: int
    observations: int
    crops_jpeg: dict[int, bytes]  # defect id -> evidence crop (anonymised)
    timings_s: dict[str, float] = field(default_factory=dict)
    video_start_s: float = 0.0
    coverage: VideoCoverage | None = None  # how much of the video was decoded and analysed


def detect_frames(
    frames: Sequence[SampledFrame],
    detector: Detector,
    options: SurveyOptions,
    conf: float,
) -> list[FrameResult]:
    """Detect and georeference a batch of sampled frames (the per-chunk step of a job)."""
    if not frames:
        return []
    return frame_results(frames, detector.predict([f.image for f in frames], conf=conf), options)


def frame_results(
    frames: Sequence[SampledFrame], detections: Sequence[Detections], options: SurveyOptions
) -> list[FrameResult]:
    """Georeference each frame's detections and cut their context crops."""
    georef = GeorefOptions(gps_error_m=options.gps_error_m, max_range_m=options.max_range_m)
    results: list[FrameResult] = []
    for frame, dets in zip(frames, detections, strict=True):
        h, w = frame.image.shape[:2]
        camera = options.camera.model(w, h)
        observations = georeference_detections(dets, frame.pose, camera, frame.frame_index, georef)
        crops = [context_crop_jpeg(frame.image, obs.box_xyxy) for obs in observations]
        results.append(FrameResult(frame.frame_index, frame.pose, observations, crops))
    return results


def route_points(
    track: Track, start_s: float, end_s: float, step_s: float = 1.0
) -> list[tuple[float, float]]:
    """The driven line between two times, sampled every `step_s` (and at both ends)."""
    times = [start_s + i * step_s for i in range(int((end_s - start_s) / step_s) + 1)]
    if not times or times[-1] < end_s:
        times.append(end_s)
    points: list[tuple[float, float]] = []
    for pose in track.poses_at(times):
        if not points or points[-1] != (pose.lat, pose.lon):
            points.append((pose.lat, pose.lon))
    return points


@dataclass
class SurveyAggregate:
    """What the once-per-job step produced, with which observations each defect merged."""

    defects: list[Defect]
    segments: list[SegmentGrade]
    crops_jpeg: dict[int, bytes]  # defect id -> evidence crop (anonymised)
    n_observations: int
    members: dict[int, list[tuple[int, int]]]  # defect id -> [(frame_index, k)], k: index in its frame
    seen_at_s: dict[int, float]  # defect id -> time of its first observation


def graded_range_m(options: SurveyOptions, frame_size: tuple[int, int]) -> tuple[float, float]:
    """(near, far) ground distance ahead of the camera that a frame grades: the image's bottom row
    to the range cracks are still resolved at."""
    w, h = frame_size
    near = options.camera.model(w, h).ground_offset(w / 2, h - 1)
    near_m = near[0] if near else 0.0
    return near_m, max(near_m + 1.0, min(options.grading_range_m, options.max_range_m))


def aggregate_frames(
    frame_results: Iterable[FrameResult],
    route: Sequence[tuple[float, float]],
    options: SurveyOptions,
    frame_size: tuple[int, int],
    ready_crops: Mapping[tuple[int, int], Future[bytes]] | None = None,
    clock: CpuClock | None = None,
) -> SurveyAggregate:
    """Track, merge, grade: the once-per-job step, keeping each defect's observations.

    `ready_crops`: anonymised evidence already started for some observations, by (frame index,
    index in its frame); a defect uses one only when it chose that very observation. `clock`:
    where the CPU time of the face and plate search is added ("privacy").
    """
    ready_crops = ready_crops or {}
    ordered = sorted(frame_results, key=lambda r: r.frame_index)
    observations: list[Observation] = []
    crops: dict[tuple[int, int], bytes] = {}
    position: list[tuple[int, int]] = []  # global observation index -> (frame_index, k)
    for result in ordered:
        for k, obs in enumerate(result.observations):
            observations.append(obs)
            position.append((result.frame_index, k))
            crops[(obs.frame_index, len(observations) - 1)] = result.crops_jpeg[k]
    linked = link_observations(observations, gate_m=options.gate_m)
    defects, clusters = merge_observations(
        linked,
        severity_of,
        MergeOptions(options.merge_radius_m, options.min_observations, options.gps_error_m),
    )
    index_of = {id(o): i for i, o in enumerate(linked)}
    members: dict[int, list[tuple[int, int]]] = {}
    seen_at_s: dict[int, float] = {}
    chosen: list[tuple[tuple[int, int], bytes, tuple[float, float, float, float]]] = []
    for defect, cluster in zip(defects, clusters, strict=True):
        best = max(cluster, key=lambda o: o.confidence)
        key = (best.frame_index, index_of[id(best)])
        chosen.append((position[index_of[id(best)]], crops[key], best.box_xyxy))
        members[defect.defect_id] = sorted(position[index_of[id(o)]] for o in cluster)
        seen_at_s[defect.defect_id] = min(o.timestamp_s for o in cluster)
    # Face and plate search is the costliest step after detection; OpenCV releases the GIL in it.
    anonymise = clock.timed("privacy", anonymised_evidence) if clock else anonymised_evidence
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        futures = [ready_crops.get(at) or pool.submit(anonymise, c, box) for at, c, box in chosen]
        blurred = [f.result() for f in futures]
    defect_crops = {d.defect_id: crop for d, crop in zip(defects, blurred, strict=True)}

    near_m, far_m = graded_range_m(options, frame_size)
    seen = seen_intervals_from_frames(
        list(route), [(r.pose.lat, r.pose.lon) for r in ordered], near_m=near_m, far_m=far_m
    )
    segments = grade_segments(
        list(route), defects, seen, segment_m=options.segment_m, lane_width_m=options.lane_width_m
    )
    return SurveyAggregate(defects, segments, defect_crops, len(observations), members, seen_at_s)


def aggregate_survey(
    frame_results: Iterable[FrameResult],
    route: Sequence[tuple[float, float]],
    options: SurveyOptions,
    frame_size: tuple[int, int],
) -> tuple[list[Defect], list[SegmentGrade], dict[int, bytes], int]:
    """Track, merge, grade: the once-per-job step. Returns defects, segments, crops, observation count."""
    result = aggregate_frames(frame_results, route, options, frame_size)
    return result.defects, result.segments, result.crops_jpeg, result.n_observations


def decode_chunk(
    video_path: str | Path,
    frame_indices: Sequence[int],
    video_start_s: float,
    poses: PoseSource,
    info: VideoInfo | None = None,
) -> list[SampledFrame]:
    """Decode the planned frames of one chunk of a job, each with its pose.

    Unlike the embedded sampler, which stops at the first undecodable frame, a chunk is all or
    nothing: a planned frame that does not decode is a VideoError naming it, so the job records
    which stretch of the video is corrupt while its other chunks complete.

    `info` is the probed video (with its frames' timestamps; probed here when not given). The
    decoder seeks near the chunk's first frame and tells which frame it landed on by its
    timestamp, then walks forward checking every frame's timestamp against the probe; when that
    fails (a damaged file), it grabs every frame from the start, as the embedded sampler does,
    so both paths see the same frames at the same times.
    """
    wanted = sorted(set(frame_indices))
    if not wanted:
        return []
    info = info or probe_video(video_path)
    if wanted[0] > 0:
        frames = _decode_planned(info, wanted, video_start_s, poses, seek=True)
        if frames is not None:
            return frames
        log.info("%s: cannot seek exactly to frame %d; decoding from the start", video_path, wanted[0])
    frames = _decode_planned(info, wanted, video_start_s, poses, seek=False)
    assert frames is not None  # only a seek gives up
    return frames


def _seek_before(capture: cv2.VideoCapture, info: VideoInfo, frame_index: int) -> int | None:
    """Seek to `frame_index` or a frame before it; the index of the frame the next grab returns.

    OpenCV seeks by frame number = time x nominal rate, which on a variable-frame-rate video is
    not the frame's index; the frame landed on is found by its timestamp. None when that fails.
    """
    target = frame_index
    for _ in range(3):
        capture.set(cv2.CAP_PROP_POS_FRAMES, target)
        if not capture.grab():
            return None
        landed = info.frame_at_time(float(capture.get(cv2.CAP_PROP_POS_MSEC)) / 1000.0)
        if landed is None:
            return None
        if landed <= frame_index:
            return landed
        target = max(0, target - 2 * (landed - frame_index))
    return None


def _decode_planned(
    info: VideoInfo, wanted: list[int], video_start_s: float, poses: PoseSource, *, seek: bool
) -> list[SampledFrame] | None:
    """Frames `wanted` (sorted), seeking to or before the first one (`seek`) or from frame 0.

    None when a seek cannot be placed exactly (a frame's timestamp is not the probed one).
    """
    out: list[SampledFrame] = []
    with open_video(info.path, info) as (capture, _):
        first, grabbed = 0, False
        if seek:
            landed = _seek_before(capture, info, wanted[0])
            if landed is None:
                return None
            first, grabbed = landed, True
        wanted_set = set(wanted)
        for index in range(first, wanted[-1] + 1):
            ok = grabbed or capture.grab()
            grabbed = False
            time_s = grabbed_time_s(capture, info, index) if ok else None
            if seek and ok and info.frame_at_time(time_s or 0.0) != index:
                return None
            if index not in wanted_set:
                continue
            image = None
            if ok:
                ok, image = capture.retrieve()
            if not ok or image is None or time_s is None:
                raise VideoError(
                    f"{info.path}: cannot decode frame {index} of {info.frame_count} (corrupt segment)"
                )
            timestamp_s = video_start_s + time_s
            out.append(SampledFrame(index, timestamp_s, poses.pose_at(timestamp_s), image))
    return out


def split_chunks(frame_indices: Sequence[int], chunk_frames: int) -> list[list[int]]:
    """Planned frames cut into consecutive chunks of at most `chunk_frames`.

    >>> split_chunks([0, 4, 9, 13, 20], 2)
    [[0, 4], [9, 13], [20]]
    """
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be at least 1, got {chunk_frames}")
    return [list(frame_indices[i : i + chunk_frames]) for i in range(0, len(frame_indices), chunk_frames)]


@dataclass(frozen=True)
class SurveyInputs:
    """A checked video and track, aligned, with the frames to sample planned."""

    track: Track
    info: VideoInfo
    start_s: float
    plan: SamplePlan


def prepare_survey(video_path: Path, track_path: Path, options: SurveyOptions) -> SurveyInputs:
    """Read the track, probe the video, align them and plan the samples; raises on bad input."""
    track = load_track(track_path)
    info = probe_video(video_path)
    start_s = align_video(track, info.duration_s, options.video_start_s, options.offset_s)
    plan = plan_by_distance(video_path, track, start_s, options.every_m, options.max_frames, info)
    return SurveyInputs(track, info, start_s, plan)


def run_survey(
    video_path: Path,
    track_path: Path,
    detector: Detector,
    options: SurveyOptions = SurveyOptions(),
    *,
    conf: float = DEFAULT_CONF,
    progress: Progress | None = None,
    prepared: SurveyInputs | None = None,
) -> SurveyResult:
    """The whole embedded survey, in one process (inputs checked first by `prepare_survey`).

    `conf` is the threshold already resolved for the detector (`ModelInfo.threshold`).
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    inputs = prepared or prepare_survey(video_path, track_path, options)
    track, info, start_s, plan = inputs.track, inputs.info, inputs.start_s, inputs.plan
    timings["prepare"] = time.perf_counter() - t0

    # Decoding runs ahead in a thread; georeferencing, crops and the evidence of closed tracks run
    # behind the detector in another, so the detector (the one big cost) is rarely left waiting.
    results: list[FrameResult] = []
    clock = CpuClock()
    evidence = EvidenceAhead(gate_m=options.gate_m, merge_radius_m=options.merge_radius_m, clock=clock)
    t_detect = t_wait = 0.0
    t_start = time.perf_counter()
    done = 0
    outcome = DecodeOutcome()

    def after_detection(batch: list[SampledFrame], detections: list[Detections]) -> None:
        for result, frame in zip(frame_results(batch, detections, options), batch, strict=True):
            results.append(result)
            evidence.add_frame(result.frame_index, frame.timestamp_s, result.observations, result.crops_jpeg)

    try:
        with (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="survey-post") as post,
            contextlib.closing(prefetch(decode_plan(plan, track, outcome), 2 * options.batch)) as frames,
        ):
            behind: Future[None] | None = None
            while True:
                t = time.perf_counter()
                batch = list(itertools.islice(frames, options.batch))
                t_wait += time.perf_counter() - t
                if not batch:
                    break
                t = time.perf_counter()
                detections = detector.predict([f.image for f in batch], conf=conf)
                t_detect += time.perf_counter() - t
                if behind is not None:
                    behind.result()  # one batch behind at most; raises what it raised
                behind = post.submit(after_detection, batch, detections)
                done += len(batch)
                if progress:
                    progress(done, len(plan))
            if behind is not None:
                behind.result()
        timings["detect"] = t_detect
        timings["decode"] = t_wait  # time the detector waited for decoded frames
        timings["post"] = time.perf_counter() - t_start - t_detect - t_wait

        t = time.perf_counter()
        route = route_points(track, start_s, start_s + info.duration_s)
        agg = aggregate_frames(results, route, options, (info.width, info.height), evidence.crops, clock)
    finally:
        evidence.close()
    timings["aggregate"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    # CPU seconds of the face and plate search of evidence crops, in the threads that ran it
    timings.update({f"{stage}_cpu": seconds for stage, seconds in clock.seconds.items()})
    return SurveyResult(
        video=str(video_path),
        track=str(track_path),
        defects=agg.defects,
        segments=agg.segments,
        route=route,
        frames_sampled=len(results),
        frames_total=info.frame_count,
        observations=agg.n_observations,
        crops_jpeg=agg.crops_jpeg,
        timings_s={k: round(v, 3) for k, v in timings.items()},
        video_start_s=start_s,
        coverage=video_coverage(
            info, len(plan), len(results), outcome.stopped_at_frame, outcome.stopped_at_s
        ),
    )
