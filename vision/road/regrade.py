"""Grade a stored survey again after review: rejected findings leave the grades, re-classed ones count
as their new class.

The route is rebuilt from the stored segments' lines (they are consecutive cuts of it) and what
the camera saw from the stored frame poses, so nothing but the store is needed: not the video,
not the track file. A survey on the road network has its units graded again too.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from tenken.findings import SegmentGrade
from tenken.store import defects as defectstore
from tenken.store import job_frames as framestore
from tenken.store import jobs as jobstore
from tenken.store import network as netstore
from tenken.store.reviews import rejected_ids
from vision.road.grading import grade_stretches
from vision.road.network_jobs import locate_stored_survey
from vision.road.route import Route, RouteSegment, seen_intervals_from_frames
from vision.road.survey import graded_range_m
from vision.road.survey_options import parse_options


def regrade_survey(session: Session, job_id: str) -> list[SegmentGrade]:
    """Grade the survey's segments (and its network units, when it is on the network) from its kept
    findings, and store the grades in place of the old. Returns the segment grades."""
    grades = _regrade_segments(session, job_id)
    if netstore.get_survey_location(session, job_id) is not None:
        locate_stored_survey(session, job_id)
    return grades


def _regrade_segments(session: Session, job_id: str) -> list[SegmentGrade]:
    job = jobstore.get_job(session, job_id)
    stored = defectstore.job_segments(session, job_id)
    if not stored:
        return []
    route_points = [(p[0], p[1]) for row in stored for p in row.line]
    route = Route(route_points)
    stretches = [
        RouteSegment(r.segment_id, r.start_m, r.end_m, tuple((p[0], p[1]) for p in r.line)) for r in stored
    ]
    options = parse_options(job.options or {})
    near_m, far_m = graded_range_m(options, (int(job.frame_width or 0), int(job.frame_height or 0)))
    poses = [pose for _, pose in framestore.load_frame_poses(session, job_id)]
    seen = seen_intervals_from_frames(route_points, poses, near_m=near_m, far_m=far_m)
    rejected = rejected_ids(session, job_id)
    kept = [
        defectstore.defect_from_row(row)
        for row in defectstore.query_defects(session, job_id=job_id, limit=10_000_000)
        if row.id not in rejected
    ]
    grades = grade_stretches(route, kept, seen, stretches, lane_width_m=options.lane_width_m)
    defectstore.replace_segments(session, job_id, grades)
    return grades
