"""GeoJSON for defects, graded segments and the track; the one place (lat, lon) becomes [lon, lat]."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tenken.findings import Defect, SegmentGrade

# Coordinates to 7 decimals: about a centimetre, far below any position error we estimate.
_DECIMALS = 7


def lonlat(lat: float, lon: float) -> list[float]:
    """A GeoJSON position ([lon, lat]) from a (lat, lon) pair.

    >>> lonlat(35.1, 139.2)
    [139.2, 35.1]
    """
    return [round(lon, _DECIMALS), round(lat, _DECIMALS)]


def line_coordinates(points: Sequence[tuple[float, float]]) -> list[list[float]]:
    return [lonlat(lat, lon) for lat, lon in points]


def feature_collection(features: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features}


def defect_properties(defect: Defect) -> dict[str, Any]:
    """What a map popup or a GIS table shows for one defect."""
    return {
        "id": defect.defect_id,
        "class": defect.class_name,
        "description": defect.description,
        "severity": defect.severity,
        "error_m": round(defect.error_m, 2),
        "first_frame": defect.first_frame,
        "last_frame": defect.last_frame,
        "n_observations": defect.n_observations,
        "confidence": round(defect.confidence, 3),
        "crop_path": defect.crop_path,
    }


def defect_features(defects: Sequence[Defect]) -> dict[str, Any]:
    """Each defect as a Point feature at its merged position."""
    return feature_collection(
        [
            {
                "type": "Feature",
                "id": d.defect_id,
                "geometry": {"type": "Point", "coordinates": lonlat(d.lat, d.lon)},
                "properties": defect_properties(d),
            }
            for d in defects
        ]
    )


def segment_properties(segment: SegmentGrade) -> dict[str, Any]:
    def rounded(value: float | None, digits: int) -> float | None:
        return None if value is None else round(value, digits)

    return {
        "id": segment.segment_id,
        "start_m": round(segment.start_m, 1),
        "end_m": round(segment.end_m, 1),
        "surveyed_fraction": round(segment.surveyed_fraction, 3),
        "crack_ratio_pct": rounded(segment.crack_ratio_pct, 2),
        "category": segment.category,
        "mci": rounded(segment.mci, 2),
        "mci_advice": segment.mci_advice,
        "defect_counts": dict(segment.defect_counts),
    }


def segment_features(segments: Sequence[SegmentGrade]) -> dict[str, Any]:
    """Each graded segment as a LineString feature along the route."""
    return feature_collection(
        [
            {
                "type": "Feature",
                "id": s.segment_id,
                "geometry": {"type": "LineString", "coordinates": line_coordinates(s.line)},
                "properties": segment_properties(s),
            }
            for s in segments
            if len(s.line) >= 2
        ]
    )


def track_feature(track_line: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """The drive track as one LineString feature (null geometry when it has fewer than two points)."""
    geometry = (
        {"type": "LineString", "coordinates": line_coordinates(track_line)} if len(track_line) >= 2 else None
    )
    return {"type": "Feature", "geometry": geometry, "properties": {"name": "drive track"}}
