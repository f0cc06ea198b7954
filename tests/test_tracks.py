"""GPS tracks: parsing every supported format, interpolating poses, and aligning a track with a video."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import reduce
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenken.errors import TrackError
from tenken.geo import distance_m
from tenken.tracks import Fix, Track, align_video, load_track

FIXTURES = Path(__file__).parent / "fixtures" / "tracks"
# 2026-11-29 10:02:03 UTC, the first fix of every fixture.
T0 = datetime(2026, 11, 29, 10, 2, 3, tzinfo=UTC).timestamp()
# Along the equator a geodesic is an arc of the WGS84 semi-major axis: exact by hand.
EQUATOR_M_PER_DEG = 6378137.0 * math.pi / 180.0


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


def east_track(*times_and_lons: tuple[float, float]) -> Track:
    return Track([Fix(t, 0.0, lon) for t, lon in times_and_lons])


# --- Track --------------------------------------------------------------------------------------


def test_fixes_are_sorted_by_time() -> None:
    track = Track([Fix(2.0, 0.0, 0.002), Fix(0.0, 0.0, 0.0), Fix(1.0, 0.0, 0.001)])
    assert [f.timestamp_s for f in track.fixes] == [0.0, 1.0, 2.0]


def test_duplicate_timestamps_keep_the_first_fix() -> None:
    track = Track([Fix(0.0, 0.0, 0.0), Fix(1.0, 0.0, 0.001), Fix(1.0, 0.0, 0.5), Fix(2.0, 0.0, 0.002)])
    assert len(track) == 3
    assert track.fixes[1].lon == 0.001


def test_a_track_needs_two_distinct_times() -> None:
    with pytest.raises(TrackError, match=r"drive\.csv: need at least 2 fixes .* found 1"):
        Track([Fix(5.0, 0.0, 0.0), Fix(5.0, 0.0, 0.001)], source="drive.csv")


def test_start_end_and_duration() -> None:
    track = east_track((100.0, 0.0), (104.0, 0.001), (130.0, 0.002))
    assert (track.start_s, track.end_s, track.duration_s) == (100.0, 130.0, 30.0)


def test_length_along_the_equator_is_the_arc_length() -> None:
    track = east_track((0.0, 0.0), (10.0, 0.001), (20.0, 0.003))
    assert track.length_m == pytest.approx(0.003 * EQUATOR_M_PER_DEG, abs=1e-6)


def test_position_between_fixes_is_linear_in_lat_and_lon() -> None:
    track = Track([Fix(0.0, 35.0, 139.0), Fix(10.0, 35.001, 139.002)])
    pose = track.pose_at(2.5)
    assert (pose.timestamp_s, pose.lat, pose.lon) == (2.5, pytest.approx(35.00025), pytest.approx(139.0005))


def test_pose_at_a_fix_is_that_fix() -> None:
    track = Track([Fix(0.0, 35.0, 139.0, alt_m=10.0), Fix(10.0, 35.001, 139.002, alt_m=20.0)])
    pose = track.pose_at(10.0)
    assert (pose.lat, pose.lon, pose.alt_m) == (35.001, 139.002, 20.0)


def test_crossing_the_antimeridian_interpolates_the_short_way() -> None:
    track = Track([Fix(0.0, 0.0, 179.999), Fix(2.0, 0.0, -179.999)])
    assert track.pose_at(0.5).lon == pytest.approx(179.9995)
    assert track.pose_at(1.5).lon == pytest.approx(-179.9995)
    assert track.length_m == pytest.approx(0.002 * EQUATOR_M_PER_DEG, abs=1e-6)


def test_heading_derived_from_the_bearing_between_fixes() -> None:
    # North along the meridian, then east along the equator.
    track = Track([Fix(0.0, -0.001, 0.0), Fix(10.0, 0.0, 0.0), Fix(20.0, 0.0, 0.001)])
    assert track.pose_at(5.0).heading_deg == pytest.approx(0.0, abs=1e-9)
    assert track.pose_at(15.0).heading_deg == pytest.approx(90.0)


def test_heading_given_by_the_fixes_wins_over_the_bearing() -> None:
    track = Track([Fix(0.0, 0.0, 0.0, heading_deg=80.0), Fix(10.0, 0.0, 0.001, heading_deg=100.0)])
    assert track.pose_at(5.0).heading_deg == pytest.approx(90.0)
    assert track.pose_at(2.5).heading_deg == pytest.approx(85.0)


def test_given_heading_interpolates_across_north_the_short_way() -> None:
    track = Track([Fix(0.0, 0.0, 0.0, heading_deg=350.0), Fix(10.0, 0.001, 0.0, heading_deg=10.0)])
    assert track.pose_at(5.0).heading_deg == pytest.approx(0.0, abs=1e-9)
    assert track.pose_at(2.5).heading_deg == pytest.approx(355.0)


def test_heading_falls_back_to_the_bearing_when_one_fix_lacks_it() -> None:
    track = Track([Fix(0.0, 0.0, 0.0, heading_deg=10.0), Fix(10.0, 0.0, 0.001)])
    assert track.pose_at(5.0).heading_deg == pytest.approx(90.0)


def test_a_stopped_car_keeps_the_heading_it_last_drove_with() -> None:
    # North for 10 s, east for 10 s, then parked with GPS jitter a few centimetres to the north-west.
    track = Track(
        [
            Fix(0.0, -0.001, 0.0),
            Fix(10.0, 0.0, 0.0),
            Fix(20.0, 0.0, 0.001),
            Fix(30.0, 0.0000003, 0.0009997),
            Fix(40.0, 0.0, 0.001),
        ]
    )
    assert track.pose_at(25.0).heading_deg == pytest.approx(90.0)
    assert track.pose_at(35.0).heading_deg == pytest.approx(90.0)
    assert track.pose_at(35.0).speed_mps < 0.01


def test_a_car_stopped_before_it_first_moves_faces_where_it_will_drive() -> None:
    track = Track([Fix(0.0, 0.0, 0.0), Fix(10.0, 0.0, 0.0), Fix(20.0, 0.001, 0.0)])
    assert track.pose_at(5.0).heading_deg == pytest.approx(0.0, abs=1e-9)
    assert track.pose_at(5.0).speed_mps == 0.0


def test_a_track_that_never_moves_heads_north() -> None:
    track = Track([Fix(0.0, 35.0, 139.0), Fix(10.0, 35.0, 139.0)])
    pose = track.pose_at(5.0)
    assert (pose.heading_deg, pose.speed_mps) == (0.0, 0.0)


def test_speed_derived_from_distance_over_time_when_fixes_lack_it() -> None:
    track = east_track((0.0, 0.0), (10.0, 0.001))
    assert track.pose_at(3.0).speed_mps == pytest.approx(0.001 * EQUATOR_M_PER_DEG / 10.0)


def test_speed_given_by_the_fixes_is_interpolated() -> None:
    track = Track([Fix(0.0, 0.0, 0.0, speed_mps=10.0), Fix(10.0, 0.0, 0.001, speed_mps=14.0)])
    assert track.pose_at(2.5).speed_mps == pytest.approx(11.0)


def test_altitude_is_interpolated_taken_from_one_side_or_none() -> None:
    both = Track([Fix(0.0, 0.0, 0.0, alt_m=10.0), Fix(10.0, 0.0, 0.001, alt_m=20.0)])
    one = Track([Fix(0.0, 0.0, 0.0), Fix(10.0, 0.0, 0.001, alt_m=20.0)])
    none = east_track((0.0, 0.0), (10.0, 0.001))
    assert both.pose_at(2.5).alt_m == pytest.approx(12.5)
    assert one.pose_at(2.5).alt_m == 20.0
    assert none.pose_at(2.5).alt_m is None


def test_pose_just_outside_the_track_is_its_nearest_end() -> None:
    track = east_track((0.0, 0.0), (10.0, 0.001))
    before, after = track.pose_at(-0.5), track.pose_at(10.8)
    assert (before.timestamp_s, before.lon) == (-0.5, 0.0)
    assert (after.timestamp_s, after.lon) == (10.8, 0.001)


def test_pose_far_outside_the_track_is_an_error_naming_both_times() -> None:
    track = Track([Fix(T0, 35.68, 139.76), Fix(T0 + 117.0, 35.69, 139.76)], source="drive.gpx")
    with pytest.raises(TrackError, match=r"drive\.gpx: no position at 11:00:00 UTC; .*10:02:03–10:04:00 UTC"):
        track.pose_at(utc(11, 0, 0))


def test_poses_at_gives_one_pose_per_time_in_order() -> None:
    track = east_track((0.0, 0.0), (10.0, 0.001))
    poses = track.poses_at([0.0, 5.0, 10.0])
    assert [p.lon for p in poses] == pytest.approx([0.0, 0.0005, 0.001])


def test_covers_allows_the_tolerance_at_both_ends() -> None:
    track = east_track((100.0, 0.0), (200.0, 0.001))
    assert track.covers(100.0, 200.0)
    assert track.covers(99.0, 201.0)
    assert not track.covers(98.9, 150.0)
    assert not track.covers(150.0, 201.5)
    assert track.covers(95.0, 205.0, tolerance_s=5.0)


def test_distance_along_is_cumulative_and_linear_within_a_segment() -> None:
    track = east_track((0.0, 0.0), (10.0, 0.001), (20.0, 0.003))
    assert track.distance_along_at(0.0) == 0.0
    assert track.distance_along_at(5.0) == pytest.approx(0.0005 * EQUATOR_M_PER_DEG)
    assert track.distance_along_at(15.0) == pytest.approx(0.002 * EQUATOR_M_PER_DEG)
    assert track.distance_along_at(20.0) == pytest.approx(track.length_m)


def test_distances_along_many_times_match_one_at_a_time() -> None:
    track = east_track((0.0, 0.0), (10.0, 0.001), (20.0, 0.003))
    times = [0.0, 2.0, 9.5, 10.0, 17.25, 20.0]
    assert track.distances_along(times).tolist() == pytest.approx([track.distance_along_at(t) for t in times])


def test_distance_along_outside_the_track_is_an_error() -> None:
    track = east_track((0.0, 0.0), (10.0, 0.001))
    with pytest.raises(TrackError, match="no position at"):
        track.distance_along_at(30.0)


# Random tracks near Tokyo: strictly increasing times, fixes a few metres to a few hundred apart.
fix_steps = st.lists(
    st.tuples(
        st.floats(0.1, 30.0),  # seconds since the previous fix
        st.floats(-0.002, 0.002),  # degrees of latitude moved
        st.floats(-0.002, 0.002),  # degrees of longitude moved
    ),
    min_size=1,
    max_size=8,
)


def random_track(steps: list[tuple[float, float, float]]) -> Track:
    t, lat, lon = 1_700_000_000.0, 35.68, 139.76
    fixes = [Fix(t, lat, lon)]
    for dt, dlat, dlon in steps:
        t, lat, lon = t + dt, lat + dlat, lon + dlon
        fixes.append(Fix(t, lat, lon))
    return Track(fixes)


@given(fix_steps, st.floats(0.0, 1.0))
def test_interpolated_position_lies_between_the_surrounding_fixes(steps, fraction) -> None:
    track = random_track(steps)
    t = track.start_s + fraction * track.duration_s
    pose = track.pose_at(t)
    i = max(k for k, f in enumerate(track.fixes[:-1]) if f.timestamp_s <= t)
    a, b = track.fixes[i], track.fixes[i + 1]
    assert min(a.lat, b.lat) - 1e-12 <= pose.lat <= max(a.lat, b.lat) + 1e-12
    assert min(a.lon, b.lon) - 1e-12 <= pose.lon <= max(a.lon, b.lon) + 1e-12
    assert 0.0 <= pose.heading_deg < 360.0
    assert pose.speed_mps >= 0.0


@given(fix_steps)
def test_pose_at_every_fix_time_is_the_fix(steps) -> None:
    track = random_track(steps)
    for fix in track.fixes:
        pose = track.pose_at(fix.timestamp_s)
        assert (pose.lat, pose.lon) == (pytest.approx(fix.lat, abs=1e-12), pytest.approx(fix.lon, abs=1e-12))


@given(fix_steps, st.lists(st.floats(0.0, 1.0), min_size=2, max_size=20))
def test_distance_along_never_decreases_and_ends_at_the_length(steps, fractions) -> None:
    track = random_track(steps)
    times = sorted(track.start_s + f * track.duration_s for f in fractions)
    distances = track.distances_along(times)
    assert all(later >= earlier for earlier, later in pairwise(distances))
    assert track.distance_along_at(track.end_s) == pytest.approx(track.length_m)


@given(fix_steps)
def test_length_is_the_sum_of_geodesic_steps(steps) -> None:
    track = random_track(steps)
    pairs = pairwise(track.fixes)
    expected = sum(distance_m(a.lat, a.lon, b.lat, b.lon) for a, b in pairs)
    assert track.length_m == pytest.approx(expected)


# --- align_video --------------------------------------------------------------------------------


def tokyo_track(t0: float, t1: float) -> Track:
    return Track([Fix(t0, 35.68, 139.76), Fix(t1, 35.69, 139.76)], source="drive.gpx")


def test_video_starts_with_the_track_by_default() -> None:
    assert align_video(tokyo_track(T0, T0 + 600), video_duration_s=90.0, video_start_s=None) == T0


def test_video_start_and_offset_are_added() -> None:
    start = align_video(tokyo_track(T0, T0 + 600), 90.0, video_start_s=T0 + 100.0, offset_s=-20.0)
    assert start == T0 + 80.0


def test_offset_shifts_the_default_start() -> None:
    assert align_video(tokyo_track(T0, T0 + 600), 90.0, None, offset_s=12.5) == T0 + 12.5


def test_a_track_relative_to_the_video_starts_at_zero_whatever_the_start_time() -> None:
    track = Track([Fix(0.0, 35.68, 139.76), Fix(100.0, 35.69, 139.76)], relative_to_video=True)
    assert align_video(track, 90.0, video_start_s=T0) == 0.0
    assert align_video(track, 90.0, None, offset_s=3.0) == 3.0


def test_a_track_from_another_time_names_both_spans() -> None:
    track = tokyo_track(T0, utc(10, 4, 0))
    with pytest.raises(TrackError) as raised:
        align_video(track, 90.0, video_start_s=utc(11, 0, 0))
    assert "track covers 10:02:03–10:04:00 UTC but the video spans 11:00:00–11:01:30 UTC" in str(raised.value)
    assert str(raised.value).startswith("drive.gpx: ")
    assert "--offset" in str(raised.value)


def test_a_track_from_another_day_shows_the_dates() -> None:
    track = tokyo_track(T0, utc(10, 4, 0))
    with pytest.raises(TrackError, match="2026-11-29 10:02:03–10:04:00 UTC but the video spans 2026-11-30"):
        align_video(track, 90.0, video_start_s=utc(10, 2, 3, day=30))


def test_a_video_longer_than_the_track_is_an_error() -> None:
    with pytest.raises(TrackError, match="video spans"):
        align_video(tokyo_track(T0, T0 + 60.0), video_duration_s=90.0, video_start_s=None)


def test_a_video_a_moment_past_the_track_is_within_tolerance() -> None:
    assert align_video(tokyo_track(T0, T0 + 89.5), video_duration_s=90.0, video_start_s=None) == T0


def test_a_track_in_milliseconds_is_named_implausible_not_a_crash() -> None:
    track = Track([Fix(1e15, 35.68, 139.76), Fix(1e15 + 100, 35.69, 139.76)], source="x.csv")
    with pytest.raises(TrackError, match="not a plausible UNIX time"):
        align_video(track, 90.0, video_start_s=T0)


def test_a_relative_track_that_ends_early_names_seconds() -> None:
    track = Track([Fix(0.0, 35.68, 139.76), Fix(30.0, 35.69, 139.76)], relative_to_video=True, source="a.srt")
    with pytest.raises(TrackError, match=r"a\.srt: track covers 0\.0–30\.0 s .* video spans 0\.0–90\.0 s"):
        align_video(track, 90.0, None)


# --- GPX ----------------------------------------------------------------------------------------


def test_gpx_track_points_of_every_segment_become_fixes() -> None:
    track = load_track(FIXTURES / "drive.gpx")
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 1.0, 2.0]
    assert [f.lat for f in track.fixes] == [35.68, 35.6801, 35.6802]
    assert [f.alt_m for f in track.fixes] == [40.0, 41.0, 42.0]
    assert track.fixes[2].hdop == 0.9
    assert not track.relative_to_video


def test_gpx_waypoints_and_untimed_points_are_ignored() -> None:
    track = load_track(FIXTURES / "drive.gpx")
    assert all(f.lat != 35.7 for f in track.fixes)
    assert len(track) == 3


def test_gpx_route_points_with_times_become_fixes() -> None:
    track = load_track(FIXTURES / "route.gpx")
    assert [(f.timestamp_s - T0, f.lon) for f in track.fixes] == [(0.0, 139.76), (10.0, 139.7601)]


def test_gpx_1_0_course_and_speed_become_heading_and_speed() -> None:
    track = load_track(FIXTURES / "gpx10_course_speed.gpx")
    assert [(f.heading_deg, f.speed_mps) for f in track.fixes] == [(90.5, 5.5), (91.0, 6.0)]
    assert track.pose_at(T0 + 0.5).heading_deg == pytest.approx(90.75)


def test_gpx_times_with_an_offset_are_converted_to_utc(tmp_path: Path) -> None:
    gpx = (FIXTURES / "drive.gpx").read_text().replace("2026-11-29T10:02:03Z", "2026-11-29T19:02:03+09:00")
    assert load_track(write(tmp_path, "x.gpx", gpx)).start_s == T0


def test_gpx_without_times_is_an_error(tmp_path: Path) -> None:
    gpx = (
        '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        '<trkpt lat="1" lon="2"/><trkpt lat="1.1" lon="2"/></trkseg></trk></gpx>'
    )
    with pytest.raises(TrackError, match=r"x\.gpx: GPX has no timed track points \(2 points have no time\)"):
        load_track(write(tmp_path, "x.gpx", gpx))


def test_gpx_with_only_waypoints_is_an_error(tmp_path: Path) -> None:
    gpx = '<gpx version="1.1" creator="t"><wpt lat="1" lon="2"><time>2026-11-29T10:02:03Z</time></wpt></gpx>'
    with pytest.raises(TrackError, match="no track or route points"):
        load_track(write(tmp_path, "x.gpx", gpx))


def test_malformed_gpx_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match=r"broken\.gpx: not a readable GPX file"):
        load_track(write(tmp_path, "broken.gpx", "<gpx><trk><trkseg><trkpt lat='1'"))


def test_gpx_latitude_out_of_range_is_an_error(tmp_path: Path) -> None:
    gpx = (FIXTURES / "drive.gpx").read_text().replace('lat="35.6801"', 'lat="135.6801"')
    with pytest.raises(TrackError, match=r"x\.gpx: point at 2026-11-29T10:02:04.*latitude 135\.6801"):
        load_track(write(tmp_path, "x.gpx", gpx))


# --- NMEA ---------------------------------------------------------------------------------------


def test_nmea_rmc_and_gga_of_the_same_second_merge_into_one_fix() -> None:
    track = load_track(FIXTURES / "drive.nmea")
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 1.0, 2.0, 3.0]
    first = track.fixes[0]
    assert (first.lat, first.lon) == (pytest.approx(35.68), pytest.approx(139.76))
    assert first.alt_m == 40.0
    assert first.hdop == 0.8
    assert first.heading_deg == 0.0
    assert first.speed_mps == pytest.approx(19.44 * 0.514444, rel=1e-5)


def test_nmea_bad_checksum_void_status_truncated_and_dateless_sentences_are_skipped() -> None:
    # The fixture also holds a GGA before any RMC, a GSV, a corrupted RMC at 10:02:04.5, a void RMC
    # and a truncated last line: none of them adds a fix.
    track = load_track(FIXTURES / "drive.nmea")
    assert len(track) == 4
    assert track.start_s == T0


def test_nmea_gga_takes_the_date_of_the_last_rmc_and_rolls_over_midnight(tmp_path: Path) -> None:
    text = "\n".join(
        [
            nmea("GPRMC,235959.00,A,3540.8000,N,13945.6000,E,0.0,0.0,291126,,,A"),
            nmea("GPGGA,000001.00,3540.8060,N,13945.6000,E,1,08,0.9,41.0,M,39.0,M,,"),
        ]
    )
    track = load_track(write(tmp_path, "night.nmea", text))
    assert [f.timestamp_s for f in track.fixes] == [utc(23, 59, 59), utc(0, 0, 1, day=30)]
    assert track.fixes[1].alt_m == 41.0


def test_nmea_gga_without_a_fix_is_skipped(tmp_path: Path) -> None:
    text = "\n".join(
        [
            nmea("GPRMC,100203.00,A,3540.8000,N,13945.6000,E,0.0,0.0,291126,,,A"),
            nmea("GPGGA,100204.00,3540.8060,N,13945.6000,E,0,00,99.9,,M,,M,,"),
            nmea("GNRMC,100205.00,A,3540.8120,N,13945.6000,E,0.0,0.0,291126,,,A"),
        ]
    )
    track = load_track(write(tmp_path, "x.nmea", text))
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 2.0]


def test_nmea_text_before_the_dollar_is_ignored(tmp_path: Path) -> None:
    lines = (FIXTURES / "drive.nmea").read_text().splitlines()
    text = "\n".join(f"2026-11-29 10:02:03.120 {line}" for line in lines)
    assert load_track(write(tmp_path, "x.nmea", text)).fixes == load_track(FIXTURES / "drive.nmea").fixes


def test_nmea_with_no_valid_fix_is_an_error(tmp_path: Path) -> None:
    text = nmea("GPRMC,100204.70,V,,,,,,,291126,,,N") + "\n" + nmea("GPGSV,1,1,00")
    with pytest.raises(TrackError, match=r"void\.nmea: no valid RMC or GGA fix"):
        load_track(write(tmp_path, "void.nmea", text))


def test_nmea_line_that_is_not_a_sentence_names_its_line(tmp_path: Path) -> None:
    text = nmea("GPRMC,100203.00,A,3540.8000,N,13945.6000,E,0.0,0.0,291126,,,A") + "\n\nhello world\n"
    with pytest.raises(TrackError, match=r"x\.nmea:3: not an NMEA sentence: 'hello world'"):
        load_track(write(tmp_path, "x.nmea", text))


def test_nmea_sentence_with_an_unreadable_field_names_its_line(tmp_path: Path) -> None:
    text = nmea("GPRMC,100203.00,A,3540.8000,N,13945.6000,E,fast,0.0,291126,,,A")
    with pytest.raises(TrackError, match=r"x\.nmea:1: malformed RMC sentence"):
        load_track(write(tmp_path, "x.nmea", text))


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_iso_times_with_z_offset_or_no_zone_are_utc() -> None:
    track = load_track(FIXTURES / "drive.csv")
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 1.0, 2.0, 3.0]


def test_csv_optional_columns_are_read_and_empty_cells_are_none() -> None:
    fixes = load_track(FIXTURES / "drive.csv").fixes
    assert (fixes[0].alt_m, fixes[0].heading_deg, fixes[0].speed_mps) == (40.0, 0.0, 10.0)
    assert (fixes[1].alt_m, fixes[1].heading_deg, fixes[1].speed_mps) == (None, None, None)


def test_csv_unix_seconds_semicolons_and_column_aliases() -> None:
    track = load_track(FIXTURES / "drive_unix_semicolon.csv")
    assert [(f.timestamp_s, f.lat, f.lon) for f in track.fixes] == [
        (T0, 35.68, 139.76),
        (T0 + 1.5, 35.6801, 139.76),
    ]


def test_csv_unix_milliseconds_are_recognised(tmp_path: Path) -> None:
    text = "time,lat,lon\n1795946523000,35.68,139.76\n1795946523500,35.6801,139.76\n"
    assert [f.timestamp_s for f in load_track(write(tmp_path, "x.csv", text)).fixes] == [T0, T0 + 0.5]


def test_csv_unknown_columns_are_named(tmp_path: Path) -> None:
    text = "time,lat,lon,satellites,Fix Quality\n0,1,2,7,3\n1,1,2,7,3\n"
    with pytest.raises(TrackError, match=r"x\.csv:1: unknown CSV columns satellites, fix quality; expected"):
        load_track(write(tmp_path, "x.csv", text))


def test_csv_without_a_header_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match=r"x\.csv:1: CSV needs a header row"):
        load_track(write(tmp_path, "x.csv", "1795946523,35.68,139.76\n1795946524,35.69,139.76\n"))


def test_csv_without_a_longitude_column_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match=r"x\.csv:1: CSV has no lon column"):
        load_track(write(tmp_path, "x.csv", "time,lat,alt\n0,1,2\n1,1,2\n"))


def test_csv_naming_a_column_twice_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match="names the same column twice"):
        load_track(write(tmp_path, "x.csv", "time,lat,lon,lng\n0,1,2,2\n1,1,2,2\n"))


def test_csv_bad_time_names_its_line(tmp_path: Path) -> None:
    text = "time,lat,lon\n0,35.68,139.76\nyesterday,35.69,139.76\n"
    with pytest.raises(TrackError, match=r"x\.csv:3: time 'yesterday' is neither ISO-8601 nor UNIX seconds"):
        load_track(write(tmp_path, "x.csv", text))


def test_csv_bad_number_names_its_line_and_column(tmp_path: Path) -> None:
    text = "time,lat,lon,speed\n0,35.68,139.76,1\n1,35.69,139.76,fast\n"
    with pytest.raises(TrackError, match=r"x\.csv:3: speed 'fast' is not a number"):
        load_track(write(tmp_path, "x.csv", text))


def test_csv_missing_position_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match=r"x\.csv:2: lat and lon are required"):
        load_track(write(tmp_path, "x.csv", "time,lat,lon\n0,,139.76\n1,35.69,139.76\n"))


def test_csv_wrong_number_of_values_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match=r"x\.csv:3: expected 3 values, found 2"):
        load_track(write(tmp_path, "x.csv", "time,lat,lon\n0,35.68,139.76\n1,35.69\n"))


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1,91.0,139.76", r"x\.csv:3: latitude 91\.0 is outside -90\.\.90"),
        ("1,35.0,-180.5", r"x\.csv:3: longitude -180\.5 is outside -180\.\.180"),
        ("1,nan,139.76", r"x\.csv:3: latitude nan is outside"),
    ],
)
def test_csv_position_out_of_range_names_its_line(tmp_path: Path, row: str, message: str) -> None:
    with pytest.raises(TrackError, match=message):
        load_track(write(tmp_path, "x.csv", f"time,lat,lon\n0,35.68,139.76\n{row}\n"))


def test_csv_blank_lines_are_skipped_and_line_numbers_still_count_them(tmp_path: Path) -> None:
    text = "time,lat,lon\n\n0,35.68,139.76\n\n1,35.69,x\n"
    with pytest.raises(TrackError, match=r"x\.csv:5: lon 'x' is not a number"):
        load_track(write(tmp_path, "x.csv", text))


def test_csv_headings_are_wrapped_into_0_360(tmp_path: Path) -> None:
    track = load_track(write(tmp_path, "x.csv", "t,lat,lon,course\n0,1,2,-90\n1,1.001,2,370\n"))
    assert [f.heading_deg for f in track.fixes] == [270.0, 10.0]


# --- DJI .SRT -----------------------------------------------------------------------------------


def test_dji_srt_new_format_is_anchored_to_its_date_time() -> None:
    track = load_track(FIXTURES / "dji_new.srt")
    assert not track.relative_to_video
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 1.0, 2.0]
    assert [f.lat for f in track.fixes] == [35.68, 35.6801, 35.6802]
    assert [f.alt_m for f in track.fixes] == [70.5, 71.5, 72.5]  # abs_alt, not rel_alt


def test_dji_srt_cues_without_gps_lock_are_skipped() -> None:
    # The fixture's second cue reports 0, 0 (no lock); the third spells "longtitude" as some firmware does.
    track = load_track(FIXTURES / "dji_new.srt")
    assert all(f.lat != 0.0 for f in track.fixes)
    assert track.fixes[1].lon == 139.76


def test_dji_srt_old_format_without_a_date_is_relative_to_the_video() -> None:
    track = load_track(FIXTURES / "dji_old.srt")
    assert track.relative_to_video
    assert [(f.timestamp_s, f.lat, f.lon, f.alt_m) for f in track.fixes] == [
        (0.0, 35.68, 139.76, 16.0),
        (1.0, 35.6801, 139.76, 16.0),
        (2.0, 35.6802, 139.76, 17.0),
    ]


def test_dji_srt_old_format_with_a_home_date_is_absolute() -> None:
    track = load_track(FIXTURES / "dji_old_dated.srt")
    assert not track.relative_to_video
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 1.0]


def test_dji_srt_times_come_from_the_cue_not_the_seconds_resolution_date(tmp_path: Path) -> None:
    cues = [
        f"{i + 1}\n00:00:00,{i * 500:03d} --> 00:00:00,{i * 500 + 33:03d}\n"
        f"HOME(139.76,35.68) 2026.11.29 10:02:03\nGPS(139.76,{35.68 + i * 0.00005:.5f},16)\n"
        for i in range(2)
    ]
    track = load_track(write(tmp_path, "x.srt", "\n".join(cues)))
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 0.5]


def test_dji_mini_srt_with_spaces_in_gps_and_a_comma_date(tmp_path: Path) -> None:
    cues = [
        f"{i + 1}\n00:00:0{i},000 --> 00:00:0{i + 1},000\n2026-11-29 10:02:03,000,000\n"
        f"F/2.8, SS 1000, ISO 100, EV 0, GPS ({139.76 + i * 0.0001:.4f}, 35.6800, 19), D 10.5m, H 20.0m\n"
        for i in range(3)
    ]
    track = load_track(write(tmp_path, "DJI_0001.SRT", "\n".join(cues)))
    assert not track.relative_to_video
    assert [(f.timestamp_s - T0, f.lon) for f in track.fixes] == [
        (0.0, 139.76),
        (1.0, 139.7601),
        (2.0, 139.7602),
    ]


def test_dji_srt_with_windows_line_endings(tmp_path: Path) -> None:
    text = (FIXTURES / "dji_old.srt").read_text().replace("\n", "\r\n")
    assert len(load_track(write(tmp_path, "x.srt", text))) == 3


def test_srt_without_gps_is_an_error(tmp_path: Path) -> None:
    text = "1\n00:00:00,000 --> 00:00:01,000\nHello\n\n2\n00:00:01,000 --> 00:00:02,000\nWorld\n"
    with pytest.raises(TrackError, match=r"movie\.srt: no GPS position in any subtitle"):
        load_track(write(tmp_path, "movie.srt", text))


def test_srt_cue_without_a_time_line_names_its_line(tmp_path: Path) -> None:
    text = (FIXTURES / "dji_old.srt").read_text().replace("00:00:01,000 --> 00:00:02,000", "soon")
    with pytest.raises(TrackError, match=r"x\.srt:6: SRT cue without"):
        load_track(write(tmp_path, "x.srt", text))


def test_srt_with_an_impossible_date_names_its_line(tmp_path: Path) -> None:
    text = (FIXTURES / "dji_old_dated.srt").read_text().replace("2026.11.29 10:02:03", "2026.13.29 10:02:03")
    with pytest.raises(TrackError, match=r"x\.srt:1: impossible date-time"):
        load_track(write(tmp_path, "x.srt", text))


# --- load_track ---------------------------------------------------------------------------------


def test_missing_track_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match=r"track file not found: .*nothing\.gpx"):
        load_track(tmp_path / "nothing.gpx")


@pytest.mark.parametrize("content", ["", "  \n\n"])
def test_empty_track_file_is_an_error(tmp_path: Path, content: str) -> None:
    with pytest.raises(TrackError, match=r"empty\.csv: track file is empty"):
        load_track(write(tmp_path, "empty.csv", content))


def test_binary_file_is_not_a_track(tmp_path: Path) -> None:
    path = tmp_path / "video.gpx"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42\xff\xfe\x80")
    with pytest.raises(TrackError, match=r"video\.gpx: not a text track file"):
        load_track(path)


def test_a_single_fix_is_not_a_track(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match=r"one\.csv: need at least 2 fixes"):
        load_track(write(tmp_path, "one.csv", "time,lat,lon\n0,35.68,139.76\n"))


def test_the_error_names_the_path_given(tmp_path: Path) -> None:
    path = write(tmp_path, "one.csv", "time,lat,lon\n0,35.68,139.76\n")
    with pytest.raises(TrackError) as raised:
        load_track(path)
    assert str(raised.value).startswith(str(path))


def test_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path, "DRIVE.GPX", (FIXTURES / "drive.gpx").read_text())
    assert len(load_track(path)) == 3


@pytest.mark.parametrize("fixture", ["drive.gpx", "drive.nmea", "drive.csv", "dji_new.srt", "dji_old.srt"])
def test_unknown_suffix_is_sniffed_from_the_content(tmp_path: Path, fixture: str) -> None:
    expected = load_track(FIXTURES / fixture)
    sniffed = load_track(write(tmp_path, "track.txt", (FIXTURES / fixture).read_text()))
    assert sniffed.fixes == expected.fixes
    assert sniffed.relative_to_video == expected.relative_to_video


def test_unrecognisable_content_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TrackError, match=r"notes\.txt: cannot tell the track format"):
        load_track(write(tmp_path, "notes.txt", "Drove to the depot and back.\n"))


def test_utf8_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + (FIXTURES / "drive.csv").read_bytes())
    assert load_track(path).start_s == T0
