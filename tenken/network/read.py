"""Read road centrelines from GeoJSON or GeoPackage (an OSM extract works too) into network routes.

Each feature is a LineString or MultiLineString with a route id; features sharing a route id are
joined end to end (OSM cuts a street into many ways). A route whose pieces do not join becomes
several routes, `ID#2`, `ID#3`, ... so no distance ever jumps across a gap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString, shape
from shapely.ops import linemerge

from tenken.errors import NetworkError
from tenken.network.units import DEFAULT_UNIT_M, NetworkRoute

ID_FIELDS = ("route_id", "ref", "name", "osm_id", "id")
START_FIELDS = ("start_m",)


@dataclass(frozen=True)
class _Feature:
    properties: dict[str, Any]
    geometry: Any  # shapely geometry in (lon, lat)


def _read_geojson(path: Path) -> list[_Feature]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NetworkError(f"{path}: not readable GeoJSON ({exc})") from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise NetworkError(f"{path}: GeoJSON without a 'features' list")
    out = []
    for i, feature in enumerate(features):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not geometry:
            continue
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            raise NetworkError(f"{path}: feature {i} has a broken geometry ({exc})") from None
        out.append(_Feature(dict(feature.get("properties") or {}), geom))
    return out


def _read_with_gdal(path: Path) -> list[_Feature]:
    try:
        from pyogrio.raw import read
    except ImportError:
        raise NetworkError(f"{path}: reading GeoPackage needs the server extra (pyogrio)") from None
    try:
        meta, _fids, wkb, fields = read(str(path))
    except Exception as exc:  # pyogrio raises DataSourceError / DataLayerError for unreadable files
        raise NetworkError(f"{path}: not a readable GIS file ({exc})") from None
    geoms = shapely.from_wkb(wkb)
    crs = meta.get("crs")
    if crs and crs not in ("EPSG:4326", "OGC:CRS84"):
        from pyproj import Transformer

        to_wgs84 = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(to_wgs84.transform(*xy.T)))
    names = list(meta["fields"])
    return [
        _Feature({n: col[i] for n, col in zip(names, fields, strict=True)}, geoms[i])
        for i in range(len(geoms))
        if geoms[i] is not None
    ]


def read_features(path: Path) -> list[_Feature]:
    if not path.is_file():
        raise NetworkError(f"{path}: no such file")
    if path.suffix.lower() in (".geojson", ".json"):
        return _read_geojson(path)
    return _read_with_gdal(path)


def _pick_field(features: Sequence[_Feature], wanted: str | None, candidates: Sequence[str]) -> str | None:
    present = {k for f in features for k, v in f.properties.items() if v not in (None, "")}
    if wanted is not None:
        if wanted not in present:
            raise NetworkError(f"no feature has the field {wanted!r}; fields: {', '.join(sorted(present))}")
        return wanted
    return next((c for c in candidates if c in present), None)


def _lines(geom: Any) -> list[LineString]:
    if isinstance(geom, LineString):
        return [geom]
    if isinstance(geom, MultiLineString):
        return list(geom.geoms)
    return []


def _number(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise NetworkError(f"{what} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise NetworkError(f"{what} {value!r} is not a finite number")
    return number


def read_network(
    path: Path,
    *,
    id_field: str | None = None,
    name_field: str | None = None,
    start_field: str | None = None,
    unit_m: float = DEFAULT_UNIT_M,
) -> list[NetworkRoute]:
    """The routes of a centreline file; fields are found by name unless given."""
    if not unit_m > 0:
        raise NetworkError(f"unit length must be positive, got {unit_m}")
    features = [f for f in read_features(path) if _lines(f.geometry)]
    if not features:
        raise NetworkError(f"{path}: no LineString centrelines in it")
    id_key = _pick_field(features, id_field, ID_FIELDS)
    name_key = _pick_field(features, name_field, ("name",)) if name_field or id_key != "name" else id_key
    start_key = _pick_field(features, start_field, START_FIELDS)
    groups: dict[str, list[_Feature]] = {}
    for i, f in enumerate(features):
        route_id = str(f.properties.get(id_key) or "") if id_key else ""
        groups.setdefault(route_id or f"feature-{i + 1}", []).append(f)
    routes: list[NetworkRoute] = []
    for route_id, members in groups.items():
        name = next(
            (str(m.properties[name_key]) for m in members if name_key and m.properties.get(name_key)), ""
        )
        start_values = [m.properties.get(start_key) for m in members] if start_key else []
        starts = [
            _number(v, f"route {route_id}: start distance") for v in start_values if v not in (None, "")
        ]
        merged = linemerge([line for m in members for line in _lines(m.geometry)])
        parts = _lines(merged)
        for k, part in enumerate(sorted(parts, key=lambda p: -p.length)):
            latlon = tuple((float(lat), float(lon)) for lon, lat, *_ in part.coords)
            if len(set(latlon)) < 2:
                continue
            for lat, lon in latlon:
                if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                    raise NetworkError(f"route {route_id}: ({lat}, {lon}) is not a latitude/longitude")
            routes.append(
                NetworkRoute(
                    route_id if k == 0 else f"{route_id}#{k + 1}",
                    name or route_id,
                    latlon,
                    start_m=min(starts) if starts and k == 0 else 0.0,
                    unit_m=unit_m,
                )
            )
    if not routes:
        raise NetworkError(f"{path}: no centreline has two distinct points")
    return routes
