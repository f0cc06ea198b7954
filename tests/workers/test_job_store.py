"""The job store: state transitions that make repeated deliveries harmless, and findings queries."""

from __future__ import annotations

import pytest

from tenken.errors import JobError
from tenken.findings import Defect, Observation, Pose, SegmentGrade
from tenken.store import defects as defectstore
from tenken.store import job_frames as framestore
from tenken.store import jobs as jobstore
from tenken.store.db import Store


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield s
    s.dispose()


def new_running_job(store: Store, chunks=((0, 4), (8, 12))) -> str:
    with store.session() as s:
        job = jobstore.create_video_job(s, "v.mp4", "t.gpx", detector="x:Y", conf=None, options={})
        job_id = job.id
    with store.session() as s:
        assert jobstore.start_job(
            s, job_id, chunks, video_start_s=100.0, duration_s=10.0, frame_size=(320, 240), frames_in_video=20
        )
    return job_id


def observation(frame: int, k: int = 0) -> Observation:
    return Observation(frame, 100.0 + frame, "D40", 0.9, (1.0, 2.0, 3.0, 4.0), 35.0 + k * 1e-5, 140.0, 1.0)


def defect(defect_id: int, lat: float, lon: float, class_name: str = "D40", severity: str = "high") -> Defect:
    return Defect(defect_id, class_name, severity, lat, lon, 1.0, 0, 4, 2, 0.9, best_frame=4)


def findings(*defects: Defect) -> defectstore.JobFindings:
    return defectstore.JobFindings(
        defects=defects,
        segments=[SegmentGrade(0, 0.0, 100.0, ((35.0, 140.0), (35.001, 140.0)), 0.8, 5.0, "I", 8.0)],
        crops_jpeg={d.defect_id: b"jpeg" for d in defects},
        members={d.defect_id: [(0, 0), (4, 0)] for d in defects},
        seen_at_s={d.defect_id: 100.0 + d.defect_id for d in defects},
    )


def test_a_job_starts_once_with_its_chunks_and_total(store):
    job_id = new_running_job(store)
    with store.session() as s:
        assert not jobstore.start_job(
            s, job_id, [[1]], video_start_s=0.0, duration_s=1.0, frame_size=(1, 1), frames_in_video=1
        )
        job = jobstore.get_job(s, job_id)
        assert (job.state, job.frames_total) == ("running", 4)
        assert [c.frame_indices for c in jobstore.list_chunks(s, job_id)] == [[0, 4], [8, 12]]


def test_frame_results_are_upserted_not_repeated(store):
    job_id = new_running_job(store)
    pose = Pose(100.0, 35.0, 140.0, 90.0, 5.0)
    for _ in range(2):
        with store.session() as s:
            framestore.save_frame_results(
                s, job_id, [(0, pose, [observation(0), observation(0, 1)], [b"a", b"b"])]
            )
    with store.session() as s:
        frames = framestore.load_frame_results(s, job_id)
    assert len(frames) == 1
    index, got_pose, observations, crops = frames[0]
    assert (index, got_pose, observations, crops) == (
        0,
        pose,
        [observation(0), observation(0, 1)],
        [b"a", b"b"],
    )


def test_a_chunk_is_finished_once_and_counts_its_attempts(store):
    job_id = new_running_job(store)
    with store.session() as s:
        assert jobstore.begin_chunk_attempt(s, job_id, 0) == 1
        assert jobstore.begin_chunk_attempt(s, job_id, 0) == 2
        framestore.save_frame_results(
            s, job_id, [(0, Pose(0, 35, 140, 0, 0), [], []), (4, Pose(0, 35, 140, 0, 0), [], [])]
        )
        assert jobstore.finish_chunk(s, job_id, 0)
        assert not jobstore.finish_chunk(s, job_id, 0)
        assert jobstore.begin_chunk_attempt(s, job_id, 0) == 0
        assert jobstore.get_job(s, job_id).frames_done == 2
        assert jobstore.pending_chunks(s, job_id) == [1]


def test_a_failed_chunk_is_listed_on_the_job_with_its_frames(store):
    job_id = new_running_job(store)
    with store.session() as s:
        jobstore.finish_chunk(s, job_id, 1, error="cannot decode frame 8")
        assert jobstore.get_job(s, job_id).errors == ["chunk 1 (frames 8-12): cannot decode frame 8"]


