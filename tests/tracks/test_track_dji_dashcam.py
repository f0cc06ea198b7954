"""Track readers for DJI flight subtitles (.SRT) of every firmware and 70mai dashcam GPS logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tenken.errors import TrackError
from tenken.tracks import align_video, load_track
from tests.track_files import FIXTURES, T0, write

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


def test_srt_cue_without_a_time_line_is_skipped_and_named(tmp_path: Path) -> None:
    text = (FIXTURES / "dji_old.srt").read_text().replace("00:00:01,000 --> 00:00:02,000", "soon")
    track = load_track(write(tmp_path, "x.srt", text))
    assert [f.timestamp_s for f in track.fixes] == [0.0, 2.0]
    assert track.skipped.describe() == "skipped 1 cue: 1 position without a cue time line (line 8)"


def test_srt_cue_with_two_positions_keeps_the_first_and_skips_nothing(tmp_path: Path) -> None:
    cues = [
        f"{i + 1}\n00:00:0{i},000 --> 00:00:0{i + 1},000\n"
        f"[latitude: 35.68{i}] [longitude: 139.76] GPS(139.76,35.68{i},16)\n"
        for i in range(2)
    ]
    track = load_track(write(tmp_path, "x.srt", "\n".join(cues)))
    assert [f.lat for f in track.fixes] == [35.680, 35.681]
    assert track.warning is None


def test_srt_with_an_impossible_date_skips_that_cue_and_says_so_when_too_little_is_left(
    tmp_path: Path,
) -> None:
    text = (FIXTURES / "dji_old_dated.srt").read_text().replace("2026.11.29 10:02:03", "2026.13.29 10:02:03")
    with pytest.raises(
        TrackError, match=r"x\.srt: need at least 2 fixes .*1 impossible date-time \(line 3\)"
    ):
        load_track(write(tmp_path, "x.srt", text))


def test_dji_m300_gps_puts_latitude_first_as_its_firmware_documents() -> None:
    # GPS(36.6146,-6.1120,0.0M): both orders are possible places, so the Matrice 300 layout decides.
    track = load_track(FIXTURES / "dji_m300_old.srt")
    assert not track.relative_to_video
    assert [(f.timestamp_s - T0, f.lat, f.lon) for f in track.fixes] == [
        (0.0, 36.6146, -6.112),
        (1.0, 36.6147, -6.112),
        (2.0, 36.6148, -6.1121),
        (3.0, 36.6149, -6.1121),
    ]


def test_dji_gps_without_a_unit_puts_longitude_first_as_phantom_firmware_documents(tmp_path: Path) -> None:
    cues = [
        f"{i + 1}\n00:00:0{i},000 --> 00:00:0{i + 1},000\nGPS(-6.1120,36.614{i},16) BAROMETER:1.{i}\n"
        for i in range(2)
    ]
    track = load_track(write(tmp_path, "x.srt", "\n".join(cues)))
    assert [(f.lat, f.lon) for f in track.fixes] == [(36.614, -6.112), (36.6141, -6.112)]


@pytest.mark.parametrize(
    ("gps", "unit"),
    [("35.68{i},139.76", ",16"), ("139.76,35.68{i}", ",0.0M")],
    ids=["latitude first without a unit", "longitude first with a unit"],
)
def test_dji_gps_order_follows_a_value_over_90_against_the_layout(
    tmp_path: Path, gps: str, unit: str
) -> None:
    cues = [
        f"{i + 1}\n00:00:0{i},000 --> 00:00:0{i + 1},000\nGPS({gps.format(i=i)}{unit})\n" for i in range(2)
    ]
    track = load_track(write(tmp_path, "x.srt", "\n".join(cues)))
    assert [(f.lat, f.lon) for f in track.fixes] == [(35.680, 139.76), (35.681, 139.76)]


def test_dji_m300_h20t_cues_with_a_blank_line_inside_are_read_whole() -> None:
    track = load_track(FIXTURES / "dji_m300_h20t.srt")
    assert [(f.lat, f.lon, f.alt_m) for f in track.fixes] == [
        (35.68, 139.76, 97.829),
        (35.68005, 139.76, 97.967),
        (35.6801, 139.76001, 98.167),
        (35.6802, 139.76002, 98.367),
    ]
    assert track.skipped.counts == {"no GPS lock (0, 0)": 1}


def test_dji_srt_fix_times_come_from_each_cue_clock_not_the_cue_start() -> None:
    # Cues start 0, 0.5, 1 and 2 s into the video; their clocks say when each position was taken.
    assert [round(f.timestamp_s - T0, 4) for f in load_track(FIXTURES / "dji_m300_h20t.srt").fixes] == [
        0.0,
        0.62,
        1.4,
        2.0,
    ]


def test_dji_srt_clock_that_jumps_falls_back_to_the_cue_starts(tmp_path: Path) -> None:
    # A drone that sets its clock from GPS time mid-flight: one clock an hour on.
    text = (FIXTURES / "dji_m300_h20t.srt").read_text().replace("10:02:04.400", "11:02:04.400")
    track = load_track(write(tmp_path, "x.srt", text))
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 0.5, 1.0, 2.0]


def test_dji_m2e_clock_with_milliseconds_and_microseconds_and_altitude() -> None:
    track = load_track(FIXTURES / "dji_m2e_dual.srt")  # cues 114 ms apart, clocks irregular
    assert [round(f.timestamp_s - T0, 4) for f in track.fixes] == [0.0, 0.2505, 0.6, 1.0]
    assert [f.alt_m for f in track.fixes] == [28.736, 28.8, 28.9, 29.0]
    assert track.warning is None


def test_dji_srt_video_start_comes_from_the_clock_even_without_a_first_lock(tmp_path: Path) -> None:
    text = (FIXTURES / "dji_m300_h20t.srt").read_text()
    text = text.replace("[latitude: 35.680000] [longitude: 139.760000]", "[latitude: 0.0] [longitude: 0.0]")
    track = load_track(write(tmp_path, "x.srt", text))
    assert track.start_s == pytest.approx(T0 + 0.62)
    assert align_video(track, 1.5) == T0


# --- 70mai dashcam ------------------------------------------------------------------------------


def test_70mai_log_is_recognised_and_its_clock_is_utc_eight_hours_on() -> None:
    track = load_track(FIXTURES / "GPSData000001.txt")
    assert [f.timestamp_s - T0 for f in track.fixes] == [0.0, 1.0, 3.0, 10.0, 11.0]
    assert [(f.lat, f.lon) for f in track.fixes][-1] == (35.681, 139.7602)
    assert [f.heading_deg for f in track.fixes] == [0.0, 0.0, 1.0, 45.0, 45.0]
    assert track.fixes[0].speed_mps == pytest.approx(11.11)


def test_70mai_rows_without_a_fix_or_cut_short_are_skipped_and_repeats_are_not_counted() -> None:
    track = load_track(FIXTURES / "GPSData000001.txt")
    assert track.skipped.counts == {"no GPS fix": 1, "cut short": 1}
    assert track.skipped.first_at == {"no GPS fix": "line 5", "cut short": "line 7"}


def test_70mai_log_without_a_fix_is_refused_naming_why(tmp_path: Path) -> None:
    text = "$V02\n1795917725,V,0.000000,0.000000,0,0,-65,5,44,NO20261129-190205-000000F.MP4,0,0,0\n"
    with pytest.raises(
        TrackError, match=r"x\.txt: no GPS fix in this 70mai log \(skipped 1 row: 1 no GPS fix"
    ):
        load_track(write(tmp_path, "x.txt", text))
