"""Grading along the route (舗装点検要領): crack ratio per segment, category, MCI1, defect severity.

The mesh rules (what a crack, a pothole or a patch counts) are in :mod:`vision.road.crack_mesh`.
C = (cracked + patched area) / surveyed area x 100, where surveyed area = seen length x lane
width, and "seen" comes from the sampled frames' ground coverage (:func:`seen_intervals_from_frames`).
Only cells in seen rows count. A segment seen over less than `MIN_SURVEYED_FRACTION` of its
length is "not surveyed": C, category and MCI None, as for a segment nobody saw.
Rutting depth and IRI need a profiler we do not have; nothing here estimates them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from tenken.findings import Defect, SegmentGrade
from vision.road.crack_mesh import cell_damage_m2, crack_cell_m2, ground_size_m, patch_cell_m2
from vision.road.route import (
    DEFAULT_SEGMENT_M,
    Interval,
    Route,
    RoutePoint,
    RouteSegment,
    covered_length_m,
    cut_route,
    cut_segments,
    merge_intervals,
    seen_intervals_from_frames,
)

__all__ = [
    "MIN_SURVEYED_FRACTION",
    "RouteSegment",
    "category_of",
    "covered_length_m",
    "crack_cell_m2",
    "cut_route",
    "grade_segments",
    "grade_stretches",
    "ground_size_m",
    "mci1",
    "mci_advice",
    "merge_intervals",
    "patch_cell_m2",
    "seen_intervals_from_frames",
    "severity_of",
]

DEFAULT_LANE_WIDTH_M = 3.5
# Below this share seen, a segment is not graded: a crack ratio from a sliver of it (a video cut
# short, a gap in the frames) would pass for the whole segment, and a sound sliver for a sound road.
MIN_SURVEYED_FRACTION = 0.5


def category_of(crack_ratio_pct: float) -> str:
    """舗装点検要領 category: I (sound) C < 20 %, II (keep surface function) 20-40 %, III (repair) >= 40 %."""
    if crack_ratio_pct < 20.0:
        return "I"
    if crack_ratio_pct < 40.0:
        return "II"
    return "III"


def mci1(crack_ratio_pct: float) -> float:
    """MCI from cracking alone: MCI1 = 10 - 2.23 * C^0.3 (C in %)."""
    return 10.0 - 2.23 * max(0.0, crack_ratio_pct) ** 0.3


def mci_advice(mci: float) -> str:
    """What an MCI means for maintenance: <= 3 repair needed, <= 4 repair desirable, else good."""
    if mci <= 3.0:
        return "repair needed"
    if mci <= 4.0:
        return "repair desirable"
    return "good"


# --- severity of one defect ---------------------------------------------------------------------

# (medium from, high from) in metres of the defect's longest ground dimension.
SEVERITY_SIZE_M: dict[str, tuple[float, float]] = {
    "D40": (0.2, 0.45),  # pothole diameter, as the ASTM D6433 bands 200 / 450 mm
    "D20": (0.5, 2.0),  # alligator cracking: a patch of it over 2 m across needs a repair crew
    "D00": (1.0, 5.0),  # cracks by length
    "D10": (1.0, 5.0),
}
LOW_CONFIDENCE = 0.4


def severity_of(class_name: str, size_m: float, confidence: float) -> str:
    """ "low", "medium" or "high" from the class and the longest ground dimension of the defect.

    Potholes are medium from 0.2 m and high from 0.45 m across; alligator cracking medium from
    0.5 m, high from 2 m; longitudinal and transverse cracks medium from 1 m, high from 5 m long.
    Patches (Repair) and unknown classes are low: a patch is a past repair to watch. A finding
    below confidence 0.4 is at most medium: doubtful evidence never raises the alarm on its own.

    >>> severity_of("D40", 0.6, 0.9), severity_of("D40", 0.6, 0.3), severity_of("D00", 0.5, 0.9)
    ('high', 'medium', 'low')
    """
    bands = SEVERITY_SIZE_M.get(class_name)
    if bands is None:
        return "low"
    medium_from, high_from = bands
    if size_m >= high_from:
        level = "high"
    elif size_m >= medium_from:
        level = "medium"
    else:
        level = "low"
    if level == "high" and confidence < LOW_CONFIDENCE:
        return "medium"
    return level


def grade_segments(
    route_points: Sequence[RoutePoint],
    defects: Sequence[Defect],
    seen_intervals: Sequence[Interval],
    *,
    segment_m: float = DEFAULT_SEGMENT_M,
    lane_width_m: float = DEFAULT_LANE_WIDTH_M,
    min_surveyed_fraction: float = MIN_SURVEYED_FRACTION,
) -> list[SegmentGrade]:
    """Grade each segment of the route: crack ratio, category, MCI1, defect counts, share seen.

    `seen_intervals` are (start_m, end_m) distances along the route that the sampled frames saw
    (see :func:`seen_intervals_from_frames`). A segment seen over less than
    `min_surveyed_fraction` of its length keeps its share seen and defect counts but no grade.
    """
    if not route_points:
        return []
    route = Route(route_points)
    return grade_stretches(
        route,
        defects,
        seen_intervals,
        cut_segments(route, segment_m),
        lane_width_m=lane_width_m,
        min_surveyed_fraction=min_surveyed_fraction,
    )


def grade_stretches(
    route: Route,
    defects: Sequence[Defect],
    seen_intervals: Sequence[Interval],
    stretches: Sequence[RouteSegment],
    *,
    lane_width_m: float = DEFAULT_LANE_WIDTH_M,
    min_surveyed_fraction: float = MIN_SURVEYED_FRACTION,
) -> list[SegmentGrade]:
    """Grade given stretches of the route (a road network's units, or :func:`grade_segments`'s cuts).

    A defect or mesh cell at a stretch's end belongs to it only when the route ends there.
    """
    if lane_width_m <= 0:
        raise ValueError(f"lane_width_m must be positive, got {lane_width_m}")
    if not stretches:
        return []
    seen = merge_intervals(seen_intervals)
    damage_m2, cell_station = cell_damage_m2(route, defects, seen, lane_width_m)
    stations = np.asarray([route.station_m(d.lat, d.lon) for d in defects])
    grades = []
    for seg in stretches:
        at_route_end = seg.end_m >= route.length_m - 1e-9
        in_seg = _in_segment(stations, seg, at_route_end)
        counts = Counter(d.class_name for d, inside in zip(defects, in_seg, strict=True) if inside)
        seen_m = covered_length_m(seen, seg.start_m, seg.end_m)
        surveyed_fraction = min(1.0, seen_m / seg.length_m) if seg.length_m > 0 else 0.0
        grade = SegmentGrade(
            segment_id=seg.segment_id,
            start_m=seg.start_m,
            end_m=seg.end_m,
            line=seg.line,
            surveyed_fraction=surveyed_fraction,
            crack_ratio_pct=None,
            category=None,
            mci=None,
            defect_counts=dict(sorted(counts.items())),
        )
        if seen_m > 1e-9 and surveyed_fraction >= min_surveyed_fraction:
            cells = _in_segment(cell_station, seg, at_route_end)
            ratio = min(100.0, 100.0 * float(damage_m2[cells].sum()) / (seen_m * lane_width_m))
            mci = mci1(ratio)
            grade = replace(
                grade, crack_ratio_pct=ratio, category=category_of(ratio), mci=mci, mci_advice=mci_advice(mci)
            )
        grades.append(grade)
    return grades


def _in_segment(stations: np.ndarray, seg: RouteSegment, is_last: bool) -> np.ndarray:
    if len(stations) == 0:
        return np.zeros(0, dtype=bool)
    upper = stations <= seg.end_m if is_last else stations < seg.end_m
    return (stations >= seg.start_m) & upper
