"""A comparison as files: changes.geojson, defect and unit CSVs, changes.gpkg and a map page."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenken.network.compare import Comparison, DefectChange, UnitChange
from tenken.network.tables import Layer, layer_features, write_csv, write_geojson, write_gpkg
from tenken.report.page import STATIC_DIR as REPORT_STATIC_DIR
from tenken.report.page import page_script

STATIC_DIR = Path(__file__).parent / "static"


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def defect_change_row(change: DefectChange) -> dict[str, Any]:
    loc = change.current.location
    return {
        "status": change.status,
        "class_name": change.class_name,
        "route_id": loc.route_id if loc else None,
        "distance_m": _round(loc.distance_m, 1) if loc else None,
        "offset_m": _round(loc.offset_m, 1) if loc else None,
        "unit": loc.unit_index if loc else None,
        "lat": round(change.current.defect.lat, 7),
        "lon": round(change.current.defect.lon, 7),
        "then_id": change.then.row_id if change.then else None,
        "now_id": change.now.row_id if change.now else None,
        "then_severity": change.then.defect.severity if change.then else None,
        "now_severity": change.now.defect.severity if change.now else None,
        "size_then": _round(change.size_then),
        "size_now": _round(change.size_now),
        "size_unit": change.size_unit,
        "repair_note": change.repair_note,
    }


def unit_change_row(change: UnitChange) -> dict[str, Any]:
    then, now = change.then, change.now
    return {
        "route_id": change.route_id,
        "unit": change.unit_index,
        "from_m": round(change.from_m, 1),
        "to_m": round(change.to_m, 1),
        "crack_ratio_then": _round(then.crack_ratio_pct) if then else None,
        "crack_ratio_now": _round(now.crack_ratio_pct) if now else None,
        "mci_then": _round(then.mci) if then else None,
        "mci_now": _round(now.mci) if now else None,
        "mci_change": _round(change.mci_change),
        "category_then": then.category if then else None,
        "category_now": now.category if now else None,
        "seen_then": _round(then.surveyed_fraction, 3) if then else None,
        "seen_now": _round(now.surveyed_fraction, 3) if now else None,
    }


def comparison_layers(comparison: Comparison) -> list[Layer]:
    defects = Layer(
        "defect_changes",
        "Point",
        [defect_change_row(c) for c in comparison.defects],
        [(c.current.defect.lat, c.current.defect.lon) for c in comparison.defects],
    )
    drawn = [u for u in comparison.units if len(u.line) >= 2]
    units = Layer("unit_changes", "LineString", [unit_change_row(u) for u in drawn], [u.line for u in drawn])
    return [defects, units]


def _date(timestamp_s: float) -> str:
    return datetime.fromtimestamp(timestamp_s, UTC).date().isoformat()


def comparison_summary(comparison: Comparison) -> dict[str, Any]:
    return {
        "then": {"job_id": comparison.then.job_id, "date": _date(comparison.then.surveyed_at_s)},
        "now": {"job_id": comparison.now.job_id, "date": _date(comparison.now.surveyed_at_s)},
        "counts": comparison.counts(),
    }


def comparison_geojson(comparison: Comparison) -> dict[str, Any]:
    """The map page's data: both layers as one FeatureCollection, with the summary."""
    features = [f for layer in comparison_layers(comparison) for f in layer_features(layer)]
    return {"type": "FeatureCollection", "features": features, "summary": comparison_summary(comparison)}


# Every name `write_comparison` may put in its folder: a folder holding only these is a comparison.
COMPARISON_NAMES = frozenset(
    {
        "changes.geojson",
        "defect_changes.csv",
        "unit_changes.csv",
        "changes.gpkg",
        "assets",
        "index.html",
        "data.js",
    }
)


def is_comparison_folder(folder: Path) -> bool:
    """The folder is an earlier `tenken compare` output (so `--overwrite` may replace it)."""
    try:
        names = {p.name for p in folder.iterdir()}
    except OSError:
        return False
    return "changes.geojson" in names and names <= COMPARISON_NAMES


def write_comparison(folder: Path, comparison: Comparison, *, gpkg: bool = True) -> list[str]:
    """Write every output into `folder` (which exists); returns the file names written."""
    layers = comparison_layers(comparison)
    write_geojson(folder / "changes.geojson", layers)
    write_csv(folder / "defect_changes.csv", layers[0].rows)
    write_csv(folder / "unit_changes.csv", layers[1].rows)
    written = ["changes.geojson", "defect_changes.csv", "unit_changes.csv"]
    if gpkg:
        write_gpkg(folder / "changes.gpkg", layers)
        written.append("changes.gpkg")
    assets = folder / "assets"
    shutil.copytree(REPORT_STATIC_DIR / "leaflet", assets / "leaflet", dirs_exist_ok=True)
    shutil.copyfile(STATIC_DIR / "compare.js", assets / "compare.js")
    shutil.copyfile(STATIC_DIR / "compare.html", folder / "index.html")
    (folder / "data.js").write_text(page_script(comparison_geojson(comparison)), encoding="ascii")
    written.append("index.html")
    return written
