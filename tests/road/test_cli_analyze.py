"""`tenken analyze` as a user runs it: the bundled sample end to end, and one clear line for bad input."""

import csv
import json
from pathlib import Path

import pytest

from tenken.cli import main
from tests.mp4_files import faststart_copy, truncated_copy
from tests.synthetic_drive import build_drive

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_VIDEO, SAMPLE_TRACK = ROOT / "samples" / "drive.mp4", ROOT / "samples" / "drive.gpx"


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    return build_drive(tmp_path_factory.mktemp("cli-drive"), distance_m=20.0)


def run_cli(capsys, *args):
    code = main(["analyze", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(code, err, *fragments):
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_analyze_sample_drive_writes_a_report_with_the_shipped_model(tmp_path, capsys):
    out = tmp_path / "sample-report"
    code, stdout, err = run_cli(
        capsys, SAMPLE_VIDEO, "--track", SAMPLE_TRACK, "--camera", "motorbike", "--out", out, "--json", "-q"
    )
    assert code == 0, err
    summary = json.loads(stdout)
    assert summary["model"]["name"] == "road"
    assert summary["counts"]["frames_sampled"] > 30
    defects = json.loads((out / "defects.geojson").read_text())["features"]
    assert len(defects) == summary["counts"]["defects"] > 0
    with open(out / "defects.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(defects)
    assert {r["class"] for r in rows} <= {"D00", "D10", "D20", "D40"}
    segments = json.loads((out / "segments.geojson").read_text())["features"]
    assert len(segments) == 2  # 168 m in 100 m segments
    assert (out / "index.html").is_file() and (out / "report.json").is_file()


def test_corrupt_video_is_one_line_and_leaves_no_report(tmp_path, capsys, drive):
    _, gpx = drive
    video = tmp_path / "broken.mp4"
    video.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    out = tmp_path / "report"
    code, _, err = run_cli(capsys, video, "--track", gpx, "--out", out, "--weights", tmp_path / "x.onnx")
    assert_one_line_error(code, err, "broken.mp4")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["broken.mp4"]


def test_text_file_as_video_is_refused(tmp_path, capsys, drive):
    _, gpx = drive
    video = tmp_path / "notes.mp4"
    video.write_text("this is not a video\n")
    code, _, err = run_cli(capsys, video, "--track", gpx, "--out", tmp_path / "r")
    assert_one_line_error(code, err, "notes.mp4")


def test_empty_track_is_refused(tmp_path, capsys, drive):
    video, _ = drive
    track = tmp_path / "empty.gpx"
    track.write_text("")
    code, _, err = run_cli(capsys, video, "--track", track, "--out", tmp_path / "r")
    assert_one_line_error(code, err, "empty.gpx")
    assert not (tmp_path / "r").exists()


def test_track_from_another_time_names_both_spans(tmp_path, capsys, drive):
    video, gpx = drive
    code, _, err = run_cli(
        capsys, video, "--track", gpx, "--start", "2026-10-02T09:00:00Z", "--out", tmp_path / "r"
    )
    assert_one_line_error(code, err, "track covers", "video spans")


def test_csv_track_with_unknown_columns_names_them(tmp_path, capsys, drive):
    video, _ = drive
    track = tmp_path / "track.csv"
    track.write_text(
        "time,lat,lon,banana\n2026-10-01T00:00:00Z,35.61,140.11,1\n2026-10-01T00:00:10Z,35.611,140.11,2\n"
    )
    code, _, err = run_cli(capsys, video, "--track", track, "--out", tmp_path / "r")
    assert_one_line_error(code, err, "banana")


def test_missing_weights_file_is_named(tmp_path, capsys, drive):
    video, gpx = drive
    code, _, err = run_cli(
        capsys, video, "--track", gpx, "--weights", tmp_path / "road.onnx", "--out", tmp_path / "r"
    )
    assert_one_line_error(code, err, "road.onnx")
    assert not (tmp_path / "r").exists()


def test_unknown_model_name_lists_the_shipped_ones(tmp_path, capsys, drive):
    video, gpx = drive
    code, _, err = run_cli(capsys, video, "--track", gpx, "--model", "nosuchmodel", "--out", tmp_path / "r")
    assert_one_line_error(code, err, "nosuchmodel")


def test_existing_report_is_kept_without_overwrite(tmp_path, capsys, drive):
    video, gpx = drive
    out = tmp_path / "r"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    code, _, err = run_cli(capsys, video, "--track", gpx, "--out", out)
    assert_one_line_error(code, err, "--overwrite")
    assert (out / "keep.txt").read_text() == "precious"


def test_unknown_camera_profile_is_refused(tmp_path, capsys, drive):
    video, gpx = drive
    code, _, err = run_cli(capsys, video, "--track", gpx, "--camera", "helmet", "--out", tmp_path / "r")
    assert_one_line_error(code, err, "helmet")


def test_tile_url_without_placeholders_is_refused(tmp_path, capsys, drive):
    video, gpx = drive
    code, _, err = run_cli(
        capsys, video, "--track", gpx, "--tile-url", "http://tiles.local/map.png", "--out", tmp_path / "r"
    )
    assert_one_line_error(code, err, "{z}")


def test_missing_video_file_is_named(tmp_path, capsys, drive):
    _, gpx = drive
    code, _, err = run_cli(capsys, tmp_path / "nope.mp4", "--track", gpx)
    assert_one_line_error(code, err, "nope.mp4")


def test_help_teaches_the_main_options(capsys):
    code = main(["analyze", "--help"])
    out = capsys.readouterr().out
    assert code == 0
    for option in ("--track", "--camera", "--every-m", "--merge-radius", "--overwrite", "--json"):
        assert option in out


# --- --overwrite replaces only an earlier report ------------------------------------------------


@pytest.fixture
def scratch(tmp_path, drive, monkeypatch):
    """A folder the user works in, holding their video and track, as the current folder."""
    work = tmp_path / "work"
    work.mkdir()
    for path in drive:
        (work / path.name).write_bytes(path.read_bytes())
    monkeypatch.chdir(work)
    return work


def assert_untouched(folder, names):
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)


def test_overwrite_refuses_the_current_folder(scratch, capsys):
    code, _, err = run_cli(capsys, "drive.mp4", "--track", "drive.gpx", "--out", ".", "--overwrite")
    assert code == 2
    assert_one_line_error(code, err, "is the current folder")
    assert_untouched(scratch, ["drive.mp4", "drive.gpx"])


def test_overwrite_refuses_a_folder_above_the_current_one(scratch, capsys):
    code, _, err = run_cli(capsys, "drive.mp4", "--track", "drive.gpx", "--out", "..", "--overwrite")
    assert code == 2
    assert_one_line_error(code, err, "holds the current folder")
    assert_untouched(scratch, ["drive.mp4", "drive.gpx"])


def test_overwrite_refuses_a_folder_holding_the_inputs(scratch, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(
        capsys, scratch / "drive.mp4", "--track", scratch / "drive.gpx", "--out", scratch, "--overwrite"
    )
    assert code == 2
    assert_one_line_error(code, err, "holds the input")
    assert_untouched(scratch, ["drive.mp4", "drive.gpx"])


def test_overwrite_refuses_a_folder_that_is_not_a_report(tmp_path, capsys, drive):
    video, gpx = drive
    out = tmp_path / "photos"
    out.mkdir()
    (out / "holiday.jpg").write_bytes(b"\xff\xd8 precious")
    code, _, err = run_cli(capsys, video, "--track", gpx, "--out", out, "--overwrite")
    assert code == 2
    assert_one_line_error(code, err, "is not an earlier report")
    assert (out / "holiday.jpg").read_bytes() == b"\xff\xd8 precious"


def test_overwrite_refuses_a_folder_whose_report_json_is_someone_elses(tmp_path, capsys, drive):
    video, gpx = drive
    out = tmp_path / "other-tool"
    out.mkdir()
    (out / "report.json").write_text('{"title": "quarterly figures"}')
    code, _, err = run_cli(capsys, video, "--track", gpx, "--out", out, "--overwrite")
    assert_one_line_error(code, err, "is not an earlier report")
    assert (out / "report.json").read_text() == '{"title": "quarterly figures"}'


def test_overwrite_replaces_an_earlier_report(tmp_path, capsys, drive):
    video, gpx = drive
    out = tmp_path / "report"
    args = (video, "--track", gpx, "--out", out, "--max-frames", "2", "-q")
    assert run_cli(capsys, *args)[0] == 0
    (out / "stale.txt").write_text("from the first run")
    code, _, err = run_cli(capsys, *args, "--overwrite")
    assert code == 0, err
    assert json.loads((out / "report.json").read_text())["generator"] == "tenken"
    assert not (out / "stale.txt").exists()


def test_an_unwritable_output_parent_is_refused_before_the_model_loads(tmp_path, capsys, drive):
    video, gpx = drive
    # /proc refuses new folders even to root; the weights do not exist, so reaching them would say so.
    code, _, err = run_cli(
        capsys, video, "--track", gpx, "--weights", tmp_path / "absent.onnx", "--out", "/proc/tenken-report"
    )
    assert code == 2
    assert_one_line_error(code, err, "/proc", "not writable")


def test_an_output_below_a_file_is_refused(tmp_path, capsys, drive):
    video, gpx = drive
    code, _, err = run_cli(capsys, video, "--track", gpx, "--out", gpx / "report")
    assert_one_line_error(code, err, "is not a folder")


# --- a video cut short --------------------------------------------------------------------------


def test_a_truncated_video_warns_and_its_report_says_how_much_it_covers(tmp_path, capsys):
    # Index in front, the end cut off: the file opens and decodes 5 s of its 33.5 s.
    video = truncated_copy(faststart_copy(SAMPLE_VIDEO, tmp_path / "fast.mp4"), tmp_path / "cut.mp4", 0.16)
    out = tmp_path / "report"
    code, _, err = run_cli(
        capsys, video, "--track", SAMPLE_TRACK, "--camera", "motorbike", "--out", out, "-q"
    )
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and "of a 33.5 s video" in warnings[0]
    report = json.loads((out / "report.json").read_text())
    coverage = report["coverage"]
    assert coverage["complete"] is False
    assert coverage["video_duration_s"] == pytest.approx(33.5)
    assert coverage["decoded_duration_s"] < 6.0
    assert coverage["frames_in_video"] == 201 and coverage["frames_decoded"] < 40
    # The first 100 m were seen a third at most, the rest not at all: neither is graded sound.
    segments = json.loads((out / "segments.geojson").read_text())["features"]
    assert [s["properties"]["category"] for s in segments] == [None, None]
    assert segments[0]["properties"]["surveyed_fraction"] < 0.5
    assert report["segments"]["by_category"]["not surveyed"] == 2
    assert coverage["warning"] in (out / "data.js").read_text()


def test_a_whole_video_has_a_complete_coverage_and_no_warning(tmp_path, capsys, drive):
    video, gpx = drive
    out = tmp_path / "report"
    code, _, err = run_cli(capsys, video, "--track", gpx, "--out", out, "-q")
    assert code == 0, err
    assert "warning" not in err
    assert json.loads((out / "report.json").read_text())["coverage"]["complete"] is True
