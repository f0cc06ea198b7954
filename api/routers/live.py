"""Live: the server-sent event stream (findings, incidents, jobs, telemetry) and telemetry ingest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from api.deps import Operator, ServicesDep, Viewer
from api.query_params import unix_time
from api.schemas import DroneTrack, Published, Telemetry
from api.sse import event_stream
from tenken.events import CHANNELS, TELEMETRY
from tenken.store.drone_tracks import drone_track, latest_drone_states

router = APIRouter(prefix="/api", tags=["live"])


def parse_channels(value: str | None) -> list[str]:
    if not value:
        return list(CHANNELS)
    wanted = [c.strip() for c in value.split(",") if c.strip()]
    unknown = [c for c in wanted if c not in CHANNELS]
    if unknown or not wanted:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"unknown channel(s) {', '.join(unknown) or value!r}; "
            f"use a comma-separated subset of {', '.join(CHANNELS)}",
        )
    return wanted


@router.get(
    "/stream",
    summary="Server-sent events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "An endless event stream."}},
)
async def stream(
    request: Request,
    viewer: Viewer,
    services: ServicesDep,
    channels: Annotated[
        str | None, Query(description="Comma-separated: findings,incidents,jobs,telemetry.")
    ] = None,
    last_event_id: Annotated[
        str | None, Header(description="Resume after this event id (EventSource sends it).")
    ] = None,
    after: Annotated[
        str | None, Query(description="Resume after this event id (same as Last-Event-ID).")
    ] = None,
) -> StreamingResponse:
    """Each message has `id`, `event` (the channel) and one line of JSON `data`. Reconnecting with
    `Last-Event-ID` (or `?after=`) replays what was missed, as far back as the bus keeps events.
    Authenticate with a stream ticket (`?ticket=`, from POST /api/stream-tickets) rather than
    `?token=`; the stream ends when its token is revoked."""
    wanted = parse_channels(channels)
    if services.hub is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the live feed is not running")
    resume = last_event_id or after
    return StreamingResponse(
        event_stream(services.hub, wanted, resume, request.is_disconnected, token_id=viewer.token_id),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/telemetry", response_model=Published, summary="Post a drone's state (telemetry bridge)")
def post_telemetry(body: Telemetry, _operator: Operator, services: ServicesDep) -> Published:
    data = body.model_dump(mode="json")
    with services.lock:
        services.latest_telemetry[body.vehicle_id] = data
    return Published(event_id=services.bus.publish(TELEMETRY, data))


@router.get("/telemetry", response_model=list[Telemetry], summary="The newest state of each drone")
def latest_telemetry(_viewer: Viewer, services: ServicesDep) -> list[Telemetry]:
    """Posted since the server started, else as recorded in the store (a restarted command post)."""
    with services.store.session() as session:
        states = {s.get("vehicle_id") or "drone": s for s in latest_drone_states(session)}
    with services.lock:
        states.update(services.latest_telemetry)
    return [Telemetry.model_validate(states[k]) for k in sorted(states)]


@router.get("/telemetry/{vehicle_id}/track", response_model=DroneTrack, summary="A drone's recorded track")
def telemetry_track(
    vehicle_id: Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[\w.:-]+$")],
    _viewer: Viewer,
    services: ServicesDep,
    since_s: Annotated[float | None, unix_time("Only points from this UNIX time on.")] = None,
    limit: Annotated[int, Query(ge=1, le=20000, description="The newest this many points.")] = 5000,
) -> DroneTrack:
    """The drone's track as recorded from its telemetry (a point a second), oldest first, so a map
    opened mid-flight or reloaded draws the whole flight."""
    with services.store.session() as session:
        points = drone_track(session, vehicle_id, since_s=since_s, limit=limit)
    return DroneTrack(vehicle_id=vehicle_id, points=[[t, lat, lon] for t, lat, lon in points])
