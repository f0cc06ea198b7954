"""Opening videos and sampling their frames by metres travelled, decoding only the frames kept."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenken.errors import ConfigError, VideoError
from tenken.tracks import Fix, Track
from vision.road.sampling import (
    DecodeOutcome,
    SampledFrame,
    decode_plan,
    plan_by_distance,
    plan_samples,
    sample_by_distance,
)
from vision.road.timed_video import write_timed_video
from vision.road.video import open_video, probe_video

FPS = 10.0
T0 = 1_795_946_523.0
# Metres per degree of longitude along the equator (geodesic = arc of the semi-major axis).
EQUATOR_M_PER_DEG = 6378137.0 * math.pi / 180.0


def make_video(path: Path, n_frames: int, fps: float = FPS, size: tuple[int, int] = (64, 48)) -> Path:
    """An mp4v video whose frames differ (frame i is a flat grey of level 5 * i)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    for index in range(n_frames):
        writer.write(np.full((size[1], size[0], 3), 5 * index, dtype=np.uint8))
    writer.release()
    return path


def decode_all(path: Path) -> list[np.ndarray]:
    """Every frame, read plainly one after the other: what each sampled frame must equal."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(image)
    capture.release()
    return frames


def equator_track(speed_mps: float, duration_s: float, start_s: float = T0) -> Track:
    """Eastward along the equator at constant speed, one fix a second."""
    deg_per_s = speed_mps / EQUATOR_M_PER_DEG
    return Track([Fix(start_s + t, 0.0, t * deg_per_s) for t in range(int(duration_s) + 1)])


def stop_and_go_track() -> Track:
    """10 m/s for 2 s, parked for 1 s, 10 m/s for 2 s."""
    deg = 10.0 / EQUATOR_M_PER_DEG
    lons = [0.0, deg, 2 * deg, 2 * deg, 3 * deg, 4 * deg]
    return Track([Fix(T0 + t, 0.0, lon) for t, lon in enumerate(lons)])


class CountingCapture:
    """A real `cv2.VideoCapture` that counts grabs and retrieves, and can fail from a given frame on."""

    created: ClassVar[list[CountingCapture]] = []
    fail_from_frame: int | None = None
    real = cv2.VideoCapture

    def __init__(self, *args: Any) -> None:
        self._capture = CountingCapture.real(*args)
        self.grabs = 0
        self.retrieves = 0
        CountingCapture.created.append(self)

    def grab(self) -> bool:
        if self.fail_from_frame is not None and self.grabs >= self.fail_from_frame:
            return False
        self.grabs += 1
        return bool(self._capture.grab())

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        self.retrieves += 1
        return self._capture.retrieve()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._capture, name)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[CountingCapture]]:
    CountingCapture.created = []
    CountingCapture.fail_from_frame = None
    monkeypatch.setattr(cv2, "VideoCapture", CountingCapture)
    yield CountingCapture
    CountingCapture.fail_from_frame = None


# --- plan_samples (pure) ------------------------------------------------------------------------


def test_constant_speed_keeps_a_frame_every_interval() -> None:
    # 1 m per frame, every 4 m: frames 0, 4, 8, ...
    assert plan_samples(np.arange(20, dtype=float), every_m=4.0) == [0, 4, 8, 12, 16]


def test_distance_counts_from_the_last_kept_frame_not_a_fixed_grid() -> None:
    # 1.5 m per frame: 4.5 m is the first distance past 4 m, then 9.0 (4.5 on), not 6.0.
    assert plan_samples([0.0, 1.5, 3.0, 4.5, 6.0, 7.5, 9.0], every_m=4.0) == [0, 3, 6]


def test_a_stopped_car_adds_no_frames() -> None:
    assert plan_samples([5.0] * 100, every_m=4.0) == [0]


def test_frames_resume_when_the_car_drives_on() -> None:
    distances = [0.0, 2.0, 4.0, 4.0, 4.0, 4.0, 6.0, 8.0]
    assert plan_samples(distances, every_m=4.0) == [0, 2, 7]


def test_a_distance_a_hair_short_of_the_interval_counts_as_reached() -> None:
    assert plan_samples([0.0, 3.9999995, 7.999999], every_m=4.0) == [0, 1, 2]
    assert plan_samples([0.0, 3.99], every_m=4.0) == [0]


def test_max_frames_caps_the_plan() -> None:
    assert plan_samples(np.arange(100, dtype=float), every_m=4.0, max_frames=3) == [0, 4, 8]


def test_max_frames_zero_plans_nothing() -> None:
    assert plan_samples(np.arange(100, dtype=float), every_m=4.0, max_frames=0) == []


def test_no_frames_plan_nothing() -> None:
    assert plan_samples([], every_m=4.0) == []


@pytest.mark.parametrize("every_m", [0.0, -1.0])
def test_sampling_distance_must_be_positive(every_m: float) -> None:
    with pytest.raises(ConfigError, match="sampling distance must be positive"):
        plan_samples([0.0, 1.0], every_m=every_m)


def test_negative_max_frames_is_an_error() -> None:
    with pytest.raises(ConfigError, match="max_frames"):
        plan_samples([0.0, 1.0], every_m=1.0, max_frames=-1)


@given(
    st.lists(st.floats(0.0, 10.0), min_size=1, max_size=200),
    st.floats(0.5, 20.0),
)
def test_kept_frames_are_at_least_the_interval_apart_and_none_is_missed(steps, every_m) -> None:
    distances = np.cumsum(steps)
    kept = plan_samples(distances, every_m)
    assert kept[0] == 0
    bounds = [*kept, len(distances)]
    for this, following in pairwise(bounds):
        skipped = distances[this + 1 : following]
        # Every frame skipped after a kept one is less than the interval past it ...
        assert np.all(skipped - distances[this] < every_m - 1e-3)
        # ... and the next kept one is at least the interval past it.
        if following < len(distances):
            assert distances[following] - distances[this] >= every_m - 1e-3


# --- open_video / probe_video -------------------------------------------------------------------


def test_probe_reads_frame_rate_count_size_and_duration(tmp_path: Path) -> None:
    info = probe_video(make_video(tmp_path / "drive.mp4", 25, fps=10.0, size=(64, 48)))
    assert (info.fps, info.frame_count, info.width, info.height) == (10.0, 25, 64, 48)
    assert info.duration_s == pytest.approx(2.5)
    assert info.path == tmp_path / "drive.mp4"


def test_frame_times_step_by_one_over_fps_from_the_start(tmp_path: Path) -> None:
    info = probe_video(make_video(tmp_path / "drive.mp4", 4, fps=4.0))
    assert info.frame_times_s(100.0).tolist() == [100.0, 100.25, 100.5, 100.75]
    assert info.frame_time_s(2, 100.0) == 100.5


def test_missing_video_is_named(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match=r"video not found: .*nothing\.mp4"):
        probe_video(tmp_path / "nothing.mp4")


def test_a_text_file_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 20)
    with pytest.raises(VideoError, match=r"notes\.mp4: not a video OpenCV can read"):
        probe_video(path)


def test_a_truncated_video_is_corrupt(tmp_path: Path) -> None:
    whole = make_video(tmp_path / "whole.mp4", 20).read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(VideoError, match=r"cut\.mp4: not a video OpenCV can read \(corrupt"):
        probe_video(path)


def test_an_empty_file_is_not_a_video(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    with pytest.raises(VideoError, match=r"empty\.mp4"):
        probe_video(path)


class FakeCapture:
    """A capture that opens but reports the given properties and decodes nothing."""

    props: ClassVar[dict[int, float]] = {}

    def __init__(self, *args: Any) -> None:
        pass

    def isOpened(self) -> bool:
        return True

    def get(self, prop: int) -> float:
        return self.props.get(prop, 0.0)

    def grab(self) -> bool:
        return False

    def release(self) -> None:
        pass


@pytest.mark.parametrize("fps", [0.0, float("nan"), 90000.0])
def test_a_video_without_a_usable_frame_rate_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fps: float
) -> None:
    path = make_video(tmp_path / "drive.mp4", 3)
    FakeCapture.props = {cv2.CAP_PROP_FPS: fps, cv2.CAP_PROP_FRAME_COUNT: 3.0}
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    with pytest.raises(VideoError, match=r"drive\.mp4: the video does not state a usable frame rate"):
        probe_video(path)


def test_a_video_with_zero_frames_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = make_video(tmp_path / "drive.mp4", 3)
    FakeCapture.props = {
        cv2.CAP_PROP_FPS: 30.0,
        cv2.CAP_PROP_FRAME_COUNT: 0.0,
        cv2.CAP_PROP_FRAME_WIDTH: 64.0,
        cv2.CAP_PROP_FRAME_HEIGHT: 48.0,
    }
    monkeypatch.setattr(cv2, "VideoCapture", FakeCapture)
    with pytest.raises(VideoError, match=r"drive\.mp4: the video has no frames"):
        probe_video(path)


def test_a_container_without_a_frame_count_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_video(tmp_path / "drive.mp4", 7)

    class NoCount(CountingCapture):
        fail_from_frame = None

        def get(self, prop: int) -> float:
            return 0.0 if prop == cv2.CAP_PROP_FRAME_COUNT else float(self._capture.get(prop))

    monkeypatch.setattr(cv2, "VideoCapture", NoCount)
    assert probe_video(path).frame_count == 7


def test_a_container_without_a_frame_count_is_counted_from_its_packets_without_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_video(tmp_path / "drive.mp4", 7)

    class NoCount(CountingCapture):
        def __init__(self, *args: Any) -> None:
            super().__init__(*args)
            self.decoding = len(args) < 3  # read_timestamps opens in raw-packet mode: (path, api, params)

        def get(self, prop: int) -> float:
            return 0.0 if prop == cv2.CAP_PROP_FRAME_COUNT else float(self._capture.get(prop))

    CountingCapture.created = []
    monkeypatch.setattr(cv2, "VideoCapture", NoCount)
    info = probe_video(path)
    assert (info.frame_count, len(info.timestamps_s)) == (7, 7)
    assert sum(c.grabs for c in CountingCapture.created if getattr(c, "decoding", True)) == 0
    assert sum(c.grabs for c in CountingCapture.created) == 8  # one read of the packets (and its end)


def test_decoding_a_probed_video_does_not_count_its_frames_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_video(tmp_path / "drive.mp4", 7)

    class NoCount(CountingCapture):
        def get(self, prop: int) -> float:
            return 0.0 if prop == cv2.CAP_PROP_FRAME_COUNT else float(self._capture.get(prop))

    monkeypatch.setattr(cv2, "VideoCapture", NoCount)
    CountingCapture.created = []
    plan = plan_by_distance(path, equator_track(10.0, 2.0), T0, every_m=1.0, max_frames=2)
    created_by_probe = len(CountingCapture.created)
    assert [f.frame_index for f in decode_plan(plan, equator_track(10.0, 2.0))] == [0, 1]
    assert [c.grabs for c in CountingCapture.created[created_by_probe:]] == [2]


def test_open_video_releases_the_capture(tmp_path: Path, counting: type[CountingCapture]) -> None:
    with open_video(make_video(tmp_path / "drive.mp4", 3)) as (capture, _):
        assert capture.isOpened()
    assert not counting.created[-1].isOpened()


# --- sample_by_distance -------------------------------------------------------------------------


def test_constant_speed_yields_a_frame_every_interval(tmp_path: Path) -> None:
    # 10 m/s at 10 fps is 1 m a frame: every 4 m keeps frames 0, 4, ..., 48 of 50.
    video = make_video(tmp_path / "drive.mp4", 50)
    frames = list(sample_by_distance(video, equator_track(10.0, 6.0), T0, every_m=4.0))
    assert [f.frame_index for f in frames] == list(range(0, 50, 4))


def test_each_sampled_frame_carries_its_time_pose_and_image(tmp_path: Path) -> None:
    video = make_video(tmp_path / "drive.mp4", 50)
    frames = list(sample_by_distance(video, equator_track(10.0, 6.0), T0, every_m=4.0))
    frame = frames[3]  # frame 12, 1.2 s in, 12 m east
    assert isinstance(frame, SampledFrame)
    assert frame.timestamp_s == pytest.approx(T0 + 1.2)
    assert frame.pose.timestamp_s == frame.timestamp_s
    assert frame.pose.lon * EQUATOR_M_PER_DEG == pytest.approx(12.0)
    assert frame.pose.heading_deg == pytest.approx(90.0)
    assert frame.pose.speed_mps == pytest.approx(10.0)
    assert frame.image.shape == (48, 64, 3)
    assert frame.image.dtype == np.uint8
    reference = decode_all(video)
    assert all(np.array_equal(f.image, reference[f.frame_index]) for f in frames)
    assert not np.array_equal(reference[11], reference[12])


def test_video_start_shifts_which_part_of_the_track_is_used(tmp_path: Path) -> None:
    video = make_video(tmp_path / "drive.mp4", 20)
    frames = list(sample_by_distance(video, equator_track(10.0, 6.0), T0 + 3.0, every_m=5.0))
    assert frames[0].pose.lon * EQUATOR_M_PER_DEG == pytest.approx(30.0)
    assert frames[0].timestamp_s == T0 + 3.0


def test_a_car_stopped_for_the_whole_video_yields_only_the_first_frame(tmp_path: Path) -> None:
    video = make_video(tmp_path / "drive.mp4", 30)
    parked = Track([Fix(T0, 35.68, 139.76), Fix(T0 + 5.0, 35.68, 139.76)])
    assert [f.frame_index for f in sample_by_distance(video, parked, T0, every_m=4.0)] == [0]


def test_no_frames_while_the_car_is_stopped(tmp_path: Path) -> None:
    # Frames 0-19 drive 20 m, 20-29 stand still, 30-49 drive another 20 m.
    video = make_video(tmp_path / "drive.mp4", 50)
    frames = list(sample_by_distance(video, stop_and_go_track(), T0, every_m=5.0))
    assert [f.frame_index for f in frames] == [0, 5, 10, 15, 20, 35, 40, 45]


def test_max_frames_stops_early(tmp_path: Path, counting: type[CountingCapture]) -> None:
    video = make_video(tmp_path / "drive.mp4", 50)
    frames = list(sample_by_distance(video, equator_track(10.0, 6.0), T0, every_m=4.0, max_frames=3))
    assert [f.frame_index for f in frames] == [0, 4, 8]
    assert counting.created[-1].grabs == 9  # nothing decoded past the last kept frame


def test_only_kept_frames_are_retrieved_and_every_frame_up_to_the_last_is_grabbed(
    tmp_path: Path, counting: type[CountingCapture]
) -> None:
    video = make_video(tmp_path / "drive.mp4", 50)
    frames = list(sample_by_distance(video, equator_track(10.0, 6.0), T0, every_m=4.0))
    decoder = counting.created[-1]
    assert decoder.retrieves == len(frames) == 13
    assert decoder.grabs == 49  # frames 0..48; frame 49 is never needed


def test_the_plan_knows_the_count_before_decoding(tmp_path: Path, counting: type[CountingCapture]) -> None:
    video = make_video(tmp_path / "drive.mp4", 50)
    track = equator_track(10.0, 6.0)
    plan = plan_by_distance(video, track, T0, every_m=4.0)
    assert len(plan) == 13
    assert sum(c.retrieves for c in counting.created) == 0
    assert [f.frame_index for f in decode_plan(plan, track)] == list(plan.frame_indices)


def test_an_empty_plan_opens_nothing(tmp_path: Path, counting: type[CountingCapture]) -> None:
    video = make_video(tmp_path / "drive.mp4", 10)
    track = equator_track(10.0, 2.0)
    plan = plan_by_distance(video, track, T0, every_m=4.0, max_frames=0)
    opened = len(counting.created)
    assert list(decode_plan(plan, track)) == []
    assert len(counting.created) == opened


def test_a_missing_video_fails_when_sampling_is_set_up(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="video not found"):
        sample_by_distance(tmp_path / "gone.mp4", equator_track(10.0, 2.0), T0)


def test_a_video_that_fails_at_its_first_frame_names_the_frame(
    tmp_path: Path, counting: type[CountingCapture]
) -> None:
    video = make_video(tmp_path / "drive.mp4", 20)
    track = equator_track(10.0, 3.0)
    plan = plan_by_distance(video, track, T0, every_m=4.0)
    counting.fail_from_frame = 0
    with pytest.raises(VideoError, match=r"drive\.mp4: cannot decode frame 0 of 20 \(corrupt or truncated"):
        list(decode_plan(plan, track))


def test_a_video_that_fails_midway_keeps_the_frames_so_far_and_warns(
    tmp_path: Path, counting: type[CountingCapture], caplog: pytest.LogCaptureFixture
) -> None:
    video = make_video(tmp_path / "drive.mp4", 50)
    track = equator_track(10.0, 6.0)
    plan = plan_by_distance(video, track, T0, every_m=4.0)
    counting.fail_from_frame = 10
    outcome = DecodeOutcome()
    with caplog.at_level(logging.WARNING, logger="vision.road.sampling"):
        frames = list(decode_plan(plan, track, outcome))
    assert [f.frame_index for f in frames] == [0, 4, 8]
    assert "cannot decode frame 10 of 50; stopping with 3 of 13 planned frames" in caplog.text
    assert (outcome.stopped_at_frame, outcome.stopped_at_s) == (10, pytest.approx(1.0))


def test_a_video_holding_fewer_frames_than_it_states_plans_only_those_it_holds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Containers of truncated recordings often state more frames than they hold.
    video = make_video(tmp_path / "drive.mp4", 20)

    class Overstated(CountingCapture):
        fail_from_frame = None

        def get(self, prop: int) -> float:
            value = float(self._capture.get(prop))
            return value * 2 if prop == cv2.CAP_PROP_FRAME_COUNT else value

    monkeypatch.setattr(cv2, "VideoCapture", Overstated)
    track = equator_track(10.0, 5.0)
    plan = plan_by_distance(video, track, T0, every_m=4.0)
    assert (plan.info.frame_count, plan.info.frames_readable) == (40, 20)
    assert plan.info.duration_s == pytest.approx(4.0)
    assert plan.info.readable_duration_s == pytest.approx(2.0)
    assert [f.frame_index for f in decode_plan(plan, track)] == [0, 4, 8, 12, 16]


# --- variable frame rate: each frame at its own time ---------------------------------------------

# A phone at a nominal 10 fps that drops frames: gaps of 0.1 to 0.5 s.
VFR_TIMES_S = [0.0, 0.1, 0.2, 0.5, 0.6, 1.1, 1.2, 1.3, 1.4, 1.9, 2.0, 2.1, 2.4, 2.5, 3.0]


def make_vfr_video(path: Path) -> Path:
    frames = [np.full((48, 64, 3), 5 * i, dtype=np.uint8) for i in range(len(VFR_TIMES_S))]
    write_timed_video(path, frames, VFR_TIMES_S, fps=10.0)
    return path


def test_probe_reads_every_frame_time_from_the_container(tmp_path: Path) -> None:
    info = probe_video(make_vfr_video(tmp_path / "phone.mp4"))
    assert info.timestamps_s == pytest.approx(VFR_TIMES_S)
    assert info.frame_times_s(T0).tolist() == pytest.approx([T0 + t for t in VFR_TIMES_S])
    assert info.duration_s == pytest.approx(3.1)  # not 15 frames / 10 fps


def test_frames_of_a_variable_frame_rate_video_carry_their_own_time_and_place(tmp_path: Path) -> None:
    # 10 m/s: frame k stands at 10 * VFR_TIMES_S[k] m; kept every 4 m of true distance.
    video = make_vfr_video(tmp_path / "phone.mp4")
    frames = list(sample_by_distance(video, equator_track(10.0, 4.0), T0, every_m=4.0))
    assert [f.frame_index for f in frames] == [0, 3, 5, 9, 12, 14]  # at 0, 5, 11, 19, 24, 30 m
    for frame in frames:
        assert frame.timestamp_s == pytest.approx(T0 + VFR_TIMES_S[frame.frame_index])
        assert frame.pose.lon * EQUATOR_M_PER_DEG == pytest.approx(10.0 * VFR_TIMES_S[frame.frame_index])


def test_a_backend_without_timestamps_falls_back_to_the_frame_rate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = make_video(tmp_path / "drive.mp4", 8, fps=4.0)

    class NoTimes(CountingCapture):
        fail_from_frame = None

        def get(self, prop: int) -> float:
            return 0.0 if prop == cv2.CAP_PROP_POS_MSEC else float(self._capture.get(prop))

    monkeypatch.setattr(cv2, "VideoCapture", NoTimes)
    info = probe_video(video)
    assert info.timestamps_s == ()
    assert info.frame_times_s().tolist() == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    frames = list(sample_by_distance(video, equator_track(10.0, 3.0), T0, every_m=5.0))
    assert [f.timestamp_s - T0 for f in frames] == [0.0, 0.5, 1.0, 1.5]
