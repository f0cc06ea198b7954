"""Change between two surveys: defects matched by class in route distance and map space, units then and now.

A defect of the earlier survey (A) and one of the later (B) are the same defect when they have
the same class, lie within the match distance of each other on the map and, when both are on the
network, on the same route within it in route distance. The match distance is 1.5 times the two
positions' combined error (each defect states its own, mostly GPS; about 6 m for two 3 m
positions) unless `match_m` fixes it. Pairs are chosen by least total distance (Hungarian
assignment), so of two potholes side by side neither takes the other's match.

- matched: persisting, and grown / shrunk / unchanged by length (cracks) or area (alligator
  cracking, potholes, patches) when the size changed by more than `growth_fraction`;
- only in A: not seen again where B saw the place (a repair record says whether it was
  repaired; without one it was repaired unrecorded or missed), else not surveyed again;
- only in B: new where A saw the place, else first surveyed now.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.optimize import linear_sum_assignment
from shapely.geometry import MultiPoint

from tenken.findings import CRACK_CLASSES, Defect
from tenken.geo import LocalProjection, distance_m
from tenken.network.units import DefectLocation, UnitGrade

NEW, GROWN, SHRUNK, UNCHANGED = "new", "grown", "shrunk", "unchanged"
NOT_SEEN_AGAIN, REPAIRED, NOT_SURVEYED_AGAIN, FIRST_SURVEYED = (
    "not_seen_again",
    "repaired",
    "not_surveyed_again",
    "first_surveyed",
)
STATUSES = (NEW, GROWN, SHRUNK, UNCHANGED, REPAIRED, NOT_SEEN_AGAIN, NOT_SURVEYED_AGAIN, FIRST_SURVEYED)


@dataclass(frozen=True)
class CompareOptions:
    match_m: float | None = None  # None: from the defects' stated position errors
    error_factor: float = 1.5
    growth_fraction: float = 0.25  # a size change beyond this share is growth or shrinkage


@dataclass(frozen=True)
class SurveyDefect:
    """A stored defect of one survey with its place on the network (None when off it)."""

    row_id: int
    defect: Defect
    location: DefectLocation | None


@dataclass(frozen=True)
class SurveySnapshot:
    job_id: str
    surveyed_at_s: float
    defects: Sequence[SurveyDefect]
    units: Sequence[UnitGrade]

    def covers(self, location: DefectLocation | None) -> bool:
        """Whether this survey saw the place (off the network: unknown, so no)."""
        if location is None:
            return False
        return any(
            u.route_id == location.route_id
            and u.unit_index == location.unit_index
            and u.saw(location.distance_m)
            for u in self.units
        )


@dataclass(frozen=True)
class DefectChange:
    status: str
    class_name: str
    then: SurveyDefect | None
    now: SurveyDefect | None
    size_then: float | None  # metres (cracks) or square metres (areas)
    size_now: float | None
    repair_note: str | None = None

    @property
    def current(self) -> SurveyDefect:
        found = self.now or self.then
        assert found is not None
        return found

    @property
    def size_unit(self) -> str:
        return "m" if self.class_name in CRACK_CLASSES else "m2"


@dataclass(frozen=True)
class UnitChange:
    route_id: str
    unit_index: int
    from_m: float
    to_m: float
    line: tuple[tuple[float, float], ...]
    then: UnitGrade | None
    now: UnitGrade | None

    @property
    def mci_change(self) -> float | None:
        if self.then is None or self.now is None or self.then.mci is None or self.now.mci is None:
            return None
        return self.now.mci - self.then.mci


@dataclass(frozen=True)
class Comparison:
    then: SurveySnapshot
    now: SurveySnapshot
    defects: list[DefectChange]
    units: list[UnitChange]

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        for change in self.defects:
            out[change.status] += 1
        return out


def defect_size(defect: Defect) -> float | None:
    """Length (m) of a crack, area (m2) of anything else, from its ground outline; None without one."""
    if len(defect.ground_ring) < 3:
        return None
    projection = LocalProjection(*defect.ground_ring[0])
    points = MultiPoint([projection.to_xy(lat, lon) for lat, lon in defect.ground_ring])
    if defect.class_name in CRACK_CLASSES:
        box = points.minimum_rotated_rectangle
        coords = list(box.exterior.coords) if box.geom_type == "Polygon" else list(box.coords)
        return max(math.dist(a, b) for a, b in pairwise(coords))
    return float(points.convex_hull.area)


def same_place(a: SurveyDefect, b: SurveyDefect, options: CompareOptions) -> float | None:
    """The map distance between two defects when they are the same defect (same class, within the
    match distance on the map and, both on the network, along the same route); None when not.
    Shared with repair status (`tenken.store.repairs`), which finds repaired defects again."""
    if a.defect.class_name != b.defect.class_name:
        return None
    match_m = options.match_m
    if match_m is None:
        match_m = options.error_factor * math.hypot(a.defect.error_m, b.defect.error_m)
    gap = distance_m(a.defect.lat, a.defect.lon, b.defect.lat, b.defect.lon)
    if gap > match_m:
        return None
    la, lb = a.location, b.location
    if la is None or lb is None:
        return gap  # off the network: map space alone
    if la.route_id != lb.route_id or abs(la.distance_m - lb.distance_m) > match_m:
        return None
    return gap


def _size_status(before: float | None, after: float | None, growth_fraction: float) -> str:
    if before is None or after is None or before <= 0:
        return UNCHANGED
    if after > before * (1 + growth_fraction):
        return GROWN
    if after < before * (1 - growth_fraction):
        return SHRUNK
    return UNCHANGED


def match_defects(
    a: Sequence[SurveyDefect], b: Sequence[SurveyDefect], options: CompareOptions = CompareOptions()
) -> list[tuple[int, int]]:
    """(i, j) of each defect a[i] that is b[j] (:func:`same_place`), chosen by least total distance."""
    big = 1e9
    cost = np.full((len(a), len(b)), big)
    for i, da in enumerate(a):
        for j, db in enumerate(b):
            gap = same_place(da, db, options)
            if gap is not None:
                cost[i, j] = gap
    if not a or not b:
        return []
    rows, cols = linear_sum_assignment(cost)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=True) if cost[i, j] < big]


def compare_surveys(
    then: SurveySnapshot,
    now: SurveySnapshot,
    options: CompareOptions = CompareOptions(),
    repair_notes: Callable[[Sequence[int]], Mapping[int, str]] = lambda ids: {},
) -> Comparison:
    """Every defect of both surveys with what happened to it, and every unit either graded.

    `repair_notes(row_ids)` gives, for earlier defects that have a repair record, what it says
    (e.g. "repaired 2026-05-02 by crew 3"); they are reported as repaired, not as missed.
    """
    a, b = list(then.defects), list(now.defects)
    pairs = match_defects(a, b, options)
    matched_a = {i for i, _ in pairs}
    matched_b = {j for _, j in pairs}
    changes: list[DefectChange] = []
    for i, j in pairs:
        size_a, size_b = defect_size(a[i].defect), defect_size(b[j].defect)
        status = _size_status(size_a, size_b, options.growth_fraction)
        changes.append(DefectChange(status, a[i].defect.class_name, a[i], b[j], size_a, size_b))
    gone = [a[i] for i in range(len(a)) if i not in matched_a]
    notes = repair_notes([d.row_id for d in gone]) if gone else {}
    for d in gone:
        note = notes.get(d.row_id)
        seen_there = now.covers(d.location)
        status = (REPAIRED if note else NOT_SEEN_AGAIN) if seen_there else NOT_SURVEYED_AGAIN
        changes.append(DefectChange(status, d.defect.class_name, d, None, defect_size(d.defect), None, note))
    for j in range(len(b)):
        if j not in matched_b:
            d = b[j]
            status = NEW if then.covers(d.location) else FIRST_SURVEYED
            changes.append(DefectChange(status, d.defect.class_name, None, d, None, defect_size(d.defect)))
    changes.sort(key=_change_order)
    return Comparison(then, now, changes, _unit_changes(then.units, now.units))


def _change_order(change: DefectChange) -> tuple[str, float, int]:
    loc = change.current.location
    return (loc.route_id, loc.distance_m, change.current.row_id) if loc else ("~", 0.0, change.current.row_id)


def _unit_changes(then: Sequence[UnitGrade], now: Sequence[UnitGrade]) -> list[UnitChange]:
    before = {(u.route_id, u.unit_index): u for u in then}
    after = {(u.route_id, u.unit_index): u for u in now}
    out = []
    for key in sorted(set(before) | set(after)):
        u = after.get(key) or before[key]
        out.append(
            UnitChange(u.route_id, u.unit_index, u.from_m, u.to_m, u.line, before.get(key), after.get(key))
        )
    return out
