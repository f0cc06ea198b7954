"""The defects as a CSV table, one row per physical defect."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from tenken.findings import Defect

DEFECT_COLUMNS = (
    "id",
    "class",
    "description",
    "severity",
    "lat",
    "lon",
    "error_m",
    "first_frame",
    "last_frame",
    "n_observations",
    "confidence",
    "crop_path",
)


def defect_row(defect: Defect) -> dict[str, str | int | float]:
    return {
        "id": defect.defect_id,
        "class": defect.class_name,
        "description": defect.description,
        "severity": defect.severity,
        "lat": round(defect.lat, 7),
        "lon": round(defect.lon, 7),
        "error_m": round(defect.error_m, 2),
        "first_frame": defect.first_frame,
        "last_frame": defect.last_frame,
        "n_observations": defect.n_observations,
        "confidence": round(defect.confidence, 3),
        "crop_path": defect.crop_path or "",
    }


def write_defects_csv(path: Path, defects: Sequence[Defect]) -> None:
    # UTF-8 with BOM so that Excel, which a road department will open it in, reads it as UTF-8.
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        writer = csv.DictWriter(f, fieldnames=DEFECT_COLUMNS)
        writer.writeheader()
        writer.writerows(defect_row(d) for d in defects)
