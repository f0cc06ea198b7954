"""Repair status of each defect: open -> scheduled -> repaired (or dismissed), with dates and who.

A defect without a record is open. Every change is kept as an event (the history); the record
holds the current status. When a later survey finds a defect again at the place and class of one
marked repaired (the same rule `tenken compare` matches defects by, :func:`match_defects`), the
repaired one re-opens with the `reopened` flag and points at the defect that found it again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from sqlalchemy.sql.elements import ColumnElement

from tenken.network.compare import CompareOptions, SurveyDefect, match_defects
from tenken.network.units import DefectLocation
from tenken.store import network as netstore
from tenken.store.db import Base
from tenken.store.defects import DefectRow, defect_from_row, get_defect
from tenken.store.reviews import ReviewError

OPEN, SCHEDULED, REPAIRED, DISMISSED = "open", "scheduled", "repaired", "dismissed"
STATUSES = (OPEN, SCHEDULED, REPAIRED, DISMISSED)
# Which status may follow which: a crew's plan can slip back to open; a dismissal can be undone.
NEXT_STATUSES = {
    OPEN: (SCHEDULED, REPAIRED, DISMISSED),
    SCHEDULED: (OPEN, REPAIRED, DISMISSED),
    REPAIRED: (OPEN,),
    DISMISSED: (OPEN,),
}
FOUND_AGAIN_BY = "found again"  # who re-opens a repaired defect: the survey, not a person
_NEAR_DEG = 0.001  # about 100 m of latitude (and of longitude up to 60 degrees north)


class RepairRow(Base):
    __tablename__ = "defect_repairs"

    defect_id: Mapped[int] = mapped_column(ForeignKey("defects.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    changed_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    # The later survey's defect that found this one again after its repair.
    found_again_as: Mapped[int | None] = mapped_column(
        ForeignKey("defects.id", ondelete="SET NULL"), nullable=True
    )


class RepairEventRow(Base):
    __tablename__ = "defect_repair_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    defect_id: Mapped[int] = mapped_column(ForeignKey("defects.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class RepairState:
    defect_id: int
    status: str
    changed_at: datetime | None
    changed_by: str | None
    note: str
    reopened: bool
    found_again_as: int | None


def _state(defect_id: int, row: RepairRow | None) -> RepairState:
    if row is None:
        return RepairState(defect_id, OPEN, None, None, "", False, None)
    return RepairState(
        defect_id, row.status, row.changed_at, row.changed_by, row.note, row.reopened, row.found_again_as
    )


def repair_state(session: Session, defect_row_id: int) -> RepairState:
    get_defect(session, defect_row_id)
    return _state(defect_row_id, session.get(RepairRow, defect_row_id))


def repair_states(session: Session, defect_row_ids: Sequence[int]) -> dict[int, RepairState]:
    """The status of each given defect (open when it has no record)."""
    rows: dict[int, RepairRow] = {}
    if defect_row_ids:
        found = session.scalars(select(RepairRow).where(RepairRow.defect_id.in_(list(defect_row_ids))))
        rows = {r.defect_id: r for r in found}
    return {i: _state(i, rows.get(i)) for i in defect_row_ids}


def statuses_between(session: Session, first_id: int, last_id: int) -> dict[int, tuple[str, bool]]:
    """Defect id -> (status, reopened) for defects with a record and ids in [first_id, last_id]."""
    query = select(RepairRow.defect_id, RepairRow.status, RepairRow.reopened).where(
        RepairRow.defect_id.between(first_id, last_id)
    )
    return {row.defect_id: (row.status, bool(row.reopened)) for row in session.execute(query)}


def _record(
    session: Session,
    defect_row_id: int,
    status: str,
    by: str,
    note: str,
    *,
    reopened: bool = False,
    found_again_as: int | None = None,
) -> RepairState:
    now = datetime.now(UTC)
    row = session.get(RepairRow, defect_row_id)
    if row is None:
        row = RepairRow(defect_id=defect_row_id)
        session.add(row)
    row.status, row.changed_at, row.changed_by, row.note = status, now, by, note
    # The flag stays until the defect is repaired again (or dismissed).
    row.reopened = reopened or (bool(row.reopened) and status in (OPEN, SCHEDULED))
    if reopened:
        row.found_again_as = found_again_as
    session.add(RepairEventRow(defect_id=defect_row_id, status=status, at=now, by=by, note=note))
    session.flush()
    return _state(defect_row_id, row)


def _check_status(status: str) -> None:
    if status not in STATUSES:
        raise ReviewError("status", f"status must be one of {', '.join(STATUSES)}, got {status!r}")


def set_repair_status(
    session: Session, defect_row_id: int, status: str, *, by: str, note: str = ""
) -> RepairState:
    """Move a defect to `status`; a ReviewError naming `status` when that move is not allowed."""
    _check_status(status)
    current = repair_state(session, defect_row_id).status
    if status not in NEXT_STATUSES[current]:
        allowed = ", ".join(NEXT_STATUSES[current])
        raise ReviewError("status", f"a {current} defect can become {allowed}, not {status}")
    return _record(session, defect_row_id, status, by, note)


def repair_history(session: Session, defect_row_id: int) -> list[RepairEventRow]:
    return list(
        session.scalars(
            select(RepairEventRow)
            .where(RepairEventRow.defect_id == defect_row_id)
            .order_by(RepairEventRow.id)
        )
    )


def repair_condition(statuses: Sequence[str]) -> ColumnElement[bool]:
    """A WHERE clause on defects: their current status is one of `statuses` (open: no record, or open)."""
    for s in statuses:
        _check_status(s)
    others = [s for s in STATUSES if s not in statuses]
    if OPEN in statuses:
        return DefectRow.id.not_in(select(RepairRow.defect_id).where(RepairRow.status.in_(others)))
    return DefectRow.id.in_(select(RepairRow.defect_id).where(RepairRow.status.in_(list(statuses))))


def defects_by_status(
    session: Session, statuses: Sequence[str], *, job_id: str | None = None, limit: int = 100_000
) -> list[tuple[DefectRow, RepairState]]:
    """Defects whose current status is one of `statuses` (all when empty), in id order."""
    query = select(DefectRow, RepairRow).outerjoin(RepairRow, RepairRow.defect_id == DefectRow.id)
    if job_id is not None:
        query = query.where(DefectRow.job_id == job_id)
    if statuses:
        query = query.where(repair_condition(statuses))
    rows = session.execute(query.order_by(DefectRow.id).limit(limit)).all()
    return [(defect, _state(defect.id, repair)) for defect, repair in rows]


def _survey_defects(session: Session, rows: Sequence[DefectRow]) -> list[SurveyDefect]:
    places: dict[int, DefectLocation] = {}
    for job_id in {r.job_id for r in rows}:
        places.update(netstore.defect_locations(session, job_id))
    return [SurveyDefect(r.id, defect_from_row(r), places.get(r.id)) for r in rows]


def reopen_found_again(
    session: Session, job_id: str, options: CompareOptions = CompareOptions()
) -> list[int]:
    """Re-open every repaired defect of an earlier survey that survey `job_id` found again.

    Returns the re-opened defects' ids. Only surveys seen before this one count as earlier.
    """
    new_rows = list(session.scalars(select(DefectRow).where(DefectRow.job_id == job_id)))
    if not new_rows:
        return []
    first_seen = min(r.seen_at_s for r in new_rows)
    # Only repaired defects near this survey can be found again: a box around its defects, widened by
    # a margin far beyond any match distance, keeps the pairwise matching small on a large store.
    margin = _NEAR_DEG
    repaired_rows = list(
        session.scalars(
            select(DefectRow)
            .join(RepairRow, RepairRow.defect_id == DefectRow.id)
            .where(
                RepairRow.status == REPAIRED,
                DefectRow.job_id != job_id,
                DefectRow.seen_at_s < first_seen,
                DefectRow.lat.between(
                    min(r.lat for r in new_rows) - margin, max(r.lat for r in new_rows) + margin
                ),
                DefectRow.lon.between(
                    min(r.lon for r in new_rows) - margin, max(r.lon for r in new_rows) + margin
                ),
            )
            .order_by(DefectRow.id)
        )
    )
    if not repaired_rows:
        return []
    earlier, later = _survey_defects(session, repaired_rows), _survey_defects(session, new_rows)
    reopened = []
    for i, j in match_defects(earlier, later, options):
        old, new = earlier[i].row_id, later[j].row_id
        survey = job_id[:8]
        note = f"found again by survey {survey} (defect {new}) after its repair"
        _record(session, old, OPEN, FOUND_AGAIN_BY, note, reopened=True, found_again_as=new)
        reopened.append(old)
    return reopened


def repair_notes(session: Session, defect_row_ids: Sequence[int]) -> dict[int, str]:
    """'repaired 2026-05-02 by crew 3' for each of the given defects whose record says repaired."""
    out = {}
    for state in repair_states(session, defect_row_ids).values():
        if state.status == REPAIRED and state.changed_at is not None:
            out[state.defect_id] = f"repaired {state.changed_at.date().isoformat()} by {state.changed_by}"
    return out


def state_json(state: RepairState) -> dict[str, object]:
    return {
        "defect_id": state.defect_id,
        "status": state.status,
        "changed_at": state.changed_at.isoformat() if state.changed_at else None,
        "changed_by": state.changed_by,
        "note": state.note,
        "reopened": state.reopened,
        "found_again_as": state.found_again_as,
    }
