"""How much of a video a survey covers, and a truncated file that says so instead of passing for whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mp4_files import faststart_copy, truncated_copy
from vision.road.coverage import COVERAGE_TOLERANCE_S, VideoCoverage, video_coverage
from vision.road.video import VideoInfo, probe_video

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_VIDEO = ROOT / "samples" / "drive.mp4"


def info(frames_readable: int, frame_count: int = 100, fps: float = 10.0) -> VideoInfo:
    times = tuple(i / fps for i in range(frames_readable))
    return VideoInfo(Path("v.mp4"), fps, frame_count, 64, 48, times)


def test_a_whole_video_fully_analysed_is_complete_and_says_nothing():
    coverage = video_coverage(info(100), frames_planned=20, frames_sampled=20)
    assert coverage.complete
    assert coverage.warning() is None
    assert coverage.decoded_fraction == pytest.approx(1.0)


def test_a_file_holding_fewer_frames_than_stated_covers_only_those():
    coverage = video_coverage(info(30), frames_planned=6, frames_sampled=6)
    assert (coverage.video_duration_s, coverage.decoded_duration_s) == (10.0, pytest.approx(3.0))
    assert (coverage.frames_in_video, coverage.frames_decoded) == (100, 30)
    assert not coverage.complete
    assert "covers 3.0 s of a 10.0 s video" in (coverage.warning() or "")


def test_decoding_that_stops_early_counts_up_to_the_failed_frame():
    coverage = video_coverage(
        info(100), frames_planned=20, frames_sampled=4, stopped_at_frame=17, stopped_at_s=1.7
    )
    assert (coverage.frames_decoded, coverage.decoded_duration_s) == (17, 1.7)
    assert "stopped at frame 17 of 100" in (coverage.warning() or "")
    assert "4 of 20 planned frames were analysed" in (coverage.warning() or "")


def test_planned_frames_that_were_not_analysed_make_it_incomplete():
    # The distributed path: a chunk over a corrupt stretch failed while the others completed.
    coverage = video_coverage(info(100), frames_planned=20, frames_sampled=15)
    assert not coverage.complete
    assert coverage.warning() == "15 of 20 planned frames were analysed"


def test_a_shortfall_within_the_tolerance_is_rounding_not_a_warning():
    short = VideoCoverage(10.0, 10.0 - COVERAGE_TOLERANCE_S, 100, 95, 20, 20)
    assert short.complete


def test_report_json_form_carries_the_figures_and_the_warning():
    data = VideoCoverage(33.5, 5.0, 201, 30, 41, 6).as_dict()
    assert data["complete"] is False
    assert data["decoded_fraction"] == pytest.approx(0.149, abs=1e-3)
    assert data["frames_in_video"] == 201 and data["frames_sampled"] == 6
    assert "5.0 s of a 33.5 s video" in data["warning"]


def test_a_truncated_mp4_with_its_index_in_front_opens_and_reads_only_what_it_holds(tmp_path):
    fast = faststart_copy(SAMPLE_VIDEO, tmp_path / "fast.mp4")
    assert probe_video(fast).timestamps_s == probe_video(SAMPLE_VIDEO).timestamps_s
    cut = probe_video(truncated_copy(fast, tmp_path / "cut.mp4", 0.16))
    assert cut.frame_count == 201  # the index still states the whole recording
    assert 10 < cut.frames_readable < 60
    assert cut.duration_s == pytest.approx(33.5)
    assert cut.readable_duration_s < 10.0
