"""DJI flight subtitles (.SRT): one cue per frame or second, each with a position and often a clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise

from tenken.errors import TrackError
from tenken.tracks import Fix, ParsedTrack, SkippedPoints, checked_fix

# A cue's clock runs up to about a second away from its cue start; further than this it was reset.
CLOCK_FROM_CUE_MAX_S = 2.0

_TIME_LINE = re.compile(r"^\s*(\d+):(\d\d):(\d\d)[,.](\d{1,3})\s*-->")
_INDEX_LINE = re.compile(r"^\s*\d+\s*$")
_INDEX_LINE_IN_TEXT = re.compile(r"^\s*\d+\s*$", re.MULTILINE)
_TAG = re.compile(r"<[^>]*>")
_NEW_LAT = re.compile(r"\[\s*latitude\s*:\s*(-?[\d.]+)\s*\]")
_NEW_LON = re.compile(r"\[\s*long?t?itude\s*:\s*(-?[\d.]+)\s*\]")  # some firmware spells it "longtitude"
_ALTITUDES = (
    re.compile(r"abs_alt\s*:\s*(-?[\d.]+)"),
    re.compile(r"rel_alt\s*:\s*(-?[\d.]+)"),
    re.compile(r"\[\s*altitude\s*:\s*(-?[\d.]+)"),
)
# GPS(a,b) or GPS(a,b,c); the third value carries a unit, "0.0M", on firmware that puts latitude first.
_OLD_GPS = re.compile(r"GPS\s*\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*(?:,\s*(-?[\d.]+)\s*(M)?\s*)?\)")
# 2026-11-29 10:02:03.033, 2026-11-29 10:02:03,033,250 (ms, µs) or 2026.11.29 10:02:03
_CLOCK = re.compile(r"(\d{4})[-.](\d\d)[-.](\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d+)(?:,(\d{3}))?)?")


@dataclass(frozen=True)
class _Position:
    a: float
    b: float
    alt_m: float | None
    labelled: bool  # [latitude: a] [longitude: b]
    lat_first: bool  # for GPS(a, b, ..): the order the firmware variant documents


@dataclass(frozen=True)
class _Cue:
    line_no: int  # of its time line
    start_s: float
    clock_s: float | None  # the date-time the cue states
    precise: bool  # the clock has a fraction of a second
    position: _Position | None


def parse_dji_srt(text: str, name: str) -> ParsedTrack:
    """DJI flight subtitles, in each firmware's documented layout.

    Positions: `[latitude: ..] [longitude: ..]` (newer firmware; altitude from abs_alt, rel_alt or
    altitude), or `GPS(..)`: longitude first on Phantom/Mavic firmware (`GPS(139.76,35.68,16)`),
    latitude first on Matrice 300 firmware, which writes a unit on the third value
    (`GPS(36.6146,-6.1120,0.0M) BAROMETER:0.3M`). Where a value over 90 shows which is the
    longitude, that decides the order for the whole file instead. Matrice 300 cameras (H20T/H20N)
    write a blank line and a lone `0` inside each cue, so cues are split at their time lines.

    Times: each cue's own clock (when the position was taken) if the clocks have a fraction of a
    second, run forward and stay within 2 s of the cue starts; else the cue start, anchored to UNIX
    time by the first clock (`2017.08.22 15:31:19` is coarser than the cue); without any clock the
    track is relative to the video start. DJI writes the drone's local clock, which `--offset`
    corrects. The first clock also tells when the video started, even when the first cues have no
    GPS lock.

    Cues without a readable position, at 0, 0 (no lock) or with an impossible clock are skipped
    and counted.
    """
    skipped = SkippedPoints("cues")
    cues = _read_cues(text, skipped)
    first_clocked = next((cue for cue in cues if cue.clock_s is not None), None)
    anchor_s = None
    if first_clocked is not None and first_clocked.clock_s is not None:
        anchor_s = first_clocked.clock_s - first_clocked.start_s
    use_clocks = anchor_s is not None and _clocks_are_trustworthy(cues, anchor_s)
    file_lat_first = _file_order([cue.position for cue in cues if cue.position is not None])
    fixes: list[Fix] = []
    for cue in cues:
        where = f"line {cue.line_no}"
        if cue.position is None:
            skipped.add("no position", where)
            continue
        lat, lon = _lat_lon(cue.position, file_lat_first)
        if lat == 0.0 and lon == 0.0:
            skipped.add("no GPS lock (0, 0)", where)
            continue
        time_s = cue.start_s + (anchor_s or 0.0)
        if use_clocks and cue.clock_s is not None:
            time_s = cue.clock_s
        try:
            fixes.append(checked_fix(f"{name}:{cue.line_no}", time_s, lat, lon, cue.position.alt_m))
        except TrackError:
            skipped.add("position out of range", where)
    if not fixes:
        detail = f"; {skipped.describe()}" if skipped.total else ""
        raise TrackError(
            f"{name}: no GPS position in any subtitle (no GPS lock, or not a DJI flight .SRT){detail}"
        )
    return ParsedTrack(fixes, relative_to_video=anchor_s is None, skipped=skipped, video_start_s=anchor_s)


def _clocks_are_trustworthy(cues: list[_Cue], anchor_s: float) -> bool:
    """Whether the cues' clocks can time their fixes: precise, running forward, near their cue starts.

    A clock that stands still or jumps (set from GPS time mid-flight) would bend the track, so the
    cue starts are used then.
    """
    clocked = [(cue.start_s, cue.clock_s) for cue in cues if cue.clock_s is not None]
    clocks_s = [clock_s for _, clock_s in clocked]
    return (
        all(cue.precise for cue in cues if cue.clock_s is not None)
        and all(b >= a for a, b in pairwise(clocks_s))
        and (len(clocks_s) < 2 or clocks_s[-1] > clocks_s[0])
        and all(abs(clock_s - anchor_s - start_s) <= CLOCK_FROM_CUE_MAX_S for start_s, clock_s in clocked)
    )


def _lat_lon(position: _Position, file_lat_first: bool | None) -> tuple[float, float]:
    if position.labelled:
        return position.a, position.b
    lat_first = position.lat_first if file_lat_first is None else file_lat_first
    return (position.a, position.b) if lat_first else (position.b, position.a)


def _file_order(positions: list[_Position]) -> bool | None:
    """Whether `GPS(a, b)` is (lat, lon) throughout this file, when a value over 90 says so; else None."""
    lat_first = lon_first = False
    for position in positions:
        if not position.labelled:
            lon_first |= abs(position.a) > 90.0 >= abs(position.b)
            lat_first |= abs(position.b) > 90.0 >= abs(position.a)
    return lat_first if lat_first != lon_first else None


def _read_cues(text: str, skipped: SkippedPoints) -> list[_Cue]:
    """Every cue from its time line to the next; the next cue's index number, just above it, is cut off."""
    lines = text.splitlines()
    time_rows = [(i, match) for i, line in enumerate(lines) if (match := _TIME_LINE.match(line))]
    cues: list[_Cue] = []
    for k, (row, time_match) in enumerate(time_rows):
        end = time_rows[k + 1][0] if k + 1 < len(time_rows) else len(lines)
        body_lines = lines[row + 1 : end]
        while body_lines and not body_lines[-1].strip():
            body_lines.pop()
        if k + 1 < len(time_rows) and body_lines and _INDEX_LINE.match(body_lines[-1]):
            body_lines.pop()
        cue = _read_cue(row + 1, time_match, "\n".join(body_lines), skipped)
        if cue is not None:
            cues.append(cue)
    return cues


