"""Exports of one survey: GeoJSON, CSV, KML and GeoPackage downloads."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Response, status

from api.deps import SessionDep, Viewer
from api.export_formats import defects_csv_bytes, gpkg_bytes, kml_text
from tenken.errors import JobError
from tenken.report.geojson import defect_features, segment_features
from tenken.store.defects import defect_from_row, job_segments, query_defects, segment_from_row
from tenken.store.jobs import COMPLETED, get_job

router = APIRouter(prefix="/api/surveys", tags=["exports"])

ExportFormat = Literal["geojson", "csv", "kml", "gpkg"]
_MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "kml": "application/vnd.google-earth.kml+xml",
    "gpkg": "application/geopackage+sqlite3",
}
_MAX_DEFECTS = 1_000_000


@router.get(
    "/{job_id}/export.{fmt}",
    response_class=Response,
    responses={200: {"content": {t: {} for t in _MEDIA_TYPES.values()}}},
    summary="Download a survey's defects (and segments, except in CSV)",
)
def export(
    job_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    fmt: ExportFormat,
    _viewer: Viewer,
    session: SessionDep,
) -> Response:
    try:
        job = get_job(session, job_id)
    except JobError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    if job.state != COMPLETED:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"survey {job_id} is {job.state}; exports need a completed one"
        )
    defects = [defect_from_row(r) for r in query_defects(session, job_id=job_id, limit=_MAX_DEFECTS)]
    segments = [segment_from_row(r) for r in job_segments(session, job_id)]
    body: bytes
    if fmt == "geojson":
        features = [
            {**f, "properties": {**f["properties"], "layer": "defect"}}
            for f in defect_features(defects)["features"]
        ] + [
            {**f, "properties": {**f["properties"], "layer": "segment"}}
            for f in segment_features(segments)["features"]
        ]
        body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode(
            "utf-8"
        )
    elif fmt == "csv":
        body = defects_csv_bytes(defects)
    elif fmt == "kml":
        body = kml_text(defects, segments, f"Tenken survey {job_id}").encode("utf-8")
    else:
        body = gpkg_bytes(defects, segments)
    # job_id matched the path pattern above, so it is safe in a header.
    disposition = f'attachment; filename="tenken-survey-{job_id}.{fmt}"'
    return Response(body, media_type=_MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})
