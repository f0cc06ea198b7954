"""Live video for the command post: a newest-frame hub per source, and the feed that draws and publishes.

The producer (the live detection loop) hands each frame to `LiveVideoFeed.push`, which draws the
detection boxes, incident labels and telemetry on it, scales and JPEG-encodes it once, publishes it to
the source's `FrameHub` and appends it to the flight recording. The hub keeps only the newest frame:
each viewer takes the newest one whenever it is ready for another, so a viewer on a slow link skips
frames instead of queueing them, and neither the producer nor other viewers ever wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from tenken.errors import DataError, VideoError
from vision.live import Incident, LiveFrame
from vision.live.quicklook import OverlayBounds, QuickLook
from vision.live.recording import FlightRecorder
from vision.models.detections import Detections
from vision.models.detector import Detector, Frame

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
Box = tuple[str, float, tuple[float, float, float, float]]  # label, confidence, x1 y1 x2 y2

KIND_BGR = {
    "fire": (0, 69, 255),
    "smoke": (200, 200, 200),
    "landslide": (42, 110, 170),
    "flood": (230, 140, 30),
    "person": (255, 0, 255),
}
DEFAULT_BGR = (0, 255, 255)


@dataclass(frozen=True)
class HubFrame:
    seq: int  # 1, 2, 3... in publishing order
    timestamp_s: float  # when the camera took it
    published_s: float  # when the hub got it (time.time())
    jpeg: bytes


class FrameHub:
    """The newest JPEG of one live source, handed to any number of viewers (threads or asyncio tasks).

    `publish` only swaps a reference and wakes waiters: it costs the producer the same with one
    viewer or a hundred, fast or stalled.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._latest: HubFrame | None = None
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.published = 0

    def publish(self, jpeg: bytes, timestamp_s: float) -> HubFrame:
        with self._cond:
            self.published += 1
            frame = HubFrame(self.published, timestamp_s, time.time(), jpeg)
            self._latest = frame
            waiters = list(self._waiters)
            self._cond.notify_all()
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that viewer's event loop has closed: it is gone
                loop.call_soon_threadsafe(event.set)
        return frame

    def latest(self) -> HubFrame | None:
        with self._cond:
            return self._latest

    def _newer(self, after_seq: int) -> HubFrame | None:
        latest = self._latest
        return latest if latest is not None and latest.seq > after_seq else None

    def wait_newer(self, after_seq: int, timeout_s: float) -> HubFrame | None:
        """Block until a frame newer than `after_seq` exists (for threads); the newest one, or None."""
        with self._cond:
            self._cond.wait_for(lambda: self._newer(after_seq) is not None, timeout_s)
            return self._newer(after_seq)

    async def next_newer(self, after_seq: int, timeout_s: float) -> HubFrame | None:
        """Wait without blocking the event loop for a frame newer than `after_seq`; None on timeout."""
        loop = asyncio.get_running_loop()
        event = asyncio.Event()
        entry = (loop, event)
        with self._cond:
            found = self._newer(after_seq)
            if found is not None:
                return found
            self._waiters.add(entry)
        try:
            await asyncio.wait_for(event.wait(), timeout_s)
        except TimeoutError:
            pass
        finally:
            with self._cond:
                self._waiters.discard(entry)
        with self._cond:
            return self._newer(after_seq)


@dataclass
class ViewerStats:
    """What one viewer got: frames sent and frames it skipped because it was not ready for them."""

    sent: int = 0
    skipped: int = 0
    last_seq: int = 0

    def took(self, frame: HubFrame) -> None:
        if self.last_seq:
            self.skipped += max(0, frame.seq - self.last_seq - 1)
        self.sent += 1
        self.last_seq = frame.seq


# ---- drawing ------------------------------------------------------------------------------------


def _label(image: Image, text: str, x: int, y: int, colour: tuple[int, int, int], scale: float) -> None:
    font = cv2.FONT_HERSHEY_SIMPLEX
    thickness = max(1, round(scale * 2))
    (tw, th), base = cv2.getTextSize(text, font, scale, thickness)
    y = max(th + base, y)
    cv2.rectangle(image, (x, y - th - base - 2), (x + tw + 4, y), colour, cv2.FILLED)
    luminance = 0.114 * colour[0] + 0.587 * colour[1] + 0.299 * colour[2]
    ink = (0, 0, 0) if luminance > 128 else (255, 255, 255)
    cv2.putText(image, text, (x + 2, y - base), font, scale, ink, thickness, cv2.LINE_AA)


