"""The stream reader process: a live video source -> sampled JPEG frames -> inference -> results in order.

Sources are anything OpenCV's FFmpeg backend opens: `rtsp://`, `rtmp://`, `udp://`, `http://`
(MJPEG or HLS) or a file. Frames are sampled every `every_s` seconds, tagged with the newest
drone telemetry at or before their time (when the TELEMETRY channel carries any), encoded as
JPEG and sent in small batches to the `inference` queue (or detected in this process when no
broker is configured). Results are published on the FINDINGS channel in frame order, whatever
order the workers finish in: the reader waits for the oldest batch before publishing newer ones.
"""

from __future__ import annotations

import base64
import bisect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import cv2
import numpy as np

from tenken.errors import VideoError
from tenken.events import FINDINGS, INCIDENTS, TELEMETRY, EventBus
from vision.confirmation import ConfirmationPolicy
from vision.live import IncidentTracker, LiveFrame, drone_pose_from_telemetry, sightings_in_frame
from worker.live import detect_jpeg_batch, encode_jpeg

log = logging.getLogger(__name__)

LIVE_SCHEMES = ("rtsp://", "rtmp://", "udp://", "http://", "https://", "tcp://", "srt://")


@dataclass(frozen=True)
class StreamConfig:
    source: str
    stream_id: str
    model: str  # detector spec: a shipped model's name (e.g. "fire") or "module:Class"
    every_s: float = 0.5
    batch_frames: int = 4
    conf: float | None = None
    max_frames: int | None = None  # stop after this many sampled frames (None: until the source ends)
    max_in_flight: int = 4  # batches sent and not yet published
    jpeg_quality: int = 85
    max_width_px: int = 1280  # larger frames are scaled down before sending
    hfov_deg: float = 78.0  # the camera's horizontal field of view, for placing findings
    incident_kinds: tuple[str, ...] = ("fire", "smoke", "landslide", "flood")
    confirmation: ConfirmationPolicy = field(default_factory=ConfirmationPolicy)


def is_live(source: str) -> bool:
    return source.lower().startswith(LIVE_SCHEMES)


def sample_frames(
    source: str, every_s: float, max_frames: int | None = None
) -> Iterator[tuple[int, float, np.ndarray]]:
    """(frame index, UNIX time, BGR image) every `every_s` seconds of the source.

    A file's frame times come from its frame rate (starting now); a live source's from the
    clock when the frame arrived.
    """
    capture = cv2.VideoCapture(source)
    if not capture.isOpened():
        raise VideoError(f"cannot open video source {source!r}")
    live = is_live(source)
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 25.0
    start_s = time.time()
    next_s = 0.0
    index = -1
    produced = 0
    try:
        while max_frames is None or produced < max_frames:
            if not capture.grab():
                break
            index += 1
            rel_s = time.time() - start_s if live else index / fps
            if rel_s + 1e-9 < next_s:
                continue
            ok, image = capture.retrieve()
            if not ok or image is None:
                log.warning("%s: frame %d did not decode; skipped", source, index)
                continue
            next_s = rel_s + every_s if live else next_s + every_s
            produced += 1
            yield index, start_s + rel_s, image
    finally:
        capture.release()


class TelemetryHistory:
    """The drone states seen on the bus, to tag each frame with where the camera was."""

    def __init__(self, bus: EventBus | None, keep: int = 2000) -> None:
        self._times: deque[float] = deque(maxlen=keep)
        self._states: deque[dict[str, Any]] = deque(maxlen=keep)
        self._bus = bus
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        if bus is not None:
            self._thread = threading.Thread(target=self._follow, name="telemetry", daemon=True)
            self._thread.start()

    def add(self, state: dict[str, Any]) -> None:
        if state.get("lat") is None or state.get("lon") is None:
            return
        with self._lock:
            self._times.append(float(state.get("timestamp_s") or time.time()))
            self._states.append(state)

    def pose_at(self, timestamp_s: float) -> dict[str, Any] | None:
        """The newest state at or before `timestamp_s` (None before any)."""
        with self._lock:
            i = bisect.bisect_right(list(self._times), timestamp_s)
            if i == 0:
                return None
            state = self._states[i - 1]
        keys = ("timestamp_s", "lat", "lon", "alt_m", "heading_deg", "gimbal_pitch_deg", "vehicle_id")
        return {k: state.get(k) for k in keys if k in state}

    def _follow(self) -> None:
        assert self._bus is not None
        last = self._bus.last_id()
        while not self._stop.is_set():
            try:
                for event in self._bus.read([TELEMETRY], last, timeout_s=0.5):
                    last = event.event_id
                    self.add(event.data)
            except Exception as exc:  # a bus outage: keep the frames flowing without poses
                log.warning("telemetry: %s", exc)
                time.sleep(1.0)

    def close(self) -> None:
        self._stop.set()


