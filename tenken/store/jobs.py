"""Jobs, their chunks and per-frame results, and the defects and segments a finished job produced.

Everything a worker writes is keyed so that doing it twice changes nothing: frame results are
upserted by (job_id, frame_index), a chunk is marked done once, and a job's findings are written
in the same transaction that moves the job from `running` to `completed` (`complete_job`), so
a re-delivered aggregation finds the job completed and writes nothing.

Job states: queued -> running -> completed | failed | canceled. A job whose chunks partly failed
still completes; its `errors` list says which chunks failed and why (`failed` is for a job that
produced nothing: bad input, or every chunk failed).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import CursorResult, Row
from sqlalchemy.orm import Mapped, Session, column_property, deferred, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from tenken.errors import JobError
from tenken.findings import Defect, Observation, Pose, SegmentGrade
from tenken.store.db import Base

QUEUED, RUNNING, COMPLETED, FAILED, CANCELED = "queued", "running", "completed", "failed", "canceled"
JOB_STATES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELED)
FINAL_STATES = frozenset({COMPLETED, FAILED, CANCELED})
CHUNK_PENDING, CHUNK_DONE, CHUNK_FAILED = "pending", "done", "failed"


def _changed(session: Session, statement: Any) -> int:
    """Rows an UPDATE/DELETE changed: the state transitions below are guarded by their WHERE."""
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount)


def _now() -> datetime:
    return datetime.now(UTC)


class FrameRow(Base):
    __tablename__ = "job_frames"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    frame_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    pose: Mapped[dict[str, Any]] = mapped_column(JSON)
    observations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="video")
    state: Mapped[str] = mapped_column(String(16), default=QUEUED, index=True)
    video_path: Mapped[str] = mapped_column(Text)
    track_path: Mapped[str] = mapped_column(Text)
    detector: Mapped[str] = mapped_column(Text)  # registry name ("road") or "module:Class"
    conf: Mapped[float | None] = mapped_column(Float, nullable=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Progress is counted from the stored frames whenever it is read, so it cannot lag behind
    # them (a count kept in a column was short when two chunks committed at once).
    frames_done: Mapped[int] = column_property(
        select(func.count(FrameRow.frame_index))
        .where(FrameRow.job_id == id)
        .correlate_except(FrameRow)
        .scalar_subquery()
    )
    frames_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Filled by the preparation step: what aggregation needs without re-reading the video.
    video_start_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    frame_width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frame_height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    frames_in_video: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)  # failed chunks of a completed job
    report_dir: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When the job last moved (created, started, a chunk finished, sent again): the stale-job
    # check's clock. `redispatches` counts the times it was sent again since then.
    progress_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    redispatches: Mapped[int] = mapped_column(Integer, default=0)
    # An embedded executor running the job touches this; a stale one means its process is gone.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ChunkRow(Base):
    __tablename__ = "job_chunks"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    frame_indices: Mapped[list[int]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default=CHUNK_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)

    @property
    def first_frame(self) -> int:
        return self.frame_indices[0]

    @property
    def last_frame(self) -> int:
        return self.frame_indices[-1]


class FrameCropRow(Base):
    """The context crop around one observation, kept until aggregation picks each defect's best."""

    __tablename__ = "job_frame_crops"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    frame_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    k: Mapped[int] = mapped_column(Integer, primary_key=True)  # observation's index in its frame
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


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


# --- conversions between findings and JSON columns ---------------------------------------------


def pose_to_json(pose: Pose) -> dict[str, Any]:
    return dataclasses.asdict(pose)


def pose_from_json(data: dict[str, Any]) -> Pose:
    return Pose(**data)


def observation_to_json(obs: Observation) -> dict[str, Any]:
    return dataclasses.asdict(obs)


def observation_from_json(data: dict[str, Any]) -> Observation:
    values = dict(data)
    values["box_xyxy"] = tuple(values["box_xyxy"])
    values["ground_ring"] = tuple(tuple(p) for p in values.get("ground_ring", ()))
    return Observation(**values)


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


