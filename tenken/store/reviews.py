"""An operator's review of a finding: confirmed, rejected or re-classed, with a corrected box and a note.

A defect has at most one review (the latest; who and when are kept). A re-class changes the
defect's stored class, so filters, grades and comparisons see the corrected class; the class the
detector gave stays on the review. A rejected defect stays in the store (and on the map, as
rejected) but leaves the grades (see `vision.road.regrade`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tenken.errors import TenkenError
from tenken.findings import ROAD_CLASSES
from tenken.store.db import Base
from tenken.store.defects import DefectRow, get_defect

CONFIRMED, REJECTED, RECLASSED = "confirmed", "rejected", "reclassed"
VERDICTS = (CONFIRMED, REJECTED, RECLASSED)
MAX_NOTE_CHARS = 2000


class DefectReviewRow(Base):
    __tablename__ = "defect_reviews"

    defect_id: Mapped[int] = mapped_column(ForeignKey("defects.id", ondelete="CASCADE"), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(16), index=True)
    class_name: Mapped[str] = mapped_column(String(32))  # the class after review
    detected_class: Mapped[str] = mapped_column(String(32))  # the class the detector gave
    frame_index: Mapped[int | None] = mapped_column(Integer, nullable=True)  # frame the box is drawn on
    box_xyxy: Mapped[list[float] | None] = mapped_column(JSON, nullable=True)  # pixels of that frame
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer: Mapped[str] = mapped_column(String(200))
    reviewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ReviewError(TenkenError):
    """A review that cannot be stored; `field` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Review:
    verdict: str
    class_name: str | None = None  # required for a re-class
    frame_index: int | None = None
    box_xyxy: tuple[float, float, float, float] | None = None
    note: str = ""


def _check(review: Review, defect: DefectRow, frame_size: tuple[int, int]) -> str:
    """The class after review; a ReviewError naming the field when the review does not hold."""
    if review.verdict not in VERDICTS:
        raise ReviewError("verdict", f"verdict must be one of {', '.join(VERDICTS)}, got {review.verdict!r}")
    new_class = defect.class_name if review.class_name is None else review.class_name
    if new_class not in ROAD_CLASSES:
        raise ReviewError(
            "class_name", f"class_name must be one of {', '.join(ROAD_CLASSES)}, got {new_class!r}"
        )
    if review.verdict == RECLASSED and review.class_name is None:
        raise ReviewError("class_name", "a re-class needs the new class_name")
    if review.verdict != RECLASSED and new_class != defect.class_name:
        raise ReviewError("class_name", f"to change the class to {new_class}, use the verdict {RECLASSED!r}")
    if review.box_xyxy is not None:
        x1, y1, x2, y2 = review.box_xyxy
        width, height = frame_size
        if not (0 <= x1 < x2 and 0 <= y1 < y2) or (width and x2 > width) or (height and y2 > height):
            raise ReviewError(
                "box_xyxy",
                f"box_xyxy must be x1 < x2, y1 < y2 inside the {width}x{height} frame, got {review.box_xyxy}",
            )
    if review.frame_index is not None and not defect.first_frame <= review.frame_index <= defect.last_frame:
        raise ReviewError(
            "frame_index",
            f"frame_index must be a frame that saw the defect ({defect.first_frame}..{defect.last_frame})",
        )
    if len(review.note) > MAX_NOTE_CHARS:
        raise ReviewError("note", f"note is longer than {MAX_NOTE_CHARS} characters")
    return new_class


def review_defect(
    session: Session,
    defect_row_id: int,
    review: Review,
    *,
    reviewer: str,
    frame_size: tuple[int, int] = (0, 0),
) -> DefectReviewRow:
    """Store (or replace) the review of one defect and apply its class. Returns the stored review."""
    defect = get_defect(session, defect_row_id)
    new_class = _check(review, defect, frame_size)
    row = session.get(DefectReviewRow, defect_row_id)
    if row is None:
        row = DefectReviewRow(defect_id=defect_row_id, job_id=defect.job_id, detected_class=defect.class_name)
        session.add(row)
    row.verdict = review.verdict
    row.class_name = new_class
    row.frame_index = review.frame_index if review.box_xyxy is not None else None
    if row.frame_index is None and review.box_xyxy is not None:
        row.frame_index = defect.best_frame
    row.box_xyxy = list(review.box_xyxy) if review.box_xyxy is not None else None
    row.note = review.note
    row.reviewer = reviewer
    row.reviewed_at = datetime.now(UTC)
    defect.class_name = new_class
    session.flush()
    return row


def get_review(session: Session, defect_row_id: int) -> DefectReviewRow | None:
    return session.get(DefectReviewRow, defect_row_id)


def reviews_for(session: Session, defect_row_ids: Sequence[int]) -> dict[int, DefectReviewRow]:
    """The reviews of the given defects, by defect id (defects without one are absent)."""
    if not defect_row_ids:
        return {}
    rows = session.scalars(select(DefectReviewRow).where(DefectReviewRow.defect_id.in_(list(defect_row_ids))))
    return {r.defect_id: r for r in rows}


def verdicts_between(session: Session, first_id: int, last_id: int) -> dict[int, str]:
    """Defect id -> verdict for the reviewed defects with ids in [first_id, last_id] (one query)."""
    query = select(DefectReviewRow.defect_id, DefectReviewRow.verdict).where(
        DefectReviewRow.defect_id.between(first_id, last_id)
    )
    return {row.defect_id: row.verdict for row in session.execute(query)}


def job_reviews(session: Session, job_id: str) -> list[DefectReviewRow]:
    return list(
        session.scalars(
            select(DefectReviewRow)
            .where(DefectReviewRow.job_id == job_id)
            .order_by(DefectReviewRow.defect_id)
        )
    )


def rejected_ids(session: Session, job_id: str) -> set[int]:
    """Stored ids of the job's rejected defects (they leave the grades)."""
    return set(
        session.scalars(
            select(DefectReviewRow.defect_id).where(
                DefectReviewRow.job_id == job_id, DefectReviewRow.verdict == REJECTED
            )
        )
    )


def review_json(row: DefectReviewRow) -> dict[str, object]:
    return {
        "defect_id": row.defect_id,
        "verdict": row.verdict,
        "class_name": row.class_name,
        "detected_class": row.detected_class,
        "frame_index": row.frame_index,
        "box_xyxy": row.box_xyxy,
        "note": row.note,
        "reviewer": row.reviewer,
        "reviewed_at": row.reviewed_at.isoformat(),
    }
