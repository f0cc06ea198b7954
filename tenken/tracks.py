"""GPS tracks: fixes and what a reader skipped, pose interpolation along a track, aligning it with a video."""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tenken.errors import TrackError
from tenken.findings import Pose
from tenken.geo import WGS84, lerp_heading_deg

# Below this speed a segment counts as "stopped": GPS jitter of a parked car gives random bearings.
STOPPED_SPEED_MPS = 0.5


@dataclass(frozen=True)
class Fix:
    """One GPS fix. `timestamp_s` is UNIX time (UTC), or seconds from the video start for relative tracks."""

    timestamp_s: float
    lat: float
    lon: float
    alt_m: float | None = None
    heading_deg: float | None = None
    speed_mps: float | None = None
    hdop: float | None = None


def checked_fix(
    where: str,
    timestamp_s: float,
    lat: float,
    lon: float,
    alt_m: float | None = None,
    heading_deg: float | None = None,
    speed_mps: float | None = None,
    hdop: float | None = None,
) -> Fix:
    """A `Fix`, or a TrackError naming `where` (file and line) when a value is impossible."""
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise TrackError(f"{where}: latitude {lat} is outside -90..90")
    if not (math.isfinite(lon) and -180.0 <= lon <= 180.0):
        raise TrackError(f"{where}: longitude {lon} is outside -180..180")
    if not math.isfinite(timestamp_s):
        raise TrackError(f"{where}: time {timestamp_s} is not a number")
    if heading_deg is not None:
        heading_deg %= 360.0
    return Fix(timestamp_s, lat, lon, alt_m, heading_deg, speed_mps, hdop)


