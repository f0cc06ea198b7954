"""The defects and segment grades a finished job produced, and the queries run on them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, LargeBinary, String, delete, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Mapped, Session, deferred, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from tenken.errors import JobError
from tenken.findings import Defect, Observation, SegmentGrade
from tenken.store.db import Base
from tenken.store.job_frames import FrameCropRow, FrameRow, observation_from_json


class DefectRow(Base):
    __tablename__ = "defects"
    __table_args__ = (Index("ix_defects_lat_lon", "lat", "lon"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    defect_id: Mapped[int] = mapped_column(Integer)  # number within its job
    class_name: Mapped[str] = mapped_column(String(32), index=True)
    severity: Mapped[str] = mapped_column(String(16), index=True)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    error_m: Mapped[float] = mapped_column(Float)
    first_frame: Mapped[int] = mapped_column(Integer)
    last_frame: Mapped[int] = mapped_column(Integer)
    best_frame: Mapped[int] = mapped_column(Integer)
    n_observations: Mapped[int] = mapped_column(Integer)
    confidence: Mapped[float] = mapped_column(Float)
    ground_ring: Mapped[list[list[float]]] = mapped_column(JSON, default=list)
    seen_at_s: Mapped[float] = mapped_column(Float, index=True)  # UNIX time of the first observation
    # (frame_index, k) of every observation merged into this defect, k indexing job_frames.observations
    members: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    crop_jpeg: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True))


class SegmentRow(Base):
    __tablename__ = "segments"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    segment_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_m: Mapped[float] = mapped_column(Float)
    end_m: Mapped[float] = mapped_column(Float)
    line: Mapped[list[list[float]]] = mapped_column(JSON)
    surveyed_fraction: Mapped[float] = mapped_column(Float)
    crack_ratio_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    category: Mapped[str | None] = mapped_column(String(4), nullable=True)
    mci: Mapped[float | None] = mapped_column(Float, nullable=True)
    mci_advice: Mapped[str | None] = mapped_column(String(32), nullable=True)
    defect_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


def defect_from_row(row: DefectRow | Row[Any]) -> Defect:
    """The `Defect` of a stored row: a `DefectRow`, or a plain row of the same columns (the ground
    outline is left out when the row does not carry it)."""
    ring = getattr(row, "ground_ring", None) or ()
    return Defect(
        defect_id=row.defect_id,
        class_name=row.class_name,
        severity=row.severity,
        lat=row.lat,
        lon=row.lon,
        error_m=row.error_m,
        first_frame=row.first_frame,
        last_frame=row.last_frame,
        n_observations=row.n_observations,
        confidence=row.confidence,
        ground_ring=tuple((p[0], p[1]) for p in ring),
        best_frame=row.best_frame,
    )


def segment_from_row(row: SegmentRow) -> SegmentGrade:
    return SegmentGrade(
        segment_id=row.segment_id,
        start_m=row.start_m,
        end_m=row.end_m,
        line=tuple((p[0], p[1]) for p in row.line),
        surveyed_fraction=row.surveyed_fraction,
        crack_ratio_pct=row.crack_ratio_pct,
        category=row.category,
        mci=row.mci,
        defect_counts=dict(row.defect_counts),
        mci_advice=row.mci_advice,
    )


@dataclass(frozen=True)
class JobFindings:
    """What aggregation produced for a job, ready to store."""

    defects: Sequence[Defect]
    segments: Sequence[SegmentGrade]
    crops_jpeg: dict[int, bytes]  # defect_id -> evidence crop
    members: dict[int, list[tuple[int, int]]]  # defect_id -> [(frame_index, k), ...]
    seen_at_s: dict[int, float]  # defect_id -> time of the first observation


def replace_findings(session: Session, job_id: str, findings: JobFindings) -> None:
    """Write a job's defects and segments in place of any stored before, and drop the context crops."""
    # A crashed earlier attempt never commits, but clear anyway so the write is a pure replace.
    session.execute(delete(DefectRow).where(DefectRow.job_id == job_id))
    for d in findings.defects:
        session.add(
            DefectRow(
                job_id=job_id,
                defect_id=d.defect_id,
                class_name=d.class_name,
                severity=d.severity,
                lat=d.lat,
                lon=d.lon,
                error_m=d.error_m,
                first_frame=d.first_frame,
                last_frame=d.last_frame,
                best_frame=d.best_frame,
                n_observations=d.n_observations,
                confidence=d.confidence,
                ground_ring=[list(p) for p in d.ground_ring],
                seen_at_s=findings.seen_at_s.get(d.defect_id, 0.0),
                members=[list(m) for m in findings.members.get(d.defect_id, [])],
                crop_jpeg=findings.crops_jpeg.get(d.defect_id),
            )
        )
    replace_segments(session, job_id, findings.segments)
    # Context crops were only needed to choose evidence; the chosen ones now live on the defects.
    session.execute(delete(FrameCropRow).where(FrameCropRow.job_id == job_id))
    session.flush()


