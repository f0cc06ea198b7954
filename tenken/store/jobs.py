"""Jobs and their chunks: the state machine every executor drives.

Everything a worker writes is keyed so that doing it twice changes nothing: frame results are
upserted by (job_id, frame_index) (`tenken.store.job_frames`), a chunk is marked done once, and
a job's findings (`tenken.store.defects`) are written in the same transaction that moves the job
from `running` to `completed` (`complete_job`), so a re-delivered aggregation finds the job
completed and writes nothing.

Job states: queued -> running -> completed | failed | canceled. A job whose chunks partly failed
still completes; its `errors` list says which chunks failed and why (`failed` is for a job that
produced nothing: bad input, every chunk failed, aggregation that gave up, or a job that stalled
however often its work was sent again). A failed job can be reopened (`reopen_job`) and resumed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, column_property, mapped_column

from tenken.errors import JobError
from tenken.store.db import Base, as_utc
from tenken.store.defects import JobFindings, replace_findings
from tenken.store.job_frames import FrameRow

QUEUED, RUNNING, COMPLETED, FAILED, CANCELED = "queued", "running", "completed", "failed", "canceled"
JOB_STATES = (QUEUED, RUNNING, COMPLETED, FAILED, CANCELED)
FINAL_STATES = frozenset({COMPLETED, FAILED, CANCELED})
CHUNK_PENDING, CHUNK_DONE, CHUNK_FAILED = "pending", "done", "failed"


def _changed(session: Session, statement: Any) -> int:
    """Rows an UPDATE/DELETE changed: the state transitions below are guarded by their WHERE."""
    return int(cast(CursorResult[Any], session.execute(statement)).rowcount)


def _now() -> datetime:
    return datetime.now(UTC)


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
    return (_now() - as_utc(job.progress_at)).total_seconds() > stale_s


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


# --- findings -----------------------------------------------------------------------------------


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
    replace_findings(session, job_id, findings)
    return True