# --- jobs ---------------------------------------------------------------------------------------


def new_job_id() -> str:
    return uuid.uuid4().hex


def create_video_job(
    session: Session,
    video_path: str,
    track_path: str,
    *,
    detector: str,
    conf: float | None,
    options: dict[str, Any],
    job_id: str | None = None,
) -> JobRow:
    """A new queued job (the caller commits)."""
    job = JobRow(
        id=job_id or new_job_id(),
        kind="video",
        state=QUEUED,
        video_path=video_path,
        track_path=track_path,
        detector=detector,
        conf=conf,
        options=options,
        errors=[],
        created_at=_now(),
        progress_at=_now(),
        redispatches=0,
    )
    session.add(job)
    session.flush()
    return job


def get_job(session: Session, job_id: str) -> JobRow:
    # Read again even when the session holds it: progress is counted from the frames stored now.
    job = session.get(JobRow, job_id, populate_existing=True)
    if job is None:
        raise JobError(f"no job with id {job_id!r}")
    return job


def list_jobs(
    session: Session, *, state: str | None = None, limit: int = 100, offset: int = 0
) -> list[JobRow]:
    """Newest first."""
    query = select(JobRow).order_by(JobRow.created_at.desc(), JobRow.id)
    if state is not None:
        query = query.where(JobRow.state == state)
    return list(session.scalars(query.limit(limit).offset(offset)))


def start_job(
    session: Session,
    job_id: str,
    chunks: Sequence[Sequence[int]],
    *,
    video_start_s: float,
    duration_s: float,
    frame_size: tuple[int, int],
    frames_in_video: int,
) -> bool:
    """Move a queued job to running with its chunks; False when it was not queued (done before)."""
    moved = _changed(
        session,
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.state == QUEUED)
        .values(
            state=RUNNING,
            started_at=_now(),
            progress_at=_now(),
            redispatches=0,
            frames_total=sum(len(c) for c in chunks),
            video_start_s=video_start_s,
            duration_s=duration_s,
            frame_width=frame_size[0],
            frame_height=frame_size[1],
            frames_in_video=frames_in_video,
        ),
    )
    if moved != 1:
        return False
    session.add_all(
        ChunkRow(job_id=job_id, index=i, frame_indices=list(frames), state=CHUNK_PENDING, attempts=0)
        for i, frames in enumerate(chunks)
    )
    return True


def fail_job(session: Session, job_id: str, error: str) -> bool:
    """Mark an unfinished job failed with `error`; False when it had already finished."""
    return (
        _changed(
            session,
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.state.in_((QUEUED, RUNNING)))
            .values(state=FAILED, error=error, finished_at=_now()),
        )
        == 1
    )


def cancel_job(session: Session, job_id: str) -> bool:
    """Cancel an unfinished job; False when it had already finished (or does not exist)."""
    return (
        _changed(
            session,
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.state.in_((QUEUED, RUNNING)))
            .values(state=CANCELED, finished_at=_now()),
        )
        == 1
    )


def _moved(session: Session, job_id: str) -> None:
    """The job made progress: restart the stale-job clock and forget its re-dispatches."""
    session.execute(update(JobRow).where(JobRow.id == job_id).values(progress_at=_now(), redispatches=0))


def is_stalled(job: JobRow, stale_s: float) -> bool:
    """Unfinished and without progress for `stale_s` seconds."""
    if job.state not in (QUEUED, RUNNING) or job.progress_at is None:
        return False
    moved = job.progress_at if job.progress_at.tzinfo else job.progress_at.replace(tzinfo=UTC)
    return (_now() - moved).total_seconds() > stale_s


def unfinished_jobs(session: Session) -> list[JobRow]:
    """Queued and running jobs, oldest first."""
    query = select(JobRow).where(JobRow.state.in_((QUEUED, RUNNING))).order_by(JobRow.created_at, JobRow.id)
    return list(session.scalars(query))