def utc_seconds(moment: datetime) -> float:
    """UNIX seconds; a time without a zone is taken as UTC (what GPS receivers log)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@dataclass
class SkippedPoints:
    """What a reader left out of a track, counted by reason, with the place each reason was first seen.

    >>> skipped = SkippedPoints("lines")
    >>> skipped.add("bad checksum", "line 5"); skipped.add("bad checksum", "line 9")
    >>> skipped.describe()
    'skipped 2 lines: 2 bad checksum (first at line 5)'
    """

    unit: str = "points"
    counts: dict[str, int] = field(default_factory=dict)
    first_at: dict[str, str] = field(default_factory=dict)

    def add(self, reason: str, where: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        self.first_at.setdefault(reason, where)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def copy(self) -> SkippedPoints:
        return SkippedPoints(self.unit, dict(self.counts), dict(self.first_at))

    def describe(self) -> str:
        reasons = ", ".join(
            f"{count} {reason} ({'first at ' if count > 1 else ''}{self.first_at[reason]})"
            for reason, count in sorted(self.counts.items(), key=lambda item: -item[1])
        )
        unit = self.unit.removesuffix("s") if self.total == 1 else self.unit
        return f"skipped {self.total} {unit}: {reasons}"


@dataclass(frozen=True)
class ParsedTrack:
    """What a reader made of a track file: its fixes, and what it skipped or had to estimate.

    `timed_by_distance` counts points without a time given one between their timed neighbours
    (GPX); `video_start_s` is when the file says the video's first frame was (a DJI .SRT's clock),
    which beats the first fix when the first frames had no GPS lock.
    """

    fixes: list[Fix]
    relative_to_video: bool = False
    skipped: SkippedPoints = field(default_factory=SkippedPoints)
    timed_by_distance: int = 0
    video_start_s: float | None = None


def _lerp(a: float, b: float, fraction: float) -> float:
    """Linear interpolation that is exact at both ends (fraction 0 gives a, 1 gives b)."""
    return a * (1.0 - fraction) + b * fraction


def _lerp_optional(a: float | None, b: float | None, fraction: float) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return _lerp(a, b, fraction)


class Track:
    """A time-ordered, duplicate-free sequence of fixes that can tell where the camera was at any instant.

    `parsed` is the reader's result the fixes came from, when there is one: what it skipped (the
    track's `warning`) and the video start the file states.

    >>> track = Track([Fix(0.0, 35.0, 139.0), Fix(10.0, 35.0001, 139.0)])
    >>> round(track.length_m, 1), track.pose_at(5.0).lat
    (11.1, 35.00005)
    """

    def __init__(
        self,
        fixes: Iterable[Fix],
        *,
        relative_to_video: bool = False,
        source: str = "track",
        parsed: ParsedTrack | None = None,
    ) -> None:
        ordered = sorted(fixes, key=lambda fix: fix.timestamp_s)
        self.skipped = parsed.skipped.copy() if parsed is not None else SkippedPoints()
        unique: list[Fix] = []
        for fix in ordered:
            # Loggers repeat a fix when nothing new arrived; the first of a timestamp wins, and only
            # a second position for the same instant is worth a word.
            if unique and fix.timestamp_s == unique[-1].timestamp_s:
                if (fix.lat, fix.lon) != (unique[-1].lat, unique[-1].lon):
                    where = format_time_s(fix.timestamp_s, relative_to_video)
                    self.skipped.add("at the time of an earlier fix but elsewhere", where)
                continue
            unique.append(fix)
        if len(unique) < 2:
            detail = f" ({self.skipped.describe()})" if self.skipped.total else ""
            raise TrackError(
                f"{source}: need at least 2 fixes with distinct times, found {len(unique)}{detail}"
            )
        self.fixes: tuple[Fix, ...] = tuple(unique)
        # True when times are seconds from the video's first frame (a DJI .SRT without a date).
        self.relative_to_video = relative_to_video
        self.source = source
        self.timed_by_distance = parsed.timed_by_distance if parsed is not None else 0
        self.video_start_s = parsed.video_start_s if parsed is not None else None
        self._times = np.array([f.timestamp_s for f in unique], dtype=float)
        self._times_list = self._times.tolist()
        lats = np.array([f.lat for f in unique], dtype=float)
        lons = np.array([f.lon for f in unique], dtype=float)
        az, _, dist = WGS84.inv(lons[:-1], lats[:-1], lons[1:], lats[1:])
        self._segment_m = np.asarray(dist, dtype=float)
        self._segment_bearing_deg = np.asarray(az, dtype=float) % 360.0
        self._segment_speed_mps = self._segment_m / np.diff(self._times)
        self._cumulative_m = np.concatenate([[0.0], np.cumsum(self._segment_m)])
        self._segment_heading_deg = self._resolve_segment_headings()

    def _resolve_segment_headings(self) -> list[float]:
        """Per segment: its bearing when moving, else the last moving heading (the next one at the start)."""
        moving = self._segment_speed_mps >= STOPPED_SPEED_MPS
        headings: list[float | None] = [
            float(b) if m else None for b, m in zip(self._segment_bearing_deg, moving, strict=True)
        ]
        last: float | None = None
        for i, heading in enumerate(headings):
            if heading is None:
                headings[i] = last
            else:
                last = heading
        # Stopped before ever moving: the car faces the way it is about to drive.
        first_moving = next((h for h in headings if h is not None), 0.0)
        return [first_moving if h is None else h for h in headings]

    @property
    def warning(self) -> str | None:
        """One line saying what the reader skipped or estimated, or None when it read every point."""
        parts = []
        if self.skipped.total:
            parts.append(self.skipped.describe())
        if self.timed_by_distance:
            parts.append(
                f"timed {self.timed_by_distance} untimed points by their distance between timed neighbours"
            )
        if not parts:
            return None
        return f"{self.source}: read {len(self.fixes)} fixes; {'; '.join(parts)}"

    @property
    def start_s(self) -> float:
        return self.fixes[0].timestamp_s

    @property
    def end_s(self) -> float:
        return self.fixes[-1].timestamp_s

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def length_m(self) -> float:
        return float(self._cumulative_m[-1])

    def __len__(self) -> int:
        return len(self.fixes)

    def covers(self, t0_s: float, t1_s: float, tolerance_s: float = 1.0) -> bool:
        """Whether the track spans [t0_s, t1_s], allowing `tolerance_s` at either end."""
        return self.start_s - tolerance_s <= t0_s and t1_s <= self.end_s + tolerance_s

    def _clamped(self, timestamp_s: float, tolerance_s: float) -> float:
        if not self.covers(timestamp_s, timestamp_s, tolerance_s):
            raise TrackError(
                f"{self.source}: no position at {format_time_s(timestamp_s, self.relative_to_video)}; "
                f"the track covers {format_span_s(self.start_s, self.end_s, self.relative_to_video)}"
            )
        return min(max(timestamp_s, self.start_s), self.end_s)

    def _segment_index(self, timestamp_s: float) -> int:
        """Index i of the segment fixes[i] → fixes[i + 1] holding `timestamp_s` (already clamped)."""
        i = bisect.bisect_right(self._times_list, timestamp_s) - 1
        return min(max(i, 0), len(self.fixes) - 2)

    def distance_along_at(self, timestamp_s: float, tolerance_s: float = 1.0) -> float:
        """Metres travelled from the first fix to the position at `timestamp_s`."""
        t = self._clamped(timestamp_s, tolerance_s)
        return float(np.interp(t, self._times, self._cumulative_m))

    def distances_along(self, timestamps_s: Sequence[float] | np.ndarray) -> np.ndarray:
        """`distance_along_at` for many times at once; times outside the track are clamped to its ends."""
        return np.interp(np.asarray(timestamps_s, dtype=float), self._times, self._cumulative_m)

    def pose_at(self, timestamp_s: float, tolerance_s: float = 1.0) -> Pose:
        """The interpolated pose at `timestamp_s`; within `tolerance_s` outside the track, the nearest end.

        Position is linear in lat/lon between the two surrounding fixes. Heading and speed come from
        the fixes when both carry them, else from the motion between them; a stopped car keeps the
        heading it last drove with.
        """
        t = self._clamped(timestamp_s, tolerance_s)
        i = self._segment_index(t)
        a, b = self.fixes[i], self.fixes[i + 1]
        fraction = (t - a.timestamp_s) / (b.timestamp_s - a.timestamp_s)
        lat = _lerp(a.lat, b.lat, fraction)
        b_lon = b.lon  # across the antimeridian the short way
        if b_lon - a.lon > 180.0:
            b_lon -= 360.0
        elif b_lon - a.lon < -180.0:
            b_lon += 360.0
        lon = _lerp(a.lon, b_lon, fraction)
        if not -180.0 <= lon <= 180.0:
            lon = (lon + 180.0) % 360.0 - 180.0
        if a.heading_deg is not None and b.heading_deg is not None:
            heading = lerp_heading_deg(a.heading_deg, b.heading_deg, fraction)
        else:
            heading = self._segment_heading_deg[i]
        if a.speed_mps is not None and b.speed_mps is not None:
            speed = _lerp(a.speed_mps, b.speed_mps, fraction)
        else:
            speed = float(self._segment_speed_mps[i])
        return Pose(
            timestamp_s=timestamp_s,
            lat=lat,
            lon=lon,
            heading_deg=heading,
            speed_mps=speed,
            alt_m=_lerp_optional(a.alt_m, b.alt_m, fraction),
        )

    def poses_at(self, timestamps_s: Iterable[float], tolerance_s: float = 1.0) -> list[Pose]:
        return [self.pose_at(t, tolerance_s) for t in timestamps_s]


def format_time_s(timestamp_s: float, relative: bool = False) -> str:
    """`10:02:03` for UNIX times (UTC), `12.5 s` for times relative to the video start."""
    if relative:
        return f"{timestamp_s:.1f} s"
    return f"{_utc(timestamp_s):%H:%M:%S} UTC"


def _utc(timestamp_s: float) -> datetime:
    try:
        return datetime.fromtimestamp(timestamp_s, UTC)
    except (OverflowError, OSError, ValueError):
        raise TrackError(f"time {timestamp_s} s is not a plausible UNIX time") from None


def format_span_s(t0_s: float, t1_s: float, relative: bool = False, *, with_date: bool = False) -> str:
    if relative:
        return f"{t0_s:.1f}–{t1_s:.1f} s from the video start"
    start, end = _utc(t0_s), _utc(t1_s)
    day = f"{start:%Y-%m-%d} " if with_date or start.date() != end.date() else ""
    end_day = f"{end:%Y-%m-%d} " if start.date() != end.date() else ""
    return f"{day}{start:%H:%M:%S}–{end_day}{end:%H:%M:%S} UTC"


def align_video(
    track: Track,
    video_duration_s: float,
    video_start_s: float | None = None,
    offset_s: float = 0.0,
    tolerance_s: float = 1.0,
) -> float:
    """The track time of the video's first frame, checked against the track's coverage.

    `video_start_s` is the UNIX time of the first frame when known (container metadata); without it
    the time the track file gives for the first frame (a DJI .SRT's clock), else the track's first
    fix. For a track relative to the video (a DJI .SRT with no date) the first frame is at 0 and
    `video_start_s` is ignored. `offset_s` shifts the video later (positive) or earlier along the
    track, for a camera clock that is off.
    """
    if track.relative_to_video:
        start_s = offset_s
    else:
        if video_start_s is None:
            video_start_s = track.start_s if track.video_start_s is None else track.video_start_s
        start_s = video_start_s + offset_s
    end_s = start_s + video_duration_s
    if not track.covers(start_s, end_s, tolerance_s):
        relative = track.relative_to_video
        day_differs = not relative and _utc(start_s).date() != _utc(track.start_s).date()
        raise TrackError(
            f"{track.source}: track covers "
            f"{format_span_s(track.start_s, track.end_s, relative, with_date=day_differs)} "
            f"but the video spans {format_span_s(start_s, end_s, relative, with_date=day_differs)}; "
            "check the track is from this drive or shift the video with --offset SECONDS"
        )
    return start_s


def load_track(path: str | Path) -> Track:
    """Read a GPX, NMEA, CSV, DJI .SRT or 70mai track; the format by the suffix, else by the content.

    What the reader skipped or estimated is in the track's `warning`.
    """
    # Imported here because the parsers build `Fix` objects from this module.
    from tenken.track_formats import read_fixes

    parsed = read_fixes(Path(path))
    return Track(parsed.fixes, relative_to_video=parsed.relative_to_video, source=str(path), parsed=parsed)
