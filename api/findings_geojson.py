"""Stored defects and segments as GeoJSON features, built with the report's own feature builders."""

from __future__ import annotations

from typing import Any

from tenken.report.geojson import defect_properties, lonlat, segment_features
from tenken.store.jobs import DefectRow, SegmentRow, defect_from_row, segment_from_row


def stored_defect_feature(row: DefectRow) -> dict[str, Any]:
    """A stored defect as a Point feature: the report's properties, with store-wide ids.

    `id` is the store's id (unique across surveys, used in /api/defects/{id}); `defect_id` the
    number within its survey, as the survey's report shows it.
    """
    props = defect_properties(defect_from_row(row))
    props.update(
        id=row.id,
        defect_id=row.defect_id,
        job_id=row.job_id,
        seen_at_s=row.seen_at_s,
        best_frame=row.best_frame,
        crop_path=f"/api/defects/{row.id}/crop",
    )
    return {
        "type": "Feature",
        "id": row.id,
        "geometry": {"type": "Point", "coordinates": lonlat(row.lat, row.lon)},
        "properties": props,
    }


def stored_segment_features(rows: list[SegmentRow]) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = segment_features([segment_from_row(r) for r in rows])["features"]
    job_of = {r.segment_id: r.job_id for r in rows}
    for feature in features:
        feature["properties"]["job_id"] = job_of[feature["properties"]["id"]]
    return features
