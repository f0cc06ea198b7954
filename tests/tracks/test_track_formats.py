"""Track readers for GPX, NMEA and CSV files, including what a cut or noisy logger file holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenken.errors import TrackError
from tenken.tracks import load_track
from tests.track_files import FIXTURES, T0, nmea, utc, write

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


def test_gpx_untimed_points_between_timed_ones_are_timed_by_distance() -> None:
    # Between 10:02:03 and 10:02:07 the untimed points lie 1/4 and 3/4 of the way along: 1 s and 3 s.
    track = load_track(FIXTURES / "drive_partly_untimed.gpx")
    assert [(round(f.timestamp_s - T0, 3), f.lat) for f in track.fixes] == [
        (0.0, 35.68),
        (1.0, 35.6801),
        (3.0, 35.6803),
        (4.0, 35.6804),
        (5.0, 35.6805),
    ]
    assert track.timed_by_distance == 2


def test_gpx_untimed_points_outside_the_timed_ones_are_skipped_and_the_warning_counts_all() -> None:
    path = FIXTURES / "drive_partly_untimed.gpx"
    assert load_track(path).warning == (
        f"{path}: read 5 fixes; skipped 2 points: 2 untimed, outside the timed points of their segment "
        "(first at point 1); timed 2 untimed points by their distance between timed neighbours"
    )


def test_gpx_untimed_points_at_a_stop_are_spread_evenly_in_time(tmp_path: Path) -> None:
    points = [("10:02:03", "139.76"), (None, "139.76"), (None, "139.76"), ("10:02:06", "139.76")]
    gpx = (
        '<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        + "".join(
            f'<trkpt lat="35.68" lon="{lon}">' + (f"<time>2026-11-29T{t}Z</time>" if t else "") + "</trkpt>"
            for t, lon in points
        )
        + "</trkseg></trk></gpx>"
    )
    track = load_track(write(tmp_path, "stop.gpx", gpx))
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 1.0, 2.0, 3.0]


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


def test_nmea_garbage_line_is_skipped_and_named_in_the_warning(tmp_path: Path) -> None:
    rmc = [nmea(f"GPRMC,10020{3 + i}.00,A,3540.8000,N,13945.6000,E,0.0,0.0,291126,,,A") for i in range(2)]
    path = write(tmp_path, "x.nmea", "\n".join([rmc[0], "", "hello world", rmc[1]]))
    track = load_track(path)
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 1.0]
    assert track.warning == f"{path}: read 2 fixes; skipped 1 line: 1 not an NMEA sentence (line 3)"


def test_nmea_sentence_with_an_unreadable_field_is_skipped_and_counted(tmp_path: Path) -> None:
    text = "\n".join(
        [
            nmea("GPRMC,100203.00,A,3540.8000,N,13945.6000,E,fast,0.0,291126,,,A"),
            nmea("GPRMC,100204.00,A,3540.8060,N,13945.6000,E,0.0,0.0,291126,,,A"),
            nmea("GPRMC,100205.00,A,3540.8120,N,13945.6000,E,0.0,0.0,291126,,,A"),
        ]
    )
    track = load_track(write(tmp_path, "x.nmea", text))
    assert [f.timestamp_s - T0 for f in track.fixes] == [1.0, 2.0]
    assert track.skipped.counts == {"unreadable RMC field": 1}
    assert track.skipped.first_at == {"unreadable RMC field": "line 1"}


def test_nmea_log_cut_at_both_ends_with_noise_inside_keeps_every_valid_fix() -> None:
    # A .log is sniffed although its first line is the tail of a sentence the logger started within.
    track = load_track(FIXTURES / "gnss_logger_cut.log")
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert [f.lat for f in track.fixes] == pytest.approx([35.68 + i * 0.0001 for i in range(6)])
    # 10:02:05's RMC has a flipped digit; its GGA still places that second, without course or speed.
    assert (track.fixes[2].alt_m, track.fixes[2].heading_deg, track.fixes[2].speed_mps) == (42.0, None, None)
    assert track.skipped.counts == {"not an NMEA sentence": 3, "bad checksum": 1, "cut short": 1}
    assert track.skipped.first_at["not an NMEA sentence"] == "line 1"
    assert track.skipped.first_at["cut short"] == "line 17"


def test_nmea_with_nothing_valid_is_refused_naming_what_was_skipped(tmp_path: Path) -> None:
    text = "garbage\n" + nmea("GPRMC,100203.00,A,3540.8000,N,13945.6000,E,0.0,0.0,291126,,,A")[:20]
    with pytest.raises(
        TrackError,
        match=r"x\.nmea: no valid RMC or GGA fix .*; skipped 2 lines: "
        r"1 not an NMEA sentence \(line 1\), 1 cut short \(line 2\)",
    ):
        load_track(write(tmp_path, "x.nmea", text))


def test_nmea_sentences_run_together_read_the_last_one(tmp_path: Path) -> None:
    rmc = [nmea(f"GPRMC,10020{3 + i}.00,A,3540.8000,N,13945.6000,E,0.0,0.0,291126,,,A") for i in range(3)]
    text = rmc[0] + "\n" + rmc[1][:25] + rmc[2]
    track = load_track(write(tmp_path, "x.nmea", text))
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 2.0]
    assert track.warning is None


def test_a_few_undecodable_bytes_in_a_logger_file_only_cost_their_line(tmp_path: Path) -> None:
    rmc = [nmea(f"GPRMC,10020{3 + i}.00,A,3540.8000,N,13945.6000,E,0.0,0.0,291126,,,A") for i in range(4)]
    path = tmp_path / "x.nmea"
    path.write_bytes("\n".join(rmc[:2]).encode() + b"\n\xff\xfe\x80noise\n" + "\n".join(rmc[2:]).encode())
    track = load_track(path)
    assert len(track) == 4
    assert track.skipped.first_at == {"not an NMEA sentence": "line 3"}


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
