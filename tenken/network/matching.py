"""Map matching: which route, and where along it, each fix of a drive was (a hidden Markov model).

Nearest-segment matching fails where it matters: at crossings a noisy fix jumps to the crossing
street, and a drive along a road beside another flips between them. Here (after Newson & Krumm,
2009) every fix has candidates, the nearest point of each route within `search_m`, plus "off the
network" for a drive that leaves it. A candidate is likely when it is near the fix (Gaussian GPS
noise, `gps_sigma_m`); a step between two candidates is likely when the distance along the
network between them is close to the straight distance between the fixes (exponential,
`beta_m`). Along one route that distance is the difference of route distances, so either
direction of travel is the same; between routes it goes through their junction. Viterbi picks the
most likely sequence for the whole drive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import LineString, Point
from shapely.ops import nearest_points

from tenken.geo import LocalProjection
from tenken.network.units import NetworkRoute


@dataclass(frozen=True)
class MatchOptions:
    gps_sigma_m: float = 5.0
    beta_m: float = 5.0
    search_m: float = 30.0
    junction_m: float = 3.0  # two routes closer than this meet there
    # Log-likelihood of a step onto or off the network, and of a fix off it (about 3 sigma away).
    leave_network_log: float = -12.0
    # A turn onto another route costs a little, so a fix right on a crossing stays on the road
    # the drive is on instead of visiting the crossing street for one fix.
    change_route_log: float = -2.0
    off_network_log: float = -4.5


@dataclass(frozen=True)
class MatchedFix:
    """Where one fix lies on the network; route_id None when the drive was off it."""

    route_id: str | None
    distance_m: float | None  # route distance (start_m-based)
    offset_m: float | None  # straight distance from the fix to that point


_OFF = -1


class _Network:
    """The routes in one metric frame, with the junctions of every pair that meets."""

    def __init__(self, routes: Sequence[NetworkRoute], projection: LocalProjection, junction_m: float):
        self.routes = list(routes)
        self.lines = [LineString([projection.to_xy(lat, lon) for lat, lon in r.points]) for r in self.routes]
        self.tree = shapely.STRtree(self.lines)
        # junctions[(a, b)] = [(distance along a, distance along b), ...] (0-based, metric frame)
        self.junctions: dict[tuple[int, int], list[tuple[float, float]]] = {}
        for a, la in enumerate(self.lines):
            for b in (int(i) for i in self.tree.query(la, predicate="dwithin", distance=junction_m)):
                if b <= a:
                    continue
                lb = self.lines[b]
                meet = la.intersection(lb)
                points = [
                    g for g in getattr(meet, "geoms", [meet]) if isinstance(g, Point) and not g.is_empty
                ]
                if points:
                    pairs = [(la.project(p), lb.project(p)) for p in points]
                else:
                    pa, pb = nearest_points(la, lb)
                    pairs = [(la.project(pa), lb.project(pb))]
                self.junctions[(a, b)] = pairs
                self.junctions[(b, a)] = [(y, x) for x, y in pairs]

    def network_distance(self, a: int, da: float, b: int, db: float) -> float:
        if a == b:
            return abs(da - db)
        pairs = self.junctions.get((a, b))
        if not pairs:
            return math.inf
        return min(abs(da - ja) + abs(db - jb) for ja, jb in pairs)


def _routes_near(
    fixes: Sequence[tuple[float, float]], routes: Sequence[NetworkRoute], margin_m: float
) -> list[NetworkRoute]:
    """Routes whose bounding box comes within `margin_m` of the drive's (a city's network is large)."""
    lats, lons = [f[0] for f in fixes], [f[1] for f in fixes]
    dlat = margin_m / 111_000.0
    dlon = margin_m / (111_000.0 * max(0.1, math.cos(math.radians(sum(lats) / len(lats)))))
    south, north, west, east = min(lats) - dlat, max(lats) + dlat, min(lons) - dlon, max(lons) + dlon
    near = []
    for r in routes:
        rl = [p[0] for p in r.points]
        rn = [p[1] for p in r.points]
        if min(rl) <= north and max(rl) >= south and min(rn) <= east and max(rn) >= west:
            near.append(r)
    return near


def match_track(
    fixes: Sequence[tuple[float, float]],
    routes: Sequence[NetworkRoute],
    options: MatchOptions = MatchOptions(),
) -> list[MatchedFix]:
    """The most likely place on the network of every (lat, lon) fix of a drive, in order."""
    if not fixes:
        return []
    if not routes:
        return [MatchedFix(None, None, None) for _ in fixes]
    projection = LocalProjection(*fixes[0])
    net = _Network(_routes_near(fixes, routes, options.search_m), projection, options.junction_m)
    if not net.routes:
        return [MatchedFix(None, None, None) for _ in fixes]
    xy = [projection.to_xy(lat, lon) for lat, lon in fixes]
    # candidates[i] = [(route index or _OFF, distance along (metric frame), offset)]
    candidates: list[list[tuple[int, float, float]]] = []
    for x, y in xy:
        fix = Point(x, y)
        near = net.tree.query(fix, predicate="dwithin", distance=options.search_m)
        cands = [(_OFF, 0.0, 0.0)]
        for r in sorted(int(i) for i in near):
            along = float(net.lines[r].project(fix))
            cands.append((r, along, float(net.lines[r].interpolate(along).distance(fix))))
        candidates.append(cands)

    def emission(c: tuple[int, float, float]) -> float:
        return options.off_network_log if c[0] == _OFF else -0.5 * (c[2] / options.gps_sigma_m) ** 2

    score = np.array([emission(c) for c in candidates[0]])
    back: list[np.ndarray] = []
    for i in range(1, len(xy)):
        straight = math.dist(xy[i - 1], xy[i])
        prev, cur = candidates[i - 1], candidates[i]
        step = np.full((len(prev), len(cur)), -np.inf)
        for p, (rp, dp, _) in enumerate(prev):
            for c, (rc, dc, _) in enumerate(cur):
                if rp == _OFF and rc == _OFF:
                    step[p, c] = 0.0
                elif rp == _OFF or rc == _OFF:
                    step[p, c] = options.leave_network_log
                else:
                    gap = net.network_distance(rp, dp, rc, dc)
                    turn = 0.0 if rp == rc else options.change_route_log
                    step[p, c] = (
                        turn - abs(gap - straight) / options.beta_m if math.isfinite(gap) else -np.inf
                    )
        total = score[:, None] + step
        best = np.argmax(total, axis=0)
        back.append(best)
        score = total[best, np.arange(len(cur))] + np.array([emission(c) for c in cur])
    path = [int(np.argmax(score))]
    for best in reversed(back):
        path.append(int(best[path[-1]]))
    path.reverse()
    out = []
    for cands, k in zip(candidates, path, strict=True):
        r, along, offset = cands[k]
        if r == _OFF:
            out.append(MatchedFix(None, None, None))
        else:
            route = net.routes[r]
            out.append(MatchedFix(route.route_id, route.start_m + along, offset))
    return out
