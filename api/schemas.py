"""Response and request models shared by the routers (what the OpenAPI schema shows a client)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tenken.store.auth import MAX_TOKEN_LIFETIME_S

Role = Literal["viewer", "operator", "admin"]
IncidentKind = Literal["fire", "smoke", "landslide", "flood", "person"]


class TokenCreate(BaseModel):
    role: Role
    name: str = Field(default="", max_length=200)
    expires_in_s: float | None = Field(
        default=None,
        gt=0,
        le=MAX_TOKEN_LIFETIME_S,
        allow_inf_nan=False,
        description="Lifetime; unset: until revoked. Requests and open streams stop at expiry.",
    )


class TokenOut(BaseModel):
    id: int
    name: str
    role: Role
    created_at: datetime
    revoked: bool
    expires_at: datetime | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret, shown only once.")


class StreamTicketOut(BaseModel):
    ticket: str = Field(description="Pass as `?ticket=` on a GET that cannot send a header (EventSource).")
    expires_at: datetime = Field(description="After this the ticket opens nothing; streams it opened go on.")
    expires_in_s: float


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection ([lon, lat] positions)."""

    model_config = ConfigDict(extra="allow")
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]


class IncidentOut(BaseModel):
    id: int
    key: str
    kind: str
    state: Literal["open", "closed"]
    lat: float
    lon: float
    error_m: float
    first_seen_s: float
    last_seen_s: float
    closed_s: float | None
    confidence: float
    source: str
    frame_ref: str | None


class IncidentObservationOut(BaseModel):
    timestamp_s: float
    lat: float
    lon: float
    error_m: float
    confidence: float
    frame_ref: str | None


class IncidentDetail(IncidentOut):
    observations: list[IncidentObservationOut]


class IncidentSighting(BaseModel):
    """One sighting from the live pipeline; the same `key` updates the same incident."""

    key: str = Field(min_length=1, max_length=200)
    kind: IncidentKind
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    error_m: float = Field(ge=0)
    timestamp_s: float
    confidence: float = Field(ge=0, le=1)
    source: str = Field(min_length=1, max_length=100)
    frame_ref: str | None = Field(default=None, max_length=500)


class IncidentClose(BaseModel):
    timestamp_s: float


class FootprintPolygon(BaseModel):
    """The camera's ground footprint as a GeoJSON Polygon ([lon, lat] positions)."""

    type: Literal["Polygon"] = "Polygon"
    coordinates: list[list[tuple[float, float]]] = Field(min_length=1, max_length=1)


class Telemetry(BaseModel):
    """A drone's state as the telemetry bridge publishes it (`drone.telemetry.state_message`)."""

    model_config = ConfigDict(extra="ignore")
    type: Literal["vehicle_state"] = "vehicle_state"
    vehicle_id: str = Field(default="drone-1", min_length=1, max_length=100, pattern=r"^[\w.:-]+$")
    timestamp_s: float
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    alt_m: float | None = None
    heading_deg: float | None = None
    pitch_deg: float | None = None
    roll_deg: float | None = None
    gimbal_pitch_deg: float | None = None
    battery_voltage_v: float | None = None
    battery_pct: float | None = None
    mode: str = Field(default="", max_length=40)
    armed: bool = False
    groundspeed_mps: float | None = None
    footprint: FootprintPolygon | None = None


class DroneTrack(BaseModel):
    """A drone's recorded track: `points` are [timestamp_s, lat, lon], oldest first."""

    vehicle_id: str
    points: list[list[float]]


class Published(BaseModel):
    event_id: str


class MapConfig(BaseModel):
    tile_url: str
    tile_attribution: str
    version: str
