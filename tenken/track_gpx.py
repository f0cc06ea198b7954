"""GPX tracks (gpxpy): track and route points to fixes, untimed points timed between timed ones."""

from __future__ import annotations

import bisect
from itertools import pairwise

import gpxpy
import gpxpy.gpx

from tenken.errors import TrackError
from tenken.geo import distance_m
from tenken.tracks import Fix, ParsedTrack, SkippedPoints, checked_fix, utc_seconds

GpxPoint = gpxpy.gpx.GPXTrackPoint | gpxpy.gpx.GPXRoutePoint


def parse_gpx(text: str, name: str) -> ParsedTrack:
    """Track points and route points; waypoints are places, not a path, and are ignored.

    Phone apps leave some points without a time. An untimed point between two timed points of the
    same segment (or route) gets a time by its distance along the path between them, as if the
    speed were constant there; an untimed point before the first or after the last timed point of
    its segment has nothing to be timed by and is skipped. The track's warning counts both.
    """
    try:
        gpx = gpxpy.parse(text)
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise TrackError(f"{name}: not a readable GPX file ({exc})") from exc
    paths: list[list[GpxPoint]] = [list(segment.points) for track in gpx.tracks for segment in track.segments]
    paths += [list(route.points) for route in gpx.routes]
    skipped = SkippedPoints("points")
    fixes: list[Fix] = []
    timed_by_distance = 0
    number = 0  # points are named by their number: track points, then route points, from 1
    for points in paths:
        path_fixes, estimated = _path_fixes(points, name, number, skipped)
        fixes += path_fixes
        timed_by_distance += estimated
        number += len(points)
    if not fixes:  # a single timed point would have given a fix
        detail = f"{number} points have no time" if number else "no track or route points"
        raise TrackError(f"{name}: GPX has no timed track points ({detail})")
    return ParsedTrack(fixes, skipped=skipped, timed_by_distance=timed_by_distance)


def _path_fixes(
    points: list[GpxPoint], name: str, first_number: int, skipped: SkippedPoints
) -> tuple[list[Fix], int]:
    """The fixes of one segment or route, and how many of them were timed by distance."""
    times_s = [None if point.time is None else utc_seconds(point.time) for point in points]
    timed = [i for i, time_s in enumerate(times_s) if time_s is not None]
    along_m = [0.0]
    for a, b in pairwise(points):
        along_m.append(along_m[-1] + _step_m(a, b))
    fixes: list[Fix] = []
    estimated = 0
    for i, point in enumerate(points):
        where = f"point {first_number + i + 1}"
        timestamp_s = times_s[i]
        if timestamp_s is None:
            after = bisect.bisect_left(timed, i)
            if after == 0 or after == len(timed):
                skipped.add("untimed, outside the timed points of their segment", where)
                continue
            timestamp_s = _time_between(times_s, along_m, timed[after - 1], i, timed[after])
            estimated += 1
        if point.time is not None:
            where = f"point at {point.time.isoformat()}"
        fixes.append(
            checked_fix(
                f"{name}: {where}",
                timestamp_s,
                point.latitude,
                point.longitude,
                alt_m=point.elevation,
                heading_deg=getattr(point, "course", None),
                speed_mps=getattr(point, "speed", None),
                hdop=point.horizontal_dilution,
            )
        )
    return fixes, estimated


def _step_m(a: GpxPoint, b: GpxPoint) -> float:
    """Metres between two points; 0 when one is impossible (`checked_fix` names it afterwards)."""
    if abs(a.latitude) > 90.0 or abs(b.latitude) > 90.0:
        return 0.0
    return distance_m(a.latitude, a.longitude, b.latitude, b.longitude)


def _time_between(
    times_s: list[float | None], along_m: list[float], before: int, i: int, after: int
) -> float:
    """The time of untimed point `i` between timed points `before` and `after`, by distance along them.

    Where the two timed points are at one place (a stop), the untimed ones are spread evenly by index.
    """
    t0_s, t1_s = times_s[before], times_s[after]
    if t0_s is None or t1_s is None:
        raise ValueError("both neighbours must be timed")
    span_m = along_m[after] - along_m[before]
    by_distance = span_m > 0.0
    fraction = (along_m[i] - along_m[before]) / span_m if by_distance else (i - before) / (after - before)
    return t0_s + fraction * (t1_s - t0_s)
