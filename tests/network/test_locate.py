"""A completed survey goes on the network when there is one, and stays as it is when there is none."""

from __future__ import annotations

from tenken.store import defects as defectstore
from tenken.store import jobs as jobstore
from tenken.store import network as netstore
from tenken.store.db import Store
from tests.network_drives import DRIVE_B, STREET_START_M, network_routes, store_drive
from vision.network_jobs import locate_if_network


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