def test_findings_are_written_once_however_often_aggregation_runs(store):
    job_id = new_running_job(store)
    with store.session() as s:
        jobstore.finish_chunk(s, job_id, 0)
        jobstore.finish_chunk(s, job_id, 1)
    with store.session() as s:
        assert jobstore.complete_job(s, job_id, findings(defect(1, 35.0, 140.0)), report_dir="r")
    with store.session() as s:
        assert not jobstore.complete_job(s, job_id, findings(defect(1, 35.0, 140.0)), report_dir="r")
    with store.session() as s:
        assert len(defectstore.query_defects(s, job_id=job_id)) == 1
        assert len(defectstore.job_segments(s, job_id)) == 1
        assert jobstore.get_job(s, job_id).state == "completed"


def test_a_job_whose_every_chunk_failed_is_failed(store):
    job_id = new_running_job(store)
    with store.session() as s:
        jobstore.finish_chunk(s, job_id, 0, error="bad")
        jobstore.finish_chunk(s, job_id, 1, error="bad too")
        assert jobstore.complete_job(s, job_id, findings(), report_dir=None)
        job = jobstore.get_job(s, job_id)
    assert job.state == "failed" and "every chunk failed" in (job.error or "")


def test_a_canceled_job_takes_no_findings(store):
    job_id = new_running_job(store)
    with store.session() as s:
        assert jobstore.cancel_job(s, job_id)
        assert not jobstore.cancel_job(s, job_id)
        assert not jobstore.complete_job(s, job_id, findings(defect(1, 35.0, 140.0)), report_dir=None)
        assert defectstore.query_defects(s, job_id=job_id) == []


def test_defects_are_filtered_by_class_severity_box_time_and_job(store):
    a, b = new_running_job(store), new_running_job(store)
    with store.session() as s:
        jobstore.complete_job(
            s, a, findings(defect(1, 35.0, 140.0), defect(2, 35.5, 140.5, "D00", "low")), report_dir=None
        )
        jobstore.complete_job(s, b, findings(defect(3, 36.0, 141.0)), report_dir=None)
    with store.session() as s:

        def ids(**filters):
            return sorted(r.defect_id for r in defectstore.query_defects(s, **filters))

        assert ids() == [1, 2, 3]
        assert ids(job_id=a) == [1, 2]
        assert ids(classes=["D00"]) == [2]
        assert ids(severities=["high"]) == [1, 3]
        assert ids(bbox=(139.9, 34.9, 140.6, 35.6)) == [1, 2]  # min_lon, min_lat, max_lon, max_lat
        assert ids(since_s=102.0) == [2, 3]
        assert ids(until_s=101.5) == [1]
        assert ids(limit=1, offset=1) == [2]


def test_a_defect_brings_its_crop_and_observations(store):
    job_id = new_running_job(store)
    pose = Pose(100.0, 35.0, 140.0, 90.0, 5.0)
    with store.session() as s:
        framestore.save_frame_results(
            s, job_id, [(0, pose, [observation(0)], [b"c0"]), (4, pose, [observation(4)], [b"c4"])]
        )
        jobstore.complete_job(s, job_id, findings(defect(1, 35.0, 140.0)), report_dir=None)
    with store.session() as s:
        row = defectstore.query_defects(s, job_id=job_id)[0]
        assert defectstore.defect_crop(s, row.id) == b"jpeg"
        assert defectstore.defect_observations(s, row.id) == [observation(0), observation(4)]
        assert defectstore.defect_from_row(row) == defect(1, 35.0, 140.0)


def test_unknown_job_is_a_job_error(store):
    with store.session() as s, pytest.raises(JobError, match="no job"):
        jobstore.get_job(s, "nope")


def test_progress_is_counted_from_the_stored_frames(store):
    job_id = new_running_job(store)
    pose = Pose(0, 35, 140, 0, 0)
    with store.session() as s:
        framestore.save_frame_results(s, job_id, [(0, pose, [], []), (4, pose, [], [])])
    with store.session() as s:
        assert jobstore.get_job(s, job_id).frames_done == 2  # no chunk finished yet: still counted
        framestore.save_frame_results(s, job_id, [(4, pose, [], [])])  # a repeat counts once
        assert jobstore.get_job(s, job_id).frames_done == 2
        assert [j.frames_done for j in jobstore.list_jobs(s)] == [2]


