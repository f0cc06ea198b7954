"""The work list's order: the guideline's repair classes first, then MCI, then severe defects."""

from __future__ import annotations

from tenken.network.units import UnitGrade
from tenken.network.worklist import rank_units, worklist_layer


def unit(k, category, mci, high=0, counts=None):
    return UnitGrade(
        "R1", k, 100.0 * k, 100.0 * (k + 1), ((35.0, 139.0), (35.001, 139.0)), 1.0,
        None if category is None else 10.0, category, mci, None, counts or {}, {"high": high} if high else {},
    )  # fmt: skip


def test_repair_class_outranks_mci_and_mci_outranks_severe_defect_counts():
    units = [
        (unit(0, "I", 7.0, high=5), "a", 0.0),
        (unit(1, "II", 5.5), "a", 0.0),
        (unit(2, "III", 3.9), "a", 0.0),
        (unit(3, "III", 2.5), "a", 0.0),
        (unit(4, "I", 7.0, high=1), "a", 0.0),
        (unit(5, None, None), "a", 0.0),
    ]
    assert [u.unit_index for u, _, _ in rank_units(units)] == [3, 2, 1, 0, 4, 5]


def test_rows_carry_route_distances_counts_by_class_and_the_survey_date():
    layer = worklist_layer(
        [(unit(2, "III", 2.9, high=1, counts={"D40": 2}), "job1", 1_790_000_000.0)], {"R1": "Main"}
    )
    row = layer.rows[0]
    assert row["route_id"] == "R1" and row["route_name"] == "Main"
    assert (row["from_m"], row["to_m"]) == (200.0, 300.0)
    assert row["repair_class"].startswith("III repair") and row["n_D40"] == 2 and row["n_D00"] == 0
    assert row["n_high"] == 1 and row["last_survey"] == "2026-09-21" and row["job_id"] == "job1"
