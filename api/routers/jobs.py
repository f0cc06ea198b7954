"""Surveys as jobs: upload a video with its track (operator), list jobs and their progress, cancel."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError

from api.deps import Operator, ServicesDep, SessionDep, Viewer
from api.query_params import Offset
from api.uploads import finalise_names, receive_upload
from tenken.errors import JobError, TrackError, VideoError
from tenken.store.jobs import JobRow, get_job, is_stalled, list_jobs
from tenken.tracks import load_track
from vision.road.survey_options import SurveyOptions, describe_errors
from vision.road.video import probe_video

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/jobs", tags=["jobs"])
JobState = Literal["queued", "running", "completed", "failed", "canceled"]


class JobOut(BaseModel):
    id: str
    kind: str
    state: JobState
    frames_done: int
    frames_total: int | None
    progress: float | None
    error: str | None
    errors: list[str]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    progress_at: datetime | None
    stalled: bool  # unfinished, and no progress for the setting stale_job_s: worth a resume
    resumable: bool  # failed or stalled: POST /api/jobs/{id}/resume sends its remaining work again


def job_out(job: JobRow, stale_job_s: float) -> JobOut:
    total = job.frames_total
    stalled = is_stalled(job, stale_job_s)
    return JobOut(
        id=job.id,
        kind=job.kind,
        state=job.state,  # type: ignore[arg-type]
        frames_done=job.frames_done,
        frames_total=total,
        progress=round(job.frames_done / total, 4) if total else None,
        error=job.error,
        errors=list(job.errors or []),
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        progress_at=job.progress_at,
        stalled=stalled,
        resumable=stalled or job.state == "failed",
    )


def survey_options(raw: Any) -> SurveyOptions:
    """Survey options from the upload's `options` JSON, validated by the one options model.

    The detector is never taken from a request: it is the server's shipped road model.
    """
    try:
        return SurveyOptions.model_validate(raw)
    except ValidationError as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, f"invalid survey options: {describe_errors(exc)}"
        ) from None


def _check_inputs(video: Any, track: Any) -> None:
    """Open the video and parse the track before anything is queued: bad input is the caller's 422."""
    probe_video(video)
    load_track(track)


@router.post(
    "",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a drive video with its GPS track and queue the survey",
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["video", "track"],
                        "properties": {
                            "video": {"type": "string", "format": "binary"},
                            "track": {
                                "type": "string",
                                "format": "binary",
                                "description": "GPX, NMEA, CSV or DJI SRT",
                            },
                            "options": {"type": "string", "description": "Survey options as a JSON object."},
                        },
                    }
                }
            }
        }
    },
)
async def upload(request: Request, _operator: Operator, services: ServicesDep) -> JobOut:
    if services.executor is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no job executor: install the worker extra")
    received = await receive_upload(
        request.headers.get("content-type"),
        request.headers.get("content-length"),
        request.stream(),
        services.uploads_dir,
        services.settings.upload_max_bytes,
        check_options=survey_options,
    )
    try:
        video, track = finalise_names(received)
        options = survey_options(received.options())
        await run_in_threadpool(_check_inputs, video, track)
        job_id = await run_in_threadpool(partial(services.executor.submit_video_job, video, track, options))
    except (VideoError, TrackError) as exc:
        received.discard()
        # The message names the server's path; the client knows the file by its field name.
        message = str(exc).replace(str(received.folder) + "/", "")
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, message) from None
    except BaseException:
        received.discard()
        raise
    log.info("job %s queued from upload", job_id, extra={"job_id": job_id})
    with services.store.session() as session:
        return job_out(get_job(session, str(job_id)), services.settings.stale_job_s)


@router.get("", response_model=list[JobOut], summary="Jobs, newest first")
def index(
    _viewer: Viewer,
    services: ServicesDep,
    session: SessionDep,
    state: JobState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> list[JobOut]:
    stale_s = services.settings.stale_job_s
    return [job_out(j, stale_s) for j in list_jobs(session, state=state, limit=limit, offset=offset)]


@router.get("/{job_id}", response_model=JobOut, summary="One job and its progress")
def show(job_id: str, _viewer: Viewer, services: ServicesDep, session: SessionDep) -> JobOut:
    try:
        return job_out(get_job(session, job_id), services.settings.stale_job_s)
    except JobError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None


@router.post("/{job_id}/cancel", response_model=JobOut, summary="Cancel a queued or running job")
def cancel(job_id: str, _operator: Operator, services: ServicesDep) -> JobOut:
    with services.store.session() as session:
        try:
            job = get_job(session, job_id)
        except JobError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        if job.state in ("completed", "failed", "canceled"):
            raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} is already {job.state}")
    if services.executor is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no job executor")
    services.executor.cancel(job_id)
    with services.store.session() as session:
        return job_out(get_job(session, job_id), services.settings.stale_job_s)


@router.post(
    "/{job_id}/resume",
    response_model=JobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send a failed or stalled job's remaining work again",
    description="Chunks that finished keep their results; failed chunks are tried again from scratch. "
    "Harmless for a job whose work is still on its way (every step is idempotent). "
    "409 for a completed or canceled job.",
)
def resume(job_id: str, _operator: Operator, services: ServicesDep) -> JobOut:
    if services.executor is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no job executor")
    with services.store.session() as session:
        try:
            state = get_job(session, job_id).state
        except JobError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    if state in ("completed", "canceled"):
        raise HTTPException(status.HTTP_409_CONFLICT, f"job {job_id} is {state}: there is nothing to resume")
    sent = services.executor.resume(job_id)
    log.info("job %s resumed from the API: %s", job_id, sent, extra={"job_id": job_id})
    with services.store.session() as session:
        return job_out(get_job(session, job_id), services.settings.stale_job_s)
