"""A survey's defects and segments as KML (Google Earth) and GeoPackage (QGIS), beside the report's
GeoJSON and CSV writers."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import shapely
import simplekml

from tenken.findings import Defect, SegmentGrade
from tenken.network.tables import gpkg_column
from tenken.report.table import DEFECT_COLUMNS, defect_row, write_defects_csv

# KML colours are aabbggrr.
_SEVERITY_KML = {"low": "ff3cc8f5", "medium": "ff0b9ef5", "high": "ff2626dc"}
_CATEGORY_KML = {"I": "ff4aa316", "II": "ff0b9ef5", "III": "ff2626dc"}
_UNSURVEYED_KML = "ffaf9c9c"
_SEGMENT_FIELDS = (
    "id",
    "start_m",
    "end_m",
    "surveyed_fraction",
    "crack_ratio_pct",
    "category",
    "mci",
    "mci_advice",
)


def defects_csv_bytes(defects: Sequence[Defect]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "defects.csv"
        write_defects_csv(path, defects)
        return path.read_bytes()


def kml_text(defects: Sequence[Defect], segments: Sequence[SegmentGrade], name: str) -> str:
    """Defects as placemarks coloured by severity, segments as lines coloured by grade."""
    kml = simplekml.Kml(name=name)
    defect_folder = kml.newfolder(name="Defects")
    for d in defects:
        point = defect_folder.newpoint(name=f"{d.class_name} #{d.defect_id}", coords=[(d.lon, d.lat)])
        point.description = (
            f"{d.description}; severity {d.severity}; confidence {d.confidence:.2f}; "
            f"seen in {d.n_observations} frames; position ± {d.error_m:.1f} m"
        )
        point.style.iconstyle.color = _SEVERITY_KML.get(d.severity, _SEVERITY_KML["low"])
        for key, value in defect_row(d).items():
            point.extendeddata.newdata(name=key, value=str(value))
    segment_folder = kml.newfolder(name="Segments")
    for s in segments:
        if len(s.line) < 2:
            continue
        line = segment_folder.newlinestring(
            name=f"Segment {s.segment_id} ({s.category or 'not surveyed'})",
            coords=[(lon, lat) for lat, lon in s.line],
        )
        line.style.linestyle.color = _CATEGORY_KML.get(s.category or "", _UNSURVEYED_KML)
        line.style.linestyle.width = 6
        line.description = (
            f"crack ratio {s.crack_ratio_pct if s.crack_ratio_pct is not None else '–'} %; "
            f"MCI {s.mci if s.mci is not None else '–'}; seen {100 * s.surveyed_fraction:.0f} %"
        )
    text: str = kml.kml()
    return text


def write_gpkg(path: Path, defects: Sequence[Defect], segments: Sequence[SegmentGrade]) -> None:
    """Two layers in WGS 84: `defects` (points) and `segments` (lines), written through GDAL (pyogrio)."""
    from pyogrio.raw import write

    rows = [defect_row(d) for d in defects]
    fields = [c for c in DEFECT_COLUMNS if c not in ("lat", "lon")]
    points = shapely.points([[d.lon, d.lat] for d in defects]) if defects else np.empty(0, dtype=object)
    write(
        str(path),
        shapely.to_wkb(points) if defects else np.empty(0, dtype=object),
        [gpkg_column([r[f] for r in rows]) if rows else np.empty(0, dtype=object) for f in fields],
        fields,
        layer="defects",
        driver="GPKG",
        geometry_type="Point",
        crs="EPSG:4326",
    )
    drawn = [s for s in segments if len(s.line) >= 2]
    if not drawn:
        return
    lines = [shapely.linestrings([[lon, lat] for lat, lon in s.line]) for s in drawn]
    values: dict[str, list[object]] = {
        "id": [s.segment_id for s in drawn],
        "start_m": [s.start_m for s in drawn],
        "end_m": [s.end_m for s in drawn],
        "surveyed_fraction": [s.surveyed_fraction for s in drawn],
        "crack_ratio_pct": [s.crack_ratio_pct for s in drawn],
        "category": [s.category for s in drawn],
        "mci": [s.mci for s in drawn],
        "mci_advice": [s.mci_advice for s in drawn],
    }
    write(
        str(path),
        shapely.to_wkb(np.asarray(lines, dtype=object)),
        [gpkg_column(values[f]) for f in _SEGMENT_FIELDS],
        list(_SEGMENT_FIELDS),
        layer="segments",
        driver="GPKG",
        geometry_type="LineString",
        crs="EPSG:4326",
        append=False,
    )


def gpkg_bytes(defects: Sequence[Defect], segments: Sequence[SegmentGrade]) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "survey.gpkg"
        write_gpkg(path, defects, segments)
        return path.read_bytes()
