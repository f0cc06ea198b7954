"""Survey options on the command line: bad values are one line and exit 2; analyze and submit sample alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tenken.store import jobs as jobstore
from tenken.store.db import Store
from tests.synthetic_drive import build_drive
from vision.road.survey_options import CAMERA_PROFILES, default_every_m

REPO = Path(__file__).resolve().parents[2]
DETECTOR = "tests.synthetic_drive:ColourDetector"


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    return build_drive(tmp_path_factory.mktemp("options-drive"), distance_m=12.0)


def tenken(args, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TENKEN_")}
    env.update(TENKEN_DATA_DIR=str(tmp_path / "data"), TENKEN_TILE_URL="", PYTHONPATH=str(REPO))
    return subprocess.run(
        [sys.executable, "-m", "tenken.cli", *map(str, args)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--segment-m", "1e-9"], "--segment-m"),
        (["--every-m", "1e-9"], "--every-m"),
        (["--hfov", "0"], "--hfov"),
        (["--lane-width", "0"], "--lane-width"),
        (["--gps-error", "nan"], "--gps-error"),
        (["--camera", "tractor"], "--camera"),
        (["--start", "nan"], "--start"),
    ],
)
def test_a_bad_analyze_option_is_one_line_and_exit_2(tmp_path, drive, flags, named):
    video, gpx = drive
    result = tenken(["analyze", video, "--track", gpx, "--out", tmp_path / "r", "-q", *flags], tmp_path)
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"error: invalid survey options: {named}: "), result.stderr
    assert not (tmp_path / "r").exists()


def test_a_bad_submit_option_is_one_line_and_exit_2(tmp_path, drive):
    video, gpx = drive
    result = tenken(["submit", video, "--track", gpx, "--camera", "tractor"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: invalid survey options: --camera: unknown camera profile")


def test_analyze_and_submit_sample_a_drive_at_the_same_distance(tmp_path, drive):
    video, gpx = drive
    expected = default_every_m(CAMERA_PROFILES["motorbike"])
    analyzed = tenken(
        ["analyze", video, "--track", gpx, "--camera", "motorbike", "--out", "r", "-q"], tmp_path
    )
    assert analyzed.returncode == 0, analyzed.stderr
    assert json.loads((tmp_path / "r" / "report.json").read_text())["settings"]["every_m"] == expected
    submitted = tenken(
        ["submit", video, "--track", gpx, "--camera", "motorbike", "--model", DETECTOR, "-q"], tmp_path
    )
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.splitlines()[0]
    store = Store(f"sqlite:///{tmp_path / 'data' / 'tenken.sqlite3'}", create=False)
    with store.session() as s:
        assert jobstore.get_job(s, job_id).options["every_m"] == expected == 3.6
    store.dispose()


@pytest.mark.parametrize(
    "args",
    [
        ["analyze", "v.mp4", "--track", "t.gpx", "--every-m", "abc"],
        ["analyze", "v.mp4", "--track", "t.gpx", "--batch", "1.5"],
        ["token", "create"],
        ["token", "revoke", str(2**63)],
    ],
)
def test_a_usage_error_is_a_message_and_exit_2_not_a_traceback(tmp_path, args):
    result = tenken(args, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("Error: ")
