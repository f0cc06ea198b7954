"""Defects with their repair status as GeoJSON points or CSV rows, for a department's asset system."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from tenken.store.defects import DefectRow
from tenken.store.repairs import RepairState

CSV_FIELDS = (
    "id", "job_id", "defect_id", "class", "severity", "lat", "lon", "status", "changed_at", "changed_by",
    "reopened", "found_again_as", "note",
)  # fmt: skip


def _properties(defect: DefectRow, state: RepairState) -> dict[str, Any]:
    return {
        "id": defect.id,
        "job_id": defect.job_id,
        "defect_id": defect.defect_id,
        "class": defect.class_name,
        "severity": defect.severity,
        "lat": round(defect.lat, 7),
        "lon": round(defect.lon, 7),
        "status": state.status,
        "changed_at": state.changed_at.isoformat() if state.changed_at else None,
        "changed_by": state.changed_by,
        "reopened": state.reopened,
        "found_again_as": state.found_again_as,
        "note": state.note,
    }


def repairs_geojson(rows: Sequence[tuple[DefectRow, RepairState]]) -> bytes:
    features = [
        {
            "type": "Feature",
            "id": d.id,
            "geometry": {"type": "Point", "coordinates": [round(d.lon, 7), round(d.lat, 7)]},
            "properties": _properties(d, s),
        }
        for d, s in rows
    ]
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode("utf-8")


def repairs_csv(rows: Sequence[tuple[DefectRow, RepairState]]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for d, s in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in _properties(d, s).items()})
    return out.getvalue().encode("utf-8")
