"""GPS tracks: interpolating poses, aligning a track with a video, reading any track file."""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenken.cli import main
from tenken.errors import TrackError
from tenken.geo import distance_m
from tenken.tracks import Fix, ParsedTrack, SkippedPoints, Track, align_video, load_track
from tests.synthetic_drive import build_drive
from tests.track_files import FIXTURES, T0, utc, write

# Along the equator a geodesic is an arc of the WGS84 semi-major axis: exact by hand.
EQUATOR_M_PER_DEG = 6378137.0 * math.pi / 180.0


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


def test_a_second_position_for_one_instant_is_counted_but_a_repeat_is_not() -> None:
    track = Track(
        [Fix(0.0, 0.0, 0.0), Fix(0.0, 0.0, 0.0), Fix(1.0, 0.0, 0.001), Fix(1.0, 0.0, 0.5)],
        relative_to_video=True,
    )
    assert track.skipped.counts == {"at the time of an earlier fix but elsewhere": 1}
    assert track.skipped.first_at == {"at the time of an earlier fix but elsewhere": "1.0 s"}


def test_a_track_read_whole_has_no_warning() -> None:
    assert load_track(FIXTURES / "drive.csv").warning is None


def test_the_warning_is_one_line_with_the_fixes_kept_and_each_reason_counted() -> None:
    parsed = ParsedTrack([Fix(0.0, 0.0, 0.0), Fix(1.0, 0.0, 0.001)], skipped=SkippedPoints("lines"))
    for line in (1, 4, 9):
        parsed.skipped.add("bad checksum", f"line {line}")
    parsed.skipped.add("cut short", "line 12")
    track = Track(parsed.fixes, source="drive.nmea", parsed=parsed)
    assert track.warning == (
        "drive.nmea: read 2 fixes; skipped 4 lines: 3 bad checksum (first at line 1), 1 cut short (line 12)"
    )


def test_too_few_fixes_names_what_the_reader_skipped() -> None:
    parsed = ParsedTrack([Fix(0.0, 0.0, 0.0)], skipped=SkippedPoints("rows"))
    parsed.skipped.add("no GPS fix", "line 3")
    with pytest.raises(
        TrackError, match=r"a\.txt: need at least 2 fixes .* found 1 \(skipped 1 row: 1 no GPS fix"
    ):
        Track(parsed.fixes, source="a.txt", parsed=parsed)


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


def test_video_starts_when_the_track_file_says_rather_than_at_its_first_fix() -> None:
    fixes = [Fix(T0 + 5.0, 35.68, 139.76), Fix(T0 + 600.0, 35.69, 139.76)]
    track = Track(fixes, parsed=ParsedTrack(fixes, video_start_s=T0 + 4.5))
    assert align_video(track, video_duration_s=90.0) == T0 + 4.5
    assert align_video(track, video_duration_s=90.0, video_start_s=T0 + 10.0) == T0 + 10.0


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


@pytest.mark.parametrize(
    "fixture",
    [
        "drive.gpx",
        "drive.nmea",
        "gnss_logger_cut.log",
        "drive.csv",
        "dji_new.srt",
        "dji_old.srt",
        "dji_m300_h20t.srt",
        "GPSData000001.txt",
    ],
)
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


# --- what the CLI says ---------------------------------------------------------------------------


def test_analyze_prints_the_track_warning_as_one_line_and_carries_on(tmp_path: Path, capsys) -> None:
    video, gpx = build_drive(tmp_path, distance_m=10.0)
    lost = '<trkpt lat="35.6" lon="140.1"><ele>10.0</ele></trkpt></trkseg>'
    gpx.write_text(gpx.read_text().replace("</trkseg>", lost))
    code = main(
        ["analyze", str(video), "--track", str(gpx), "--out", str(tmp_path / "r"), "--max-frames", "2", "-q"]
    )
    err = capsys.readouterr().err
    assert code == 0, err
    kept = len(load_track(gpx))
    assert [line for line in err.splitlines() if str(gpx) in line] == [
        f"warning: {gpx}: read {kept} fixes; skipped 1 point: "
        f"1 untimed, outside the timed points of their segment (point {kept + 1})"
    ]