def test_progress_is_whole_when_two_chunks_commit_at_once_on_postgresql(tmp_path):
    import os
    import threading
    import uuid

    from sqlalchemy import create_engine, text

    pg_url = os.environ.get("TENKEN_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_url)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    pg = Store(f"{pg_url}?options=-csearch_path%3D{schema}")
    try:
        job_id = new_running_job(pg)
        pose = Pose(0, 35, 140, 0, 0)
        first_wrote, second_done = threading.Event(), threading.Event()

        def second_chunk() -> None:
            first_wrote.wait(30)
            with pg.session() as s:  # blocks on the job row until the first chunk commits
                framestore.save_frame_results(s, job_id, [(8, pose, [], []), (12, pose, [], [])])
                jobstore.finish_chunk(s, job_id, 1)
            second_done.set()

        thread = threading.Thread(target=second_chunk)
        thread.start()
        with pg.session() as s:
            framestore.save_frame_results(s, job_id, [(0, pose, [], []), (4, pose, [], [])])
            jobstore.finish_chunk(s, job_id, 0)
            first_wrote.set()
            second_done.wait(1.0)  # let the second chunk reach its writes before this one commits
        thread.join(30)
        with pg.session() as s:
            job = jobstore.get_job(s, job_id)
            assert (job.frames_done, job.frames_total) == (4, 4)
    finally:
        pg.dispose()
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def test_a_failed_job_reopens_with_its_failed_chunks_pending_and_its_results_kept(store):
    job_id = new_running_job(store)
    pose = Pose(0, 35, 140, 0, 0)
    with store.session() as s:
        jobstore.begin_chunk_attempt(s, job_id, 0)
        framestore.save_frame_results(s, job_id, [(0, pose, [], []), (4, pose, [], [])])
        jobstore.finish_chunk(s, job_id, 0)
        jobstore.begin_chunk_attempt(s, job_id, 1)
        jobstore.finish_chunk(s, job_id, 1, error="model exploded")
        jobstore.fail_job(s, job_id, "every chunk failed")
    with store.session() as s:
        assert jobstore.reopen_job(s, job_id)
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        chunks = jobstore.list_chunks(s, job_id)
        assert (job.state, job.error, job.errors, job.finished_at) == ("running", None, [], None)
        assert [(c.state, c.attempts, c.error) for c in chunks] == [("done", 1, None), ("pending", 0, None)]
        assert job.frames_done == 2


def test_a_job_that_failed_before_it_started_reopens_queued_and_finished_jobs_do_not(store):
    with store.session() as s:
        bad_input = jobstore.create_video_job(s, "v.mp4", "t.gpx", detector="x:Y", conf=None, options={}).id
        jobstore.fail_job(s, bad_input, "the track covers another day")
    done, canceled = new_running_job(store), new_running_job(store)
    with store.session() as s:
        jobstore.complete_job(s, done, findings(), report_dir=None)
        jobstore.cancel_job(s, canceled)
    with store.session() as s:
        assert jobstore.reopen_job(s, bad_input)
        assert jobstore.get_job(s, bad_input).state == "queued"
        assert not jobstore.reopen_job(s, done) and not jobstore.reopen_job(s, canceled)
        assert jobstore.get_job(s, done).state == "completed"


def test_progress_forgets_the_redispatches_of_a_stalled_job(store):
    job_id = new_running_job(store)
    with store.session() as s:
        assert jobstore.note_redispatch(s, job_id) == 1
        assert jobstore.note_redispatch(s, job_id) == 2
        jobstore.finish_chunk(s, job_id, 0)
        assert jobstore.get_job(s, job_id).redispatches == 0
        jobstore.cancel_job(s, job_id)
        assert jobstore.note_redispatch(s, job_id) == 0  # finished jobs are never sent again


def test_a_job_is_stalled_only_while_unfinished_and_quiet(store):
    job_id = new_running_job(store)
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        assert not jobstore.is_stalled(job, 60.0)
        assert jobstore.is_stalled(job, -1.0)
        jobstore.cancel_job(s, job_id)
        assert not jobstore.is_stalled(jobstore.get_job(s, job_id), -1.0)
