"""Helpers for the track tests: the fixtures folder, its start time, NMEA checksums, files to write."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import reduce
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures" / "tracks"
# 2026-11-29 10:02:03 UTC, the first fix of every fixture.
T0 = datetime(2026, 11, 29, 10, 2, 3, tzinfo=UTC).timestamp()


def utc(hour: int, minute: int, second: int, day: int = 29) -> float:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=UTC).timestamp()


def nmea(body: str) -> str:
    """A sentence with its checksum (XOR of the characters between `$` and `*`)."""
    checksum = reduce(lambda acc, ch: acc ^ ord(ch), body, 0)
    return f"${body}*{checksum:02X}"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path