def _read_cue(line_no: int, time_match: re.Match[str], text: str, skipped: SkippedPoints) -> _Cue | None:
    hours, minutes, seconds, millis = time_match.groups()
    start_s = int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000.0
    body = _TAG.sub(" ", text)

    def line_at(offset: int) -> str:
        lines_before = body.count("\n", 0, offset)
        return f"line {line_no + 1 + lines_before}"

    clock = _CLOCK.search(body)
    clock_s = None
    if clock is not None:
        try:
            clock_s = _clock_s(clock)
        except ValueError:
            skipped.add("impossible date-time", line_at(clock.start()))
            return None
    try:
        positions = _positions(body)
    except ValueError:
        skipped.add("unreadable position", f"line {line_no}")
        return None
    for (before, _), (offset, _) in pairwise(positions):
        # A cue number between two positions: that cue lost its time line and ran into this one.
        if _INDEX_LINE_IN_TEXT.search(body, before, offset):
            skipped.add("position without a cue time line", line_at(offset))
    return _Cue(
        line_no,
        start_s,
        clock_s,
        clock is not None and clock.group(7) is not None,
        positions[0][1] if positions else None,
    )


def _positions(body: str) -> list[tuple[int, _Position]]:
    """Each position in a cue's text, with where it starts; ValueError when a number is unreadable."""
    found: list[tuple[int, _Position]] = []
    for lat, lon in zip(_NEW_LAT.finditer(body), _NEW_LON.finditer(body), strict=False):
        alt_match = next((m for pattern in _ALTITUDES if (m := pattern.search(body, lat.start()))), None)
        alt = float(alt_match.group(1)) if alt_match else None
        found.append(
            (
                lat.start(),
                _Position(float(lat.group(1)), float(lon.group(1)), alt, labelled=True, lat_first=True),
            )
        )
    for gps in _OLD_GPS.finditer(body):
        a, b, third, unit = gps.groups()
        alt = float(third) if third is not None else None
        found.append(
            (gps.start(), _Position(float(a), float(b), alt, labelled=False, lat_first=unit is not None))
        )
    return sorted(found, key=lambda item: item[0])


def _clock_s(match: re.Match[str]) -> float:
    """UNIX seconds of a cue's date-time (taken as UTC); ValueError for an impossible one."""
    year, month, day, hour, minute, second, fraction, micros = match.groups()
    moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    seconds = moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)
    if micros is not None and fraction is not None and len(fraction) == 3:
        seconds += int(micros) / 1e6
    return seconds
