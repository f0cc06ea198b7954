"""Track file parsers: GPX (gpxpy), NMEA RMC/GGA (pynmea2), CSV and DJI .SRT subtitles, to fixes."""

from __future__ import annotations

import csv
import io
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy
import gpxpy.gpx
import pynmea2

from tenken.errors import TrackError
from tenken.tracks import Fix

log = logging.getLogger(__name__)

KNOTS_TO_MPS = 1852.0 / 3600.0


@dataclass(frozen=True)
class ParsedTrack:
    fixes: list[Fix]
    relative_to_video: bool = False


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


def _utc_seconds(moment: datetime) -> float:
    """UNIX seconds; a time without a zone is taken as UTC (what GPS receivers log)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


# --- GPX -------------------------------------------------------------------------------------------


def parse_gpx(text: str, name: str) -> ParsedTrack:
    """Track points and timed route points; waypoints are places, not a path, and are ignored."""
    try:
        gpx = gpxpy.parse(text)
    except (gpxpy.gpx.GPXException, ValueError) as exc:
        raise TrackError(f"{name}: not a readable GPX file ({exc})") from exc
    points: list[gpxpy.gpx.GPXTrackPoint | gpxpy.gpx.GPXRoutePoint] = [
        point for track in gpx.tracks for segment in track.segments for point in segment.points
    ]
    points += [point for route in gpx.routes for point in route.points]
    fixes: list[Fix] = []
    untimed = 0
    for point in points:
        if point.time is None:
            untimed += 1
            continue
        fixes.append(
            checked_fix(
                f"{name}: point at {point.time.isoformat()}",
                _utc_seconds(point.time),
                point.latitude,
                point.longitude,
                alt_m=point.elevation,
                heading_deg=getattr(point, "course", None),
                speed_mps=getattr(point, "speed", None),
                hdop=point.horizontal_dilution,
            )
        )
    if not fixes:
        detail = f"{untimed} points have no time" if untimed else "no track or route points"
        raise TrackError(f"{name}: GPX has no timed track points ({detail})")
    return ParsedTrack(fixes)


# --- NMEA ------------------------------------------------------------------------------------------


def parse_nmea(text: str, name: str) -> ParsedTrack:
    """RMC (date, time, position, course, speed) and GGA (time, position, altitude, HDOP) sentences.

    Sentences with a bad or missing checksum, RMC with void status and GGA without a fix are
    skipped, as are other sentence types. GGA carries no date, so it takes the last RMC's date;
    GGA before the first RMC is skipped. RMC and GGA for the same second are merged. A line
    without a `$` sentence is an error naming its line (the file is not NMEA); text before the `$`
    (a logger's own time stamp) is ignored.
    """
    by_time: dict[float, Fix] = {}
    last_rmc: datetime | None = None
    skipped = 0
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = f"{name}:{line_no}"
        start = line.find("$")
        if start < 0:
            raise TrackError(f"{where}: not an NMEA sentence: {line[:40]!r}")
        line = line[start:]  # some loggers put their own time stamp before each sentence
        try:
            msg = pynmea2.parse(line, check=True)
        except pynmea2.ChecksumError:
            skipped += 1
            continue
        except pynmea2.ParseError:
            # Truncated or garbled sentences happen when a logger loses power; a checksum would catch them.
            skipped += 1
            continue
        try:
            fix, last_rmc = _nmea_fix(msg, where, last_rmc)
        except (ValueError, TypeError) as exc:
            raise TrackError(f"{where}: malformed {msg.sentence_type} sentence ({exc})") from exc
        if fix is None:
            continue
        known = by_time.get(fix.timestamp_s)
        by_time[fix.timestamp_s] = fix if known is None else _merge(known, fix)
    if skipped:
        log.info("%s: skipped %d NMEA sentences with a bad checksum or unreadable fields", name, skipped)
    if not by_time:
        raise TrackError(f"{name}: no valid RMC or GGA fix (a GGA needs an RMC before it for the date)")
    return ParsedTrack(list(by_time.values()))


def _nmea_fix(
    msg: pynmea2.NMEASentence, where: str, last_rmc: datetime | None
) -> tuple[Fix | None, datetime | None]:
    if isinstance(msg, pynmea2.types.talker.RMC):
        if msg.status != "A" or msg.datestamp is None or msg.timestamp is None:
            return None, last_rmc
        moment = datetime.combine(msg.datestamp, msg.timestamp)
        speed = None if msg.spd_over_grnd is None else float(msg.spd_over_grnd) * KNOTS_TO_MPS
        course = None if msg.true_course is None else float(msg.true_course)
        fix = checked_fix(where, _utc_seconds(moment), msg.latitude, msg.longitude, None, course, speed)
        return fix, moment.replace(tzinfo=moment.tzinfo or UTC)
    if isinstance(msg, pynmea2.types.talker.GGA):
        if last_rmc is None or not msg.gps_qual or msg.timestamp is None:
            return None, last_rmc
        moment = datetime.combine(last_rmc.date(), msg.timestamp)
        moment = moment.replace(tzinfo=moment.tzinfo or UTC)
        if moment < last_rmc - timedelta(hours=12):  # the day rolled over since that RMC
            moment += timedelta(days=1)
        alt = None if msg.altitude is None else float(msg.altitude)
        hdop = float(msg.horizontal_dil) if msg.horizontal_dil else None
        fix = checked_fix(where, _utc_seconds(moment), msg.latitude, msg.longitude, alt, None, None, hdop)
        return fix, last_rmc
    return None, last_rmc


def _merge(a: Fix, b: Fix) -> Fix:
    """One fix from an RMC and a GGA of the same instant: each field from whichever has it."""
    return replace(
        a,
        alt_m=a.alt_m if a.alt_m is not None else b.alt_m,
        heading_deg=a.heading_deg if a.heading_deg is not None else b.heading_deg,
        speed_mps=a.speed_mps if a.speed_mps is not None else b.speed_mps,
        hdop=a.hdop if a.hdop is not None else b.hdop,
    )


# --- CSV -------------------------------------------------------------------------------------------

CSV_COLUMNS: dict[str, str] = {
    **dict.fromkeys(["time", "timestamp", "t", "timestamp_s", "datetime"], "time"),
    **dict.fromkeys(["lat", "latitude"], "lat"),
    **dict.fromkeys(["lon", "lng", "long", "longitude"], "lon"),
    **dict.fromkeys(["alt", "altitude", "ele", "elevation", "alt_m"], "alt"),
    **dict.fromkeys(["heading", "course", "bearing", "heading_deg"], "heading"),
    **dict.fromkeys(["speed", "speed_mps"], "speed"),
    "hdop": "hdop",
}


# UNIX seconds pass this in the year 5138; phone loggers that write milliseconds pass it today.
UNIX_MILLISECONDS_ABOVE = 1e11


def parse_csv_time(value: str) -> float:
    """UNIX seconds (or milliseconds), or ISO-8601 with or without a zone (no zone = UTC)."""
    try:
        number = float(value)
    except ValueError:
        return _utc_seconds(datetime.fromisoformat(value))
    return number / 1000.0 if abs(number) > UNIX_MILLISECONDS_ABOVE else number


def parse_csv(text: str, name: str) -> ParsedTrack:
    """A CSV with a header row naming time, lat, lon and optionally alt, heading, speed, hdop."""
    try:
        dialect: type[csv.Dialect] = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = csv.reader(io.StringIO(text), dialect)
    header = next(rows, None)
    if header is None:
        raise TrackError(f"{name}: empty CSV")
    names = [column.strip().lower() for column in header]
    if any(_is_number(column) for column in names):
        raise TrackError(f"{name}:1: CSV needs a header row naming its columns, e.g. time,lat,lon")
    unknown = [column for column in names if column not in CSV_COLUMNS]
    if unknown:
        raise TrackError(
            f"{name}:1: unknown CSV columns {', '.join(unknown)}; "
            "expected time, lat, lon and optionally alt, heading, speed, hdop"
        )
    roles = [CSV_COLUMNS[column] for column in names]
    missing = [role for role in ("time", "lat", "lon") if role not in roles]
    if missing:
        raise TrackError(f"{name}:1: CSV has no {', '.join(missing)} column")
    if len(set(roles)) != len(roles):
        raise TrackError(f"{name}:1: CSV names the same column twice: {', '.join(header)}")
    fixes = []
    for row in rows:
        line_no = rows.line_num
        if not any(cell.strip() for cell in row):
            continue
        where = f"{name}:{line_no}"
        if len(row) != len(roles):
            raise TrackError(f"{where}: expected {len(roles)} values, found {len(row)}")
        cells = {role: cell.strip() for role, cell in zip(roles, row, strict=True)}
        fixes.append(_csv_fix(cells, where))
    return ParsedTrack(fixes)


def _csv_fix(cells: dict[str, str], where: str) -> Fix:
    def number(role: str) -> float | None:
        value = cells.get(role, "")
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            raise TrackError(f"{where}: {role} {value!r} is not a number") from None

    try:
        timestamp_s = parse_csv_time(cells["time"])
    except ValueError:
        raise TrackError(f"{where}: time {cells['time']!r} is neither ISO-8601 nor UNIX seconds") from None
    lat, lon = number("lat"), number("lon")
    if lat is None or lon is None:
        raise TrackError(f"{where}: lat and lon are required")
    return checked_fix(
        where, timestamp_s, lat, lon, number("alt"), number("heading"), number("speed"), number("hdop")
    )


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# --- DJI .SRT --------------------------------------------------------------------------------------

_CUE_TIME = re.compile(r"(\d+):(\d\d):(\d\d)[,.](\d{1,3})\s*-->")
_NEW_LAT = re.compile(r"\[\s*latitude\s*:\s*(-?[\d.]+)\s*\]")
_NEW_LON = re.compile(r"\[\s*long?t?itude\s*:\s*(-?[\d.]+)\s*\]")  # some firmware spells it "longtitude"
_ABS_ALT = re.compile(r"abs_alt\s*:\s*(-?[\d.]+)")
_REL_ALT = re.compile(r"rel_alt\s*:\s*(-?[\d.]+)")
_OLD_GPS = re.compile(r"GPS\s*\(\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)\s*(?:,\s*(-?[\d.]+)\s*)?\)")
_DATETIME = re.compile(r"(\d{4})[-.](\d\d)[-.](\d\d)[ T](\d\d):(\d\d):(\d\d)(?:[.,](\d+))?")
_TAG = re.compile(r"<[^>]*>")


def parse_dji_srt(text: str, name: str) -> ParsedTrack:
    """DJI flight subtitles, one cue per frame or second.

    Newer firmware writes `[latitude: ..] [longitude: ..] [rel_alt: .. abs_alt: ..]` under a
    date-time line; older firmware `GPS(lon,lat,alt)`, sometimes with `HOME(..) 2017.08.22 15:31:19`.
    Times come from the cue start (exactly the frame's position in the video); when a cue has a
    date-time, the first one anchors them to UNIX time. DJI writes the drone's local clock, which
    `--offset` corrects when the track is combined with another source. Without any date-time the
    track is relative to the video start. Cues without a position (no GPS lock: 0, 0) are skipped.
    """
    fixes: list[Fix] = []
    anchor_s: float | None = None
    for line_no, block in _srt_cues(text):
        where = f"{name}:{line_no}"
        cue = _CUE_TIME.search(block)
        if cue is None:
            raise TrackError(f"{where}: SRT cue without a 'HH:MM:SS,mmm --> ...' time line")
        hours, minutes, seconds, millis = cue.groups()
        cue_s = int(hours) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000.0
        body = _TAG.sub(" ", block[cue.end() :])
        try:
            position = _srt_position(body)
        except ValueError as exc:
            raise TrackError(f"{where}: unreadable GPS position in SRT cue ({exc})") from exc
        if position is None:
            continue
        lat, lon, alt = position
        if lat == 0.0 and lon == 0.0:
            continue
        stamp = _DATETIME.search(body)
        if anchor_s is None and stamp is not None:
            anchor_s = _srt_datetime_s(stamp, where) - cue_s
        fixes.append(checked_fix(where, cue_s, lat, lon, alt))
    if not fixes:
        raise TrackError(f"{name}: no GPS position in any subtitle (no GPS lock, or not a DJI flight .SRT)")
    if anchor_s is None:
        return ParsedTrack(fixes, relative_to_video=True)
    return ParsedTrack([replace(fix, timestamp_s=fix.timestamp_s + anchor_s) for fix in fixes])


def _srt_cues(text: str) -> list[tuple[int, str]]:
    """The cues of a subtitle file as (first line number, text), split at blank lines."""
    cues: list[tuple[int, str]] = []
    lines: list[str] = []
    start = 0
    for line_no, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not lines:
                start = line_no
            lines.append(line)
        elif lines:
            cues.append((start, "\n".join(lines)))
            lines = []
    if lines:
        cues.append((start, "\n".join(lines)))
    return cues


def _srt_position(body: str) -> tuple[float, float, float | None] | None:
    lat_match, lon_match = _NEW_LAT.search(body), _NEW_LON.search(body)
    if lat_match and lon_match:
        alt_match = _ABS_ALT.search(body) or _REL_ALT.search(body)
        alt = float(alt_match.group(1)) if alt_match else None
        return float(lat_match.group(1)), float(lon_match.group(1)), alt
    old = _OLD_GPS.search(body)
    if old:
        lon_text, lat_text, alt_text = old.groups()
        return float(lat_text), float(lon_text), float(alt_text) if alt_text is not None else None
    return None


def _srt_datetime_s(match: re.Match[str], where: str) -> float:
    year, month, day, hour, minute, second, fraction = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), tzinfo=UTC)
    except ValueError as exc:
        raise TrackError(f"{where}: impossible date-time {match.group(0)!r} ({exc})") from exc
    return moment.timestamp() + (float(f"0.{fraction}") if fraction else 0.0)


# --- Dispatch --------------------------------------------------------------------------------------

Parser = Callable[[str, str], ParsedTrack]
PARSERS_BY_SUFFIX: dict[str, Parser] = {
    ".gpx": parse_gpx,
    ".nmea": parse_nmea,
    ".nma": parse_nmea,
    ".csv": parse_csv,
    ".srt": parse_dji_srt,
}


def sniff_parser(text: str, name: str) -> Parser:
    """Pick a parser from the content, for files whose suffix says nothing (.txt, .log, none)."""
    head = text.lstrip("\ufeff \t\r\n")[:4096]
    first_line = head.split("\n", 1)[0].strip()
    if head.startswith("<?xml") or "<gpx" in head:
        return parse_gpx
    if re.search(r"\$[A-Z]{5},", first_line):
        return parse_nmea
    if first_line.isdigit() and "-->" in head:
        return parse_dji_srt
    if "," in first_line or ";" in first_line or "\t" in first_line:
        return parse_csv
    raise TrackError(f"{name}: cannot tell the track format; use a .gpx, .nmea, .csv or .srt file")


def read_fixes(path: Path) -> ParsedTrack:
    """Read and parse a track file, with errors for a missing, empty or unreadable file."""
    name = str(path)
    if not path.is_file():
        raise TrackError(f"track file not found: {name}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrackError(f"{name}: not a text track file (byte {exc.start} is not UTF-8)") from exc
    except OSError as exc:
        raise TrackError(f"{name}: cannot read track file ({exc.strerror})") from exc
    if not text.strip():
        raise TrackError(f"{name}: track file is empty")
    parser = PARSERS_BY_SUFFIX.get(path.suffix.lower()) or sniff_parser(text, name)
    return parser(text, name)
