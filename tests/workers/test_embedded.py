"""The embedded executor (the API's default): the same steps as the workers, in a thread pool."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tenken.errors import ConfigError, VideoError
from tenken.events import JOBS, InProcessBus
from tenken.settings import load_settings
from tenken.store import defects as defectstore
from tenken.store import jobs as jobstore
from tenken.store.db import Store
from tenken.tracks import load_track
from tests.mp4_files import faststart_copy, truncated_copy
from tests.synthetic_drive import ColourDetector, build_drive, phone_frame_times_s
from tests.workers.conftest import DETECTOR, REPO, corrupt_copy, survey_options
from vision.road.survey import decode_chunk, run_survey, split_chunks
from worker.executor import CeleryExecutor, EmbeddedExecutor, make_executor


@pytest.fixture
def embedded(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data", chunk_frames=5, tile_url="", road_detector=DETECTOR)
    store = Store(settings.effective_database_url)
    bus = InProcessBus()
    executor = EmbeddedExecutor(settings, store, bus)
    yield executor, store, bus
    executor.shutdown()
    store.dispose()


def test_embedded_job_finds_the_same_defects_as_run_survey(embedded, drive):
    executor, store, bus = embedded
    video, gpx = drive
    reference = run_survey(video, gpx, ColourDetector(), survey_options(), conf=0.25)
    start = bus.last_id()
    job_id = executor.submit_video_job(video, gpx, survey_options())
    executor.wait(job_id, timeout_s=120)
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        defects = [defectstore.defect_from_row(r) for r in defectstore.query_defects(s, job_id=job_id)]
    assert job.state == "completed" and job.frames_done == reference.frames_sampled
    assert sorted(defects, key=lambda d: d.defect_id) == [
        d.__class__(**{**d.__dict__, "crop_path": None}) for d in reference.defects
    ]
    states = [e.data["state"] for e in bus.read([JOBS], start, timeout_s=0.1, limit=1000)]
    assert states[0] == "queued" and states[-1] == "completed" and "running" in states


def test_bad_input_fails_the_job_with_its_message(embedded, drive, tmp_path):
    executor, store, _ = embedded
    video, _ = drive
    wrong_day = tmp_path / "wrong.csv"
    wrong_day.write_text("time,lat,lon\n2001-01-01T00:00:00Z,35.0,140.0\n2001-01-01T00:00:10Z,35.001,140.0\n")
    job_id = executor.submit_video_job(video, wrong_day, survey_options())
    executor.wait(job_id, timeout_s=60)
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
    assert job.state == "failed" and "track covers" in (job.error or "")


def test_missing_files_are_refused_before_a_job_exists(embedded, drive, tmp_path):
    executor, store, _ = embedded
    with pytest.raises(ConfigError, match="video file not found"):
        executor.submit_video_job(tmp_path / "none.mp4", drive[1], survey_options())
    with store.session() as s:
        assert jobstore.list_jobs(s) == []


def test_a_canceled_job_stops_and_keeps_no_findings(embedded, drive):
    executor, store, _ = embedded
    video, gpx = drive
    job_id = executor.submit_video_job(
        video, gpx, survey_options(), detector="tests.workers.slow_detector:SlowColourDetector"
    )
    assert executor.cancel(job_id)
    executor.wait(job_id, timeout_s=60)
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        assert job.state == "canceled"
        assert defectstore.query_defects(s, job_id=job_id) == []
    assert not executor.cancel(job_id)


def test_settings_choose_the_executor(tmp_path):
    base = {"data_dir": tmp_path, "database_url": f"sqlite:///{tmp_path / 's.sqlite3'}"}
    embedded = make_executor(load_settings(**base))
    assert isinstance(embedded, EmbeddedExecutor)
    embedded.shutdown()
    celery = make_executor(load_settings(**base, broker_url="redis://127.0.0.1:6379/13"))
    assert isinstance(celery, CeleryExecutor)
    celery.shutdown()


def test_a_chunk_decodes_exactly_its_planned_frames(drive):
    video, gpx = drive
    track = load_track(gpx)
    frames = decode_chunk(video, [3, 7, 11], track.start_s, track)
    assert [f.frame_index for f in frames] == [3, 7, 11]
    assert frames[1].timestamp_s > frames[0].timestamp_s
    assert split_chunks([0, 4, 9, 13, 20], 2) == [[0, 4], [9, 13], [20]]


def sequential_images(video, indices):
    capture = cv2.VideoCapture(str(video))
    images = {}
    for index in range(max(indices) + 1):
        ok, image = capture.read()
        if index in indices:
            images[index] = image if ok else None
    return [images[i] for i in indices]


@pytest.mark.parametrize("container", ["mp4", "mjpeg-avi-with-a-corrupt-stretch"])
def test_a_chunk_that_seeks_gets_the_same_pixels_as_decoding_from_the_start(drive, tmp_path, container):
    video, gpx = drive
    if container != "mp4":
        video = corrupt_copy(video, tmp_path / "corrupt.avi", range(50, 54))
    track = load_track(gpx)
    for chunk in ([5, 9, 13], [30, 34], [60, 70, 80], [100, 111]):
        frames = decode_chunk(video, chunk, track.start_s, track)
        expected = sequential_images(video, chunk)
        assert all(np.array_equal(f.image, e) for f, e in zip(frames, expected, strict=True)), chunk


@pytest.fixture(scope="module")
def phone_drive(tmp_path_factory):
    """A drive recorded at a variable frame rate (10 fps for 3 s, then 3.3 fps)."""
    return build_drive(tmp_path_factory.mktemp("phone-drive"), frame_times_s=phone_frame_times_s())


def test_a_chunk_of_a_variable_frame_rate_video_takes_each_frame_at_its_own_time(phone_drive):
    video, gpx = phone_drive
    track = load_track(gpx)
    truth_s = phone_frame_times_s()
    for chunk in ([5, 9, 13], [30, 34], [40, 45, 50], [55, 57]):
        frames = decode_chunk(video, chunk, track.start_s, track)
        assert [f.frame_index for f in frames] == chunk
        assert [f.timestamp_s - track.start_s for f in frames] == pytest.approx([truth_s[i] for i in chunk])
        expected = sequential_images(video, chunk)
        assert all(np.array_equal(f.image, e) for f, e in zip(frames, expected, strict=True)), chunk


def test_an_embedded_job_on_a_variable_frame_rate_video_matches_run_survey(embedded, phone_drive):
    executor, store, _ = embedded
    video, gpx = phone_drive
    reference = run_survey(video, gpx, ColourDetector(), survey_options(), conf=0.25)
    job_id = executor.submit_video_job(video, gpx, survey_options())
    executor.wait(job_id, timeout_s=120)
    with store.session() as s:
        defects = [defectstore.defect_from_row(r) for r in defectstore.query_defects(s, job_id=job_id)]
    found = [c for d in sorted(defects, key=lambda d: d.defect_id) for c in (d.lat, d.lon)]
    assert found == pytest.approx([c for d in reference.defects for c in (d.lat, d.lon)], abs=1e-9)


def test_an_embedded_job_on_a_truncated_video_reports_how_much_it_covers(embedded, drive, tmp_path):
    executor, store, _ = embedded
    video, gpx = drive
    cut = truncated_copy(faststart_copy(video, tmp_path / "fast.mp4"), tmp_path / "cut.mp4", 0.5)
    job_id = executor.submit_video_job(cut, gpx, survey_options())
    executor.wait(job_id, timeout_s=120)
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
    assert job.state == "completed"
    coverage = json.loads((Path(job.report_dir) / "report.json").read_text())["coverage"]
    assert coverage["complete"] is False
    assert coverage["frames_in_video"] == 112 and coverage["frames_decoded"] < 70
    assert "of a 11.2 s video" in coverage["warning"]


def test_a_chunk_over_a_corrupt_stretch_names_the_frame(drive, tmp_path):
    video, gpx = drive
    bad = corrupt_copy(video, tmp_path / "corrupt.avi", range(50, 54))
    track = load_track(gpx)
    with pytest.raises(VideoError, match="cannot decode frame 52 of 112"):
        decode_chunk(bad, [48, 52, 56], track.start_s, track)


def test_importing_the_worker_app_loads_no_model_runtime():
    # The prefork parent imports these; a CUDA or ONNX Runtime session made here would be
    # shared by forked children, so models must load only inside the pool processes.
    code = (
        "import sys, worker.app, worker.tasks, worker.executor, worker.stream_reader;"
        "from worker.detectors import loaded_specs;"
        "bad = [m for m in ('torch', 'onnxruntime', 'openvino', 'ultralytics') if m in sys.modules];"
        "assert not bad and not loaded_specs(), bad"
    )
    env_cmd = [sys.executable, "-c", code]
    result = subprocess.run(env_cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_job_left_unfinished_by_a_stopped_process_completes_when_resumed(embedded, drive):
    executor, store, _ = embedded
    video, gpx = drive

    with store.session() as s:  # what a process that stopped right after accepting a job leaves
        job_id = jobstore.create_video_job(
            s,
            str(video),
            str(gpx),
            detector=DETECTOR,
            conf=0.25,
            options=survey_options().model_dump(mode="json"),
        ).id
    assert executor.resume(job_id) == "preparation"
    executor.wait(job_id, timeout_s=120)
    with store.session() as s:
        assert jobstore.get_job(s, job_id).state == "completed"
        assert len(defectstore.query_defects(s, job_id=job_id)) == 5
    assert executor.resume(job_id) == "nothing (the job has finished)"


def test_a_chunk_that_keeps_crashing_is_retried_then_failed_with_its_error(tmp_path, drive):
    from worker import job_steps

    video, gpx = drive
    store = Store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    with store.session() as s:
        job_id = jobstore.create_video_job(
            s,
            str(video),
            str(gpx),
            detector="tests.workers.slow_detector:CrashingDetector",
            conf=None,
            options=survey_options().model_dump(mode="json"),
        ).id
    assert job_steps.prepare_job(store, job_id, chunk_frames=100) == [0]
    for _ in range(2):
        with pytest.raises(RuntimeError, match="model exploded"):  # the caller retries
            job_steps.run_chunk(store, job_id, 0, max_attempts=3)
    outcome = job_steps.run_chunk(store, job_id, 0, max_attempts=3)
    assert outcome.ran and outcome.all_finished
    with store.session() as s:
        chunk = jobstore.get_chunk(s, job_id, 0)
        assert (chunk.state, chunk.attempts) == ("failed", 3)
        assert chunk.error == "RuntimeError: model exploded"
    assert job_steps.aggregate_job(store, job_id, load_settings(data_dir=tmp_path, tile_url=""))
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
    assert job.state == "failed" and "model exploded" in (job.error or "")
    store.dispose()


def test_a_chunk_whose_worker_died_every_time_is_given_up(tmp_path, drive):
    from worker import job_steps

    video, gpx = drive
    store = Store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    with store.session() as s:
        job_id = jobstore.create_video_job(
            s,
            str(video),
            str(gpx),
            detector=DETECTOR,
            conf=None,
            options=survey_options().model_dump(mode="json"),
        ).id
    job_steps.prepare_job(store, job_id, chunk_frames=100)
    with store.session() as s:  # three deliveries began and never finished: the worker was killed
        for _ in range(3):
            jobstore.begin_chunk_attempt(s, job_id, 0)
    job_steps.run_chunk(store, job_id, 0, max_attempts=3)
    with store.session() as s:
        chunk = jobstore.get_chunk(s, job_id, 0)
    assert chunk.state == "failed" and "gave up after 3 attempts" in (chunk.error or "")
    store.dispose()


def test_embedded_jobs_load_the_model_from_the_executors_settings(tmp_path, drive, monkeypatch):
    from tenken.settings import get_settings
    from tests.model_folders import copy_model_as

    models = tmp_path / "models"
    copy_model_as("road", "pavement", models)
    monkeypatch.setenv("TENKEN_MODELS_DIR", str(tmp_path / "elsewhere"))  # the global settings: no such model
    get_settings.cache_clear()
    settings = load_settings(
        data_dir=tmp_path / "data", tile_url="", models_dir=models, road_detector="pavement", device="cpu"
    )
    store = Store(settings.effective_database_url)
    executor = EmbeddedExecutor(settings, store, InProcessBus())
    try:
        job_id = executor.submit_video_job(drive[0], drive[1], survey_options())
        executor.wait(job_id, timeout_s=120)
        with store.session() as s:
            job = jobstore.get_job(s, job_id)
        assert job.state == "completed" and job.error is None and job.frames_done > 0
        assert json.loads((Path(job.report_dir) / "report.json").read_text())["model"]["name"] == "pavement"
    finally:
        executor.shutdown()
        store.dispose()
        get_settings.cache_clear()