def telemetry_line(telemetry: dict[str, Any] | None) -> str:
    """'ALT 52 m  HDG 090  BAT 81%  AUTO' from a vehicle-state message (missing values as '-').

    >>> telemetry_line({"alt_m": 52.4, "heading_deg": 90.0, "battery_pct": 81.0, "mode": "AUTO"})
    'ALT 52 m  HDG 090  BAT 81%  AUTO'
    """
    t = telemetry or {}

    def num(key: str, fmt: str) -> str:
        value = t.get(key)
        return format(value, fmt) if isinstance(value, int | float) else "-"

    alt, heading, battery = num("alt_m", ".0f"), num("heading_deg", "03.0f"), num("battery_pct", ".0f")
    return f"ALT {alt} m  HDG {heading}  BAT {battery}%  {t.get('mode') or '-'}"


def draw_overlay(
    image: Image,
    boxes: Sequence[Box] = (),
    incidents: Sequence[Incident] = (),
    telemetry: dict[str, Any] | None = None,
) -> Image:
    """A copy of `image` with detection boxes, open incidents and the drone's telemetry drawn on it."""
    out = image.copy()
    h, w = out.shape[:2]
    scale = max(0.4, w / 1600)
    for label, conf, (x1, y1, x2, y2) in boxes:
        colour = KIND_BGR.get(label, DEFAULT_BGR)
        cv2.rectangle(out, (round(x1), round(y1)), (round(x2), round(y2)), colour, max(2, round(scale * 3)))
        _label(out, f"{label} {conf:.2f}", round(x1), round(y1), colour, scale)
    y = h - 8
    for incident in incidents:
        if incident.state != "open":
            continue
        colour = KIND_BGR.get(incident.kind, DEFAULT_BGR)
        _label(out, f"INCIDENT {incident.kind.upper()} {incident.incident_id}", 6, y, colour, scale)
        y -= round(30 * scale) + 6
    _label(out, telemetry_line(telemetry), 6, round(28 * scale) + 4, (32, 32, 32), scale)
    return out


def boxes_of(detections: Detections | None, kinds: Sequence[str] | None = None) -> list[Box]:
    """A frame's detections as drawable boxes, optionally only `kinds`."""
    if detections is None:
        return []
    out: list[Box] = []
    for i in range(len(detections)):
        kind = detections.class_name(i)
        if kinds is None or kind in kinds:
            x1, y1, x2, y2 = (float(v) for v in detections.xyxy[i])
            out.append((kind, float(detections.confidence[i]), (x1, y1, x2, y2)))
    return out


