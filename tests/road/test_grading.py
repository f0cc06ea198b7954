"""Grading along the route: segments, the 0.5 m crack mesh, categories, MCI1 and severity."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenken.findings import Defect, Pose
from tenken.geo import LocalProjection
from vision.road.grading import (
    MIN_SURVEYED_FRACTION,
    category_of,
    covered_length_m,
    crack_cell_m2,
    cut_route,
    grade_segments,
    ground_size_m,
    mci1,
    mci_advice,
    merge_intervals,
    patch_cell_m2,
    seen_intervals_from_frames,
    severity_of,
)

# A straight road heading east from this origin: x east = distance along the route, y north =
# offset across it (left of travel). The lane (3.5 m) spans y in [-1.75, 1.75]: cell columns have
# edges at -1.75, -1.25, -0.75, -0.25, 0.25, ...; rows have edges every 0.5 m of x.
ORIGIN = (35.0, 139.0)
FRAME = LocalProjection(*ORIGIN)
SEEN_ALL = [(0.0, 1e6)]


def xy(x: float, y: float) -> tuple[float, float]:
    return FRAME.to_latlon(x, y)


def road(length_m: float) -> list[tuple[float, float]]:
    return [xy(0.0, 0.0), xy(length_m, 0.0)]


def box(x0: float, x1: float, y0: float, y1: float) -> tuple[tuple[float, float], ...]:
    return (xy(x0, y0), xy(x1, y0), xy(x1, y1), xy(x0, y1))


def defect(
    cls: str, ring: tuple[tuple[float, float], ...] = (), at: tuple[float, float] = (0.0, 0.0)
) -> Defect:
    if ring:
        lat, lon = sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)
    else:
        lat, lon = xy(*at)
    return Defect(
        defect_id=0,
        class_name=cls,
        severity="low",
        lat=lat,
        lon=lon,
        error_m=1.0,
        first_frame=0,
        last_frame=0,
        n_observations=1,
        confidence=0.8,
        ground_ring=ring,
    )


def ratio_for(damaged_m2: float, seen_m: float = 100.0, lane_m: float = 3.5) -> float:
    return 100.0 * damaged_m2 / (seen_m * lane_m)


def one_segment_ratio(defects: list[Defect], **kw) -> float:
    [grade] = grade_segments(road(100.0), defects, SEEN_ALL, **kw)
    assert grade.crack_ratio_pct is not None
    return grade.crack_ratio_pct


# --- cutting the route --------------------------------------------------------------------------


def test_route_is_cut_into_100_m_segments_with_a_shorter_last_one():
    segments = cut_route(road(250.0))
    assert [round(s.start_m, 6) for s in segments] == [0.0, 100.0, 200.0]
    assert [round(s.end_m, 6) for s in segments] == [100.0, 200.0, 250.0]


def test_segment_polyline_starts_and_ends_at_its_distances():
    second = cut_route(road(250.0))[1]
    start, end = second.line[0], second.line[-1]
    assert FRAME.to_xy(*start) == pytest.approx((100.0, 0.0), abs=1e-3)
    assert FRAME.to_xy(*end) == pytest.approx((200.0, 0.0), abs=1e-3)


def test_segment_polyline_keeps_the_corners_of_a_bend():
    route = [xy(0, 0), xy(60, 0), xy(60, 60)]
    [first, second] = cut_route(route)
    assert any(FRAME.to_xy(*p) == pytest.approx((60.0, 0.0), abs=1e-3) for p in first.line)
    assert FRAME.to_xy(*first.line[-1]) == pytest.approx((60.0, 40.0), abs=1e-3)
    assert second.end_m == pytest.approx(120.0, abs=1e-3)


def test_route_from_poses_drops_repeated_fixes_of_a_stopped_car():
    poses = [Pose(float(i), *xy(x, 0.0), 90.0, 0.0) for i, x in enumerate([0, 0, 0, 50, 50, 120])]
    segments = cut_route(poses, segment_m=100.0)
    assert [round(s.end_m, 3) for s in segments] == [100.0, 120.0]


def test_route_without_length_has_no_segments():
    assert cut_route([]) == []
    assert cut_route([xy(0, 0), xy(0, 0)]) == []


def test_segment_length_must_be_positive():
    with pytest.raises(ValueError, match="segment_m"):
        cut_route(road(10.0), segment_m=0.0)


@settings(max_examples=40, deadline=None)
@given(
    length_m=st.floats(min_value=1.0, max_value=2000.0),
    segment_m=st.floats(min_value=10.0, max_value=500.0),
)
def test_segments_tile_the_route_without_gaps(length_m, segment_m):
    segments = cut_route(road(length_m), segment_m=segment_m)
    assert segments[0].start_m == 0.0
    assert segments[-1].end_m == pytest.approx(length_m, rel=1e-6)
    for a, b in itertools.pairwise(segments):
        assert a.end_m == b.start_m
    assert all(0.0 < s.length_m <= segment_m + 1e-9 for s in segments)
    assert [s.segment_id for s in segments] == list(range(len(segments)))


# --- what was seen ------------------------------------------------------------------------------


def test_overlapping_intervals_merge():
    assert merge_intervals([(5.0, 8.0), (0.0, 2.0), (1.0, 3.0), (8.0, 9.0), (4.0, 4.0)]) == [
        (0.0, 3.0),
        (5.0, 9.0),
    ]


@given(st.lists(st.tuples(st.integers(0, 50), st.integers(0, 50)), max_size=12))
def test_merged_intervals_cover_exactly_the_same_points(intervals):
    merged = merge_intervals(intervals)
    for a, b in itertools.pairwise(merged):
        assert a[1] < b[0]
    for half in range(0, 101):  # test points between the integers too
        p = half / 2.0
        inside_any = any(a <= p <= b for a, b in intervals if b > a)
        assert inside_any == any(a <= p <= b for a, b in merged)


def test_covered_length_counts_overlaps_once():
    assert covered_length_m([(0.0, 30.0), (20.0, 50.0), (90.0, 200.0)], 0.0, 100.0) == 60.0


def test_frames_see_the_ground_ahead_of_them():
    frames = [xy(0, 0), xy(10, 0.3), xy(20, -0.2), xy(80, 0)]
    seen = seen_intervals_from_frames(road(100.0), frames, near_m=2.0, far_m=12.0)
    assert seen == [pytest.approx((2.0, 32.0), abs=1e-3), pytest.approx((82.0, 92.0), abs=1e-3)]


def test_seen_interval_stops_at_the_end_of_the_route():
    seen = seen_intervals_from_frames(road(100.0), [xy(95, 0)], near_m=2.0, far_m=12.0)
    assert seen == [pytest.approx((97.0, 100.0), abs=1e-3)]


def test_far_edge_must_lie_beyond_near_edge():
    with pytest.raises(ValueError, match="far_m"):
        seen_intervals_from_frames(road(100.0), [xy(0, 0)], near_m=5.0, far_m=5.0)


# --- cell values --------------------------------------------------------------------------------


@pytest.mark.parametrize(("n_cracks", "m2"), [(0, 0.0), (1, 0.15), (2, 0.25), (5, 0.25)])
def test_cell_counts_by_number_of_cracks(n_cracks, m2):
    assert crack_cell_m2(n_cracks) == m2


@pytest.mark.parametrize(
    ("fraction", "m2"),
    [(0.0, 0.0), (0.2499, 0.0), (0.25, 0.125), (0.5, 0.125), (0.75, 0.125), (0.7501, 0.25), (1.0, 0.25)],
)
def test_patched_cell_counts_by_covered_fraction(fraction, m2):
    assert patch_cell_m2(fraction) == m2


# --- the mesh, hand-computed --------------------------------------------------------------------

# A longitudinal crack along y = 0.1 from x = 10.1 to 12.1: it crosses rows 10.0-10.5 ... 12.0-12.5
# (5 cells) of the column -0.25..0.25.
LONG_CRACK = box(10.1, 12.1, 0.05, 0.15)
# A transverse crack along x = 11.2 from y = -0.6 to 0.6: columns -0.75..-0.25, -0.25..0.25 and
# 0.25..0.75 of row 11.0-11.5 (3 cells), one shared with the longitudinal crack.
CROSS_CRACK = box(11.15, 11.25, -0.6, 0.6)


def test_one_crack_across_five_cells_counts_0_15_m2_each():
    assert one_segment_ratio([defect("D00", LONG_CRACK)]) == pytest.approx(ratio_for(5 * 0.15))


def test_crack_counts_its_line_not_its_box():
    # A wide box around a crack: 2.0 m long, 0.9 m across; its centre line (y = 0.0) lies inside one
    # column, so 5 cells are cracked, not the 15 the box touches.
    assert one_segment_ratio([defect("D00", box(10.1, 12.1, -0.45, 0.45))]) == pytest.approx(
        ratio_for(5 * 0.15)
    )


def test_two_crossing_cracks_make_their_shared_cell_a_full_cell():
    ratio = one_segment_ratio([defect("D00", LONG_CRACK), defect("D10", CROSS_CRACK)])
    assert ratio == pytest.approx(ratio_for(6 * 0.15 + 0.25))


def test_pothole_covers_every_cell_it_touches():
    # x 20.2..20.8 and y 0.1..0.4 touch rows 20.0-20.5, 20.5-21.0 and columns -0.25..0.25, 0.25..0.75.
    assert one_segment_ratio([defect("D40", box(20.2, 20.8, 0.1, 0.4))]) == pytest.approx(ratio_for(4 * 0.25))


def test_alligator_cracking_covers_every_cell_it_touches():
    # x 40.1..41.4 (3 rows), y -1.0..0.0 (columns -1.25..-0.75, -0.75..-0.25, -0.25..0.25).
    assert one_segment_ratio([defect("D20", box(40.1, 41.4, -1.0, 0.0))]) == pytest.approx(
        ratio_for(9 * 0.25)
    )


def test_defect_sharing_only_a_cell_edge_does_not_mark_the_neighbour():
    # Exactly one cell: x 30.0..30.5, y 0.25..0.75.
    assert one_segment_ratio([defect("D40", box(30.0, 30.5, 0.25, 0.75))]) == pytest.approx(ratio_for(0.25))


@pytest.mark.parametrize(
    ("x1", "m2"),
    [(30.1, 0.0), (30.25, 0.125), (30.45, 0.25)],  # 20 %, 50 %, 90 % of the cell x 30.0..30.5, y 0.25..0.75
)
def test_patch_counts_by_how_much_of_the_cell_it_covers(x1, m2):
    ratio = one_segment_ratio([defect("Repair", box(30.0, x1, 0.25, 0.75))])
    assert ratio == pytest.approx(ratio_for(m2))


def test_two_half_patches_on_one_cell_count_as_one_full_patch():
    halves = [defect("Repair", box(30.0, 30.25, 0.25, 0.75)), defect("Repair", box(30.2, 30.5, 0.25, 0.75))]
    assert one_segment_ratio(halves) == pytest.approx(ratio_for(0.25))


def test_crack_inside_a_patch_counts_once_at_the_higher_value():
    # The patch covers the row 10.0-10.5 of column -0.25..0.25 fully; the crack crosses it and 4 more cells.
    patch = defect("Repair", box(10.0, 10.5, -0.25, 0.25))
    assert one_segment_ratio([patch, defect("D00", LONG_CRACK)]) == pytest.approx(ratio_for(0.25 + 4 * 0.15))


def test_pothole_inside_cracked_cells_counts_once():
    pothole = defect("D40", box(10.6, 10.9, 0.0, 0.2))  # the cell x 10.5..11.0, y -0.25..0.25
    assert one_segment_ratio([pothole, defect("D00", LONG_CRACK)]) == pytest.approx(
        ratio_for(0.25 + 4 * 0.15)
    )


def test_defect_without_outline_marks_the_cell_of_its_point():
    assert one_segment_ratio([defect("D40", at=(50.2, 1.0))]) == pytest.approx(ratio_for(0.25))


def test_defect_outside_the_lane_adds_no_cracked_area_but_is_counted():
    [grade] = grade_segments(road(100.0), [defect("D40", box(50.0, 51.0, 4.0, 5.0))], SEEN_ALL)
    assert grade.crack_ratio_pct == 0.0
    assert grade.defect_counts == {"D40": 1}


def test_lane_width_sets_the_surveyed_area():
    # A 3.0 m lane has column edges at -1.5, -1.0, ..., 0.0, 0.5: the pothole touches 2 rows x 1 column.
    ratio = one_segment_ratio([defect("D40", box(20.2, 20.8, 0.1, 0.4))], lane_width_m=3.0)
    assert ratio == pytest.approx(100.0 * 0.5 / (100.0 * 3.0))


def test_narrow_edge_cells_count_by_their_area():
    # A 3.25 m lane: six full columns and two 0.125 m wide ones; a pothole across the whole lane in
    # one row covers 0.5 m x 3.25 m.
    ratio = one_segment_ratio([defect("D40", box(60.1, 60.4, -3.0, 3.0))], lane_width_m=3.25)
    assert ratio == pytest.approx(100.0 * (0.5 * 3.25) / (100.0 * 3.25))


def test_a_fully_damaged_lane_has_crack_ratio_100():
    [grade] = grade_segments(road(100.0), [defect("D20", box(-1.0, 101.0, -2.0, 2.0))], SEEN_ALL)
    assert grade.crack_ratio_pct == pytest.approx(100.0)
    assert grade.category == "III"


def test_mesh_follows_a_bend():
    # An L-shaped road: 50 m east then 50 m north. A pothole on the northward leg, 20 m after the
    # corner, 1 m left of travel (west): one cell.
    route = [xy(0, 0), xy(50, 0), xy(50, 50)]
    [grade] = grade_segments(route, [defect("D40", box(48.9, 49.1, 20.1, 20.3))], SEEN_ALL, segment_m=200.0)
    assert grade.crack_ratio_pct == pytest.approx(ratio_for(0.25))


# --- what was seen decides the surveyed area ----------------------------------------------------


def test_unseen_segment_has_no_grade():
    first, second = grade_segments(road(200.0), [], [(0.0, 100.0)])
    assert (first.surveyed_fraction, first.category, first.crack_ratio_pct) == (pytest.approx(1.0), "I", 0.0)
    assert second.surveyed_fraction == 0.0
    assert (second.crack_ratio_pct, second.category, second.mci, second.mci_advice) == (
        None,
        None,
        None,
        None,
    )


def test_unseen_segment_still_counts_its_defects():
    _, second = grade_segments(road(200.0), [defect("D40", box(150.0, 150.4, 0.0, 0.3))], [(0.0, 100.0)])
    assert second.crack_ratio_pct is None
    assert second.defect_counts == {"D40": 1}


def test_crack_ratio_uses_only_the_seen_length():
    # Seen 0..50 m: surveyed area 50 x 3.5; the pothole at 20 m counts, the one at 70 m does not.
    defects = [defect("D40", box(20.2, 20.8, 0.1, 0.4)), defect("D40", box(70.2, 70.8, 0.1, 0.4))]
    [grade] = grade_segments(road(100.0), defects, [(0.0, 50.0)])
    assert grade.surveyed_fraction == pytest.approx(0.5)
    assert grade.crack_ratio_pct == pytest.approx(ratio_for(1.0, seen_m=50.0))
    assert grade.defect_counts == {"D40": 2}


def test_a_segment_seen_under_the_threshold_is_not_surveyed_rather_than_sound():
    # Seen 16 m of 100 (a video cut short): no crack in the sliver must not grade the segment "I".
    [grade] = grade_segments(road(100.0), [], [(0.0, 16.0)])
    assert grade.surveyed_fraction == pytest.approx(0.16)
    assert (grade.crack_ratio_pct, grade.category, grade.mci, grade.mci_advice) == (None, None, None, None)


def test_a_segment_not_surveyed_still_counts_the_defects_seen_in_it():
    [grade] = grade_segments(road(100.0), [defect("D40", box(5.0, 5.4, 0.0, 0.3))], [(0.0, 16.0)])
    assert grade.category is None
    assert grade.defect_counts == {"D40": 1}


@pytest.mark.parametrize(("seen_m", "graded"), [(49.0, False), (50.0, True)])
def test_the_surveyed_threshold_is_half_the_segment_by_default(seen_m, graded):
    assert MIN_SURVEYED_FRACTION == 0.5
    [grade] = grade_segments(road(100.0), [], [(0.0, seen_m)])
    assert (grade.category == "I") is graded


def test_the_surveyed_threshold_can_be_set():
    [grade] = grade_segments(road(100.0), [], [(0.0, 16.0)], min_surveyed_fraction=0.1)
    assert grade.category == "I"


def test_defects_are_counted_in_their_own_segment_by_class():
    defects = [
        defect("D00", LONG_CRACK),
        defect("D10", CROSS_CRACK),
        defect("D40", box(150.0, 150.4, 0.0, 0.3)),
        defect("D40", box(199.5, 199.9, 0.0, 0.3)),
    ]
    first, second = grade_segments(road(200.0), defects, SEEN_ALL)
    assert first.defect_counts == {"D00": 1, "D10": 1}
    assert second.defect_counts == {"D40": 2}


def test_grade_reports_the_advice_for_its_mci():
    [grade] = grade_segments(road(100.0), [defect("D20", box(0.0, 100.0, -2.0, 2.0))], SEEN_ALL)
    assert grade.mci == pytest.approx(mci1(100.0))
    assert grade.mci_advice == "repair needed"


def test_empty_route_has_no_grades():
    assert grade_segments([], [], SEEN_ALL) == []


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["D00", "D10", "D20", "D40", "Repair"]),
            st.floats(0.0, 98.0),
            st.floats(-3.0, 2.5),
            st.floats(0.05, 2.0),
            st.floats(0.05, 2.0),
        ),
        max_size=6,
    )
)
def test_crack_ratio_is_a_percentage_and_more_damage_never_lowers_it(boxes):
    defects = [defect(c, box(x, x + w, y, y + h)) for c, x, y, w, h in boxes]
    before = one_segment_ratio(defects)
    after = one_segment_ratio([*defects, defect("D40", box(50.0, 51.0, -0.5, 0.5))])
    assert 0.0 <= before <= 100.0
    assert after >= before


# --- categories and MCI -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "category"),
    [(0.0, "I"), (19.99, "I"), (20.0, "II"), (39.99, "II"), (40.0, "III"), (100.0, "III")],
)
def test_category_thresholds(ratio, category):
    assert category_of(ratio) == category


@pytest.mark.parametrize(
    ("ratio", "mci"),
    [(0.0, 10.0), (1.0, 7.77), (20.0, 4.522), (40.0, 3.2559), (100.0, 1.1222)],
)
def test_mci1_values(ratio, mci):
    # 10 - 2.23 * C^0.3: 20^0.3 = 2.45646, 40^0.3 = 3.02425, 100^0.3 = 3.98107.
    assert mci1(ratio) == pytest.approx(mci, abs=1e-3)


@given(st.floats(0.0, 100.0), st.floats(0.0, 100.0))
def test_mci1_falls_as_cracking_grows(a, b):
    low, high = sorted((a, b))
    assert 10.0 >= mci1(low) >= mci1(high) >= mci1(100.0)
    if high - low > 1e-3:
        assert mci1(low) > mci1(high)


@pytest.mark.parametrize(
    ("mci", "advice"),
    [(1.0, "repair needed"), (3.0, "repair needed"), (3.01, "repair desirable"), (4.0, "repair desirable"),
     (4.01, "good"), (10.0, "good")],
)  # fmt: skip
def test_mci_advice_thresholds(mci, advice):
    assert mci_advice(mci) == advice


# --- severity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "size_m", "severity"),
    [
        ("D40", 0.1, "low"),
        ("D40", 0.2, "medium"),
        ("D40", 0.45, "high"),
        ("D20", 0.3, "low"),
        ("D20", 1.0, "medium"),
        ("D20", 2.5, "high"),
        ("D00", 0.5, "low"),
        ("D10", 2.0, "medium"),
        ("D00", 6.0, "high"),
        ("Repair", 10.0, "low"),
        ("graffiti", 10.0, "low"),
    ],
)
def test_severity_by_class_and_size(cls, size_m, severity):
    assert severity_of(cls, size_m, confidence=0.9) == severity


def test_doubtful_finding_is_at_most_medium():
    assert severity_of("D40", 1.0, confidence=0.3) == "medium"
    assert severity_of("D40", 0.1, confidence=0.3) == "low"


def test_ground_size_is_the_long_side_of_the_outline():
    assert ground_size_m(box(10.0, 10.6, 0.0, 0.3)) == pytest.approx(0.6, abs=1e-3)
    assert ground_size_m(()) == 0.0


def test_ground_size_of_a_rotated_outline():
    ring = (xy(0, 0), xy(3, 3), xy(2.9, 3.1), xy(-0.1, 0.1))
    assert ground_size_m(ring) == pytest.approx(math.hypot(3, 3), abs=1e-2)


@given(
    st.sampled_from(["D00", "D10", "D20", "D40", "Repair"]),
    st.floats(0.0, 20.0),
    st.floats(0.0, 20.0),
    st.floats(0.0, 1.0),
)
def test_a_larger_defect_is_never_less_severe(cls, a, b, confidence):
    rank = {"low": 0, "medium": 1, "high": 2}
    small, large = sorted((a, b))
    assert rank[severity_of(cls, small, confidence)] <= rank[severity_of(cls, large, confidence)]
