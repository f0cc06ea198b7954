"""Flight recording for replay: JPEG frames in segments on disk, with their times, telemetry and findings.

Each segment is a pair of files in `<root>/<source>/`:

- `<start_ms>.mjpeg`: the frames' JPEGs back to back (a raw MJPEG stream: `ffplay -f mjpeg` plays it);
- `<start_ms>.jsonl`: one line per frame (time, byte offset and size in the .mjpeg, telemetry) and one
  per finding or incident change.

The JPEGs are the ones the live feed already encoded, so recording costs a file write, not an encode;
every frame is flushed with its index line, so a crash loses at most the frame being written, and a
new `RecordingReader` after a restart sees everything on disk (the .jsonl files are the index).
Retention deletes the oldest finished segments beyond an age or a total size.
"""

from __future__ import annotations

import bisect
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tenken.errors import DataError

log = logging.getLogger(__name__)

SOURCE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SEGMENT_NAME = re.compile(r"^(\d{13})\.jsonl$")


def check_source_name(source: str) -> str:
    """A source id usable as a folder name (it comes from URLs: never trust it as a path)."""
    if not SOURCE_NAME.match(source) or source in (".", ".."):
        raise DataError(f"bad live source name {source!r}: use 1-64 letters, digits, '_', '-' or '.'")
    return source


@dataclass(frozen=True)
class FrameRecord:
    timestamp_s: float
    frame_id: int
    offset: int
    size: int
    telemetry: dict[str, Any] | None = None
    pose: dict[str, Any] | None = None  # the camera pose (vision.live.DronePose fields)


@dataclass(frozen=True)
class RecordedFrame:
    """One frame read back: its JPEG bytes and what the drone reported at that time."""

    segment_id: str
    timestamp_s: float
    frame_id: int
    jpeg: bytes
    telemetry: dict[str, Any] | None
    pose: dict[str, Any] | None = None


@dataclass
class Segment:
    """A segment as found on disk."""

    segment_id: str
    frames: list[FrameRecord] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    video_bytes: int = 0

    @property
    def start_s(self) -> float:
        return self.frames[0].timestamp_s if self.frames else int(self.segment_id) / 1000.0

    @property
    def end_s(self) -> float:
        return self.frames[-1].timestamp_s if self.frames else self.start_s

    def summary(self) -> dict[str, Any]:
        return {
            "segment_id": self.segment_id,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "frames": len(self.frames),
            "findings": len(self.findings),
            "bytes": self.video_bytes,
        }


def read_segment(folder: Path, segment_id: str) -> Segment:
    """Parse a segment's index; a torn last line or a frame past the end of the video file is dropped."""
    segment = Segment(segment_id)
    video = folder / f"{segment_id}.mjpeg"
    video_size = video.stat().st_size if video.exists() else 0
    segment.video_bytes = video_size
    with (folder / f"{segment_id}.jsonl").open("r", encoding="utf-8") as lines:
        for line in lines:
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # the line being written when the recorder stopped
            if row.get("kind") == "frame":
                rec = FrameRecord(
                    float(row["t"]),
                    int(row["frame_id"]),
                    int(row["offset"]),
                    int(row["size"]),
                    row.get("telemetry"),
                    row.get("pose"),
                )
                if rec.offset + rec.size <= video_size:
                    segment.frames.append(rec)
            elif row.get("kind") == "finding":
                segment.findings.append(row["data"] | {"timestamp_s": float(row["t"])})
    return segment