def encode_jpeg(image: Image, *, width_px: int, quality: int) -> bytes:
    """Scale down to `width_px` (never up) and JPEG-encode at `quality`."""
    h, w = image.shape[:2]
    if w > width_px:
        image = cv2.resize(image, (width_px, round(h * width_px / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise VideoError("JPEG encoding of a live frame failed")
    return buf.tobytes()


class DetectionTap:
    """A `Detector` wrapper that keeps the last batch's detections, so the video shows what the live
    pipeline saw without running the model twice (untiled; with tiles `last` holds each input's raw
    boxes, and `FrameResult.detections` the merged ones in frame pixels):

        tap = DetectionTap(detector)
        pipeline = LivePipeline("drone-1", tap, publish=bus.publish)
        pipeline.process([frame])
        boxes = boxes_of(tap.last[0], sorted(pipeline.kinds))
        feed.push(frame, boxes=boxes, incidents=pipeline.tracker.open_incidents())
    """

    def __init__(self, detector: Detector) -> None:
        self.detector = detector
        self.names, self.imgsz, self.backend = detector.names, detector.imgsz, detector.backend
        self.last: list[Detections] = []

    def predict(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        self.last = self.detector.predict(frames, conf)
        return self.last


# ---- the producer side --------------------------------------------------------------------------


@dataclass
class LiveVideoFeed:
    """Everything the producer of one live source needs: hub, recording and the quick-look map."""

    source: str
    hub: FrameHub
    width_px: int = 960
    jpeg_quality: int = 70
    recorder: FlightRecorder | None = None
    quicklook: QuickLook | None = None
    quicklook_every: int = 5  # frames: the map needs overlap, not every frame
    telemetry: dict[str, Any] | None = None  # the newest vehicle state, drawn on every frame
    recording_errors: int = 0
    _pushed: int = field(default=0, repr=False)
    _overlay: tuple[Image, OverlayBounds, int] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def push(
        self,
        frame: LiveFrame,
        *,
        boxes: Sequence[Box] = (),
        incidents: Sequence[Incident] = (),
        telemetry: dict[str, Any] | None = None,
    ) -> HubFrame:
        """Draw, encode once, publish to viewers, record, and paint the quick-look."""
        if telemetry is not None:
            self.telemetry = telemetry
        image = frame.image
        if image is None:  # detection ran where the pixels are: that side sends JPEGs (publish_jpeg)
            raise VideoError(f"live frame {frame.frame_id} of {self.source} has no image to show")
        annotated = draw_overlay(image, boxes, incidents, self.telemetry)
        jpeg = encode_jpeg(annotated, width_px=self.width_px, quality=self.jpeg_quality)
        pose = asdict(frame.pose) if frame.pose is not None else None
        published = self.publish_jpeg(jpeg, frame.timestamp_s, frame.frame_id, pose)
        with self._lock:
            if (
                self.quicklook is not None
                and frame.pose is not None
                and self._pushed % self.quicklook_every == 0
            ):
                try:
                    self.quicklook.add(image, frame.pose)
                except DataError as exc:  # a bad pose costs the map a frame, never the live picture
                    log.warning("quick-look of %s skipped a frame: %s", self.source, exc)
            self._pushed += 1
        return published

    def publish_jpeg(
        self, jpeg: bytes, timestamp_s: float, frame_id: int | None = None, pose: dict[str, Any] | None = None
    ) -> HubFrame:
        """Publish a finished JPEG to the viewers and append it to the recording."""
        published = self.hub.publish(jpeg, timestamp_s)
        with self._lock:
            if self.recorder is not None:
                try:
                    self.recorder.record_frame(timestamp_s, jpeg, self.telemetry, frame_id, pose)
                except OSError as exc:  # a full disk costs the recording, never the live picture
                    self.recording_errors += 1
                    log.error("recording %s failed: %s", self.source, exc)
        return published

    def quicklook_overlay(self) -> tuple[Image, OverlayBounds, int] | None:
        """The quick-look map in Web Mercator (RGBA), its bounds and frame count; None before any frame.

        Kept until another frame is painted: the page asks for the bounds and the image in turn."""
        with self._lock:
            look = self.quicklook
            if look is None or look.frames_painted == 0:
                return None
            cached = self._overlay
            if cached is None or cached[2] != look.frames_painted:
                rgba, bounds = look.web_mercator()
                cached = self._overlay = (rgba, bounds, look.frames_painted)
            return cached

    def write_quicklook(self, path: Path) -> bool:
        """Write the quick-look GeoTIFF; False before any frame was painted."""
        with self._lock:
            if self.quicklook is None or self.quicklook.frames_painted == 0:
                return False
            self.quicklook.write_geotiff(path)
            return True

    def record_finding(self, timestamp_s: float, data: dict[str, Any]) -> None:
        """A finding or incident change for the replay timeline (the `incidents` channel's payload)."""
        with self._lock:
            if self.recorder is not None:
                self.recorder.record_finding(timestamp_s, data)

    def close(self) -> None:
        with self._lock:
            if self.recorder is not None:
                self.recorder.close()


# ---- the viewer side (tests, benches, a remote relay) ------------------------------------------


class MjpegParser:
    """Split a `multipart/x-mixed-replace` byte stream into (part headers, JPEG) pairs.

    >>> p = MjpegParser()
    >>> p.feed(b"--b\\r\\nContent-Type: image/jpeg\\r\\nContent-Length: 3\\r\\n\\r\\nabc\\r\\n")
    [({'content-type': 'image/jpeg', 'content-length': '3'}, b'abc')]
    """

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[tuple[dict[str, str], bytes]]:
        self._buf += data
        parts: list[tuple[dict[str, str], bytes]] = []
        while True:
            head_end = self._buf.find(b"\r\n\r\n")
            if head_end < 0:
                return parts
            lines = self._buf[:head_end].decode("latin-1").split("\r\n")
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines if ":" in ln)
            }
            length = int(headers.get("content-length", "-1"))
            if length < 0:
                raise VideoError("MJPEG part without Content-Length")
            start = head_end + 4
            if len(self._buf) < start + length:
                return parts
            parts.append((headers, self._buf[start : start + length]))
            self._buf = self._buf[start + length :].lstrip(b"\r\n")
