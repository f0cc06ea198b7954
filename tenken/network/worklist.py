"""The work list: every graded unit, worst first, as the guideline's repair classes rank them.

Order: category III (修繕段階, repair) before II (表層機能保持段階, keep the surface working)
before I (健全, sound); within a category the lower MCI first, then more high-severity defects,
then more defects. Each unit is graded by the newest survey that saw it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tenken.findings import ROAD_CLASSES
from tenken.network.tables import Layer
from tenken.network.units import UnitGrade

REPAIR_CLASSES = {
    "III": "III repair (修繕段階)",
    "II": "II preventive maintenance (表層機能保持段階)",
    "I": "I sound (健全)",
}
_CATEGORY_RANK = {"III": 0, "II": 1, "I": 2}
SEVERITIES = ("high", "medium", "low")


def rank_units(units: Sequence[tuple[UnitGrade, str, float]]) -> list[tuple[UnitGrade, str, float]]:
    """(grade, job id, survey time) sorted worst first; ungraded units (nothing seen) last."""

    def key(item: tuple[UnitGrade, str, float]) -> tuple[Any, ...]:
        u = item[0]
        return (
            _CATEGORY_RANK.get(u.category or "", 3),
            u.mci if u.mci is not None else 99.0,
            -u.severity_counts.get("high", 0),
            -sum(u.defect_counts.values()),
            u.route_id,
            u.unit_index,
        )

    return sorted(units, key=key)


def worklist_layer(units: Sequence[tuple[UnitGrade, str, float]], route_names: dict[str, str]) -> Layer:
    """The ranked units as rows for CSV and GeoPackage."""
    rows, lines = [], []
    for rank, (u, job_id, surveyed_at_s) in enumerate(rank_units(units), start=1):
        row: dict[str, Any] = {
            "rank": rank,
            "route_id": u.route_id,
            "route_name": route_names.get(u.route_id, ""),
            "unit": u.unit_index,
            "from_m": round(u.from_m, 1),
            "to_m": round(u.to_m, 1),
            "category": u.category,
            "repair_class": REPAIR_CLASSES.get(u.category or "", "not graded"),
            "mci": None if u.mci is None else round(u.mci, 2),
            "crack_ratio_pct": None if u.crack_ratio_pct is None else round(u.crack_ratio_pct, 2),
            "surveyed_fraction": round(u.surveyed_fraction, 3),
        }
        row.update({f"n_{c}": u.defect_counts.get(c, 0) for c in ROAD_CLASSES})
        row.update({f"n_{s}": u.severity_counts.get(s, 0) for s in SEVERITIES})
        row["last_survey"] = datetime.fromtimestamp(surveyed_at_s, UTC).date().isoformat()
        row["job_id"] = job_id
        rows.append(row)
        lines.append(u.line)
    return Layer("worklist", "LineString", rows, lines)
