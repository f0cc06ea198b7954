"""Recording a live flight in segments, reading it back after a restart, seeking, and retention."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from tenken.errors import DataError
from vision.live.recording import FlightRecorder, RecordingReader, recorded_sources


def jpeg_of(value: int) -> bytes:
    """A small JPEG whose grey level tells which frame it is."""
    ok, buf = cv2.imencode(".jpg", np.full((24, 32, 3), value, np.uint8))
    assert ok
    return buf.tobytes()


def grey(jpeg: bytes) -> int:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return round(float(image.mean()))


def record(root: Path, start_s: float, frames: int, *, fps: float = 2.0, segment_s: float = 5.0) -> None:
    with FlightRecorder(root, "drone-1", segment_s=segment_s, retention_s=None, clock=lambda: start_s) as rec:
        for i in range(frames):
            t = start_s + i / fps
            rec.record_frame(t, jpeg_of(10 * (i % 20)), telemetry={"alt_m": 50.0 + i}, frame_id=i)
            if i == 7:
                rec.record_finding(t, {"event": "opened", "kind": "fire", "incident_id": "drone-1-1"})


def test_flight_is_split_into_segments_of_the_set_length(tmp_path: Path) -> None:
    record(tmp_path, 1000.0, 30)  # 15 s at 2 fps in 5 s segments
    segments = RecordingReader(tmp_path, "drone-1").segments()
    assert [len(s.frames) for s in segments] == [10, 10, 10]
    assert segments[1].start_s == 1005.0 and segments[1].end_s == 1009.5


def test_a_new_reader_after_restart_sees_every_frame_and_finding(tmp_path: Path) -> None:
    record(tmp_path, 1000.0, 20)
    # the server restarts: new recorder (appends new segments) and a new reader object
    record(tmp_path, 2000.0, 10)
    reader = RecordingReader(tmp_path, "drone-1")
    assert sum(len(s.frames) for s in reader.segments()) == 30
    assert [f["kind"] for f in reader.findings()] == ["fire", "fire"]
    frame = reader.frame_at(1003.5)
    assert frame is not None and grey(frame.jpeg) == 70 and frame.telemetry == {"alt_m": 57.0}
    assert recorded_sources(tmp_path) == ["drone-1"]


def test_seek_returns_the_frame_shown_at_that_time(tmp_path: Path) -> None:
    record(tmp_path, 1000.0, 20)
    reader = RecordingReader(tmp_path, "drone-1")
    for t, expected_frame in (
        (1000.0, 0),
        (1004.9, 9),
        (1005.0, 10),
        (1007.25, 14),
        (999.0, 0),
        (5000.0, 19),
    ):
        frame = reader.frame_at(t)
        assert frame is not None and frame.frame_id == expected_frame, t
        assert grey(frame.jpeg) == 10 * (expected_frame % 20)


def test_seek_to_an_incident_by_its_best_frame_id(tmp_path: Path) -> None:
    record(tmp_path, 1000.0, 20)
    frame = RecordingReader(tmp_path, "drone-1").frame_by_id(13)
    assert frame is not None and frame.timestamp_s == 1006.5 and grey(frame.jpeg) == 130


def test_a_torn_last_line_after_a_crash_loses_only_that_frame(tmp_path: Path) -> None:
    record(tmp_path, 1000.0, 6)
    index = next((tmp_path / "drone-1").glob("*.jsonl"))
    with index.open("a") as f:
        f.write('{"kind":"frame","t":1003.0,"frame_id":6,"off')  # the process died mid-write
    with (tmp_path / "drone-1" / index.name.replace(".jsonl", ".mjpeg")).open("ab") as f:
        f.write(b"\xff\xd8 half a jpeg")
    reader = RecordingReader(tmp_path, "drone-1")
    assert [len(s.frames) for s in reader.segments()] == [6]
    frame = reader.frame_at(1010.0)
    assert frame is not None and frame.frame_id == 5


def test_retention_removes_segments_older_than_the_setting(tmp_path: Path) -> None:
    now = [1000.0]
    rec = FlightRecorder(tmp_path, "drone-1", segment_s=5.0, retention_s=12.0, clock=lambda: now[0])
    for i in range(60):  # 30 s of flight
        now[0] = 1000.0 + i / 2
        rec.record_frame(now[0], jpeg_of(100))
    rec.close()
    segments = RecordingReader(tmp_path, "drone-1").segments()
    # the newest segment opened at 1025 s: everything that ended before 1013 s is gone
    assert segments[0].end_s >= 1025.0 - 12.0
    assert segments[0].start_s > 1000.0 and rec.segments_deleted > 0
    assert segments[-1].end_s == 1029.5


def test_retention_keeps_the_total_size_under_the_setting(tmp_path: Path) -> None:
    frame = jpeg_of(100)
    limit = 25 * len(frame)
    rec = FlightRecorder(tmp_path, "drone-1", segment_s=5.0, retention_s=None, max_bytes=limit)
    for i in range(100):
        rec.record_frame(1000.0 + i / 2, frame)
    rec.close()
    segments = RecordingReader(tmp_path, "drone-1").segments()
    # checked when a segment starts: at most the limit plus the segment being written
    assert sum(s.video_bytes for s in segments) <= limit + 10 * len(frame)
    assert segments[-1].end_s == 1049.5


@pytest.mark.parametrize("name", ["../etc", "a/b", "", "x" * 65, ".."])
def test_source_names_that_are_not_plain_folder_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(DataError):
        RecordingReader(tmp_path, name)
