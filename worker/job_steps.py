"""The three steps of a video job — prepare, run a chunk, aggregate — as both executors run them.

Each step reads ids and state from the store, calls the road-survey pipeline, and writes back
with a state transition that makes running it twice harmless: a re-delivered prepare finds the
job running, a re-delivered chunk finds itself done, a re-delivered aggregation finds the job
completed. Celery tasks (`worker.tasks`) and the in-process pool (`worker.executor`) are thin
callers of these functions.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenken.errors import TenkenError
from tenken.events import FINDINGS, JOBS, EventBus
from tenken.settings import Settings
from tenken.store import defects as defectstore
from tenken.store import job_frames as framestore
from tenken.store import jobs as jobstore
from tenken.store.db import Store
from tenken.store.repairs import reopen_found_again
from tenken.tracks import Track, load_track
from vision.models.runtime import DEFAULT_RUNTIME, RuntimeOptions
from vision.road.coverage import VideoCoverage, video_coverage
from vision.road.network_jobs import locate_if_network
from vision.road.survey import (
    FrameResult,
    SurveyResult,
    aggregate_frames,
    decode_chunk,
    detect_frames,
    prepare_survey,
    route_points,
    split_chunks,
)
from vision.road.survey_options import SurveyOptions, parse_options
from vision.road.video import VideoInfo, probe_video
from worker.detectors import describe_detector, get_detector

log = logging.getLogger(__name__)


def job_options(job: jobstore.JobRow) -> SurveyOptions:
    """The options a job was queued with (validated when queued; stored as the model's JSON)."""
    options = parse_options(job.options or {})
    if options.conf is None and job.conf is not None:  # jobs queued before `conf` moved into options
        options = options.model_copy(update={"conf": job.conf})
    return options


def job_event(job: jobstore.JobRow) -> dict[str, Any]:
    """What the JOBS channel carries about a job."""
    return {
        "job_id": job.id,
        "state": job.state,
        "frames_done": job.frames_done,
        "frames_total": job.frames_total,
        "error": job.error,
        "errors": list(job.errors or []),
        "stalled": False,  # an event means the job just moved
    }


def publish_quietly(bus: EventBus | None, channel: str, data: dict[str, Any]) -> None:
    """Publish an event; the store is the record, so a bus outage is logged, never fatal."""
    if bus is None:
        return
    try:
        bus.publish(channel, data)
    except Exception as exc:  # redis.ConnectionError and friends: events are best effort
        log.warning("could not publish on %s: %s", channel, exc)


def publish_job(store: Store, bus: EventBus | None, job_id: str) -> None:
    with store.session() as s:
        event = job_event(jobstore.get_job(s, job_id))
    publish_quietly(bus, JOBS, event)


_tracks: dict[str, Track] = {}
_videos: dict[str, VideoInfo] = {}
_inputs_lock = threading.Lock()


def _track(path: str) -> Track:
    """Tracks are parsed once per process and job (chunks of one job share it)."""
    with _inputs_lock:
        track = _tracks.get(path)
        if track is None:
            if len(_tracks) > 32:
                _tracks.clear()
            track = _tracks[path] = load_track(path)
        return track


def _video(path: str) -> VideoInfo:
    """Videos are probed (every frame's timestamp read) once per process and job."""
    with _inputs_lock:
        info = _videos.get(path)
        if info is None:
            if len(_videos) > 32:
                _videos.clear()
            info = _videos[path] = probe_video(path)
        return info


def prepare_job(store: Store, job_id: str, chunk_frames: int, bus: EventBus | None = None) -> list[int]:
    """Check the inputs, plan the frames and cut them into chunks; returns the chunks still to run.

    Bad input (a corrupt video, a track from another day) fails the job with its message.
    """
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        state, video, track_path, options = job.state, job.video_path, job.track_path, job_options(job)
    if state == jobstore.RUNNING:  # a re-delivery: the chunks exist; send the unfinished again
        with store.session() as s:
            return jobstore.pending_chunks(s, job_id)
    if state != jobstore.QUEUED:
        return []
    try:
        inputs = prepare_survey(Path(video), Path(track_path), options)
    except TenkenError as exc:
        with store.session() as s:
            jobstore.fail_job(s, job_id, str(exc))
        publish_job(store, bus, job_id)
        return []
    if inputs.track.warning:
        log.warning("job %s: %s", job_id, inputs.track.warning, extra={"job_id": job_id})
    chunks = split_chunks(inputs.plan.frame_indices, chunk_frames)
    with store.session() as s:
        started = jobstore.start_job(
            s,
            job_id,
            chunks,
            video_start_s=inputs.start_s,
            duration_s=inputs.info.duration_s,
            frame_size=(inputs.info.width, inputs.info.height),
            frames_in_video=inputs.info.frame_count,
        )
    if started:
        publish_job(store, bus, job_id)
    with store.session() as s:
        return jobstore.pending_chunks(s, job_id)


@dataclass(frozen=True)
class ChunkOutcome:
    ran: bool  # False: skipped (job not running, chunk finished before)
    all_finished: bool  # no chunk of the job is pending any more: time to aggregate


def ready_to_aggregate(store: Store, job_id: str) -> bool:
    """The job is running and none of its chunks is pending."""
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        return job.state == jobstore.RUNNING and not jobstore.pending_chunks(s, job_id)


def run_chunk(
    store: Store,
    job_id: str,
    index: int,
    *,
    max_attempts: int,
    bus: EventBus | None = None,
    runtime: RuntimeOptions = DEFAULT_RUNTIME,
) -> ChunkOutcome:
    """Detect one chunk's frames and store their results, once.

    Bad input in the chunk (an undecodable stretch of video) fails the chunk at once with its
    message. Any other error is raised for the caller to retry, until the chunk has been tried
    `max_attempts` times (a worker killed while holding it counts too): then it is failed as a
    poison chunk and the job goes on without it.
    """
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        if job.state != jobstore.RUNNING:
            return ChunkOutcome(False, False)
        attempts = jobstore.begin_chunk_attempt(s, job_id, index)
    if attempts == 0:
        return ChunkOutcome(False, ready_to_aggregate(store, job_id))
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        frames = list(jobstore.get_chunk(s, job_id, index).frame_indices)
        spec, video, track_path = job.detector, job.video_path, job.track_path
        options, start_s = job_options(job), float(job.video_start_s or 0.0)
    error: str | None = None
    results: list[FrameResult] = []
    if attempts > max_attempts:
        error = f"gave up after {max_attempts} attempts (the worker died or failed each time)"
    else:
        try:
            loaded = get_detector(spec, runtime)
            threshold = loaded.info.threshold(options.conf)
            sampled = decode_chunk(video, frames, start_s, _track(track_path), _video(video))
            for i in range(0, len(sampled), options.batch):
                results.extend(
                    detect_frames(sampled[i : i + options.batch], loaded.detector, options, threshold)
                )
        except TenkenError as exc:  # deterministic bad input: retrying cannot help
            error = str(exc)
        except Exception as exc:
            if attempts < max_attempts:
                raise
            error = f"{type(exc).__name__}: {exc}"
    with store.session() as s:
        if jobstore.get_job(s, job_id).state != jobstore.RUNNING:
            return ChunkOutcome(False, False)  # canceled meanwhile: drop the results
        if error is None:
            framestore.save_frame_results(
                s, job_id, ((r.frame_index, r.pose, r.observations, r.crops_jpeg) for r in results)
            )
        finished = jobstore.finish_chunk(s, job_id, index, error=error)
    if error:
        log.warning("job %s chunk %d failed: %s", job_id, index, error, extra={"job_id": job_id})
    if finished:
        publish_job(store, bus, job_id)
    return ChunkOutcome(True, ready_to_aggregate(store, job_id))


def aggregate_job(store: Store, job_id: str, settings: Settings, bus: EventBus | None = None) -> bool:
    """Track, merge and grade a job whose chunks are all finished, store the findings, write the
    report folder and mark the job completed. True only for the call that completed it."""
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        if job.state != jobstore.RUNNING or jobstore.pending_chunks(s, job_id):
            return False
        frames = framestore.load_frame_results(s, job_id)
        options = job_options(job)
        spec, video, track_path = job.detector, job.video_path, job.track_path
        start_s, duration_s = float(job.video_start_s or 0.0), float(job.duration_s or 0.0)
        frame_size = (int(job.frame_width or 0), int(job.frame_height or 0))
        frames_in_video = int(job.frames_in_video or 0)
        frames_planned = int(job.frames_total or 0)
    track = _track(track_path)
    route = route_points(track, start_s, start_s + duration_s)
    results = [FrameResult(i, pose, obs, crops) for i, pose, obs, crops in frames]
    agg = aggregate_frames(results, route, options, frame_size)
    report_dir = settings.data_dir / "reports" / job_id
    report: str | None = None
    if agg.defects or results:
        report = str(report_dir)
        _write_report(
            report_dir,
            SurveyResult(
                video=video,
                track=track_path,
                defects=agg.defects,
                segments=agg.segments,
                route=route,
                frames_sampled=len(results),
                frames_total=frames_in_video,
                observations=agg.n_observations,
                crops_jpeg=agg.crops_jpeg,
                video_start_s=start_s,
                coverage=_coverage(video, frames_planned, len(results)),
            ),
            spec,
            options,
            settings,
        )
    findings = defectstore.JobFindings(agg.defects, agg.segments, agg.crops_jpeg, agg.members, agg.seen_at_s)
    with store.session() as s:
        completed = jobstore.complete_job(s, job_id, findings, report_dir=report)
    if completed:
        _put_on_network(store, job_id)
        _reopen_found_again(store, job_id)
        with store.session() as s:
            for row in defectstore.query_defects(s, job_id=job_id, limit=1_000_000):
                publish_quietly(bus, FINDINGS, defect_event(row))
        publish_job(store, bus, job_id)
    return completed


def _coverage(video: str, frames_planned: int, frames_sampled: int) -> VideoCoverage | None:
    """How much of the video the job covers; None (and a log line) when the video is gone."""
    try:
        info = _video(video)
    except TenkenError as exc:
        log.warning("cannot say how much of %s the report covers: %s", video, exc)
        return None
    return video_coverage(info, frames_planned, frames_sampled)


def retry_delay_s(attempt: int) -> float:
    """Wait before try `attempt + 1` of a step: 1, 2, 4 ... seconds, at most 30."""
    return float(min(2 ** (attempt - 1), 30))


def fail_aggregation(
    store: Store, job_id: str, exc: BaseException, attempts: int, bus: EventBus | None
) -> None:
    """Aggregation gave up: the job fails with the error, rather than stay `running` forever."""
    tries = f"{attempts} attempt" + ("s" if attempts != 1 else "")
    error = f"aggregation failed after {tries}: {type(exc).__name__}: {exc}"
    log.error("job %s: %s", job_id, error, extra={"job_id": job_id})
    with store.session() as s:
        failed = jobstore.fail_job(s, job_id, error)
    if failed:
        publish_job(store, bus, job_id)


def _put_on_network(store: Store, job_id: str) -> None:
    """Give a completed survey route distances and network units; its findings stand without them."""
    try:
        with store.session() as s:
            locate_if_network(s, job_id)
    except Exception:  # the survey is complete and stored; `tenken network match` can redo this
        log.exception(
            "job %s: could not put the survey on the road network", job_id, extra={"job_id": job_id}
        )


def _reopen_found_again(store: Store, job_id: str) -> None:
    """Re-open the repaired defects this survey found again (after it is on the network, so both
    map and route distance decide); its findings stand whatever happens here."""
    try:
        with store.session() as s:
            reopened = reopen_found_again(s, job_id)
        if reopened:
            log.info(
                "job %s found %d repaired defects again", job_id, len(reopened), extra={"job_id": job_id}
            )
    except Exception:
        log.exception("job %s: could not check repaired defects", job_id, extra={"job_id": job_id})


def defect_event(row: defectstore.DefectRow) -> dict[str, Any]:
    return {
        "kind": "defect",
        "id": row.id,
        "job_id": row.job_id,
        "defect_id": row.defect_id,
        "class_name": row.class_name,
        "severity": row.severity,
        "lat": row.lat,
        "lon": row.lon,
        "error_m": row.error_m,
        "confidence": row.confidence,
        "n_observations": row.n_observations,
        "seen_at_s": row.seen_at_s,
    }


def _write_report(
    out: Path, result: SurveyResult, spec: str, options: SurveyOptions, settings: Settings
) -> None:
    from vision.road.report import write_survey_report

    info, weights, backend = describe_detector(spec, RuntimeOptions.from_settings(settings))
    write_survey_report(
        result,
        out,
        model=info,
        weights=weights,
        backend=backend,
        conf=info.threshold(options.conf),
        options=options,
        tile_url=settings.tile_url,
        overwrite=True,
    )
