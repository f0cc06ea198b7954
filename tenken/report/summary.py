"""The figures a report leads with: defect counts, segment grades and what was not measured."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from tenken.findings import ROAD_CLASSES, Defect, SegmentGrade

SEVERITIES = ("high", "medium", "low")
CATEGORIES = ("I", "II", "III")
NOT_SURVEYED = "not surveyed"

# Said in every report so that nobody reads a missing figure as a good one.
NOT_MEASURED = {
    "rutting_depth": "not measured: rutting (わだち掘れ) needs a transverse profile (laser or LiDAR) "
    "that a dashcam cannot give",
    "iri": "not measured: IRI needs a longitudinal profile or an accelerometer on the axle",
    "mci": "MCI here is MCI1 = 10 - 2.23 * C^0.3, from cracking alone; "
    "the full MCI also needs rutting and IRI",
}


def defect_summary(defects: Sequence[Defect]) -> dict[str, Any]:
    by_class = Counter(d.class_name for d in defects)
    by_severity = Counter(d.severity for d in defects)
    known = [c for c in ROAD_CLASSES if c in by_class]
    others = sorted(c for c in by_class if c not in ROAD_CLASSES)
    return {
        "total": len(defects),
        "by_class": {c: by_class[c] for c in [*known, *others]},
        "by_severity": {s: by_severity.get(s, 0) for s in SEVERITIES},
    }


def segment_summary(segments: Sequence[SegmentGrade]) -> dict[str, Any]:
    """Counts per category, and the crack ratio over the graded segments weighted by seen length.

    A segment seen too little to grade ("not surveyed") adds to the length seen, not to the ratio.
    """
    by_category = Counter(s.category or NOT_SURVEYED for s in segments)
    route_m = sum(s.end_m - s.start_m for s in segments)
    seen_m = [(s.end_m - s.start_m) * s.surveyed_fraction for s in segments]
    graded = [
        (m, s.crack_ratio_pct) for m, s in zip(seen_m, segments, strict=True) if s.crack_ratio_pct is not None
    ]
    graded_m = sum(m for m, _ in graded)
    weighted = sum(m * ratio for m, ratio in graded)
    return {
        "total": len(segments),
        "by_category": {c: by_category.get(c, 0) for c in [*CATEGORIES, NOT_SURVEYED]},
        "route_length_m": round(route_m, 1),
        "surveyed_length_m": round(sum(seen_m), 1),
        "crack_ratio_pct_overall": round(weighted / graded_m, 2) if graded_m > 0 else None,
    }
