"""NMEA 0183 logs (pynmea2): RMC and GGA sentences to fixes, skipping and counting what is unreadable."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pynmea2

from tenken.errors import TrackError
from tenken.tracks import Fix, ParsedTrack, SkippedPoints, checked_fix, utc_seconds

KNOTS_TO_MPS = 1852.0 / 3600.0


def parse_nmea(text: str, name: str) -> ParsedTrack:
    """RMC (date, time, position, course, speed) and GGA (time, position, altitude, HDOP) sentences.

    A logger's file is cut wherever the power went: the first line may be the end of a sentence,
    the last one a beginning, and noise or a restart banner can sit anywhere. Such lines, sentences
    with a bad or missing checksum or an unreadable field, RMC with void status and GGA without a
    fix are skipped and counted (the track's warning); the file is refused only when no fix is
    left. Other sentence types are ignored. GGA carries no date, so it takes the last RMC's date;
    GGA before the first RMC is skipped. RMC and GGA for the same second are merged. Text before a
    `$` (a logger's own time stamp) is ignored; with several `$` on a line, the last sentence is
    read (the one before it was cut).
    """
    by_time: dict[float, Fix] = {}
    last_rmc: datetime | None = None
    skipped = SkippedPoints("lines")
    for line_no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        where = f"line {line_no}"
        start = line.rfind("$")
        if start < 0:
            skipped.add("not an NMEA sentence", where)
            continue
        line = line[start:]
        try:
            msg = pynmea2.parse(line, check=True)
        except pynmea2.ChecksumError:
            skipped.add("bad checksum" if "*" in line else "cut short", where)
            continue
        except pynmea2.ParseError:
            skipped.add("unreadable sentence", where)
            continue
        try:
            fix, last_rmc, reason = _nmea_fix(msg, f"{name}:{line_no}", last_rmc)
        except (ValueError, TypeError):
            skipped.add(f"unreadable {msg.sentence_type} field", where)
            continue
        except TrackError:
            skipped.add("position out of range", where)
            continue
        if reason:
            skipped.add(reason, where)
        if fix is None:
            continue
        known = by_time.get(fix.timestamp_s)
        by_time[fix.timestamp_s] = fix if known is None else _merge(known, fix)
    if not by_time:
        detail = f"; {skipped.describe()}" if skipped.total else ""
        raise TrackError(
            f"{name}: no valid RMC or GGA fix (a GGA needs an RMC before it for the date){detail}"
        )
    return ParsedTrack(list(by_time.values()), skipped=skipped)


def _nmea_fix(
    msg: pynmea2.NMEASentence, where: str, last_rmc: datetime | None
) -> tuple[Fix | None, datetime | None, str | None]:
    """The fix a sentence gives, the date-time of the last RMC, and why a position sentence gave none."""
    if isinstance(msg, pynmea2.types.talker.RMC):
        if msg.status != "A" or msg.datestamp is None or msg.timestamp is None:
            return None, last_rmc, "no GPS fix"
        moment = datetime.combine(msg.datestamp, msg.timestamp)
        speed = None if msg.spd_over_grnd is None else float(msg.spd_over_grnd) * KNOTS_TO_MPS
        course = None if msg.true_course is None else float(msg.true_course)
        fix = checked_fix(where, utc_seconds(moment), msg.latitude, msg.longitude, None, course, speed)
        return fix, moment.replace(tzinfo=moment.tzinfo or UTC), None
    if isinstance(msg, pynmea2.types.talker.GGA):
        if not msg.gps_qual or msg.timestamp is None:
            return None, last_rmc, "no GPS fix"
        if last_rmc is None:
            return None, last_rmc, "GGA before any RMC gave the date"
        moment = datetime.combine(last_rmc.date(), msg.timestamp)
        moment = moment.replace(tzinfo=moment.tzinfo or UTC)
        if moment < last_rmc - timedelta(hours=12):  # the day rolled over since that RMC
            moment += timedelta(days=1)
        alt = None if msg.altitude is None else float(msg.altitude)
        hdop = float(msg.horizontal_dil) if msg.horizontal_dil else None
        fix = checked_fix(where, utc_seconds(moment), msg.latitude, msg.longitude, alt, None, None, hdop)
        return fix, last_rmc, None
    return None, last_rmc, None


def _merge(a: Fix, b: Fix) -> Fix:
    """One fix from an RMC and a GGA of the same instant: each field from whichever has it."""
    return replace(
        a,
        alt_m=a.alt_m if a.alt_m is not None else b.alt_m,
        heading_deg=a.heading_deg if a.heading_deg is not None else b.heading_deg,
        speed_mps=a.speed_mps if a.speed_mps is not None else b.speed_mps,
        hdop=a.hdop if a.hdop is not None else b.hdop,
    )