def note_redispatch(session: Session, job_id: str) -> int:
    """Count one more re-dispatch of an unfinished job and restart its clock; returns the count
    (0: the job has finished meanwhile)."""
    moved = _changed(
        session,
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.state.in_((QUEUED, RUNNING)))
        .values(redispatches=JobRow.redispatches + 1, progress_at=_now()),
    )
    return int(get_job(session, job_id).redispatches) if moved == 1 else 0


def touch_heartbeat(session: Session, job_ids: Iterable[str]) -> None:
    """The embedded executor holding these jobs is alive."""
    ids = list(job_ids)
    if ids:
        session.execute(update(JobRow).where(JobRow.id.in_(ids)).values(heartbeat_at=_now()))


def reopen_job(session: Session, job_id: str) -> bool:
    """Make a failed job unfinished again so it can be resumed: its failed chunks become pending
    with their attempts forgotten, and the chunks that finished keep their results. An unfinished
    job is left as it is. False for a completed or canceled job (raises JobError when unknown)."""
    job = get_job(session, job_id)
    if job.state in (QUEUED, RUNNING):
        return True
    if job.state != FAILED:
        return False
    chunks = list_chunks(session, job_id)
    session.execute(
        update(ChunkRow)
        .where(ChunkRow.job_id == job_id, ChunkRow.state == CHUNK_FAILED)
        .values(state=CHUNK_PENDING, attempts=0, error=None)
    )
    job.state = RUNNING if chunks else QUEUED
    job.error = None
    job.errors = []
    job.finished_at = None
    job.progress_at = _now()
    job.redispatches = 0
    session.flush()
    return True


# --- chunks -------------------------------------------------------------------------------------


def get_chunk(session: Session, job_id: str, index: int) -> ChunkRow:
    chunk = session.get(ChunkRow, (job_id, index))
    if chunk is None:
        raise JobError(f"job {job_id} has no chunk {index}")
    return chunk


def list_chunks(session: Session, job_id: str) -> list[ChunkRow]:
    return list(session.scalars(select(ChunkRow).where(ChunkRow.job_id == job_id).order_by(ChunkRow.index)))


def pending_chunks(session: Session, job_id: str) -> list[int]:
    return list(
        session.scalars(
            select(ChunkRow.index)
            .where(ChunkRow.job_id == job_id, ChunkRow.state == CHUNK_PENDING)
            .order_by(ChunkRow.index)
        )
    )


def begin_chunk_attempt(session: Session, job_id: str, index: int) -> int:
    """Count one more attempt at a pending chunk and return the count (0: not pending any more)."""
    moved = _changed(
        session,
        update(ChunkRow)
        .where(ChunkRow.job_id == job_id, ChunkRow.index == index, ChunkRow.state == CHUNK_PENDING)
        .values(attempts=ChunkRow.attempts + 1),
    )
    if moved != 1:
        return 0
    return int(get_chunk(session, job_id, index).attempts)


def save_frame_results(
    session: Session,
    job_id: str,
    frames: Iterable[tuple[int, Pose, Sequence[Observation], Sequence[bytes]]],
) -> None:
    """Upsert (replace) the results of frames: (frame_index, pose, observations, crops)."""
    for frame_index, pose, observations, crops in frames:
        session.execute(
            delete(FrameCropRow).where(FrameCropRow.job_id == job_id, FrameCropRow.frame_index == frame_index)
        )
        row = session.get(FrameRow, (job_id, frame_index))
        if row is None:
            row = FrameRow(job_id=job_id, frame_index=frame_index)
            session.add(row)
        row.pose = pose_to_json(pose)
        row.observations = [observation_to_json(o) for o in observations]
        session.add_all(
            FrameCropRow(job_id=job_id, frame_index=frame_index, k=k, jpeg=jpeg)
            for k, jpeg in enumerate(crops)
        )
    session.flush()


