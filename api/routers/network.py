"""The road network, surveys on it, the change between two surveys and the work list (and the change page)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy.orm import Session

from api.deps import SessionDep, Viewer
from api.routers.page import PAGE_HEADERS
from tenken.errors import JobError, NetworkError
from tenken.network.compare import CompareOptions, Comparison, compare_surveys
from tenken.network.compare_output import STATIC_DIR as COMPARE_STATIC_DIR
from tenken.network.compare_output import comparison_geojson, comparison_layers
from tenken.network.history import load_snapshot, repair_notes, resolve_job_id
from tenken.network.tables import Layer, layer_features, write_csv, write_gpkg
from tenken.network.worklist import worklist_layer
from tenken.report.page import STATIC_DIR as REPORT_STATIC_DIR
from tenken.store import network as netstore
from vision.road.network_jobs import locate_stored_survey

router = APIRouter(tags=["network"])
router.mount(
    "/compare/assets/leaflet", StaticFiles(directory=REPORT_STATIC_DIR / "leaflet"), name="compare-leaflet"
)

SurveyId = Annotated[str, Query(min_length=4, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
TableFormat = Literal["geojson", "csv", "gpkg"]
_MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
}


class RouteInfo(BaseModel):
    route_id: str
    name: str
    start_m: float
    length_m: float
    unit_m: float
    n_units: int


@router.get("/api/network", response_model=list[RouteInfo], summary="Routes of the road network")
def network_routes(_viewer: Viewer, session: SessionDep) -> list[RouteInfo]:
    return [
        RouteInfo(
            route_id=r.route_id,
            name=r.name,
            start_m=r.start_m,
            length_m=round(r.length_m, 2),
            unit_m=r.unit_m,
            n_units=r.n_units,
        )
        for r in netstore.load_network(session)
    ]


def _resolve(session: Session, survey: str, field: str) -> str:
    try:
        return resolve_job_id(session, survey)
    except JobError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"{field}: {exc}") from None


def _on_network(session: Session, job_id: str, field: str) -> str:
    """The survey, put on the network first if it is not yet (a survey from before the import)."""
    if netstore.get_survey_location(session, job_id) is None:
        if not netstore.load_network(session):
            raise HTTPException(
                status.HTTP_409_CONFLICT, "no road network: import one with `tenken network import`"
            )
        try:
            locate_stored_survey(session, job_id)
        except NetworkError as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, f"{field}: {exc}") from None
    return job_id


def _table(layers: list[Layer], fmt: TableFormat, name: str) -> Response:
    if fmt == "geojson":
        features = [f for layer in layers for f in layer_features(layer)]
        body = json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode()
    else:
        with tempfile.TemporaryDirectory() as tmp:
            path = FilePath(tmp) / f"{name}.{fmt}"
            if fmt == "csv":
                write_csv(path, layers[0].rows)
            else:
                write_gpkg(path, layers)
            body = path.read_bytes()
    disposition = f'attachment; filename="{name}.{fmt}"'
    return Response(body, media_type=_MEDIA_TYPES[fmt], headers={"Content-Disposition": disposition})


def _compare(session: Session, then: str, now: str, match_m: float | None) -> Comparison:
    ids = [_resolve(session, then, "then"), _resolve(session, now, "now")]
    a, b = (
        load_snapshot(session, _on_network(session, i, f)) for i, f in zip(ids, ("then", "now"), strict=True)
    )
    return compare_surveys(a, b, CompareOptions(match_m=match_m), lambda rows: repair_notes(session, rows))


MatchM = Annotated[float | None, Query(gt=0, le=100, description="Same defect when this close, m.")]


@router.get(
    "/api/compare.geojson",
    summary="What changed between two surveys: defects (status) and units (then and now), for the map",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def compare_geojson(
    then: SurveyId, now: SurveyId, _viewer: Viewer, session: SessionDep, match_m: MatchM = None
) -> Response:
    body = comparison_geojson(_compare(session, then, now, match_m))
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/geo+json")


@router.get(
    "/api/compare/{part}.{fmt}",
    summary="The change between two surveys as a download: `defects` or `units`, CSV or GeoPackage",
    response_class=Response,
)
def compare_download(
    part: Literal["defects", "units"],
    fmt: Literal["csv", "gpkg"],
    then: SurveyId,
    now: SurveyId,
    _viewer: Viewer,
    session: SessionDep,
    match_m: MatchM = None,
) -> Response:
    layers = comparison_layers(_compare(session, then, now, match_m))
    chosen = layers[0] if part == "defects" else layers[1]
    return _table([chosen], fmt, f"tenken-{part}-changes")


@router.get(
    "/api/worklist.{fmt}",
    summary="Units ranked worst first by the guideline's repair classes, each from its newest survey",
    response_class=Response,
)
def worklist(
    fmt: TableFormat,
    _viewer: Viewer,
    session: SessionDep,
) -> Response:
    units = netstore.latest_unit_grades(session)
    names = {r.route_id: r.name for r in netstore.load_network(session)}
    return _table([worklist_layer(units, names)], fmt, "tenken-worklist")


@router.get(
    "/api/surveys/{job_id}/units.geojson",
    summary="A survey's grades of the network's units",
    response_class=Response,
)
def survey_units(
    job_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    _viewer: Viewer,
    session: SessionDep,
) -> Response:
    job_id = _on_network(session, _resolve(session, job_id, "job_id"), "job_id")
    units = netstore.survey_units(session, job_id)
    rows: list[dict[str, Any]] = [
        {k: v for k, v in u.__dict__.items() if k != "line"} for u in units if len(u.line) >= 2
    ]
    layer = Layer("units", "LineString", rows, [u.line for u in units if len(u.line) >= 2])
    return _table([layer], "geojson", f"tenken-units-{job_id}")


class DefectPlace(BaseModel):
    defect_id: int  # the stored defect's id, as /api/findings gives it
    route_id: str
    distance_m: float
    offset_m: float  # > 0 right of the centreline's direction
    unit: int


@router.get(
    "/api/surveys/{job_id}/defect-locations",
    response_model=list[DefectPlace],
    summary="Route id, distance along the route and unit of each of a survey's defects on the network",
)
def survey_defect_locations(
    job_id: Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")],
    _viewer: Viewer,
    session: SessionDep,
) -> list[DefectPlace]:
    job_id = _on_network(session, _resolve(session, job_id, "job_id"), "job_id")
    places = netstore.defect_locations(session, job_id)
    return [
        DefectPlace(
            defect_id=k,
            route_id=p.route_id,
            distance_m=round(p.distance_m, 2),
            offset_m=round(p.offset_m, 2),
            unit=p.unit_index,
        )
        for k, p in sorted(places.items())
    ]


@router.get("/compare/", include_in_schema=False)
def compare_page() -> FileResponse:
    """The change map; it reads `?then=&now=` and fetches /api/compare.geojson with the saved token."""
    return FileResponse(COMPARE_STATIC_DIR / "compare.html", headers=PAGE_HEADERS)


@router.get("/compare/assets/compare.js", include_in_schema=False)
def compare_script() -> FileResponse:
    return FileResponse(COMPARE_STATIC_DIR / "compare.js", headers=PAGE_HEADERS)


@router.get("/compare/data.js", include_in_schema=False)
def compare_no_embedded_data() -> Response:
    # The exported folder has its data in data.js; the served page fetches it instead.
    return Response("", media_type="text/javascript", headers=PAGE_HEADERS)
