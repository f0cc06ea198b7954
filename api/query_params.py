"""Parsing of query parameters that FastAPI cannot check by type alone (bbox, time ranges)."""

from __future__ import annotations

from fastapi import HTTPException, status


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
