"""Reviews and repair records where surveys are on the road network: `tenken compare` reads the repair
records, and a rejected finding leaves the unit grades and the comparison (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tenken.network.compare import compare_surveys
from tenken.network.history import load_snapshot, repair_notes
from tenken.store import network as netstore
from tenken.store.db import Store
from tenken.store.repairs import set_repair_status
from tenken.store.reviews import Review, review_defect
from tests.network_drives import DRIVE_A, DRIVE_B, NOW, THEN, network_routes, store_drive
from vision.road.network_jobs import locate_all_surveys
from vision.road.regrade import regrade_survey


@pytest.fixture
def two_surveys(database_url):
    store = Store(database_url)
    then_id, now_id = store_drive(store, DRIVE_A), store_drive(store, DRIVE_B)
    with store.session() as s:
        netstore.replace_network(s, network_routes())
        locate_all_surveys(s)
    yield store, then_id, now_id
    store.dispose()


def row_of(snapshot, planted, key: str) -> int:
    return snapshot.defects[[p.key for p in planted].index(key)].row_id


def statuses(store, then_id, now_id) -> dict[str, int]:
    with store.session() as s:
        comparison = compare_surveys(
            load_snapshot(s, then_id), load_snapshot(s, now_id), repair_notes=lambda ids: repair_notes(s, ids)
        )
        return comparison.counts()


def test_a_recorded_repair_is_what_compare_reports(two_surveys):
    store, then_id, now_id = two_surveys
    assert statuses(store, then_id, now_id).get("repaired", 0) == 0
    with store.session() as s:
        repaired = row_of(load_snapshot(s, then_id), THEN, "repaired")
        set_repair_status(s, repaired, "repaired", by="crew 3")
        notes = repair_notes(s, [repaired])
    assert notes[repaired].startswith("repaired 20") and notes[repaired].endswith("by crew 3")
    counts = statuses(store, then_id, now_id)
    assert counts["repaired"] == 1 and counts["not_seen_again"] == 1


def test_a_rejected_finding_leaves_the_units_and_the_comparison(two_surveys):
    store, then_id, now_id = two_surveys
    with store.session() as s:
        pothole = row_of(load_snapshot(s, now_id), NOW, "new_pothole")
        unit = netstore.defect_locations(s, now_id)[pothole].unit_index
        before = next(u for u in netstore.survey_units(s, now_id) if u.unit_index == unit).defect_counts
    assert statuses(store, then_id, now_id)["new"] == 2
    with store.session() as s:
        review_defect(s, pothole, Review("rejected", note="a shadow"), reviewer="sato")
        regrade_survey(s, now_id)
    with store.session() as s:
        after = next(u for u in netstore.survey_units(s, now_id) if u.unit_index == unit).defect_counts
        assert pothole not in netstore.defect_locations(s, now_id)
    assert after.get("D40", 0) == before["D40"] - 1
    assert statuses(store, then_id, now_id)["new"] == 1
