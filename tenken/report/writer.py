"""Write the whole report folder: GeoJSON, CSV, report.json and the offline map page."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tenken.errors import ConfigError
from tenken.findings import ROAD_CLASSES, Defect, SegmentGrade
from tenken.report.geojson import defect_features, segment_features, track_feature
from tenken.report.page import write_page
from tenken.report.summary import NOT_MEASURED, defect_summary, segment_summary
from tenken.report.table import write_defects_csv

OSM_ATTRIBUTION = "© OpenStreetMap contributors"
# report.json says who wrote it, so that `--overwrite` can tell a report folder from anything else.
REPORT_GENERATOR = "tenken"
REPORT_JSON = "report.json"


def check_tile_url(tile_url: str) -> str:
    """An empty string (no tiles) or an XYZ template with {z}, {x} and {y}."""
    url = tile_url.strip()
    if url and not all(key in url for key in ("{z}", "{x}", "{y}")):
        raise ConfigError(f"tile URL {url!r} must contain {{z}}, {{x}} and {{y}}, or be empty for no tiles")
    return url


def default_attribution(tile_url: str) -> str:
    return OSM_ATTRIBUTION if "openstreetmap.org" in tile_url else ""


def is_report_folder(folder: Path) -> bool:
    """The folder holds a report.json written by Tenken (reports before the marker: by its model block)."""
    try:
        report = json.loads((folder / REPORT_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(report, dict):
        return False
    model = report.get("model")
    legacy = isinstance(model, dict) and "tenken_version" in model
    return report.get("generator") == REPORT_GENERATOR or legacy


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")


def write_report(
    folder: Path | str,
    defects: Sequence[Defect],
    segments: Sequence[SegmentGrade],
    track_line: Sequence[tuple[float, float]],
    settings_dict: Mapping[str, Any],
    model_info_dict: Mapping[str, Any],
    timings: Mapping[str, float],
    counts: Mapping[str, int],
    tile_url: str,
    *,
    tile_attribution: str | None = None,
    title: str = "Road survey",
    coverage: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the report files into `folder` (created if missing) and return what report.json holds.

    `track_line` and every position are (lat, lon); the files carry GeoJSON's [lon, lat].
    Evidence crops are the caller's: `Defect.crop_path` is relative to `folder`. `coverage` says
    how much of the video the survey covers (its "warning" is shown on the page when set).
    """
    url = check_tile_url(tile_url)
    attribution = default_attribution(url) if tile_attribution is None else tile_attribution
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)

    defects_fc = defect_features(defects)
    segments_fc = segment_features(segments)
    track = track_feature(track_line)
    report = {
        "generator": REPORT_GENERATOR,
        "title": title,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "counts": dict(counts),
        "coverage": dict(coverage) if coverage is not None else None,
        "defects": defect_summary(defects),
        "segments": segment_summary(segments),
        "not_measured": NOT_MEASURED,
        "model": dict(model_info_dict),
        "settings": dict(settings_dict),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    _write_json(out / "defects.geojson", defects_fc)
    _write_json(out / "segments.geojson", segments_fc)
    write_defects_csv(out / "defects.csv", defects)
    _write_json(out / REPORT_JSON, report)
    page_data = {
        "report": report,
        "classes": ROAD_CLASSES,
        "tiles": {"url": url, "attribution": attribution},
        "track": track,
        "defects": defects_fc,
        "segments": segments_fc,
    }
    write_page(out, page_data)
    return report
