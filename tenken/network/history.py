"""Surveys as the store keeps them, ready to compare: defects with network places, unit grades, repairs."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenken.errors import JobError, NetworkError
from tenken.network.compare import SurveyDefect, SurveySnapshot
from tenken.store import defects as defectstore
from tenken.store import jobs as jobstore
from tenken.store import network as netstore
from tenken.store.reviews import rejected_ids


def resolve_job_id(session: Session, id_or_prefix: str) -> str:
    """A survey id from its full id or a unique prefix of it (as `tenken` prints them)."""
    if session.get(jobstore.JobRow, id_or_prefix) is not None:
        return id_or_prefix
    if len(id_or_prefix) >= 4:
        found = session.scalars(
            select(jobstore.JobRow.id).where(jobstore.JobRow.id.startswith(id_or_prefix)).limit(2)
        ).all()
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise JobError(f"survey id {id_or_prefix!r} is ambiguous; give more of it")
    raise JobError(f"no survey with id {id_or_prefix!r}")


def load_snapshot(session: Session, job_id: str) -> SurveySnapshot:
    """A located survey as :func:`compare_surveys` reads it."""
    location = netstore.get_survey_location(session, job_id)
    if location is None:
        raise NetworkError(f"survey {job_id} is not on the road network yet; run `tenken network match`")
    places = netstore.defect_locations(session, job_id)
    rejected = rejected_ids(session, job_id)  # a reviewer's rejection: not a defect, so no change either
    defects = [
        SurveyDefect(row.id, defectstore.defect_from_row(row), places.get(row.id))
        for row in defectstore.query_defects(session, job_id=job_id, limit=10_000_000)
        if row.id not in rejected
    ]
    return SurveySnapshot(job_id, location.surveyed_at_s, defects, netstore.survey_units(session, job_id))


def repair_notes(session: Session, defect_ids: Sequence[int]) -> dict[int, str]:
    """What the repair records say of defects that were repaired, by stored defect id
    ("repaired 2026-05-02 by crew 3"); a defect without such a record is not seen again."""
    from tenken.store.repairs import repair_notes as recorded_notes

    return recorded_notes(session, defect_ids)
