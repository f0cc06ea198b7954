"""Put stored surveys on the stored road network (after a job completes, or after an import)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenken.errors import NetworkError
from tenken.network.units import NetworkRoute
from tenken.store import defects as defectstore
from tenken.store import job_frames as framestore
from tenken.store import jobs as jobstore
from tenken.store import network as netstore
from tenken.store.reviews import rejected_ids
from vision.road.network_survey import locate_survey, nearest_position, survey_time_s
from vision.road.survey import graded_range_m
from vision.road.survey_options import parse_options

log = logging.getLogger(__name__)


def locate_stored_survey(
    session: Session, job_id: str, routes: list[NetworkRoute] | None = None
) -> netstore.SurveyLocation:
    """Match a completed survey to the network and store its units and defect locations."""
    job = jobstore.get_job(session, job_id)
    if job.state != jobstore.COMPLETED:
        raise NetworkError(f"survey {job_id} is {job.state}; only completed surveys go on the network")
    routes = netstore.load_network(session) if routes is None else routes
    if not routes:
        raise NetworkError("no road network in the store; import one with `tenken network import`")
    frames = framestore.load_frame_poses(session, job_id)  # the context crops are gone by now
    indices = [i for i, _ in frames]
    poses = [pose for _, pose in frames]
    rejected = rejected_ids(session, job_id)
    defects = [
        (row.id, defectstore.defect_from_row(row), nearest_position(indices, row.best_frame))
        for row in defectstore.query_defects(session, job_id=job_id, limit=10_000_000)
        if row.id not in rejected  # a reviewer's rejection takes the finding out of the grades
    ]
    options = parse_options(job.options or {})
    near_m, far_m = graded_range_m(options, (int(job.frame_width or 0), int(job.frame_height or 0)))
    result = locate_survey(
        poses, defects, routes, near_m=near_m, far_m=far_m, lane_width_m=options.lane_width_m
    )
    location = netstore.SurveyLocation(job_id, survey_time_s(poses), len(poses), result.fixes_on_network)
    netstore.save_survey_location(session, location, result.units, result.defects)
    return location


def locate_all_surveys(session: Session) -> list[netstore.SurveyLocation]:
    """Put every completed survey on the network (after the network changed)."""
    routes = netstore.load_network(session)
    job_ids = session.scalars(
        select(jobstore.JobRow.id)
        .where(jobstore.JobRow.state == jobstore.COMPLETED)
        .order_by(jobstore.JobRow.id)
    ).all()
    return [locate_stored_survey(session, job_id, routes) for job_id in job_ids]


def locate_if_network(session: Session, job_id: str) -> netstore.SurveyLocation | None:
    """After a job completes: put it on the network when there is one (None when there is not)."""
    routes = netstore.load_network(session)
    if not routes:
        return None
    return locate_stored_survey(session, job_id, routes)
