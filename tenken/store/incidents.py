"""Incidents (fire, smoke, landslide, flood, person) and the observations behind them.

An incident has a stable `key` chosen by its source (e.g. drone id + kind + ground cell) so that
repeated reports of the same thing update one row instead of adding rows. State changes are what
the live channel carries; `incident_event` is the one shape every consumer (SSE, CoT) reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Float, ForeignKey, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tenken.errors import DataError
from tenken.store.db import Base

INCIDENT_KINDS = ("fire", "smoke", "landslide", "flood", "person")
INCIDENT_STATES = ("open", "closed")


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    error_m: Mapped[float] = mapped_column(Float)
    first_seen_s: Mapped[float] = mapped_column(Float, index=True)
    last_seen_s: Mapped[float] = mapped_column(Float)
    closed_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    confidence: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(100), index=True)
    frame_ref: Mapped[str | None] = mapped_column(String(500), nullable=True)


class IncidentObservationRow(Base):
    __tablename__ = "incident_observations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    timestamp_s: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    error_m: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    frame_ref: Mapped[str | None] = mapped_column(String(500), nullable=True)


@dataclass(frozen=True)
class IncidentReport:
    """One sighting of an incident by a source (what the live pipeline hands the store)."""

    key: str
    kind: str
    lat: float
    lon: float
    error_m: float
    timestamp_s: float
    confidence: float
    source: str
    frame_ref: str | None = None


def _check(report: IncidentReport) -> None:
    if report.kind not in INCIDENT_KINDS:
        raise DataError(f"unknown incident kind {report.kind!r}; use one of {', '.join(INCIDENT_KINDS)}")
    if not (-90.0 <= report.lat <= 90.0 and -180.0 <= report.lon <= 180.0):
        raise DataError(f"incident position ({report.lat}, {report.lon}) is not a latitude/longitude")


def record_sighting(session: Session, report: IncidentReport) -> tuple[IncidentRow, str]:
    """Open the incident of `report.key`, or update it; returns the row and "opened" / "updated".

    A sighting of a closed incident re-opens it (the confirmation logic upstream decides when a
    sighting counts, so this does not flap on single frames).
    """
    _check(report)
    row = session.scalar(select(IncidentRow).where(IncidentRow.key == report.key))
    change = "updated"
    if row is None:
        row = IncidentRow(
            key=report.key,
            kind=report.kind,
            state="open",
            lat=report.lat,
            lon=report.lon,
            error_m=report.error_m,
            first_seen_s=report.timestamp_s,
            last_seen_s=report.timestamp_s,
            confidence=report.confidence,
            source=report.source,
            frame_ref=report.frame_ref,
        )
        session.add(row)
        change = "opened"
    else:
        if row.state == "closed":
            row.state, row.closed_s, change = "open", None, "opened"
        # The best-placed sighting wins the position; the latest one the frame reference.
        if report.error_m <= row.error_m:
            row.lat, row.lon, row.error_m = report.lat, report.lon, report.error_m
        row.last_seen_s = max(row.last_seen_s, report.timestamp_s)
        row.confidence = max(row.confidence, report.confidence)
        row.frame_ref = report.frame_ref or row.frame_ref
    session.flush()
    session.add(
        IncidentObservationRow(
            incident_id=row.id,
            timestamp_s=report.timestamp_s,
            lat=report.lat,
            lon=report.lon,
            error_m=report.error_m,
            confidence=report.confidence,
            frame_ref=report.frame_ref,
        )
    )
    session.flush()
    return row, change


def close_incident(session: Session, key: str, timestamp_s: float) -> IncidentRow | None:
    """Close the open incident of `key`; None when there is no such open incident."""
    row = session.scalar(select(IncidentRow).where(IncidentRow.key == key))
    if row is None or row.state == "closed":
        return None
    row.state, row.closed_s = "closed", timestamp_s
    session.flush()
    return row


def list_incidents(
    session: Session,
    *,
    state: str | None = None,
    kinds: Sequence[str] = (),
    since_s: float | None = None,
    until_s: float | None = None,
    limit: int = 1000,
) -> list[IncidentRow]:
    query = select(IncidentRow)
    if state is not None:
        query = query.where(IncidentRow.state == state)
    if kinds:
        query = query.where(IncidentRow.kind.in_(list(kinds)))
    if since_s is not None:
        query = query.where(IncidentRow.last_seen_s >= since_s)
    if until_s is not None:
        query = query.where(IncidentRow.first_seen_s <= until_s)
    return list(session.scalars(query.order_by(IncidentRow.first_seen_s.desc()).limit(limit)))


def get_incident(session: Session, incident_id: int) -> IncidentRow | None:
    return session.get(IncidentRow, incident_id)


def incident_observations(session: Session, incident_id: int) -> list[IncidentObservationRow]:
    query = select(IncidentObservationRow).where(IncidentObservationRow.incident_id == incident_id)
    return list(session.scalars(query.order_by(IncidentObservationRow.timestamp_s)))


def incident_event(row: IncidentRow, change: str) -> dict[str, Any]:
    """What the INCIDENTS channel carries for a state change ("opened", "updated", "closed")."""
    return {
        "change": change,
        "id": row.id,
        "key": row.key,
        "kind": row.kind,
        "state": row.state,
        "lat": row.lat,
        "lon": row.lon,
        "error_m": round(row.error_m, 2),
        "first_seen_s": row.first_seen_s,
        "last_seen_s": row.last_seen_s,
        "closed_s": row.closed_s,
        "confidence": round(row.confidence, 3),
        "source": row.source,
        "frame_ref": row.frame_ref,
    }
