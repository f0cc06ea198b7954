"""Put a graded survey on the road network: match its drive, locate its defects, grade the units.

The drive is map-matched (:func:`tenken.network.matching.match_track`) and cut into passes: runs
of fixes on one route in one direction. A unit a pass crosses is graded on the drive's own lane
mesh (:func:`vision.road.grading.grade_stretches`) over the stretch of the drive between the unit's
ends, so two surveys of the road grade the same unit whatever their start, direction or GPS
noise. A unit two passes crossed keeps the pass that saw more of it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from tenken.findings import Defect, Pose
from tenken.network.matching import MatchedFix, MatchOptions, match_track
from tenken.network.units import DefectLocation, NetworkRoute, UnitGrade
from vision.road.grading import DEFAULT_LANE_WIDTH_M, MIN_SURVEYED_FRACTION, grade_stretches
from vision.road.route import Route, RouteSegment, merge_intervals

# A defect farther than this from the centreline of its pass's route is not on that road.
MAX_DEFECT_OFFSET_M = 15.0
# Route distance that must be driven back before a pass counts as turned round.
TURN_BACK_M = 10.0


@dataclass(frozen=True)
class SurveyOnNetwork:
    units: list[UnitGrade]
    defects: dict[int, DefectLocation]  # key: the caller's defect key (stored defect id)
    fixes_on_network: int


@dataclass(frozen=True)
class _Pass:
    route: NetworkRoute
    first: int  # frame positions, inclusive
    last: int


def _passes(matched: Sequence[MatchedFix], routes: dict[str, NetworkRoute]) -> list[_Pass]:
    """Runs of fixes on one route, split where the drive turns back along it."""
    out: list[_Pass] = []
    i = 0
    while i < len(matched):
        route_id = matched[i].route_id
        if route_id is None:
            i += 1
            continue
        j = i
        while j + 1 < len(matched) and matched[j + 1].route_id == route_id:
            j += 1
        start, direction, extreme, extreme_at = i, 0, 0.0, i
        for k in range(i, j + 1):
            d = float(matched[k].distance_m or 0.0)
            if direction == 0:
                if abs(d - float(matched[start].distance_m or 0.0)) > TURN_BACK_M:
                    direction = 1 if d > float(matched[start].distance_m or 0.0) else -1
                    extreme, extreme_at = d, k
                continue
            if (d - extreme) * direction > 0:
                extreme, extreme_at = d, k
            elif (extreme - d) * direction > TURN_BACK_M:
                out.append(_Pass(routes[route_id], start, extreme_at))
                start, direction, extreme, extreme_at = extreme_at, -direction, d, k
        out.append(_Pass(routes[route_id], start, j))
        i = j + 1
    return [p for p in out if p.last > p.first]


def locate_survey(
    frames: Sequence[Pose],
    defects: Sequence[tuple[int, Defect, int]],
    routes: Sequence[NetworkRoute],
    *,
    near_m: float,
    far_m: float,
    lane_width_m: float = DEFAULT_LANE_WIDTH_M,
    match_options: MatchOptions = MatchOptions(),
) -> SurveyOnNetwork:
    """Units and defect locations of a survey. `frames`: poses of the sampled frames in order;
    `defects`: (key, defect, position in `frames` of the frame that saw it best)."""
    if len(frames) < 2 or not routes:
        return SurveyOnNetwork([], {}, 0)
    by_id = {r.route_id: r for r in routes}
    fixes = [(p.lat, p.lon) for p in frames]
    matched = match_track(fixes, routes, match_options)
    drive = Route(fixes)
    xy = np.asarray([drive.to_xy(lat, lon) for lat, lon in fixes])
    stations = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xy, axis=0).T))])
    stations = np.minimum(stations, drive.length_m)
    seen = merge_intervals((s + near_m, min(drive.length_m, s + far_m)) for s in stations)

    passes = _passes(matched, by_id)
    located: dict[int, DefectLocation] = {}
    pass_of_defect: dict[int, int] = {}
    for key, defect, at in defects:
        fix = matched[min(max(at, 0), len(matched) - 1)]
        if fix.route_id is None:
            continue
        route = by_id[fix.route_id]
        distance, offset = route.locate(defect.lat, defect.lon)
        if abs(offset) > MAX_DEFECT_OFFSET_M:
            continue
        located[key] = DefectLocation(route.route_id, distance, offset, route.unit_of(distance))
        pass_of_defect[key] = next(
            (n for n, p in enumerate(passes) if p.route.route_id == fix.route_id and p.first <= at <= p.last),
            -1,
        )

    best: dict[tuple[str, int], UnitGrade] = {}
    for n, p in enumerate(passes):
        route = p.route
        d = np.asarray([float(matched[k].distance_m or 0.0) for k in range(p.first, p.last + 1)])
        s = stations[p.first : p.last + 1]
        forward = d[-1] >= d[0]
        # Distances along a pass grow (or shrink) with the drive; GPS jitter must not reverse them.
        d = np.maximum.accumulate(d) if forward else np.minimum.accumulate(d)
        order = np.argsort(d, kind="stable")
        d_sorted, s_sorted = d[order], s[order]
        lo, hi = float(d_sorted[0]), float(d_sorted[-1])
        # The camera looks ahead: the last frames saw up to far_m beyond the last fix.
        seen_lo, seen_hi = (lo, hi + far_m) if forward else (lo - far_m, hi)
        stretches, units = [], []
        for k in range(route.unit_of(lo), route.unit_of(hi) + 1):
            a, b = route.unit_bounds_m(k)
            ca, cb = max(a, lo), min(b, hi)
            if cb - ca <= 1e-6:
                continue
            sa, sb = sorted(
                (float(np.interp(ca, d_sorted, s_sorted)), float(np.interp(cb, d_sorted, s_sorted)))
            )
            if sb - sa <= 1e-6:
                continue
            stretches.append(RouteSegment(k, sa, sb, route.unit_line(k)))
            units.append((k, a, b))
        mine = [(key, dfc) for key, dfc, _ in defects if pass_of_defect.get(key) == n]
        # A unit's grade needs enough of the unit seen, not of the stretch this pass drove (below).
        grades = grade_stretches(
            drive,
            [dfc for _, dfc in mine],
            seen,
            stretches,
            lane_width_m=lane_width_m,
            min_surveyed_fraction=0.0,
        )
        for grade, (k, a, b) in zip(grades, units, strict=True):
            in_unit = [dfc for key, dfc in mine if located[key].unit_index == k]
            unit = UnitGrade(
                route_id=route.route_id,
                unit_index=k,
                from_m=a,
                to_m=b,
                line=grade.line,
                surveyed_fraction=min(1.0, grade.surveyed_fraction * (grade.end_m - grade.start_m) / (b - a)),
                crack_ratio_pct=grade.crack_ratio_pct,
                category=grade.category,
                mci=grade.mci,
                mci_advice=grade.mci_advice,
                defect_counts=dict(sorted(Counter(x.class_name for x in in_unit).items())),
                severity_counts=dict(sorted(Counter(x.severity for x in in_unit).items())),
                seen_from_m=max(a, seen_lo),
                seen_to_m=min(b, seen_hi),
            )
            if unit.surveyed_fraction < MIN_SURVEYED_FRACTION:
                unit = replace(unit, crack_ratio_pct=None, category=None, mci=None, mci_advice=None)
            old = best.get((route.route_id, k))
            if old is None or unit.surveyed_fraction > old.surveyed_fraction:
                best[(route.route_id, k)] = unit
    on_network = sum(1 for m in matched if m.route_id is not None)
    return SurveyOnNetwork([best[k] for k in sorted(best)], located, on_network)


def nearest_position(frame_indices: Sequence[int], frame_index: int) -> int:
    """Position in sorted `frame_indices` of the one nearest to `frame_index`."""
    at = int(np.searchsorted(frame_indices, frame_index))
    candidates = [c for c in (at - 1, at) if 0 <= c < len(frame_indices)]
    return min(candidates, key=lambda c: (abs(frame_indices[c] - frame_index), c)) if candidates else 0


def survey_time_s(frames: Sequence[Pose]) -> float:
    return min((p.timestamp_s for p in frames), default=math.nan)
