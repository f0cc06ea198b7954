"""Which reader a track file needs (by suffix, else by content), and reading the file's text."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tenken.errors import TrackError
from tenken.track_csv import parse_csv
from tenken.track_dashcam import looks_like_70mai, parse_70mai
from tenken.track_dji_srt import parse_dji_srt
from tenken.track_gpx import parse_gpx
from tenken.track_nmea import parse_nmea
from tenken.tracks import ParsedTrack

Parser = Callable[[str, str], ParsedTrack]
PARSERS_BY_SUFFIX: dict[str, Parser] = {
    ".gpx": parse_gpx,
    ".nmea": parse_nmea,
    ".nma": parse_nmea,
    ".csv": parse_csv,
    ".srt": parse_dji_srt,
}

# Loggers that lose power write a few bytes of garbage; more than this share of undecodable bytes
# means the file is not text at all (a video given as the track, say).
MAX_UNDECODABLE_SHARE = 0.05
# A logger's first lines can be cut or noise, so the NMEA sniff looks this far for a sentence.
SNIFF_LINES = 20


def sniff_parser(text: str, name: str) -> Parser:
    """Pick a parser from the content, for files whose suffix says nothing (.txt, .log, none)."""
    head = text.lstrip("\ufeff \t\r\n")[:4096]
    lines = [line.strip() for line in head.splitlines() if line.strip()]
    first_line = lines[0] if lines else ""
    if head.startswith("<?xml") or "<gpx" in head:
        return parse_gpx
    if looks_like_70mai(head):
        return parse_70mai
    if any(re.search(r"\$[A-Z]{5},", line) for line in lines[:SNIFF_LINES]):
        return parse_nmea
    if first_line.isdigit() and "-->" in head:
        return parse_dji_srt
    if "," in first_line or ";" in first_line or "\t" in first_line:
        return parse_csv
    raise TrackError(
        f"{name}: cannot tell the track format; use a .gpx, .nmea, .csv or .srt file or a 70mai GPSData .txt"
    )


def read_fixes(path: Path) -> ParsedTrack:
    """Read and parse a track file, with errors for a missing, empty or unreadable file."""
    name = str(path)
    if not path.is_file():
        raise TrackError(f"track file not found: {name}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise TrackError(f"{name}: cannot read track file ({exc.strerror})") from exc
    text = _decoded(data, name)
    if not text.strip():
        raise TrackError(f"{name}: track file is empty")
    parser = PARSERS_BY_SUFFIX.get(path.suffix.lower()) or sniff_parser(text, name)
    return parser(text, name)


def _decoded(data: bytes, name: str) -> str:
    """UTF-8 text; a few undecodable bytes become U+FFFD, left for the reader to skip with their line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8-sig", errors="replace")
        if text.count("\ufffd") > MAX_UNDECODABLE_SHARE * len(data):
            raise TrackError(f"{name}: not a text track file (byte {exc.start} is not UTF-8)") from exc
        return text
