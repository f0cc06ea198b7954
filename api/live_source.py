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
from api.video_feed import boxes_of
from tenken.errors import ConfigError, TenkenError
from tenken.settings import Settings
from vision.live.incidents import IncidentTracker
from vision.live.pipeline import LivePipeline
from vision.live.pose import PoseHistory, pose_from_state
from vision.live.sampling import sample_frames
from vision.live.sightings import LiveFrame
from vision.live.telemetry_feed import TelemetryFollower
from vision.live.tiles import TileGrid
from vision.models.classifier import load_classifier
from vision.models.detector import Detector, load_detector
from vision.models.person import live_detector, live_kinds
from vision.models.registry import DEFAULT_ALERT_CONF, get_model
from vision.models.runtime import DEFAULT_RUNTIME, RuntimeOptions

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveSourceSpec:
    """One live feed: its id (the drone's name, as its telemetry names it) and where to read it.
    Sampling, optics, threshold and tiles are settings (`live_every_s`, `drone_camera_hfov_deg`,
    `live_conf`, `live_tiles`) unless given here."""

    source_id: str
    url: str
    model: str = "fire"
    scene_model: str | None = "scene"  # landslides and floods come from the scene classifier
    every_s: float | None = None
    conf: float | None = None
    tiles: str | None = None  # 'off' or COLSxROWS; None: setting live_tiles

    @classmethod
    def parse(cls, text: str, **defaults: object) -> LiveSourceSpec:
        """`drone-1=rtsp://host/live` -> LiveSourceSpec('drone-1', 'rtsp://host/live')."""
        source_id, sep, url = text.partition("=")
        if not sep or not source_id.strip() or not url.strip():
            raise ConfigError(f"--live {text!r}: expected ID=URL, e.g. drone-1=rtsp://10.0.0.7/live")
        if not source_id.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"--live {text!r}: the id may hold letters, digits, '-' and '_' only")
        return cls(source_id.strip(), url.strip(), **defaults)  # type: ignore[arg-type]


def incident_detector(
    model_name: str, conf: float | None = None, runtime: RuntimeOptions = DEFAULT_RUNTIME
) -> Detector:
    """The incident model by name from `runtime.models_dir`, in the best format for its device, at
    `conf` (else the model's own threshold)."""
    info = get_model(model_name, runtime.models_dir)
    threshold = info.threshold(conf)
    weights = info.weights_path(device=runtime.device)
    return load_detector(weights, names=info.classes, imgsz=info.imgsz, conf=threshold, runtime=runtime)


def shared_tracker(app: FastAPI) -> IncidentTracker:
    """The one incident map of this command post: the feeds of several drones merge into it."""
    tracker = getattr(app.state, "live_tracker", None)
    if tracker is None:
        tracker = app.state.live_tracker = IncidentTracker("live")
    assert isinstance(tracker, IncidentTracker)
    return tracker


class LiveSource:
    """A thread driving the live pipeline over one feed until it ends or `stop()` is called."""

    def __init__(self, app: FastAPI, spec: LiveSourceSpec, detector: Detector | None = None) -> None:
        services = app.state.services
        settings: Settings = services.settings
        self.spec = spec
        self.settings = settings
        self.every_s = spec.every_s if spec.every_s is not None else settings.live_every_s
        person = bool(settings.live_person_detection)
        conf = spec.conf if spec.conf is not None else settings.live_conf
        runtime = RuntimeOptions.from_settings(settings)
        model = detector if detector is not None else incident_detector(spec.model, conf, runtime)
        self.detector = live_detector(model, person, runtime)
        classifier, scene_threshold = None, DEFAULT_ALERT_CONF
        if spec.scene_model:
            scene = get_model(spec.scene_model, runtime.models_dir)
            classifier = load_classifier(scene.weights_path(device=runtime.device))
            scene_threshold = scene.alert_conf
        self.pipeline = LivePipeline(
            spec.source_id,
            self.detector,
            classifier=classifier,
            scene_threshold=scene_threshold,
            publish=services.bus.publish,
            kinds=live_kinds(person),
            tracker=shared_tracker(app),
            tiles=TileGrid.parse(spec.tiles if spec.tiles is not None else settings.live_tiles),
        )
        self.poses = PoseHistory(settings.live_max_pose_age_s)
        self.telemetry = TelemetryFollower(services.bus, self.poses, spec.source_id)
        self.feed = live_video_of(app).feed(spec.source_id)
        self.frames = 0
        self.frames_without_pose = 0
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"live-{spec.source_id}", daemon=True)

    def start(self) -> LiveSource:
        self.telemetry.start()
        self._thread.start()
        return self

    def _run(self) -> None:
        settings = self.settings
        try:
            for index, timestamp_s, image in sample_frames(self.spec.url, self.every_s):
                if self._stop.is_set():
                    break
                state = self.poses.state_at(timestamp_s)
                pose = None
                if state is not None:
                    pose = pose_from_state(
                        state, hfov_deg=settings.drone_camera_hfov_deg, gps_error_m=settings.drone_gps_error_m
                    )
                if pose is None:
                    self.frames_without_pose += 1
                frame = LiveFrame(self.spec.source_id, index, timestamp_s, image, pose)
                [result] = self.pipeline.finish(self.pipeline.submit([frame]))
                self.feed.push(
                    frame,
                    boxes=boxes_of(result.detections, sorted(self.pipeline.kinds)),
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
