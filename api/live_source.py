"""Running a live drone feed inside the command post: capture -> live pipeline -> incidents + video.

`tenken serve --live drone-1=rtsp://...` starts one `LiveSource` per feed. Each reads its stream
(RTSP / UDP / HTTP / file, through OpenCV), tags every sampled frame with the drone's pose from
the telemetry on the bus (posted by `tenken fly --telemetry-url` or the bridge), runs the incident
model and the scene classifier (and the person model when search and rescue is on), publishes
incident changes on the bus (stored by the incident recorder, forwarded to TAK) and pushes the
annotated frame to the live video, its recording and the quick-look map.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from fastapi import FastAPI

from api.video import live_video_of
from api.video_feed import DetectionTap, boxes_of
from tenken.errors import ConfigError, TenkenError
from vision.classifier import load_classifier
from vision.detector import Detector, load_detector
from vision.live import LiveFrame, LivePipeline, drone_pose_from_telemetry
from vision.person import live_detector, live_kinds
from vision.registry import get_model
from worker.stream_reader import TelemetryHistory, sample_frames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveSourceSpec:
    """One live feed: its id (the drone's or camera's name) and where to read it."""

    source_id: str
    url: str
    model: str = "fire"
    scene_model: str | None = "scene"  # landslides and floods come from the scene classifier
    every_s: float = 0.2
    hfov_deg: float = 78.0
    # Alerts are confirmed over several frames, so a lower threshold than the box-F1 optimum finds more
    # fires at no cost in false alarms (fire model card: image-level recall 0.82 vs 0.65, none false).
    conf: float | None = 0.2

    @classmethod
    def parse(cls, text: str, **defaults: object) -> LiveSourceSpec:
        """`drone-1=rtsp://host/live` -> LiveSourceSpec('drone-1', 'rtsp://host/live')."""
        source_id, sep, url = text.partition("=")
        if not sep or not source_id.strip() or not url.strip():
            raise ConfigError(f"--live {text!r}: expected ID=URL, e.g. drone-1=rtsp://10.0.0.7/live")
        if not source_id.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"--live {text!r}: the id may hold letters, digits, '-' and '_' only")
        return cls(source_id.strip(), url.strip(), **defaults)  # type: ignore[arg-type]


def incident_detector(model_name: str, conf: float | None = None) -> Detector:
    """The shipped incident model by name, in the best format for this machine."""
    info = get_model(model_name)
    threshold = info.threshold(conf)
    return load_detector(info.weights_path(), names=info.classes, imgsz=info.imgsz, conf=threshold)


class LiveSource:
    """A thread reading one feed until it ends or `stop()` is called."""

    def __init__(self, app: FastAPI, spec: LiveSourceSpec, detector: Detector | None = None) -> None:
        services = app.state.services
        self.spec = spec
        person = bool(services.settings.live_person_detection)
        model = detector if detector is not None else incident_detector(spec.model, spec.conf)
        self.tap = DetectionTap(live_detector(model, person))  # type: ignore[arg-type]
        classifier = None
        if spec.scene_model:
            classifier = load_classifier(get_model(spec.scene_model).weights_path())
        self.pipeline = LivePipeline(
            spec.source_id,
            self.tap,
            classifier=classifier,
            publish=services.bus.publish,
            kinds=live_kinds(person),
        )
        self.telemetry = TelemetryHistory(services.bus)
        self.feed = live_video_of(app).feed(spec.source_id)
        self.frames = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"live-{spec.source_id}", daemon=True)

    def start(self) -> LiveSource:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            for index, timestamp_s, image in sample_frames(self.spec.url, self.spec.every_s):
                if self._stop.is_set():
                    break
                state = self.telemetry.pose_at(timestamp_s)
                pose = drone_pose_from_telemetry(state, self.spec.hfov_deg) if state else None
                frame = LiveFrame(self.spec.source_id, index, timestamp_s, image, pose)
                self.pipeline.process([frame])
                self.feed.push(
                    frame,
                    boxes=boxes_of(self.tap.last[0], sorted(self.pipeline.kinds)),
                    incidents=self.pipeline.tracker.open_incidents(),
                    telemetry=state,
                )
                self.frames += 1
        except TenkenError as exc:
            self.error = str(exc)
            log.error("live source %s stopped: %s", self.spec.source_id, exc)
        finally:
            self.telemetry.close()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def join(self, timeout_s: float | None = None) -> None:
        self._thread.join(timeout_s)
