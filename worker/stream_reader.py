"""`tenken stream`: a thin driver of the live pipeline (`vision.live`) for a video source on a worker.

Frames are sampled every `every_s` seconds, tagged with the drone pose at their time (telemetry
from the bus, never older than `max_pose_age_s`), scaled down, and detected in small batches by a
`LiveDetector` (in this process, or on the inference queue when a broker is configured). Up to
`max_in_flight` batches are in flight; results are finished in frame order, which confirmation
needs, whatever order the workers complete them in. Each frame's detections go to FINDINGS and
each incident change to INCIDENTS.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from tenken.events import FINDINGS, EventBus
from vision.live.confirmation import ConfirmationPolicy
from vision.live.pipeline import FrameResult, LiveDetector, LivePipeline, PendingBatch
from vision.live.pose import PoseHistory, pose_from_state
from vision.live.sampling import sample_frames
from vision.live.sightings import LiveFrame
from vision.live.tiles import TileGrid
from vision.models.registry import DEFAULT_ALERT_CONF

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StreamConfig:
    source: str
    stream_id: str
    every_s: float
    hfov_deg: float  # the drone camera profile (settings), for placing findings
    gps_error_m: float = 3.0
    batch_frames: int = 4
    max_frames: int | None = None  # stop after this many sampled frames (None: until the source ends)
    max_in_flight: int = 4  # batches sent and not yet finished
    max_width_px: int = 1280  # larger frames are scaled down before detection
    incident_kinds: tuple[str, ...] = ("fire", "smoke", "landslide", "flood")
    tiles: TileGrid | None = None  # also detect in this grid of tiles (setting live_tiles)
    confirmation: ConfirmationPolicy = field(default_factory=ConfirmationPolicy)


@dataclass
class StreamStats:
    frames_sent: int = 0
    batches: int = 0
    published: int = 0  # frames with at least one detection


def _scaled(image: np.ndarray, max_width_px: int) -> np.ndarray:
    h, w = image.shape[:2]
    if w <= max_width_px:
        return image
    scale = max_width_px / w
    return cv2.resize(image, (max_width_px, round(h * scale)), interpolation=cv2.INTER_AREA)


def _findings_event(stream_id: str, result: FrameResult, state: dict[str, Any] | None) -> dict[str, Any]:
    frame, d = result.frame, result.detections
    detections = []
    if d is not None:
        detections = [
            {
                "class_name": d.class_name(i),
                "confidence": round(float(d.confidence[i]), 4),
                "box_xyxy": [round(float(v), 1) for v in d.xyxy[i]],
            }
            for i in range(len(d))
        ]
    w, h = frame.width_height
    return {
        "kind": "live_detections",
        "stream_id": stream_id,
        "frame_index": frame.frame_id,
        "timestamp_s": frame.timestamp_s,
        "pose": state,
        "size": [w, h],
        "detections": detections,
        "scene": [{"class_name": k, "confidence": round(p, 4)} for k, p, *_ in result.scene],
    }


def run_stream(
    config: StreamConfig,
    detector: LiveDetector,
    bus: EventBus,
    poses: PoseHistory | None = None,
    *,
    classifier: object | None = None,
    scene_threshold: float = DEFAULT_ALERT_CONF,
    result_timeout_s: float = 120.0,
) -> StreamStats:
    """Read, batch, detect and publish in frame order until the source ends."""
    stats = StreamStats()
    pipeline = LivePipeline(
        config.stream_id,
        detector,
        classifier=classifier,
        scene_threshold=scene_threshold,
        publish=bus.publish,
        policy=config.confirmation,
        kinds=config.incident_kinds,
        tiles=config.tiles,
    )
    in_flight: deque[tuple[PendingBatch, list[dict[str, Any] | None]]] = deque()

    def finish_ready(block: bool) -> None:
        while in_flight and (block or in_flight[0][0].ready()):
            batch, states = in_flight.popleft()
            for result, state in zip(pipeline.finish(batch, result_timeout_s), states, strict=True):
                if (result.detections is not None and len(result.detections)) or result.scene:
                    bus.publish(FINDINGS, _findings_event(config.stream_id, result, state))
                    stats.published += 1
            block = False

    def send(frames: list[LiveFrame], states: list[dict[str, Any] | None]) -> None:
        in_flight.append((pipeline.submit(frames), states))
        stats.frames_sent += len(frames)
        stats.batches += 1

    frames: list[LiveFrame] = []
    states: list[dict[str, Any] | None] = []
    for index, timestamp_s, image in sample_frames(config.source, config.every_s, config.max_frames):
        state = poses.state_at(timestamp_s) if poses is not None else None
        pose = None
        if state is not None:
            pose = pose_from_state(state, hfov_deg=config.hfov_deg, gps_error_m=config.gps_error_m)
        frames.append(
            LiveFrame(config.stream_id, index, timestamp_s, _scaled(image, config.max_width_px), pose)
        )
        states.append(state)
        if len(frames) >= config.batch_frames:
            send(frames, states)
            frames, states = [], []
            finish_ready(block=len(in_flight) >= config.max_in_flight)
    if frames:
        send(frames, states)
    while in_flight:
        finish_ready(block=True)
    return stats
