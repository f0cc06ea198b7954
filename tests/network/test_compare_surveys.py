"""Two synthetic surveys of one street compared: every defect's fate and every unit, exactly."""

from __future__ import annotations

import csv
import json

import pytest

from tenken.network.compare import CompareOptions, compare_surveys
from tenken.network.compare_output import write_comparison
from tenken.network.history import load_snapshot
from tenken.store import network as netstore
from tenken.store.db import Store
from tests.network_drives import (
    DRIVE_A,
    DRIVE_B,
    EXPECTED,
    NOW,
    STREET_START_M,
    THEN,
    network_routes,
    store_drive,
)
from vision.road.network_jobs import locate_all_surveys


@pytest.fixture
def two_surveys(database_url):
    store = Store(database_url)
    then_id, now_id = store_drive(store, DRIVE_A), store_drive(store, DRIVE_B)
    with store.session() as s:
        netstore.replace_network(s, network_routes())
        locate_all_surveys(s)
    yield store, then_id, now_id
    store.dispose()


def _fates(comparison):
    """planted key -> status, through the defect ids each drive stored (ids follow the planted order)."""
    then_keys = {d.row_id: THEN[i].key for i, d in enumerate(comparison.then.defects)}
    now_keys = {d.row_id: NOW[i].key for i, d in enumerate(comparison.now.defects)}
    fates = {}
    for change in comparison.defects:
        keys = {then_keys[change.then.row_id]} if change.then else set()
        keys |= {now_keys[change.now.row_id]} if change.now else set()
        assert len(keys) == 1, f"{change.status} paired {keys}"
        fates[keys.pop()] = change.status
    return fates


def test_every_defect_gets_its_true_fate_between_two_drives_of_one_street(two_surveys):
    store, then_id, now_id = two_surveys
    with store.session() as s:
        comparison = compare_surveys(load_snapshot(s, then_id), load_snapshot(s, now_id))
    assert _fates(comparison) == EXPECTED
    assert comparison.counts()["new"] == 2 and comparison.counts()["not_seen_again"] == 2


def test_a_repair_record_turns_not_seen_again_into_repaired(two_surveys):
    store, then_id, now_id = two_surveys
    with store.session() as s:
        a, b = load_snapshot(s, then_id), load_snapshot(s, now_id)
    repaired_row = a.defects[[p.key for p in THEN].index("repaired")].row_id
    comparison = compare_surveys(a, b, CompareOptions(), lambda ids: {repaired_row: "patched 2026-03-02"})
    fates = _fates(comparison)
    assert fates["repaired"] == "repaired" and fates["gone"] == "not_seen_again"
    note = next(c.repair_note for c in comparison.defects if c.status == "repaired")
    assert note == "patched 2026-03-02"


def test_both_surveys_grade_the_same_fixed_units_whatever_their_start_and_direction(two_surveys):
    store, then_id, now_id = two_surveys
    with store.session() as s:
        comparison = compare_surveys(load_snapshot(s, then_id), load_snapshot(s, now_id))
    units = {(u.route_id, u.unit_index): u for u in comparison.units}
    assert sorted(units) == [("R1", k) for k in range(5)]
    assert [round(units["R1", k].from_m) for k in range(5)] == [STREET_START_M + 100 * k for k in range(5)]
    for u in units.values():
        assert u.then is not None and u.now is not None
        assert u.then.surveyed_fraction > 0.7 and u.now.surveyed_fraction > 0.7
    # unit 2 lost its alligator cracking (repaired); unit 3 lost a pothole but gained a crack and a pothole
    assert units["R1", 2].now.crack_ratio_pct < units["R1", 2].then.crack_ratio_pct
    assert units["R1", 2].mci_change > 0
    assert units["R1", 2].then.defect_counts == {"D20": 1, "D40": 2}
    assert units["R1", 2].now.defect_counts == {"D40": 2}
    assert units["R1", 3].now.defect_counts == {"D00": 1, "D40": 1}
    assert units["R1", 4].now.defect_counts == {} and units["R1", 4].now.crack_ratio_pct == 0.0


def test_comparison_files_hold_every_change(two_surveys, tmp_path):
    store, then_id, now_id = two_surveys
    with store.session() as s:
        comparison = compare_surveys(load_snapshot(s, then_id), load_snapshot(s, now_id))
    written = write_comparison(tmp_path, comparison)
    assert set(written) == {
        "changes.geojson",
        "defect_changes.csv",
        "unit_changes.csv",
        "changes.gpkg",
        "index.html",
    }
    features = json.loads((tmp_path / "changes.geojson").read_text())["features"]
    statuses = sorted(f["properties"]["status"] for f in features if f["geometry"]["type"] == "Point")
    assert statuses == sorted(EXPECTED.values())
    with (tmp_path / "unit_changes.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [r["unit"] for r in rows] == ["0", "1", "2", "3", "4"]
    from pyogrio import list_layers

    assert sorted(name for name, _ in list_layers(tmp_path / "changes.gpkg")) == [
        "defect_changes",
        "unit_changes",
    ]
    assert "window.TENKEN_REPORT" in (tmp_path / "data.js").read_text()
