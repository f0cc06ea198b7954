"""The drones' tracks: their telemetry states, thinned, so a map opened (or reloaded) later redraws
each drone's track and its latest state (battery, mode) from the store."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Float, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tenken.store.db import Base

TRACK_MIN_INTERVAL_S = 1.0  # a point a second is a smooth track on any map zoom a drone is flown at


class DroneTrackPointRow(Base):
    __tablename__ = "drone_track_points"
    # A drone's track and its newest point are both read through this index (migration 0006).
    __table_args__ = (Index("ix_drone_track_points_vehicle_time", "vehicle_id", "timestamp_s", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vehicle_id: Mapped[str] = mapped_column(String(100))
    timestamp_s: Mapped[float] = mapped_column(Float, index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    state_json: Mapped[str] = mapped_column(Text)  # the whole state message, footprint included


def record_track_point(session: Session, state: dict[str, Any], previous: dict[str, Any] | None) -> bool:
    """Keep `state` when it has a position and comes `TRACK_MIN_INTERVAL_S` after `previous` (the
    vehicle's previous kept state) or changes its mode or armed state; True if kept."""
    if state.get("lat") is None or state.get("lon") is None or state.get("timestamp_s") is None:
        return False
    t = float(state["timestamp_s"])
    same_status = previous is not None and (state.get("mode"), state.get("armed")) == (
        previous.get("mode"),
        previous.get("armed"),
    )
    if same_status and previous is not None and t - float(previous["timestamp_s"]) < TRACK_MIN_INTERVAL_S:
        return False
    session.add(
        DroneTrackPointRow(
            vehicle_id=str(state.get("vehicle_id") or "drone"),
            timestamp_s=t,
            lat=float(state["lat"]),
            lon=float(state["lon"]),
            state_json=json.dumps(state),
        )
    )
    return True


def drone_track(
    session: Session, vehicle_id: str, *, since_s: float | None = None, limit: int = 5000
) -> list[tuple[float, float, float]]:
    """(timestamp_s, lat, lon) of the newest `limit` points of a drone's track, oldest first."""
    query = select(DroneTrackPointRow.timestamp_s, DroneTrackPointRow.lat, DroneTrackPointRow.lon).where(
        DroneTrackPointRow.vehicle_id == vehicle_id
    )
    if since_s is not None:
        query = query.where(DroneTrackPointRow.timestamp_s >= since_s)
    rows = session.execute(query.order_by(DroneTrackPointRow.timestamp_s.desc()).limit(limit)).all()
    return [(float(t), float(lat), float(lon)) for t, lat, lon in reversed(rows)]


def latest_drone_states(session: Session) -> list[dict[str, Any]]:
    """The newest stored state of each drone (the later one stored when two share a time).

    A loose index scan on (vehicle_id, timestamp_s, id): a recursive query steps from one vehicle id
    to the next, then reads each one's newest point, so the cost grows with the number of drones and
    the log of the number of points, not with the points themselves (a GROUP BY reads them all).
    """
    point = DroneTrackPointRow
    vehicles = select(func.min(point.vehicle_id).label("vehicle_id")).cte("vehicles", recursive=True)
    next_vehicle = select(func.min(point.vehicle_id)).where(point.vehicle_id > vehicles.c.vehicle_id)
    vehicles = vehicles.union_all(
        select(next_vehicle.scalar_subquery()).where(vehicles.c.vehicle_id.is_not(None))
    )
    newest = (
        select(point.state_json)
        .where(point.vehicle_id == vehicles.c.vehicle_id)
        .order_by(point.timestamp_s.desc(), point.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    query = select(newest).select_from(vehicles).where(vehicles.c.vehicle_id.is_not(None))
    states: dict[str, dict[str, Any]] = {}
    for (text,) in session.execute(query):
        state = json.loads(text)
        states[str(state.get("vehicle_id") or "drone")] = state
    return [states[k] for k in sorted(states)]
