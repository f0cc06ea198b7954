"""A completed survey goes on the network when there is one, and stays as it is when there is none."""

from __future__ import annotations

from tenken.store import defects as defectstore
from tenken.store import jobs as jobstore
from tenken.store import network as netstore
from tenken.store.db import Store
from tests.network_drives import DRIVE_B, STREET_START_M, network_routes, store_drive
from vision.road.network_jobs import locate_if_network


def test_without_a_network_a_completed_survey_keeps_its_own_segments_only(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    job_id = store_drive(store, DRIVE_B)
    with store.session() as s:
        assert locate_if_network(s, job_id) is None
        assert netstore.get_survey_location(s, job_id) is None
    store.dispose()


def test_with_a_network_defects_get_route_id_and_distance_and_leaving_it_is_counted(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    job_id = store_drive(store, DRIVE_B)
    with store.session() as s:
        netstore.replace_network(s, network_routes())
        location = locate_if_network(s, job_id)
        assert location is not None
        # drive B ends 60 m beyond the street's start, off the network
        assert location.fixes_total - location.fixes_on_network >= 7
        places = netstore.defect_locations(s, job_id)
        rows = defectstore.query_defects(s, job_id=job_id)
        assert len(places) == len(rows) == 9
        assert {p.route_id for p in places.values()} == {"R1"}
        assert all(STREET_START_M <= p.distance_m <= STREET_START_M + 450 for p in places.values())
    store.dispose()


def test_deleting_a_survey_deletes_what_was_derived_from_it(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 's.sqlite3'}")
    job_id = store_drive(store, DRIVE_B)
    with store.session() as s:
        netstore.replace_network(s, network_routes())
        locate_if_network(s, job_id)
    with store.session() as s:
        s.delete(jobstore.get_job(s, job_id))
    with store.session() as s:
        assert netstore.survey_units(s, job_id) == [] and netstore.defect_locations(s, job_id) == {}
    store.dispose()


def test_a_job_that_completes_with_a_network_in_the_store_is_put_on_it(tmp_path):
    from tenken.events import InProcessBus
    from tenken.network.units import NetworkRoute
    from tenken.settings import load_settings
    from tests.synthetic_drive import PLANTED, ROUTE, build_drive
    from tests.workers.conftest import DETECTOR, survey_options
    from worker.executor import EmbeddedExecutor

    video, gpx = build_drive(tmp_path)
    street = NetworkRoute(
        "S1", "synthetic street", tuple(ROUTE.point_beside(float(s), 0.0) for s in range(0, 90, 3))
    )
    settings = load_settings(data_dir=tmp_path / "data", chunk_frames=8, tile_url="", road_detector=DETECTOR)
    store = Store(settings.effective_database_url)
    with store.session() as s:
        netstore.replace_network(s, [street])
    executor = EmbeddedExecutor(settings, store, InProcessBus())
    try:
        job_id = executor.submit_video_job(video, gpx, survey_options())
        executor.wait(job_id, timeout_s=180)
    finally:
        executor.shutdown()
    with store.session() as s:
        assert jobstore.get_job(s, job_id).state == "completed"
        places = netstore.defect_locations(s, job_id)
        units = netstore.survey_units(s, job_id)
        n_defects = len(defectstore.query_defects(s, job_id=job_id))
    store.dispose()
    assert n_defects == len(PLANTED) and len(places) == n_defects
    # each defect where it was planted along the street, within the survey's position error
    distances = sorted(p.distance_m for p in places.values())
    planted = sorted(street.locate(*p.latlon())[0] for p in PLANTED)
    assert max(abs(a - b) for a, b in zip(distances, planted, strict=True)) < 2.0
    assert [(u.route_id, u.unit_index) for u in units] == [("S1", 0)]
