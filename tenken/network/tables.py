"""Rows with a geometry, written as CSV, GeoJSON or a GeoPackage layer (what a GIS reads)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from tenken.errors import ConfigError


@dataclass(frozen=True)
class Layer:
    """A table whose rows each have a point (lat, lon) or a line [(lat, lon), ...]."""

    name: str
    geometry_type: str  # "Point" or "LineString"
    rows: Sequence[dict[str, Any]]
    geometries: Sequence[Any]  # (lat, lon) for points, [(lat, lon), ...] for lines

    @property
    def columns(self) -> list[str]:
        return list(self.rows[0]) if self.rows else []


def _geojson_geometry(geometry_type: str, geom: Any) -> dict[str, Any]:
    if geometry_type == "Point":
        lat, lon = geom
        return {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in geom]}


def layer_features(layer: Layer) -> list[dict[str, Any]]:
    return [
        {"type": "Feature", "geometry": _geojson_geometry(layer.geometry_type, g), "properties": dict(r)}
        for r, g in zip(layer.rows, layer.geometries, strict=True)
    ]


def write_geojson(path: Path, layers: Sequence[Layer]) -> None:
    features = [f for layer in layers for f in layer_features(layer)]
    text = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, default=str)
    path.write_text(text, encoding="utf-8")


def write_csv(path: Path, rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    columns = list(columns) if columns is not None else (list(rows[0]) if rows else [])
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in columns})


def gpkg_column(values: Sequence[object]) -> np.ndarray:
    """One attribute column for GDAL: integers, floats (None -> NaN) or text."""
    if values and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return np.asarray(values, dtype=np.int64)
    if any(v is not None for v in values) and all(
        (isinstance(v, (int, float)) and not isinstance(v, bool)) or v is None for v in values
    ):
        return np.asarray([np.nan if v is None else float(v) for v in values], dtype=np.float64)  # type: ignore[arg-type]
    return np.asarray(["" if v is None else str(v) for v in values], dtype=object)


def write_gpkg(path: Path, layers: Sequence[Layer]) -> None:
    """Each layer as a GeoPackage layer in WGS 84 (through GDAL: the server extra's pyogrio)."""
    try:
        from pyogrio.raw import write
    except ImportError:
        raise ConfigError("GeoPackage output needs the server extra (pyogrio)") from None
    for layer in layers:
        if layer.geometry_type == "Point":
            geoms = [shapely.Point(lon, lat) for lat, lon in layer.geometries]
        else:
            geoms = [shapely.LineString([(lon, lat) for lat, lon in g]) for g in layer.geometries]
        columns = layer.columns
        write(
            str(path),
            shapely.to_wkb(np.asarray(geoms, dtype=object)) if geoms else np.empty(0, dtype=object),
            [gpkg_column([r[c] for r in layer.rows]) for c in columns],
            columns,
            layer=layer.name,
            driver="GPKG",
            geometry_type=layer.geometry_type,
            crs="EPSG:4326",
        )