def replace_segments(session: Session, job_id: str, segments: Sequence[SegmentGrade]) -> None:
    """Store a job's segment grades in place of any stored before (after aggregation, or a review)."""
    session.execute(delete(SegmentRow).where(SegmentRow.job_id == job_id))
    for s in segments:
        session.add(
            SegmentRow(
                job_id=job_id,
                segment_id=s.segment_id,
                start_m=s.start_m,
                end_m=s.end_m,
                line=[list(p) for p in s.line],
                surveyed_fraction=s.surveyed_fraction,
                crack_ratio_pct=s.crack_ratio_pct,
                category=s.category,
                mci=s.mci,
                mci_advice=s.mci_advice,
                defect_counts=dict(s.defect_counts),
            )
        )
    session.flush()


def defect_conditions(
    *,
    job_id: str | None = None,
    classes: Sequence[str] | None = None,
    severities: Sequence[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    since_s: float | None = None,
    until_s: float | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the defect filters (see `query_defects`)."""
    conditions: list[ColumnElement[bool]] = []
    if job_id is not None:
        conditions.append(DefectRow.job_id == job_id)
    if classes:
        conditions.append(DefectRow.class_name.in_(list(classes)))
    if severities:
        conditions.append(DefectRow.severity.in_(list(severities)))
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        conditions += [
            DefectRow.lat >= min_lat,
            DefectRow.lat <= max_lat,
            DefectRow.lon >= min_lon,
            DefectRow.lon <= max_lon,
        ]
    if since_s is not None:
        conditions.append(DefectRow.seen_at_s >= since_s)
    if until_s is not None:
        conditions.append(DefectRow.seen_at_s <= until_s)
    return conditions


def query_defects(
    session: Session,
    *,
    job_id: str | None = None,
    classes: Sequence[str] | None = None,
    severities: Sequence[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    since_s: float | None = None,
    until_s: float | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> list[DefectRow]:
    """Defects matching every filter given, in id order.

    `bbox` is (min_lon, min_lat, max_lon, max_lat), GeoJSON's order; `since_s`/`until_s` bound
    the UNIX time the defect was first seen. Crops are not loaded (see `defect_crop`).
    """
    conditions = defect_conditions(
        job_id=job_id, classes=classes, severities=severities, bbox=bbox, since_s=since_s, until_s=until_s
    )
    query = select(DefectRow).where(*conditions)
    return list(session.scalars(query.order_by(DefectRow.id).limit(limit).offset(offset)))


# The columns a map or a list needs: reading them as plain rows is several times faster than
# building ORM objects, which matters for the thousands of findings a map page loads at once.
DEFECT_SUMMARY_COLUMNS = (
    "id", "job_id", "defect_id", "class_name", "severity", "lat", "lon", "error_m", "first_frame",
    "last_frame", "best_frame", "n_observations", "confidence", "seen_at_s",
)  # fmt: skip


def query_defect_summaries(
    session: Session,
    *,
    limit: int = 1000,
    offset: int = 0,
    extra: Sequence[ColumnElement[bool]] = (),
    **filters: Any,
) -> list[Row[Any]]:
    """`query_defects` as plain rows of `DEFECT_SUMMARY_COLUMNS` (no crops, rings or members);
    `extra` adds conditions other modules build (e.g. `tenken.store.repairs.repair_condition`)."""
    columns = [getattr(DefectRow, name) for name in DEFECT_SUMMARY_COLUMNS]
    query = select(*columns).where(*defect_conditions(**filters), *extra)
    return list(session.execute(query.order_by(DefectRow.id).limit(limit).offset(offset)).all())


def get_defect(session: Session, defect_row_id: int) -> DefectRow:
    row = session.get(DefectRow, defect_row_id)
    if row is None:
        raise JobError(f"no defect with id {defect_row_id}")
    return row


def defect_crop(session: Session, defect_row_id: int) -> bytes | None:
    return session.scalar(select(DefectRow.crop_jpeg).where(DefectRow.id == defect_row_id))


def defect_observations(session: Session, defect_row_id: int) -> list[Observation]:
    """The observations merged into one defect, in frame order."""
    row = get_defect(session, defect_row_id)
    wanted: dict[int, list[int]] = {}
    for frame_index, k in row.members:
        wanted.setdefault(frame_index, []).append(k)
    frames = session.scalars(
        select(FrameRow).where(FrameRow.job_id == row.job_id, FrameRow.frame_index.in_(list(wanted)))
    )
    out = []
    for frame in sorted(frames, key=lambda f: f.frame_index):
        for k in sorted(wanted[frame.frame_index]):
            out.append(observation_from_json(frame.observations[k]))
    return out


def job_segments(session: Session, job_id: str) -> list[SegmentRow]:
    return list(
        session.scalars(select(SegmentRow).where(SegmentRow.job_id == job_id).order_by(SegmentRow.segment_id))
    )
