"""70mai dashcam GPS logs (`GPSData000001.txt` at the root of the SD card) to fixes."""

from __future__ import annotations

import re

from tenken.errors import TrackError
from tenken.tracks import Fix, ParsedTrack, SkippedPoints, checked_fix

# The camera stores UTC wall-clock time converted to UNIX seconds as if it were China Standard Time,
# so its numbers run 8 h behind UTC: in GPSBabel's reference file (an A810 in Moldova, UTC+2), the
# row written with video NO20250222-064554 (06:45:54 local = 04:45:54 UTC) says 1740170756, which is
# 20:45:56 UTC the day before; dashcam-gpx-converter reads it the same way.
SEVENTYMAI_CLOCK_BEHIND_S = 8 * 3600.0

# time, status, lat, lon, course (0.01°), speed (cm/s), 3 accelerometer axes, video file, 3 unknown.
_SESSION = re.compile(r"^\$V\d+\s*$", re.IGNORECASE)
_ROW = re.compile(r"^\d{9,10},[AV],", re.IGNORECASE)
_MIN_FIELDS = 6


def looks_like_70mai(head: str) -> bool:
    """Whether the start of a file reads as a 70mai GPS log: a `$V02` session line or its rows."""
    lines = [line.strip() for line in head.splitlines() if line.strip()][:3]
    return any(_SESSION.match(line) or _ROW.match(line) for line in lines)


def parse_70mai(text: str, name: str) -> ParsedTrack:
    """One fix per row `time,status,lat,lon,course,speed,...` after each `$V02` session line.

    Rows with status V or at 0, 0 have no GPS fix; rows with fewer than six fields (the last one
    written when the power was cut) or unreadable values are skipped and counted. Repeated rows
    for one second are normal (the camera logs faster than its GPS). The camera keeps appending
    sessions, so one file can hold many drives: give the video's start time when it is not the first.
    """
    skipped = SkippedPoints("rows")
    fixes: list[Fix] = []
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or _SESSION.match(line):
            continue
        where = f"line {line_no}"
        fields = [value.strip() for value in line.split(",")]
        if len(fields) < _MIN_FIELDS:
            skipped.add("cut short", where)
            continue
        try:
            camera_s, lat, lon = float(fields[0]), float(fields[2]), float(fields[3])
            course_deg, speed_mps = float(fields[4]) / 100.0, float(fields[5]) / 100.0
        except ValueError:
            skipped.add("unreadable field", where)
            continue
        if fields[1].upper() != "A" or (lat == 0.0 and lon == 0.0):
            skipped.add("no GPS fix", where)
            continue
        try:
            fix = checked_fix(
                f"{name}:{line_no}",
                camera_s + SEVENTYMAI_CLOCK_BEHIND_S,
                lat,
                lon,
                heading_deg=course_deg,
                speed_mps=speed_mps,
            )
        except TrackError:
            skipped.add("position out of range", where)
            continue
        fixes.append(fix)
    if not fixes:
        detail = f" ({skipped.describe()})" if skipped.total else ""
        raise TrackError(f"{name}: no GPS fix in this 70mai log{detail}")
    return ParsedTrack(fixes, skipped=skipped)