class FlightRecorder:
    """Append frames and findings of one live source to segments of `segment_s` seconds.

    Not thread-safe: call it from the one thread that produces the source's frames (findings may be
    handed over from elsewhere through that thread, or guarded by the caller).
    """

    def __init__(
        self,
        root: Path,
        source: str,
        *,
        segment_s: float = 10.0,
        retention_s: float | None = 3600.0,
        max_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if segment_s <= 0:
            raise ValueError("segment_s must be above 0")
        self.folder = Path(root) / check_source_name(source)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.segment_s = segment_s
        self.retention_s = retention_s
        self.max_bytes = max_bytes
        self.clock = clock
        self._segment_id: str | None = None
        self._segment_start_s = 0.0
        self._video: IO[bytes] | None = None
        self._index: IO[str] | None = None
        self._offset = 0
        self._frame_id = 0
        self.segments_deleted = 0

    @property
    def current_segment(self) -> str | None:
        return self._segment_id

    def _open(self, timestamp_s: float) -> None:
        """Start a segment; if that fails (disk full, folder gone) the next frame tries again."""
        self._close_files()
        self._segment_id = None
        segment_id = f"{max(0, round(timestamp_s * 1000)):013d}"
        while (self.folder / f"{segment_id}.jsonl").exists():  # a restart within the same millisecond
            segment_id = f"{int(segment_id) + 1:013d}"
        self._video = (self.folder / f"{segment_id}.mjpeg").open("ab")
        self._index = (self.folder / f"{segment_id}.jsonl").open("a", encoding="utf-8")
        self._segment_id, self._segment_start_s = segment_id, timestamp_s
        self._offset = 0
        self.enforce_retention()

    def _write_line(self, row: dict[str, Any]) -> None:
        assert self._index is not None
        self._index.write(json.dumps(row, separators=(",", ":"), default=str) + "\n")
        self._index.flush()

    def record_frame(
        self,
        timestamp_s: float,
        jpeg: bytes,
        telemetry: dict[str, Any] | None = None,
        frame_id: int | None = None,
        pose: dict[str, Any] | None = None,
    ) -> None:
        """Append one JPEG frame taken at `timestamp_s`; starts a new segment every `segment_s`.

        `pose` (the camera's pose, if known) lets the quick-look map be rebuilt from the recording."""
        if self._segment_id is None or timestamp_s - self._segment_start_s >= self.segment_s:
            self._open(timestamp_s)
        assert self._video is not None
        self._video.write(jpeg)
        self._video.flush()  # the index line must never point past what is on disk
        fid = self._frame_id if frame_id is None else frame_id
        self._frame_id = fid + 1
        row = {"kind": "frame", "t": timestamp_s, "frame_id": fid, "offset": self._offset, "size": len(jpeg)}
        if telemetry is not None:
            row["telemetry"] = telemetry
        if pose is not None:
            row["pose"] = pose
        self._write_line(row)
        self._offset += len(jpeg)

    def record_finding(self, timestamp_s: float, data: dict[str, Any]) -> None:
        """A finding or incident change, shown on the replay timeline at `timestamp_s`."""
        if self._segment_id is None:
            self._open(timestamp_s)
        self._write_line({"kind": "finding", "t": timestamp_s, "data": data})

    def enforce_retention(self) -> list[str]:
        """Delete the oldest finished segments older than `retention_s` or beyond `max_bytes` in all."""
        reader = RecordingReader(self.folder.parent, self.folder.name)
        finished = [s for s in reader.segments() if s.segment_id != self._segment_id]
        total = sum(s.video_bytes for s in reader.segments())
        now = self.clock()
        deleted: list[str] = []
        for seg in finished:  # oldest first
            too_old = self.retention_s is not None and seg.end_s < now - self.retention_s
            too_big = self.max_bytes is not None and total > self.max_bytes
            if not (too_old or too_big):
                break
            for suffix in (".mjpeg", ".jsonl"):
                (self.folder / f"{seg.segment_id}{suffix}").unlink(missing_ok=True)
            total -= seg.video_bytes
            deleted.append(seg.segment_id)
        if deleted:
            self.segments_deleted += len(deleted)
            log.info("recording %s: retention removed %d segment(s)", self.folder.name, len(deleted))
        return deleted

    def _close_files(self) -> None:
        for handle in (self._video, self._index):
            if handle is not None:
                handle.close()
        self._video = self._index = None

    def close(self) -> None:
        self._close_files()
        self._segment_id = None

    def __enter__(self) -> FlightRecorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordingReader:
    """Read back what `FlightRecorder` wrote for one source, including a segment still being written."""

    def __init__(self, root: Path, source: str) -> None:
        self.folder = Path(root) / check_source_name(source)
        self._cache: dict[str, tuple[tuple[float, int], Segment]] = {}

    def _load(self, segment_id: str) -> Segment:
        index = self.folder / f"{segment_id}.jsonl"
        video = self.folder / f"{segment_id}.mjpeg"
        stat = index.stat()
        key = (stat.st_mtime, stat.st_size + (video.stat().st_size if video.exists() else 0))
        cached = self._cache.get(segment_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        segment = read_segment(self.folder, segment_id)
        self._cache[segment_id] = (key, segment)
        return segment

    def segments(self) -> list[Segment]:
        """Every segment on disk, oldest first."""
        if not self.folder.is_dir():
            return []
        ids = sorted(m.group(1) for p in self.folder.iterdir() if (m := SEGMENT_NAME.match(p.name)))
        out = []
        for segment_id in ids:
            try:
                out.append(self._load(segment_id))
            except FileNotFoundError:
                continue  # removed by retention meanwhile
        return out

    def findings(self, start_s: float | None = None, end_s: float | None = None) -> list[dict[str, Any]]:
        """Findings and incident changes recorded between `start_s` and `end_s`, in time order."""
        rows = [f for s in self.segments() for f in s.findings]
        rows = [
            f
            for f in rows
            if (start_s is None or f["timestamp_s"] >= start_s)
            and (end_s is None or f["timestamp_s"] <= end_s)
        ]
        return sorted(rows, key=lambda f: f["timestamp_s"])

    def frame_at(self, timestamp_s: float) -> RecordedFrame | None:
        """The frame shown at `timestamp_s`: the last one taken at or before it (the first, if earlier)."""
        segments = [s for s in self.segments() if s.frames]
        if not segments:
            return None
        starts = [s.start_s for s in segments]
        i = max(0, bisect.bisect_right(starts, timestamp_s) - 1)
        segment = segments[i]
        times = [f.timestamp_s for f in segment.frames]
        j = max(0, bisect.bisect_right(times, timestamp_s) - 1)
        return self._read(segment, segment.frames[j])

    def frame_by_id(self, frame_id: int) -> RecordedFrame | None:
        """The frame with the live pipeline's `frame_id` (an incident's best frame), newest first."""
        for segment in reversed(self.segments()):
            for rec in segment.frames:
                if rec.frame_id == frame_id:
                    return self._read(segment, rec)
        return None

    def _read(self, segment: Segment, rec: FrameRecord) -> RecordedFrame:
        with (self.folder / f"{segment.segment_id}.mjpeg").open("rb") as video:
            video.seek(rec.offset)
            jpeg = video.read(rec.size)
        return RecordedFrame(segment.segment_id, rec.timestamp_s, rec.frame_id, jpeg, rec.telemetry, rec.pose)

    def posed_frames(self, every: int = 1) -> Iterator[RecordedFrame]:
        """Every `every`-th recorded frame that has a camera pose, oldest first."""
        n = 0
        for segment in self.segments():
            for rec in segment.frames:
                if rec.pose is None:
                    continue
                if n % every == 0:
                    yield self._read(segment, rec)
                n += 1

    def frame_count(self) -> int:
        return sum(len(s.frames) for s in self.segments())


def recorded_sources(root: Path) -> list[str]:
    """Sources with a recording folder under `root`."""
    if not Path(root).is_dir():
        return []
    return sorted(p.name for p in Path(root).iterdir() if p.is_dir() and SOURCE_NAME.match(p.name))