class Pending(Protocol):
    def ready(self) -> bool: ...

    def get(self, timeout: float | None = None) -> Any: ...


class _Done:
    """An already computed batch (in-process detection), shaped like a Celery AsyncResult."""

    def __init__(self, value: Any) -> None:
        self._value = value

    def ready(self) -> bool:
        return True

    def get(self, timeout: float | None = None) -> Any:
        return self._value


Submit = Callable[[str, list[dict[str, Any]], float | None], Pending]


def submit_in_process(spec: str, frames: list[dict[str, Any]], conf: float | None) -> Pending:
    images = [base64.b64decode(f["jpeg_b64"]) for f in frames]
    return _Done(detect_jpeg_batch(spec, images, frames, conf))


def celery_submitter(app: Any, queue: str) -> Submit:
    def submit(spec: str, frames: list[dict[str, Any]], conf: float | None) -> Pending:
        result: Pending = app.send_task("tenken.detect_frames", args=[spec, frames, conf], queue=queue)
        return result

    return submit


@dataclass
class StreamStats:
    frames_sent: int = 0
    batches: int = 0
    published: int = 0  # frames with at least one detection


def _box(values: list[float]) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = (float(v) for v in values)
    return x1, y1, x2, y2


def _scaled(image: np.ndarray, max_width_px: int) -> np.ndarray:
    h, w = image.shape[:2]
    if w <= max_width_px:
        return image
    scale = max_width_px / w
    return cv2.resize(image, (max_width_px, round(h * scale)), interpolation=cv2.INTER_AREA)


def run_stream(
    config: StreamConfig,
    submit: Submit,
    bus: EventBus,
    telemetry: TelemetryHistory | None = None,
    *,
    result_timeout_s: float = 120.0,
) -> StreamStats:
    """Read, batch, send, and publish results in frame order until the source ends."""
    stats = StreamStats()
    in_flight: deque[Pending] = deque()
    incidents = IncidentTracker(config.stream_id, config.confirmation)

    def confirm(result: dict[str, Any]) -> None:
        # Results arrive here in frame order, which confirmation needs.
        pose_state = result.get("pose")
        width, height = result["size"]
        frame = LiveFrame(
            config.stream_id,
            int(result["frame_index"]),
            float(result["timestamp_s"]),
            pose=drone_pose_from_telemetry(pose_state, config.hfov_deg) if pose_state else None,
            size_px=(int(width), int(height)),
        )
        boxes = [
            (d["class_name"], float(d["confidence"]), _box(d["box_xyxy"]))
            for d in result["detections"]
            if d["class_name"] in config.incident_kinds
        ]
        for change in incidents.observe(frame, sightings_in_frame(frame, boxes)):
            bus.publish(INCIDENTS, {"event": change.event, **change.incident.as_event()})

    def publish_ready(block: bool) -> None:
        while in_flight and (block or in_flight[0].ready()):
            results = in_flight.popleft().get(timeout=result_timeout_s)
            for result in results:
                confirm(result)
                if result["detections"]:
                    bus.publish(
                        FINDINGS, {"kind": "live_detections", "stream_id": config.stream_id, **result}
                    )
                    stats.published += 1
            block = False

    batch: list[dict[str, Any]] = []
    for index, timestamp_s, image in sample_frames(config.source, config.every_s, config.max_frames):
        jpeg = encode_jpeg(_scaled(image, config.max_width_px), config.jpeg_quality)
        batch.append(
            {
                "stream_id": config.stream_id,
                "frame_index": index,
                "timestamp_s": timestamp_s,
                "pose": telemetry.pose_at(timestamp_s) if telemetry else None,
                "jpeg_b64": base64.b64encode(jpeg).decode("ascii"),
            }
        )
        if len(batch) >= config.batch_frames:
            in_flight.append(submit(config.model, batch, config.conf))
            stats.frames_sent += len(batch)
            stats.batches += 1
            batch = []
            publish_ready(block=len(in_flight) >= config.max_in_flight)
    if batch:
        in_flight.append(submit(config.model, batch, config.conf))
        stats.frames_sent += len(batch)
        stats.batches += 1
    while in_flight:
        publish_ready(block=True)
    return stats
