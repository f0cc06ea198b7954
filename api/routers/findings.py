"""Findings: defects as GeoJSON with filters, one defect with its observations, its evidence crop,
and segment grades."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from sqlalchemy import select

from api.deps import SessionDep, Viewer
from api.findings_geojson import stored_defect_feature, stored_segment_features, summary_feature
from api.query_params import Offset, RowId, check_time_range, parse_bbox, unix_time
from api.schemas import FeatureCollection
from tenken.errors import JobError
from tenken.store.defects import (
    SegmentRow,
    defect_crop,
    defect_observations,
    get_defect,
    job_segments,
    query_defect_summaries,
)
from tenken.store.jobs import get_job
from tenken.store.repairs import OPEN, repair_condition, statuses_between
from tenken.store.reviews import verdicts_between

router = APIRouter(prefix="/api", tags=["findings"])
Severity = Literal["low", "medium", "high"]
RepairStatus = Literal["open", "scheduled", "repaired", "dismissed"]


@router.get(
    "/findings",
    response_model=FeatureCollection,
    responses={200: {"content": {"application/geo+json": {}}}},
    summary="Defects as GeoJSON points, filtered",
)
def findings(
    _viewer: Viewer,
    session: SessionDep,
    bbox: Annotated[
        str | None, Query(description="min_lon,min_lat,max_lon,max_lat", examples=["139.9,35.6,140.1,35.8"])
    ] = None,
    cls: Annotated[
        list[str] | None,
        Query(
            alias="class",
            description="Defect class (D00, D10, D20, D40, Repair); repeat for several.",
            max_length=20,
        ),
    ] = None,
    severity: Annotated[list[Severity] | None, Query(description="Repeat for several.")] = None,
    since_s: Annotated[float | None, unix_time("First seen at or after this UNIX time.")] = None,
    until_s: Annotated[float | None, unix_time("First seen at or before this UNIX time.")] = None,
    job_id: Annotated[str | None, Query(description="Only this survey (job).", max_length=64)] = None,
    repair: Annotated[
        list[RepairStatus] | None, Query(description="Repair status (open, scheduled, repaired, dismissed).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 5000,
    offset: Offset = 0,
) -> Response:
    box = parse_bbox(bbox)
    check_time_range(since_s, until_s)
    rows = query_defect_summaries(
        session,
        job_id=job_id,
        classes=cls,
        severities=severity,
        bbox=box,
        since_s=since_s,
        until_s=until_s,
        limit=limit,
        offset=offset,
        extra=[repair_condition(repair)] if repair else [],
    )
    features = [summary_feature(r) for r in rows]
    if rows:  # the review and repair status of each, for the map's review panel and filters
        verdicts = verdicts_between(session, rows[0].id, rows[-1].id)
        repairs = statuses_between(session, rows[0].id, rows[-1].id)
        for feature in features:
            props = feature["properties"]
            props["review"] = verdicts.get(props["id"])
            props["repair"], props["reopened"] = repairs.get(props["id"], (OPEN, False))
    body = {"type": "FeatureCollection", "features": features}
    # Built by our own tested code: skip re-validating thousands of features against the model.
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/geo+json")


@router.get("/defects/{defect_id}", response_model=dict[str, Any], summary="One defect and its observations")
def defect(defect_id: RowId, _viewer: Viewer, session: SessionDep) -> dict[str, Any]:
    try:
        row = get_defect(session, defect_id)
        observations = defect_observations(session, defect_id)
    except JobError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    feature = stored_defect_feature(row)
    feature["properties"]["observations"] = [
        asdict(o) | {"position": [round(o.lon, 7), round(o.lat, 7)]} for o in observations
    ]
    return feature


@router.get(
    "/defects/{defect_id}/crop",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}, 404: {"description": "No defect, or no crop."}},
    summary="The defect's evidence crop (faces and plates blurred)",
)
def crop(defect_id: RowId, _viewer: Viewer, session: SessionDep) -> Response:
    jpeg = defect_crop(session, defect_id)
    if jpeg is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"defect {defect_id} has no evidence crop")
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get(
    "/segments", response_model=FeatureCollection, summary="Graded segments of a survey as GeoJSON lines"
)
def segments(
    _viewer: Viewer,
    session: SessionDep,
    job_id: Annotated[
        str | None, Query(description="Only this survey (job); all surveys when absent.", max_length=64)
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50_000)] = 10_000,
) -> dict[str, Any]:
    if job_id is None:
        rows = list(
            session.scalars(
                select(SegmentRow).order_by(SegmentRow.job_id, SegmentRow.segment_id).limit(limit)
            )
        )
    else:
        try:
            get_job(session, job_id)
        except JobError as exc:
            raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
        rows = job_segments(session, job_id)
    return {"type": "FeatureCollection", "features": stored_segment_features(rows)}
