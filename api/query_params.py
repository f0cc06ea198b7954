"""Query and path parameters: bounded types for ids, offsets and times, and what types alone cannot check.

A number the database cannot hold (an id past 32 bits on PostgreSQL, an offset past 64 bits on
either store) is the caller's 422, not the server's 500; NaN and infinity are never a time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Path, Query, status

MAX_ROW_ID = 2**31 - 1  # integer primary keys are 32-bit on PostgreSQL
MAX_INT64 = 2**63 - 1  # OFFSET, and integers in SQLite

RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="The row's id.")]
Offset = Annotated[int, Query(ge=0, le=MAX_INT64, description="Skip this many rows.")]


def unix_time(description: str) -> object:
    """A finite UNIX time (s) query parameter: `since_s: Annotated[float | None, unix_time("...")]`."""
    return Query(description=description, allow_inf_nan=False, ge=-1e11, le=1e11)


def parse_bbox(value: str | None) -> tuple[float, float, float, float] | None:
    """`min_lon,min_lat,max_lon,max_lat` (GeoJSON order) -> a tuple, or a 400 naming the problem.

    >>> parse_bbox("139.0,35.0,140.0,36.0")
    (139.0, 35.0, 140.0, 36.0)
    """
    if value is None:
        return None
    parts = value.split(",")
    try:
        numbers = [float(p) for p in parts]
    except ValueError:
        numbers = []
    if len(numbers) != 4 or not all(n == n and abs(n) != float("inf") for n in numbers):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"bbox {value!r} must be four numbers: min_lon,min_lat,max_lon,max_lat",
        )
    min_lon, min_lat, max_lon, max_lat = numbers
    if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"bbox {value!r} is not min_lon,min_lat,max_lon,max_lat within -180..180 and -90..90 "
            "(minimum first)",
        )
    return min_lon, min_lat, max_lon, max_lat


def check_time_range(since_s: float | None, until_s: float | None) -> None:
    if since_s is not None and until_s is not None and since_s > until_s:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, f"since_s ({since_s}) is after until_s ({until_s})")
