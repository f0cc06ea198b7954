"""Stored defects and segments as GeoJSON features, built with the report's own feature builders."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from tenken.findings import Defect
from tenken.report.geojson import defect_properties, lonlat, segment_features
from tenken.store.defects import DefectRow, SegmentRow, defect_from_row, segment_from_row


def summary_feature(row: Row[Any]) -> dict[str, Any]:
    """A row of `query_defect_summaries` as the same feature `stored_defect_feature` builds."""
    return _feature(defect_from_row(row), row.id, row.job_id, row.seen_at_s)


def _feature(defect: Defect, row_id: int, job_id: str, seen_at_s: float) -> dict[str, Any]:
    props = defect_properties(defect)
    props.update(
        id=row_id,
        defect_id=defect.defect_id,
        job_id=job_id,
        seen_at_s=seen_at_s,
        best_frame=defect.best_frame,
        crop_path=f"/api/defects/{row_id}/crop",
    )
    return {
        "type": "Feature",
        "id": row_id,
        "geometry": {"type": "Point", "coordinates": lonlat(defect.lat, defect.lon)},
        "properties": props,
    }


def stored_defect_feature(row: DefectRow) -> dict[str, Any]:
    """A stored defect as a Point feature: the report's properties, with store-wide ids.

    `id` is the store's id (unique across surveys, used in /api/defects/{id}); `defect_id` the
    number within its survey, as the survey's report shows it.
    """
    return _feature(defect_from_row(row), row.id, row.job_id, row.seen_at_s)


def stored_segment_features(rows: list[SegmentRow]) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = segment_features([segment_from_row(r) for r in rows])["features"]
    job_of = {r.segment_id: r.job_id for r in rows}
    for feature in features:
        feature["properties"]["job_id"] = job_of[feature["properties"]["id"]]
    return features
