"""A repaired defect that a later survey finds again re-opens when that survey's job completes
(through the embedded executor, as `tenken serve` runs jobs); one not found again stays repaired."""

from __future__ import annotations

from pathlib import Path

from tenken.events import InProcessBus
from tenken.settings import load_settings
from tenken.store import jobs as jobstore
from tenken.store.db import Store
from tenken.store.defects import query_defects
from tenken.store.repairs import REPAIRED, repair_state, set_repair_status
from tests.synthetic_drive import build_drive
from tests.workers.conftest import DETECTOR, survey_options
from worker.executor import EmbeddedExecutor


def run_job(executor: EmbeddedExecutor, video: Path, gpx: Path) -> str:
    job_id = executor.submit_video_job(video, gpx, survey_options())
    executor.wait(job_id, timeout_s=180)
    return job_id


def test_the_next_survey_reopens_what_it_finds_again(tmp_path):
    video, gpx = build_drive(tmp_path)
    # the same street driven a day later: only the track's clock differs
    later_gpx = tmp_path / "later.gpx"
    later_gpx.write_text(gpx.read_text().replace("2026-10-01T", "2026-10-02T"))
    settings = load_settings(data_dir=tmp_path / "data", chunk_frames=8, tile_url="", road_detector=DETECTOR)
    store = Store(settings.effective_database_url)
    executor = EmbeddedExecutor(settings, store, InProcessBus())
    try:
        first = run_job(executor, video, gpx)
        with store.session() as s:
            rows = query_defects(s, job_id=first)
            assert len(rows) >= 2
            for row in rows:
                set_repair_status(s, row.id, REPAIRED, by="crew 3")
            # a repaired defect recorded under another class is a different defect: it stays repaired
            target, untouched = rows[0].id, rows[-1].id
            rows[-1].class_name = "Repair"
        second = run_job(executor, video, later_gpx)
    finally:
        executor.shutdown()
    with store.session() as s:
        assert jobstore.get_job(s, second).state == "completed"
        reopened = repair_state(s, target)
        kept = repair_state(s, untouched)
        new_ids = {r.id for r in query_defects(s, job_id=second)}
    store.dispose()
    assert reopened.status == "open" and reopened.reopened and reopened.found_again_as in new_ids
    assert kept.status == REPAIRED and not kept.reopened
