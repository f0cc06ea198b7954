"""Incidents: list and read them (viewer); report sightings and close them (operator), published live."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import Operator, ServicesDep, SessionDep, Viewer
from api.query_params import RowId, check_time_range, unix_time
from api.schemas import (
    IncidentClose,
    IncidentDetail,
    IncidentKind,
    IncidentObservationOut,
    IncidentOut,
    IncidentSighting,
)
from tenken.events import INCIDENTS
from tenken.store.incidents import (
    IncidentReport,
    IncidentRow,
    close_incident,
    get_incident,
    incident_event,
    incident_observations,
    list_incidents,
    record_sighting,
)

router = APIRouter(prefix="/api/incidents", tags=["incidents"])


def incident_out(row: IncidentRow) -> IncidentOut:
    return IncidentOut.model_validate(incident_event(row, "") | {"error_m": row.error_m})


@router.get("", response_model=list[IncidentOut], summary="Incidents, newest first")
def index(
    _viewer: Viewer,
    session: SessionDep,
    state: Literal["open", "closed"] | None = None,
    kind: Annotated[list[IncidentKind] | None, Query(description="Repeat to select several kinds.")] = None,
    since_s: Annotated[float | None, unix_time("Seen at or after this UNIX time.")] = None,
    until_s: Annotated[float | None, unix_time("First seen at or before this UNIX time.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[IncidentOut]:
    check_time_range(since_s, until_s)
    rows = list_incidents(
        session, state=state, kinds=kind or (), since_s=since_s, until_s=until_s, limit=limit
    )
    return [incident_out(r) for r in rows]


@router.get("/{incident_id}", response_model=IncidentDetail, summary="One incident with its sightings")
def show(incident_id: RowId, _viewer: Viewer, session: SessionDep) -> IncidentDetail:
    row = get_incident(session, incident_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
    observations = [
        IncidentObservationOut(
            timestamp_s=o.timestamp_s,
            lat=o.lat,
            lon=o.lon,
            error_m=o.error_m,
            confidence=o.confidence,
            frame_ref=o.frame_ref,
        )
        for o in incident_observations(session, incident_id)
    ]
    return IncidentDetail(**incident_out(row).model_dump(), observations=observations)


@router.post("", response_model=IncidentOut, summary="Report a sighting (opens or updates an incident)")
def report(body: IncidentSighting, _operator: Operator, services: ServicesDep) -> IncidentOut:
    with services.store.session() as session:
        row, change = record_sighting(session, IncidentReport(**body.model_dump()))
        event = incident_event(row, change)
        out = incident_out(row)
    services.bus.publish(INCIDENTS, event)
    return out


@router.post("/{incident_id}/close", response_model=IncidentOut, summary="Close an open incident")
def close(incident_id: RowId, body: IncidentClose, _operator: Operator, services: ServicesDep) -> IncidentOut:
    with services.store.session() as session:
        row = get_incident(session, incident_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
        closed = close_incident(session, row.key, body.timestamp_s)
        if closed is None:
            raise HTTPException(status.HTTP_409_CONFLICT, f"incident {incident_id} is already closed")
        event = incident_event(closed, "closed")
        out = incident_out(closed)
    services.bus.publish(INCIDENTS, event)
    return out
