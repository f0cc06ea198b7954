"""Per-frame results of a job's chunks: the pose and observations of each sampled frame, upserted.

A frame's result is keyed by (job_id, frame_index), so storing it twice replaces it. The context
crop of each observation is kept beside it until aggregation has chosen each defect's evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tenken.findings import Observation, Pose
from tenken.store.db import Base


class FrameRow(Base):
    __tablename__ = "job_frames"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    frame_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    pose: Mapped[dict[str, Any]] = mapped_column(JSON)
    observations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class FrameCropRow(Base):
    """The context crop around one observation, kept until aggregation picks each defect's best."""

    __tablename__ = "job_frame_crops"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    frame_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    k: Mapped[int] = mapped_column(Integer, primary_key=True)  # observation's index in its frame
    jpeg: Mapped[bytes] = mapped_column(LargeBinary)


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


def load_frame_poses(session: Session, job_id: str) -> list[tuple[int, Pose]]:
    """(frame_index, pose) of every stored frame of a job, in frame order. Unlike
    `load_frame_results` it works after completion too, when the context crops are gone."""
    rows = session.execute(
        select(FrameRow.frame_index, FrameRow.pose)
        .where(FrameRow.job_id == job_id)
        .order_by(FrameRow.frame_index)
    )
    return [(row.frame_index, pose_from_json(row.pose)) for row in rows]


def stored_frame_indices(session: Session, job_id: str) -> list[int]:
    """Frames of a job with stored results, in order (each appears once: they are upserted)."""
    return list(
        session.scalars(
            select(FrameRow.frame_index).where(FrameRow.job_id == job_id).order_by(FrameRow.frame_index)
        )
    )
