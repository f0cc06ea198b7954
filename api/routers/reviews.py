"""Review of findings (confirm, reject, re-class, corrected box, note) and their repair status.

Viewers read; operators review and change repair status. Every write stores who (the token's
name) and when. A review that rejects a finding, or re-classes it, grades the survey again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from api.deps import Operator, SessionDep, Viewer
from api.query_params import RowId
from api.routers.findings import RepairStatus
from tenken.errors import JobError, TenkenError
from tenken.repair_export import repairs_csv, repairs_geojson
from tenken.store.auth import TokenInfo
from tenken.store.defects import get_defect
from tenken.store.jobs import get_job
from tenken.store.repairs import (
    STATUSES,
    defects_by_status,
    repair_history,
    repair_state,
    set_repair_status,
    state_json,
)
from tenken.store.reviews import (
    MAX_NOTE_CHARS,
    VERDICTS,
    Review,
    ReviewError,
    get_review,
    review_defect,
    review_json,
)
from vision.road.regrade import regrade_survey
from vision.road.source_frame import frame_jpeg

router = APIRouter(prefix="/api", tags=["review"])
Verdict = Literal["confirmed", "rejected", "reclassed"]
assert set(VERDICTS) == set(get_args(Verdict)) and set(STATUSES) == set(get_args(RepairStatus))


class ReviewIn(BaseModel):
    verdict: Verdict
    class_name: str | None = Field(
        None, max_length=32, description="The corrected class (needed to re-class)."
    )
    box_xyxy: tuple[float, float, float, float] | None = Field(
        None, description="Corrected box in pixels of the source frame: x1, y1, x2, y2."
    )
    frame_index: int | None = Field(
        None, ge=0, description="The frame the box is drawn on (default: the best)."
    )
    note: str = Field("", max_length=MAX_NOTE_CHARS)


class RepairIn(BaseModel):
    status: RepairStatus
    note: str = Field("", max_length=MAX_NOTE_CHARS)


def _who(token: TokenInfo) -> str:
    return token.name or f"token {token.token_id}"


def _field_error(exc: ReviewError) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        content={"detail": f"body parameter {exc.field!r}: {exc}", "field": exc.field},
    )


def _not_found(exc: TenkenError) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


@router.get(
    "/defects/{defect_id}/review",
    response_model=dict[str, Any],
    summary="A finding's review and repair status",
)
def review_status(defect_id: RowId, _viewer: Viewer, session: SessionDep) -> dict[str, Any]:
    try:
        state = repair_state(session, defect_id)
    except JobError as exc:
        raise _not_found(exc) from None
    review = get_review(session, defect_id)
    history = [
        {"status": e.status, "at": e.at.isoformat(), "by": e.by, "note": e.note}
        for e in repair_history(session, defect_id)
    ]
    return {
        "review": review_json(review) if review else None,
        "repair": state_json(state) | {"history": history},
    }


@router.post(
    "/defects/{defect_id}/review",
    response_model=dict[str, Any],
    summary="Confirm, reject or re-class a finding (operator); rejections leave the grades",
)
def post_review(defect_id: RowId, body: ReviewIn, operator: Operator, session: SessionDep) -> Any:
    try:
        defect = get_defect(session, defect_id)
        job = get_job(session, defect.job_id)
    except JobError as exc:
        raise _not_found(exc) from None
    review = Review(body.verdict, body.class_name, body.frame_index, body.box_xyxy, body.note)
    frame_size = (int(job.frame_width or 0), int(job.frame_height or 0))
    try:
        row = review_defect(session, defect_id, review, reviewer=_who(operator), frame_size=frame_size)
    except ReviewError as exc:
        return _field_error(exc)
    grades = regrade_survey(session, defect.job_id)
    return {"review": review_json(row), "segments_graded": len(grades)}


@router.get(
    "/defects/{defect_id}/frame",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}},
        404: {"description": "No defect, or its video is gone."},
    },
    summary="A source frame of the finding, decoded again from the survey's video (faces and plates blurred)",
)
def source_frame(
    defect_id: RowId,
    _viewer: Viewer,
    session: SessionDep,
    frame_index: Annotated[int | None, Query(ge=0, description="Default: the finding's best frame.")] = None,
) -> Response:
    try:
        defect = get_defect(session, defect_id)
        video = get_job(session, defect.job_id).video_path
    except JobError as exc:
        raise _not_found(exc) from None
    index = defect.best_frame if frame_index is None else frame_index
    try:
        jpeg = frame_jpeg(video, index)
    except TenkenError as exc:
        raise _not_found(exc) from None
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.post(
    "/defects/{defect_id}/repair",
    response_model=dict[str, Any],
    summary="Change a finding's repair status (operator)",
)
def post_repair(defect_id: RowId, body: RepairIn, operator: Operator, session: SessionDep) -> Any:
    try:
        get_defect(session, defect_id)
    except JobError as exc:
        raise _not_found(exc) from None
    try:
        state = set_repair_status(session, defect_id, body.status, by=_who(operator), note=body.note)
    except ReviewError as exc:
        return JSONResponse(
            status_code=status.HTTP_409_CONFLICT, content={"detail": str(exc), "field": exc.field}
        )
    return state_json(state)


@router.get(
    "/repairs.{fmt}",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}}},
    summary="Findings with their repair status, filtered by status, as GeoJSON or CSV",
)
def repairs_export(
    fmt: Literal["geojson", "csv"],
    _viewer: Viewer,
    session: SessionDep,
    status_: Annotated[
        list[RepairStatus] | None, Query(alias="status", description="Repeat for several; all when absent.")
    ] = None,
    job_id: Annotated[str | None, Query(max_length=64, description="Only this survey.")] = None,
) -> Response:
    rows = defects_by_status(session, status_ or [], job_id=job_id)
    if fmt == "geojson":
        return Response(repairs_geojson(rows), media_type="application/geo+json")
    return Response(
        repairs_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tenken-repairs.csv"'},
    )