def finish_chunk(session: Session, job_id: str, index: int, *, error: str | None = None) -> bool:
    """Mark a pending chunk done (or failed with `error`); the job has made progress.

    False when the chunk was not pending (another delivery finished it first).
    """
    moved = _changed(
        session,
        update(ChunkRow)
        .where(ChunkRow.job_id == job_id, ChunkRow.index == index, ChunkRow.state == CHUNK_PENDING)
        .values(state=CHUNK_FAILED if error else CHUNK_DONE, error=error),
    )
    if moved == 1:
        if error:
            chunk = get_chunk(session, job_id, index)
            frames = f"frames {chunk.first_frame}-{chunk.last_frame}"
            job = get_job(session, job_id)
            job.errors = [*job.errors, f"chunk {index} ({frames}): {error}"]
        _moved(session, job_id)
    return moved == 1


def load_frame_results(
    session: Session, job_id: str
) -> list[tuple[int, Pose, list[Observation], list[bytes]]]:
    """Every stored frame result of a job, in frame order, with its crops."""
    crops: dict[int, dict[int, bytes]] = {}
    for crop in session.scalars(select(FrameCropRow).where(FrameCropRow.job_id == job_id)):
        crops.setdefault(crop.frame_index, {})[crop.k] = crop.jpeg
    out = []
    rows = session.scalars(select(FrameRow).where(FrameRow.job_id == job_id).order_by(FrameRow.frame_index))
    for row in rows:
        observations = [observation_from_json(o) for o in row.observations]
        frame_crops = crops.get(row.frame_index, {})
        out.append(
            (
                row.frame_index,
                pose_from_json(row.pose),
                observations,
                [frame_crops[k] for k in range(len(observations))],
            )
        )
    return out


def stored_frame_indices(session: Session, job_id: str) -> list[int]:
    """Frames of a job with stored results, in order (each appears once: they are upserted)."""
    return list(
        session.scalars(
            select(FrameRow.frame_index).where(FrameRow.job_id == job_id).order_by(FrameRow.frame_index)
        )
    )


# --- findings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobFindings:
    """What aggregation produced for a job, ready to store."""

    defects: Sequence[Defect]
    segments: Sequence[SegmentGrade]
    crops_jpeg: dict[int, bytes]  # defect_id -> evidence crop
    members: dict[int, list[tuple[int, int]]]  # defect_id -> [(frame_index, k), ...]
    seen_at_s: dict[int, float]  # defect_id -> time of the first observation


def complete_job(session: Session, job_id: str, findings: JobFindings, *, report_dir: str | None) -> bool:
    """Store a job's findings and mark it completed, once.

    Returns False (and writes nothing) when the job is no longer running: it was completed by an
    earlier delivery of the same aggregation, or canceled. Callers run this inside one
    transaction so the findings and the state change commit together.
    """
    chunks = list_chunks(session, job_id)
    all_failed = bool(chunks) and all(c.state == CHUNK_FAILED for c in chunks)
    values: dict[str, Any] = {"finished_at": _now(), "report_dir": report_dir}
    if all_failed:
        values.update(state=FAILED, error="every chunk failed; first error: " + (chunks[0].error or "?"))
    else:
        values.update(state=COMPLETED)
    moved = _changed(
        session, update(JobRow).where(JobRow.id == job_id, JobRow.state == RUNNING).values(**values)
    )
    if moved != 1:
        return False
    # A crashed earlier attempt never commits, but clear anyway so the write is a pure replace.
    session.execute(delete(DefectRow).where(DefectRow.job_id == job_id))
    session.execute(delete(SegmentRow).where(SegmentRow.job_id == job_id))
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
    for s in findings.segments:
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
    # Context crops were only needed to choose evidence; the chosen ones now live on the defects.
    session.execute(delete(FrameCropRow).where(FrameCropRow.job_id == job_id))
    session.flush()
    return True


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
    session: Session, *, limit: int = 1000, offset: int = 0, **filters: Any
) -> list[Row[Any]]:
    """`query_defects` as plain rows of `DEFECT_SUMMARY_COLUMNS` (no crops, rings or members)."""
    columns = [getattr(DefectRow, name) for name in DEFECT_SUMMARY_COLUMNS]
    query = select(*columns).where(*defect_conditions(**filters))
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
