"""CSV tracks: a header row naming time, lat, lon and optional columns, one fix a row."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from tenken.errors import TrackError
from tenken.tracks import Fix, ParsedTrack, checked_fix, utc_seconds

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
        return utc_seconds(datetime.fromisoformat(value))
    return number / 1000.0 if abs(number) > UNIX_MILLISECONDS_ABOVE else number


def parse_csv(text: str, name: str) -> ParsedTrack:
    """A CSV with a header row naming time, lat, lon and optionally alt, heading, speed, hdop.

    Unlike the loggers' formats, a CSV is made by a person or a program on purpose, so a bad row
    is an error naming its line rather than a row skipped.
    """
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
